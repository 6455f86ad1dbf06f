"""Who a sender is on a channel: resolve, link and unlink (channel, external id) identities.

Every front end names its senders its own way (a Telegram user id, a WeCom userid); the core
knows people and customers. A Telegram identity is also mirrored in people.telegram_id /
customers.telegram_id, written in the same transaction, while other code still reads those.
"""

from __future__ import annotations

from enum import StrEnum

from bot.services import Services
from storage import identities as store
from storage import people

TELEGRAM = store.TELEGRAM
Identity = store.Identity


class IdentityProblem(StrEnum):
    TAKEN = "taken"  # the external id already belongs to another person
    UNKNOWN_PERSON = "unknown_person"


class IdentityError(Exception):
    def __init__(self, problem: IdentityProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


async def resolve(services: Services, channel: str, external_id: str | int) -> Identity | None:
    """The person (active) and/or customer behind this sender; one keyed read."""
    async with services.db.lookup() as conn:
        return await store.resolve(conn, channel, str(external_id))


async def link_person(
    services: Services, channel: str, external_id: str | int, person_id: int
) -> None:
    """Give a known person an identity on a channel (idempotent for the same person)."""
    external = str(external_id)
    async with services.db.transaction() as conn:
        if await people.by_id(conn, person_id) is None:
            raise IdentityError(IdentityProblem.UNKNOWN_PERSON)
        holder = await store.person_of(conn, channel, external)
        if holder is not None and holder != person_id:
            raise IdentityError(IdentityProblem.TAKEN)
        if channel == TELEGRAM:
            await conn.execute(
                "UPDATE people SET telegram_id = ? WHERE id = ?", (int(external), person_id)
            )
        await store.link_person(conn, channel, external, person_id)


async def unlink(services: Services, channel: str, external_id: str | int) -> bool:
    """Forget a sender's identity on a channel; False if there was none."""
    external = str(external_id)
    async with services.db.transaction() as conn:
        if channel == TELEGRAM:
            await conn.execute(
                "UPDATE people SET telegram_id = NULL WHERE telegram_id = ?", (int(external),)
            )
            await conn.execute(
                "UPDATE customers SET telegram_id = NULL WHERE telegram_id = ?", (int(external),)
            )
        return await store.unlink(conn, channel, external)


async def external_ids(services: Services, channel: str, person_id: int) -> list[str]:
    """Where to reach a person on a channel (their ids there)."""
    async with services.db.lookup() as conn:
        return await store.external_ids(conn, channel, person_id)
