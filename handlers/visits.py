"""Site visits: check-in, check-out, the customer's slip (wired by register)."""

from __future__ import annotations

from telegram.ext import Application


def register(app: Application) -> None:
    """Attach the visit handlers."""
