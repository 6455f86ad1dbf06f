"""A front end with no platform behind it: sender ids, access, replies and notices as data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from bot.domain import access
from bot.domain.models import Role
from bot.services import Services, identities
from storage import people

CHANNEL = "fake"
T = TypeVar("T")


@dataclass(frozen=True)
class Outgoing:
    """One message the front end would send: to a sender id, a catalog key and its values."""

    to: str
    key: str
    values: dict[str, object] = field(default_factory=dict)
    kind: str = "reply"  # "reply" to the sender, or "notice" to someone else


class Clock:
    """The services' clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now


class FakeChannel:
    """Drives bot.services as a chat front end would, recording what it would have said."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.sent: list[Outgoing] = []

    async def hire(self, user: str, name: str, role: Role, language: str = "zh-CN") -> int:
        """A person on record (set up as an administrator would), reachable as `user` here."""
        async with self.services.db.transaction() as conn:
            if role is Role.TECHNICIAN:
                person_id = await people.ensure_technician(conn, name)
                await people.set_language(conn, person_id, language)
            else:
                cur = await conn.execute(
                    "INSERT INTO people (name, role, language, created_at) VALUES (?, ?, ?, ?)",
                    (name, role.value, language, self.services.now().isoformat()),
                )
                person_id = int(cur.lastrowid)
        await self.enroll(user, person_id)
        return person_id

    async def enroll(self, user: str, person_id: int) -> None:
        await identities.link_person(self.services, CHANNEL, user, person_id)

    async def actor(self, user: str) -> access.Actor:
        """Who `user` is, as the Telegram gate works it out (no platform admins here)."""
        found = await identities.resolve(self.services, CHANNEL, user)
        person = found.person if found else None
        customer_id = found.customer_id if found and person is None else None
        language = (person.language if person else None) or self.services.config.language
        return access.Actor(0, person, False, language, customer_id)

    async def person_id(self, user: str) -> int:
        actor = await self.actor(user)
        assert actor.person is not None, f"{user} is nobody on {CHANNEL}"
        return actor.person.id

    async def act(
        self, user: str, action: str, use_case: Callable[..., Awaitable[T]], *args: Any, **kw: Any
    ) -> T | None:
        """Run a use case for `user` if access allows `action`; a refusal or error is a reply."""
        actor = await self.actor(user)
        refusal = access.decide(actor, action, "private", False)
        if refusal is not None:
            self.reply(user, refusal.value)
            return None
        try:
            return await use_case(*args, **kw)
        except Exception as exc:
            key = getattr(exc, "key", None) or getattr(getattr(exc, "problem", None), "value", None)
            if key is None:
                raise
            self.reply(user, key, **dict(getattr(exc, "values", {})))
            return None

    def reply(self, user: str, key: str, **values: object) -> None:
        self.sent.append(Outgoing(user, key, values))

    async def notify(self, person_id: int, key: str, **values: object) -> bool:
        """A notice to a person at each id they have here; False if they have none."""
        users = await identities.external_ids(self.services, CHANNEL, person_id)
        for user in users:
            self.sent.append(Outgoing(user, key, values, kind="notice"))
        return bool(users)

    def replies_to(self, user: str) -> list[str]:
        return [out.key for out in self.sent if out.to == user and out.kind == "reply"]

    def notices_to(self, user: str) -> list[Outgoing]:
        return [out for out in self.sent if out.to == user and out.kind == "notice"]
