"""Which try at handling an update this is: the error handler apologises only on the last one."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass
class Attempt:
    """One try at an update; the error handler records a handler's failure here."""

    number: int
    final: bool
    error: BaseException | None = None


current_attempt: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar(
    "current_attempt", default=None
)
