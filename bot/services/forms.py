"""Guided forms, free of any chat platform: declared steps, validation, expiry and cancel.

A form's state is a row of the `forms` table keyed by (channel, chat, person), so a restart at
any step resumes it. During an update the caller's form lives in a FormSession; its changes are
committed with the update (storage.db.UpdateWork): in the first transaction of the update that
commits, so a step and the change it causes are one unit, or when the update is finished, before
it counts as handled. A re-delivered update that was handled is skipped, so no step is applied
twice; one that was not handled finds the form as it was before it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from storage import forms as store
from storage.db import Database, current_update_id
from storage.direct import DirectConnection


@dataclass(frozen=True)
class FormKey:
    """Whose form: the channel ("telegram"), and the chat and person in that channel's ids."""

    channel: str
    chat: str
    person: str


class FormInvalid(Exception):
    """A typed answer a step does not accept: the catalog key (and values) of what to say."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


Validator = Callable[[str], Any]


@dataclass(frozen=True)
class FormSpec:
    """One kind of form: its steps in order, how typed answers are checked, when it expires."""

    kind: str
    steps: tuple[str, ...]
    timeout: timedelta | None = None  # None: the form waits as long as it takes
    validators: Mapping[str, Validator] = field(default_factory=dict)
    step_field: str = "step"  # the key of the form's data that holds its step

    def validate(self, step: str, text: str) -> Any:
        """The answer of step parsed from text, or FormInvalid."""
        validator = self.validators.get(step)
        return validator(text) if validator is not None else text

    def first(self) -> str:
        return self.steps[0]


_SPECS: dict[str, FormSpec] = {}


def define(spec: FormSpec) -> FormSpec:
    """Declare a kind of form (once per kind)."""
    known = _SPECS.get(spec.kind)
    if known is not None and known != spec:
        raise ValueError(f"form kind {spec.kind!r} declared twice")
    _SPECS[spec.kind] = spec
    return spec


def spec_of(kind: str) -> FormSpec | None:
    return _SPECS.get(kind)


@dataclass
class Form:
    """An open form: its kind, the token of this opening, its answers (data) and start."""

    kind: str
    token: str
    data: dict[str, Any]
    started_at: datetime

    @property
    def spec(self) -> FormSpec:
        return _SPECS[self.kind]

    @property
    def step(self) -> str:
        return str(self.data.get(self.spec.step_field) or "")

    def goto(self, step: str) -> None:
        """Move to a declared step."""
        if step not in self.spec.steps:
            raise ValueError(f"{self.kind} has no step {step!r}")
        self.data[self.spec.step_field] = step

    def expired(self, now: datetime) -> bool:
        timeout = self.spec.timeout
        return timeout is not None and now - self.started_at > timeout

    def snapshot(self) -> tuple[str, ...]:
        """What is stored of the form (kind, token, encoded answers), to tell a change."""
        return (self.kind, self.token, store.encode_data(self.data))


class FormSession:
    """The form of one key during one update: read once, written with the update."""

    def __init__(
        self, db: Database, key: FormKey, now: datetime, row: store.FormRow | None
    ) -> None:
        self.db = db
        self.key = key
        self.now = now
        self.form: Form | None = None
        self.expired: Form | None = None  # the form found expired (and dropped) on loading
        if row is not None and spec_of(row.kind) is not None:
            self.form = Form(row.kind, row.token, row.data, row.started_at)
        # As stored, so an unchanged form is not encoded again to be compared.
        self._persisted = (row.kind, row.token, row.stored_data) if row is not None else None
        self._writing: tuple[str, ...] | None = None  # what write() stored, until committed
        if self.form is not None and self.form.expired(now):
            self.expired, self.form = self.form, None
        elif row is not None and self.form is None:  # a kind this version does not know
            self._persisted = ("?",)

    def _snapshot(self) -> tuple[str, ...] | None:
        return self.form.snapshot() if self.form is not None else None

    # --- use --------------------------------------------------------------------------------

    def current(self, kind: str | None = None) -> Form | None:
        """The open form (of this kind, if given)."""
        if self.form is None or (kind is not None and self.form.kind != kind):
            return None
        return self.form

    def is_current(self, kind: str, token: str | None = None, step: str | None = None) -> bool:
        """Whether a button of this form (token) and step belongs to the open form."""
        form = self.current(kind)
        if form is None:
            return False
        return (token is None or token == form.token) and (step is None or step == form.step)

    def open(self, kind: str, data: dict[str, Any] | None = None, step: str | None = None) -> Form:
        """Start a form of kind, replacing whatever form the key had."""
        spec = _SPECS[kind]
        form = Form(kind, secrets.token_hex(4), dict(data or {}), self.now)
        form.goto(step or str(form.data.get(spec.step_field) or spec.first()))
        self.form = form
        self.expired = None
        return form

    def close(self, kind: str | None = None) -> bool:
        """End the open form (only if of this kind, when given); True if there was one."""
        if self.current(kind) is None:
            return False
        self.form = None
        return True

    def restore(self, form: Form | None) -> None:
        """Put back the form a change closed before it was refused (nothing was written)."""
        self.form = form

    # --- storage.db.UpdateWork ----------------------------------------------------------------

    @property
    def pending(self) -> bool:
        return self._snapshot() != self._persisted

    async def write(self, conn: DirectConnection) -> None:
        snapshot = self._writing = self._snapshot()
        if snapshot == self._persisted:
            return
        key = self.key
        if self.form is None:
            await store.delete(conn, key.channel, key.chat, key.person)
            return
        form = self.form
        if form.step not in form.spec.steps:
            raise ValueError(f"{form.kind} has no step {form.step!r}")
        await store.put(
            conn,
            store.FormRow(
                channel=key.channel,
                chat=key.chat,
                person=key.person,
                kind=form.kind,
                step=form.step,
                token=form.token,
                data=form.data,
                started_at=form.started_at,
                updated_at=self.now,
                stored_data=snapshot[2],
            ),
        )

    def committed(self) -> None:
        self._persisted = self._writing if self._writing is not None else self._snapshot()
        self._writing = None

    async def save(self) -> None:
        """Write the form now, in its own transaction (outside an update's handling)."""
        if self.pending:
            async with self.db.transaction() as conn:
                await self.write(conn)
            self.committed()


async def session(db: Database, key: FormKey, now: datetime) -> FormSession:
    """The form session of key for the update being handled (one per key and update).

    Outside an update's handling (no update id), the caller must save() it.
    """
    update_id = current_update_id.get()
    if update_id is not None:
        for item in db.work_of(update_id):
            if isinstance(item, FormSession) and item.key == key:
                return item
    async with db.lookup() as conn:
        row = await store.get(conn, key.channel, key.chat, key.person)
    found = FormSession(db, key, now, row)
    if update_id is not None:
        db.join_update(update_id, found)
    return found
