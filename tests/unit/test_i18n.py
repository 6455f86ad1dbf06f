"""The catalogs: both languages hold the same keys with the same placeholders."""

from __future__ import annotations

from bot.i18n import catalog, placeholders, t


def test_every_key_exists_in_both_languages() -> None:
    zh, en = catalog("zh-CN"), catalog("en")
    assert sorted(set(zh) - set(en)) == []
    assert sorted(set(en) - set(zh)) == []


def test_placeholders_match_between_languages() -> None:
    zh, en = catalog("zh-CN"), catalog("en")
    mismatched = [key for key in zh if placeholders(zh[key]) != placeholders(en[key])]
    assert mismatched == []


def test_every_access_command_has_a_description() -> None:
    from bot.domain.access import PERMISSIONS

    zh = catalog("zh-CN")
    missing = [
        name for name, perm in PERMISSIONS.items() if perm.in_menu and f"cmd.{name}" not in zh
    ]
    assert missing == []


def test_unknown_language_falls_back_to_chinese() -> None:
    assert t("fr", "role.manager") == "经理"
    assert t("en", "role.manager") == "manager"
