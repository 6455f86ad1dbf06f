"""Invite codes and binding Telegram accounts to roles."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.models import Invite, Person, Role
from bot.services import Services
from storage import people

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_PATTERN = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
INVITABLE = (Role.TECHNICIAN, Role.DISPATCHER, Role.MANAGER)


class RedeemError(StrEnum):
    MALFORMED = "start.code_malformed"
    UNKNOWN = "start.code_unknown"
    USED = "start.code_used"
    EXPIRED = "start.code_expired"
    REGISTERED = "start.already_registered"


@dataclass(frozen=True)
class Redeemed:
    person: Person | None = None
    error: RedeemError | None = None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def create_invite(services: Services, role: Role, created_by: int) -> Invite:
    """A fresh one-time code for role, valid for the configured number of hours."""
    expires = services.now() + timedelta(hours=services.config.invite_expiry_hours)
    async with services.db.transaction() as conn:
        return await people.create_invite(conn, new_code(), role, created_by, expires)


async def redeem(
    services: Services, code: str, telegram_id: int, name: str, language: str | None
) -> Redeemed:
    """Bind telegram_id to the role of a valid, unused, unexpired code."""
    code = code.strip().upper()
    if not CODE_PATTERN.match(code):
        return Redeemed(error=RedeemError.MALFORMED)
    async with services.db.transaction() as conn:
        if await people.by_telegram_id(conn, telegram_id):
            return Redeemed(error=RedeemError.REGISTERED)
        invite = await people.invite(conn, code)
        if invite is None:
            return Redeemed(error=RedeemError.UNKNOWN)
        if invite.used_by is not None:
            return Redeemed(error=RedeemError.USED)
        if invite.expires_at <= services.now():
            return Redeemed(error=RedeemError.EXPIRED)
        person = await people.bind_person(conn, telegram_id, name, invite.role, language)
        if not await people.use_invite(conn, code, person.id):
            raise RuntimeError("invite used concurrently")
        return Redeemed(person=person)


def parse_role(text: str) -> Role | None:
    """A role name typed by a user (English or Chinese)."""
    aliases = {
        "technician": Role.TECHNICIAN,
        "tech": Role.TECHNICIAN,
        "技术员": Role.TECHNICIAN,
        "dispatcher": Role.DISPATCHER,
        "调度": Role.DISPATCHER,
        "调度员": Role.DISPATCHER,
        "manager": Role.MANAGER,
        "经理": Role.MANAGER,
    }
    return aliases.get(text.strip().lower())


def is_expired(invite: Invite, now: datetime) -> bool:
    return invite.expires_at <= now
