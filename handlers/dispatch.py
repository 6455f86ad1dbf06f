"""The dispatch group: tickets, the queue, assignment (wired by register)."""

from __future__ import annotations

from telegram.ext import Application


def register(app: Application) -> None:
    """Attach the dispatch handlers."""
