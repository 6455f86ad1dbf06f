"""`python -m bot` runs the fieldbot command line."""

from bot.cli import entry

entry()
