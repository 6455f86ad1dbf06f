"""Commands every registered person shares: /start, /help, /lang, /invite, /bindgroup."""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from bot.domain import access
from bot.domain.models import Role
from bot.domain.parsing import parse_chat_id
from bot.i18n import LANGUAGES, normalize_language, t
from bot.services import notices, registration
from handlers.context import FieldContext
from storage import customers, people

log = logging.getLogger(__name__)


def available_commands(app: Application) -> set[str]:
    return app.bot_data.setdefault("commands", set())


def add_command(app: Application, name: str, callback, **kwargs) -> None:  # noqa: ANN001
    """Register a command and list it for /help and the client's menu."""
    app.add_handler(CommandHandler(name, callback, **kwargs))
    available_commands(app).add(name)


def role_name(language: str, role: Role) -> str:
    return t(language, f"role.{role.value}")


def help_text(language: str, roles: frozenset[Role], available: set[str]) -> str:
    lines = [t(language, "help.header")]
    for name in access.menu_for(roles, available):
        lines.append(f"/{name} — {t(language, f'cmd.{name}')}")
    return "\n".join(lines)


async def publish_commands(app: Application) -> None:
    """set_my_commands: a default menu for strangers and one per registered chat."""
    services = app.bot_data["services"]
    default_language = services.config.language
    bot = app.bot
    try:
        await bot.set_my_commands(
            [BotCommand("start", t(default_language, "cmd.start"))], scope=BotCommandScopeDefault()
        )
        async with services.db.read() as conn:
            everyone = []
            for role in Role:
                if role is not Role.CUSTOMER:
                    everyone += await people.with_role(conn, role)
        for person in everyone:
            if person.telegram_id is not None:
                await publish_person_commands(app, person.telegram_id, person.role, person.language)
    except TelegramError as exc:
        log.warning("could not publish the command menus: %s", exc)


async def publish_person_commands(
    app: Application, chat_id: int, role: Role, language: str | None
) -> None:
    services = app.bot_data["services"]
    language = language or services.config.language
    roles = frozenset({role})
    if chat_id in services.config.admins:
        roles |= {Role.ADMIN, Role.MANAGER}
    names = access.menu_for(roles, available_commands(app))
    commands = [BotCommand(name, t(language, f"cmd.{name}")) for name in names]
    await app.bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))


async def start(update: Update, context: FieldContext) -> None:
    """Greet a known person, or register a newcomer with an invite code."""
    actor = context.actor
    assert actor is not None and update.effective_message and update.effective_user
    message = update.effective_message
    if update.effective_chat and update.effective_chat.type != "private":
        await message.reply_text(t(actor.language, "access.private_only"))
        return
    if not context.args:
        if actor.person is None and not actor.is_admin and actor.customer_id is not None:
            name = update.effective_user.full_name  # a customer who linked their chat
            await message.reply_text(t(actor.language, "start.customer_welcome", name=name))
        elif actor.known:
            name = actor.person.name if actor.person else update.effective_user.full_name
            role = actor.person.role if actor.person else Role.ADMIN
            await message.reply_text(
                t(
                    actor.language,
                    "start.welcome_back",
                    name=name,
                    role=role_name(actor.language, role),
                )
            )
        else:
            await message.reply_text(t(actor.language, "access.stranger"))
        return
    payload = context.args[0]
    slip_hook = context.application.bot_data.get("start_payload_hooks", {})
    for prefix, hook in slip_hook.items():
        if payload.startswith(prefix):
            await hook(update, context, payload[len(prefix) :])
            return
    user = update.effective_user
    result = await registration.redeem(
        context.services,
        payload,
        user.id,
        user.full_name,
        normalize_language(user.language_code) or context.services.config.language,
    )
    if result.error is not None:
        await message.reply_text(t(actor.language, result.error.value))
        return
    person = result.person
    assert person is not None
    language = person.language or actor.language
    await message.reply_text(
        t(language, "start.registered", name=person.name, role=role_name(language, person.role))
    )
    try:
        await publish_person_commands(context.application, user.id, person.role, language)
    except TelegramError as exc:
        log.warning("could not set the command menu for a new person: %s", exc)


async def help_command(update: Update, context: FieldContext) -> None:
    """List the commands the caller may use (a customer gets what a customer can do)."""
    actor = context.actor
    assert actor is not None and update.effective_message
    if actor.roles == {Role.CUSTOMER}:
        await update.effective_message.reply_text(t(actor.language, "customer.help"))
        return
    text = help_text(actor.language, actor.roles, available_commands(context.application))
    await update.effective_message.reply_text(text)


async def lang(update: Update, context: FieldContext) -> None:
    """Switch the caller's language: /lang zh | en."""
    actor = context.actor
    assert actor is not None and update.effective_message
    choice = normalize_language(context.args[0]) if context.args else None
    if choice is None:
        await update.effective_message.reply_text(t(actor.language, "lang.usage"))
        return
    if actor.person is None and actor.customer_id is not None:
        async with context.services.db.transaction() as conn:
            await customers.set_language(conn, actor.customer_id, choice)
        await update.effective_message.reply_text(t(choice, "customer.lang_set"))
        return
    if actor.person is None:
        await update.effective_message.reply_text(t(choice, "lang.admin_unbound"))
        return
    async with context.services.db.transaction() as conn:
        await people.set_language(conn, actor.person.id, choice)
    await update.effective_message.reply_text(t(choice, "lang.set"))


def _invite_keyboard(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    role_name(language, role), callback_data=f"invite:{role.value}"
                )
                for role in registration.INVITABLE
            ]
        ]
    )


async def _send_invite(update: Update, context: FieldContext, role: Role) -> None:
    actor = context.actor
    assert actor is not None
    creator = actor.person.id if actor.person else actor.telegram_id
    invite = await registration.create_invite(context.services, role, creator)
    expires = invite.expires_at.astimezone(context.services.config.tz).strftime("%Y-%m-%d %H:%M")
    text = t(
        actor.language,
        "invite.created",
        role=role_name(actor.language, role),
        code=invite.code,
        expires=expires,
        bot=context.bot.username,
    )
    await context.bot.send_message(update.effective_chat.id, text)


async def invite(update: Update, context: FieldContext) -> None:
    """Create a one-time invite code: /invite technician|dispatcher|manager."""
    actor = context.actor
    assert actor is not None and update.effective_message
    if not context.args:
        await update.effective_message.reply_text(
            t(actor.language, "invite.choose"), reply_markup=_invite_keyboard(actor.language)
        )
        return
    role = registration.parse_role(context.args[0])
    if role not in registration.INVITABLE:
        await update.effective_message.reply_text(t(actor.language, "invite.usage"))
        return
    await _send_invite(update, context, role)


async def invite_button(update: Update, context: FieldContext) -> None:
    """The role picked on the /invite keyboard."""
    query = update.callback_query
    assert query is not None and context.actor is not None
    role = registration.parse_role((query.data or "").partition(":")[2])
    if role not in registration.INVITABLE:
        await query.answer(t(context.actor.language, "invite.usage"), show_alert=True)
        return
    await query.answer()
    await _send_invite(update, context, role)


async def bindgroup(update: Update, context: FieldContext) -> None:
    """Make this group the dispatch group (admins, inside the group); moving it asks first."""
    actor = context.actor
    chat = update.effective_chat
    assert actor is not None and chat is not None and update.effective_message
    if chat.type not in ("group", "supergroup"):
        await update.effective_message.reply_text(t(actor.language, "bindgroup.not_group"))
        return
    async with context.services.db.lookup() as conn:
        current = await people.bound_chat(conn, "dispatch")
    if current is not None and current != chat.id:
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t(actor.language, "bindgroup.confirm_button"),
                        callback_data=f"bind:yes:{chat.id}:{current}",
                    ),
                    InlineKeyboardButton(
                        t(actor.language, "bindgroup.cancel_button"),
                        callback_data=f"bind:no:{chat.id}:{current}",
                    ),
                ]
            ]
        )
        old = await _chat_title(context, current)
        await update.effective_message.reply_text(
            t(actor.language, "bindgroup.confirm", old=old, title=chat.title),
            reply_markup=keyboard,
        )
        return
    async with context.services.db.transaction() as conn:
        await people.bind_chat(conn, "dispatch", chat.id, actor.telegram_id)
    await update.effective_message.reply_text(t(actor.language, "bindgroup.done", title=chat.title))


async def _chat_title(context: FieldContext, chat_id: int) -> str:
    try:
        return (await context.bot.get_chat(chat_id)).title or str(chat_id)
    except TelegramError:
        return str(chat_id)


async def bind_button(update: Update, context: FieldContext) -> None:
    """The answer to "move the dispatch group here?"; the old group is told it was left."""
    query = update.callback_query
    actor = context.actor
    assert query is not None and actor is not None
    parts = (query.data or "").split(":")
    chat = update.effective_chat
    valid = len(parts) == 4 and parts[1] in ("yes", "no") and chat is not None
    if not valid or parts[2] != str(chat.id):
        await query.answer(t(actor.language, "bindgroup.expired"), show_alert=True)
        return
    if parts[1] == "no":
        await query.answer()
        await query.edit_message_text(t(actor.language, "bindgroup.cancelled"))
        return
    old = parse_chat_id(parts[3])
    async with context.services.db.transaction() as conn:
        moved = await people.bound_chat(conn, "dispatch") == old
        if moved:  # nobody moved it meanwhile: this confirmation is still about the truth
            await people.bind_chat(conn, "dispatch", chat.id, actor.telegram_id)
            # The old group hears of it through the outbox, with the change.
            await notices.post(
                conn, notices.text(notices.chat(old), "bindgroup.moved_away", title=chat.title)
            )
    if not moved:
        await query.answer(t(actor.language, "bindgroup.expired"), show_alert=True)
        return
    await query.answer()
    await query.edit_message_text(t(actor.language, "bindgroup.done", title=chat.title))


async def chat_migrated(update: Update, context: FieldContext) -> None:
    """Follow the dispatch group when Telegram upgrades it to a supergroup."""
    message = update.effective_message
    assert message is not None
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    else:
        old, new = message.migrate_from_chat_id, message.chat.id
    async with context.services.db.transaction() as conn:
        moved = await people.migrate_chat(conn, old, new)
    if moved:
        log.info("dispatch group moved from %s to %s", old, new)


def language_names() -> str:
    return ", ".join(LANGUAGES)


def who(context: FieldContext) -> str:
    """The acting person as the audit log names them."""
    actor = context.actor
    if actor is None:
        return "system"
    if actor.person is not None:
        return f"{actor.person.name} ({actor.telegram_id})"
    return f"{actor.telegram_id}"
