"""The access gate: runs before every other handler and stops what the caller may not do."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.domain import access
from bot.i18n import normalize_language, t
from bot.services import identities
from handlers.context import FieldContext
from storage import people

# Messages that carry no command still need a known sender; these pass for anyone.
OPEN_ACTIONS = {"start"}
MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback data


def action_of(update: Update, bot_username: str) -> str | None:
    """The command name or button action this update asks for, if any."""
    if update.callback_query is not None:
        return (update.callback_query.data or "").split(":", 1)[0]
    message = update.effective_message
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    head = message.text.split(maxsplit=1)[0][1:]
    name, _, target = head.partition("@")
    if target and target.lower() != bot_username.lower():
        return None
    return name.lower()


async def resolve_actor(update: Update, context: FieldContext) -> access.Actor | None:
    """Who sent this update, with their language."""
    user = update.effective_user
    if user is None:
        return None
    services = context.services
    found = await identities.resolve(services, identities.TELEGRAM, user.id)
    person = found.person if found else None
    customer_id = customer_language = None
    if found is not None and person is None:
        customer_id, customer_language = found.customer_id, found.customer_language
    language = (
        (person.language if person else None)
        or customer_language
        or normalize_language(user.language_code)
        or services.config.language
    )
    return access.Actor(
        telegram_id=user.id,
        person=person,
        is_admin=user.id in services.config.admins,
        language=language,
        customer_id=customer_id,
    )


async def dispatch_group_id(context: FieldContext) -> int | None:
    async with context.services.db.lookup() as conn:
        return await people.bound_chat(conn, "dispatch")


async def gate(update: Update, context: FieldContext) -> None:
    """Resolve the actor and refuse, once and politely, anything they may not do."""
    message = update.effective_message
    if message is not None and (message.migrate_to_chat_id or message.migrate_from_chat_id):
        return
    context.actor = await resolve_actor(update, context)
    actor = context.actor
    if actor is None:
        raise ApplicationHandlerStop
    query = update.callback_query
    if query is not None and (
        query.message is None or len((query.data or "").encode()) > MAX_CALLBACK_BYTES
    ):
        # Not a button of ours: we send no inline-mode messages and at most 64 bytes of data.
        await query.answer(t(actor.language, "button.stale"), show_alert=True)
        raise ApplicationHandlerStop
    action = action_of(update, context.bot.username)
    if action in OPEN_ACTIONS:
        return
    chat = update.effective_chat
    chat_kind = chat.type if chat else "private"
    context.chat_kind = chat_kind
    if action is None:
        if actor.known:
            return
        refusal: access.Refusal | None = access.Refusal.STRANGER
        if chat_kind != "private":
            raise ApplicationHandlerStop  # chatter in a group from a stranger: stay silent
    else:
        group_id = await dispatch_group_id(context) if chat_kind != "private" else None
        in_group = chat is not None and group_id is not None and chat.id == group_id
        refusal = access.decide(actor, action, chat_kind, in_group)
    if refusal is None:
        return
    key = refusal.value
    if refusal is access.Refusal.STRANGER and action is not None:
        key = access.STRANGER_HINTS.get(action, key)
    text = t(actor.language, key)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif message is not None:
        await message.reply_text(text)
    raise ApplicationHandlerStop
