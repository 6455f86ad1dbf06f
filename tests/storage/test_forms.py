"""The form engine on a real database: steps, validation, expiry, cancel, one form per
(channel, chat, person), and state committed with the update's handled mark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services import forms
from storage import forms as store
from storage.db import Database, current_update_id

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _number(text: str) -> int:
    if not text.strip().isdigit():
        raise forms.FormInvalid("test.not_a_number", text=text)
    return int(text)


SPEC = forms.define(
    forms.FormSpec(
        "test-order",
        steps=("item", "count", "confirm"),
        timeout=timedelta(minutes=30),
        validators={"count": _number},
    )
)
OPEN_ENDED = forms.define(forms.FormSpec("test-note", steps=("text",)))

ALICE = forms.FormKey("telegram", "100", "7")


async def _row(db: Database, key: forms.FormKey = ALICE) -> store.FormRow | None:
    async with db.lookup() as conn:
        return await store.get(conn, key.channel, key.chat, key.person)


async def _handle(db: Database, update_id: int, now: datetime, step) -> forms.FormSession:  # noqa: ANN001
    """One update's handling as handlers/polling.py does it: the step, then finish_update."""
    token = current_update_id.set(update_id)
    try:
        session = await forms.session(db, ALICE, now)
        step(session)
        await db.finish_update(update_id)
    finally:
        current_update_id.reset(token)
    return session


async def test_steps_are_kept_in_the_database_and_resumed(db: Database) -> None:
    await _handle(db, 1, T0, lambda s: s.open("test-order", {"basket": []}))
    row = await _row(db)
    assert row is not None and row.kind == "test-order" and row.step == "item"

    def add_item(session: forms.FormSession) -> None:
        form = session.current("test-order")
        assert form is not None
        form.data["basket"].append("printer")
        form.goto("count")

    await _handle(db, 2, T0 + timedelta(minutes=1), add_item)
    # A new session (another update, or another process) sees the answers so far.
    resumed = await forms.session(db, ALICE, T0 + timedelta(minutes=2))
    form = resumed.current("test-order")
    assert form is not None and form.step == "count" and form.data["basket"] == ["printer"]
    assert form.token == row.token  # the same opening of the form
    assert await db.is_handled(1) and await db.is_handled(2)


async def test_undeclared_step_is_refused(db: Database) -> None:
    session = await forms.session(db, ALICE, T0)
    form = session.open("test-order")
    with pytest.raises(ValueError):
        form.goto("payment")


async def test_validation_parses_or_names_the_problem() -> None:
    assert SPEC.validate("count", " 3 ") == 3
    with pytest.raises(forms.FormInvalid) as caught:
        SPEC.validate("count", "three")
    assert caught.value.key == "test.not_a_number" and caught.value.values == {"text": "three"}
    assert SPEC.validate("item", "printer") == "printer"  # no validator: the text itself


async def test_an_expired_form_is_dropped_and_reported(db: Database) -> None:
    await _handle(db, 1, T0, lambda s: s.open("test-order"))
    late = await _handle(db, 2, T0 + timedelta(minutes=31), lambda s: None)
    assert late.current() is None and late.expired is not None
    assert late.expired.kind == "test-order"
    assert await _row(db) is None  # dropped in the update that found it expired
    on_time = await forms.session(db, ALICE, T0 + timedelta(minutes=31))
    assert on_time.expired is None  # reported once


async def test_a_form_without_timeout_waits(db: Database) -> None:
    await _handle(db, 1, T0, lambda s: s.open("test-note"))
    later = await forms.session(db, ALICE, T0 + timedelta(days=30))
    assert later.current("test-note") is not None


async def test_cancel_drops_the_form(db: Database) -> None:
    await _handle(db, 1, T0, lambda s: s.open("test-order"))
    closed: list[bool] = []
    await _handle(db, 2, T0, lambda s: closed.append(s.close()))
    assert closed == [True] and await _row(db) is None
    await _handle(db, 3, T0, lambda s: closed.append(s.close()))
    assert closed == [True, False]  # nothing to cancel


async def test_one_form_per_channel_chat_and_person(db: Database) -> None:
    keys = [
        ALICE,
        forms.FormKey("telegram", "100", "8"),  # another person in the same chat
        forms.FormKey("telegram", "-200", "7"),  # the same person in a group
        forms.FormKey("wecom", "100", "7"),  # another channel
    ]
    for number, key in enumerate(keys):
        session = await forms.session(db, key, T0)
        session.open("test-note", {"n": number})
        await session.save()
    for number, key in enumerate(keys):
        row = await _row(db, key)
        assert row is not None and row.data["n"] == number
    # A new form replaces the person's form in that chat only.
    replaced = await forms.session(db, ALICE, T0)
    old_token = replaced.current().token
    replaced.open("test-order")
    await replaced.save()
    assert (await _row(db)).kind == "test-order"
    assert (await _row(db)).token != old_token
    assert (await _row(db, keys[1])).kind == "test-note"


async def test_stale_token_or_step_is_not_current(db: Database) -> None:
    session = await forms.session(db, ALICE, T0)
    form = session.open("test-order")
    assert session.is_current("test-order", form.token, "item")
    assert not session.is_current("test-order", form.token, "count")  # an older/other step
    assert not session.is_current("test-order", "0000", "item")  # an older form
    assert not session.is_current("test-note")


async def test_state_commits_with_the_updates_first_transaction(db: Database) -> None:
    """A step and the change it causes are one transaction; a rolled-back one keeps neither."""
    token = current_update_id.set(10)
    try:
        session = await forms.session(db, ALICE, T0)
        session.open("test-note")
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO handled_updates VALUES (999, 'x')")
                raise RuntimeError("the service failed")
        assert await _row(db) is None and session.pending
        async with db.transaction():
            pass  # the service's transaction: it carries the form and the handled mark
        assert not session.pending
        assert await _row(db) is not None and await db.is_handled(10)
        await db.finish_update(10)  # nothing left to write
    finally:
        current_update_id.reset(token)


async def test_a_failed_handler_leaves_the_form_as_it_was(db: Database) -> None:
    await _handle(db, 1, T0, lambda s: s.open("test-order"))
    token = current_update_id.set(2)
    try:
        session = await forms.session(db, ALICE, T0)
        session.current().goto("confirm")
        db.drop_update_work(2)  # the handler raised: handlers/polling.py forgets what it staged
        await db.finish_update(2)
    finally:
        current_update_id.reset(token)
    assert (await _row(db)).step == "item" and not await db.is_handled(2)


async def test_one_session_per_key_and_update(db: Database) -> None:
    token = current_update_id.set(5)
    try:
        first = await forms.session(db, ALICE, T0)
        first.open("test-note")
        again = await forms.session(db, ALICE, T0)
        assert again is first and again.current("test-note") is not None
    finally:
        current_update_id.reset(token)
        db.drop_update_work(5)


async def test_an_unchanged_form_writes_nothing_and_a_changed_one_is_stored_as_compared(
    db: Database,
) -> None:
    await _handle(db, 1, T0, lambda s: s.open("test-order", {"basket": ["键盘"], "n": 1.5}))
    before = await _row(db)
    # Read back as stored (Chinese as is, keys sorted): nothing to write when nothing changed.
    session = await _handle(db, 2, T0 + timedelta(minutes=1), lambda s: None)
    assert not session.pending
    assert (await _row(db)).updated_at == before.updated_at

    def add(session: forms.FormSession) -> None:
        session.current().data["basket"].append("鼠标")

    session = await _handle(db, 3, T0 + timedelta(minutes=2), add)
    after = await _row(db)
    assert after.data["basket"] == ["键盘", "鼠标"] and after.updated_at > before.updated_at
    assert after.stored_data == store.encode_data(after.data)
    assert not session.pending  # what was stored is what it is now compared with
