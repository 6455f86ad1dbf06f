"""The ticket card offers exactly the chat steps the lifecycle table allows office staff."""

from __future__ import annotations

import pytest

from bot.domain import lifecycle
from bot.domain.dispatch_models import TicketView
from bot.services.promises import CHAT_EVENTS
from handlers.promise_buttons import ticket_buttons


def view(state: str) -> TicketView:
    return TicketView(
        id=7,
        state=state,
        customer_id=1,
        customer_name="王先生",
        customer_class="other",
        customer_kind="",
        site=None,
        address="",
        fault="蓝屏",
        service_type="hardware",
        appointment_start=None,
        appointment_end=None,
        assigned_to=None,
        group_message_id=None,
    )


@pytest.mark.parametrize(
    ("state", "actions"),
    [
        ("new", ["resolve_by_phone", "bring_in"]),
        ("assigned", ["resolve_by_phone", "bring_in"]),
        ("accepted", ["resolve_by_phone", "bring_in"]),
        ("on_site", []),
        ("needs_revisit", []),
        ("taken_back", ["answer", "return_machine", "cancel"]),
        ("resolved", ["close"]),
        ("closed", []),
        ("cancelled", []),
    ],
)
def test_card_buttons_follow_the_lifecycle(state: str, actions: list[str]) -> None:
    rows = ticket_buttons(view(state), "zh-CN")
    data = [button.callback_data for row in rows for button in row]
    assert data == [f"tk:{action}:7" for action in actions]
    for action in actions:
        if action != "answer":
            lifecycle.apply(state, action, "dispatcher")  # legal for office staff


def test_every_chat_event_is_in_the_table_for_office_staff() -> None:
    for event in CHAT_EVENTS:
        assert any(
            e == event and "dispatcher" in rule.roles
            for (_, e), rule in lifecycle.TRANSITIONS.items()
        )
