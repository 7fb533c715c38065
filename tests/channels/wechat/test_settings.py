"""WeChat's settings are checked before `serve` loads anything, each mistake named in one line."""

from __future__ import annotations

import pytest

from bot.channels.wechat.endpoint import check
from bot.config import SettingsError, load_settings
from tests.e2e.wechat_stub import AES_KEY, APP_ID, APP_SECRET, TOKEN


@pytest.mark.parametrize(("settings", "says"), [
    ({"wechat_app_id": APP_ID}, "WECHAT_APP_ID is set but WECHAT_TOKEN is not"),
    ({"wechat_aes_key": AES_KEY}, "WECHAT_AES_KEY is set but WECHAT_TOKEN is not"),
    ({"wechat_token": "ab"}, "WECHAT_TOKEN must be 3-32 letters or digits"),
    ({"wechat_token": "has space"}, "WECHAT_TOKEN must be 3-32 letters or digits"),
    ({"wechat_token": TOKEN, "wechat_aes_key": "short"}, "WECHAT_AES_KEY must be the 43 letters and digits"),
    ({"wechat_token": TOKEN, "wechat_aes_key": AES_KEY}, "WECHAT_AES_KEY is set but WECHAT_APP_ID is not"),
    ({"wechat_token": TOKEN, "wechat_app_secret": APP_SECRET}, "WECHAT_APP_SECRET is set but WECHAT_APP_ID is not"),
])
def test_incomplete_or_malformed_settings_are_named(settings, says):
    with pytest.raises(SettingsError) as refused:
        check(load_settings(**settings))
    assert str(refused.value).startswith(says)


@pytest.mark.parametrize("settings", [
    {},
    {"wechat_token": TOKEN},
    {"wechat_token": TOKEN, "wechat_app_id": APP_ID, "wechat_app_secret": APP_SECRET, "wechat_aes_key": AES_KEY},
])
def test_complete_settings_pass(settings):
    check(load_settings(**settings))


def test_admin_openids_are_read_from_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("WECHAT_ADMIN_OPENIDS", "oAbc-1, oDef_2;oGhi3")
    assert load_settings().wechat_admin_openids == ("oAbc-1", "oDef_2", "oGhi3")
    monkeypatch.setenv("WECHAT_ADMIN_OPENIDS", "not an openid")
    with pytest.raises(SettingsError, match="WECHAT_ADMIN_OPENIDS"):
        load_settings()
