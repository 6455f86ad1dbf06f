"""The button router hands each press to the handler PTB's scan would have chosen."""

from __future__ import annotations

import re

import pytest
from telegram import CallbackQuery, Chat, Message, Update, User
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.routing import ButtonRouter, pattern_keys, route_buttons


async def _noop(update: object, context: object) -> None:
    return None


def _handler(pattern: object = None) -> CallbackQueryHandler:
    return CallbackQueryHandler(_noop, pattern=pattern)


def _press(data: object) -> Update:
    user = User(5, "a", False)
    message = Message(3, None, Chat(5, "private"), text="/me 本月")  # type: ignore[arg-type]
    return Update(1, callback_query=CallbackQuery("9", user, "c", message=message, data=data))


def _scan(handlers: list[CallbackQueryHandler], update: Update) -> CallbackQueryHandler | None:
    """What PTB does: the first handler whose check accepts the update."""
    for handler in handlers:
        check = handler.check_update(update)
        if check is not None and check is not False:
            return handler
    return None


def test_keys_of_anchored_patterns() -> None:
    assert pattern_keys(_handler(r"^visit:(oc|st):")) == {"visit"}
    assert pattern_keys(_handler(r"^(penalty|reward):")) == {"penalty", "reward"}
    assert pattern_keys(_handler(r"^me:csv:")) == {"me"}


@pytest.mark.parametrize("pattern", [None, r"visit:", r"^visit", r"^v.sit:", re.compile("x")])
def test_patterns_without_a_key_stay_candidates_for_any_data(pattern: object) -> None:
    assert pattern_keys(_handler(pattern)) is None


def test_callable_patterns_stay_candidates_for_any_data() -> None:
    assert pattern_keys(_handler(lambda data: True)) is None


HANDLERS = [
    _handler(r"^visit:arrive:"),
    _handler(r"^visit:(oc|st|mk):"),
    _handler(r"^(penalty|reward):"),
    _handler(r"^visit:"),  # later and wider: only what the ones above leave
    _handler(r"^vis"),  # no key: tried for every press, in its place
    _handler(),  # the catch-all for stale buttons
]


@pytest.mark.parametrize(
    "data",
    [
        "visit:arrive:12",
        "visit:st:7:hardware",
        "visit:told:3",
        "visitor:1",
        "penalty:ok",
        "reward:x:y",
        "penalty",
        "",
        "unknown:1",
        "me:csv:2026-05",
        "x" * 64,
    ],
)
def test_router_chooses_as_the_scan_does(data: str) -> None:
    router = ButtonRouter(list(HANDLERS))
    update = _press(data)
    chosen = router.check_update(update)
    expected = _scan(HANDLERS, update)
    assert (chosen[0] if chosen else None) is expected


def test_non_text_data_is_tried_against_every_handler() -> None:
    typed = CallbackQueryHandler(_noop, pattern=dict)
    router = ButtonRouter([_handler(r"^visit:"), typed])
    chosen = router.check_update(_press({"arbitrary": 1}))
    assert chosen is not None and chosen[0] is typed


def test_updates_other_than_presses_are_not_taken() -> None:
    router = ButtonRouter(list(HANDLERS))
    message = Message(3, None, Chat(5, "private"), text="hello")  # type: ignore[arg-type]
    assert router.check_update(Update(2, message=message)) is None
    assert router.check_update("not an update") is None


def test_forged_keys_are_not_remembered_without_bound() -> None:
    router = ButtonRouter(list(HANDLERS))
    for n in range(5000):
        router.check_update(_press(f"forged{n}:x"))
    assert len(router.by_key) <= 1024


def test_route_buttons_puts_one_router_first_and_keeps_other_handlers() -> None:
    app = Application.builder().token("1:x").updater(None).build()
    command = CommandHandler("me", _noop)
    app.add_handler(command)
    for handler in HANDLERS:
        app.add_handler(handler)
    router = route_buttons(app)
    assert app.handlers[0] == [router, command]
    assert router.handlers == HANDLERS
    # The pressed message starts with "/me": a press still goes to the buttons, never the command.
    chosen = router.check_update(_press("visit:arrive:1"))
    assert chosen is not None and chosen[0] is HANDLERS[0]


def test_route_buttons_refuses_non_blocking_handlers() -> None:
    app = Application.builder().token("1:x").updater(None).build()
    app.add_handler(CallbackQueryHandler(_noop, pattern=r"^a:", block=False))
    with pytest.raises(ValueError):
        route_buttons(app)
