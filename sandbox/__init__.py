"""Sandbox tooling: an in-process Telegram Bot API emulator for end-to-end tests."""

from sandbox.emulator import ApiError, BotApiEmulator, SentCall, StoredFile

__all__ = ["ApiError", "BotApiEmulator", "SentCall", "StoredFile"]
