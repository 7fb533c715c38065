"""`serve` and `telegram` refuse to start unsafe or broken, with one line naming what to fix."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys

import pytest

from bot.config import local_salt
from tests.auxil.kb import ROOT
from tests.e2e.botapi_stub import BotApiStub

OURS = ("TELEGRAM_", "USER_ID_SALT", "API_TOKEN", "WEBHOOK_", "HOST", "PORT", "DATABASE_URL", "REDIS_URL", "WECHAT_")


def run(args: list[str], tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(OURS)}
    clean.update({"XDG_DATA_HOME": str(tmp_path), "SEMANTIC_MODEL": "off", **env})
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=clean,
                          cwd=ROOT, timeout=120)


def one_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize(("args", "env", "starts"), [
    (["serve", "--no-telegram", "--host", "0.0.0.0"], {"USER_ID_SALT": "s"},
     "resident-bot: API_TOKENS is not set but serve listens on 0.0.0.0"),
    (["serve"], {"USER_ID_SALT": "s", "TELEGRAM_BOT_TOKEN": "123:abc", "WEBHOOK_URL": "https://bot.example/tg"},
     "resident-bot: WEBHOOK_SECRET is not set but WEBHOOK_URL is"),
    (["serve", "--no-telegram"], {}, "resident-bot: USER_ID_SALT is not set"),
    (["serve", "--no-telegram"], {"USER_ID_SALT": "s", "WECHAT_APP_SECRET": "0123456789abcdef"},
     "resident-bot: WECHAT_APP_SECRET is set but WECHAT_TOKEN is not"),
    (["telegram"], {"TELEGRAM_BOT_TOKEN": "123:abc"}, "resident-bot: USER_ID_SALT is not set"),
    (["telegram"], {"TELEGRAM_BOT_TOKEN": "not a token", "USER_ID_SALT": "s"},
     "resident-bot: TELEGRAM_BOT_TOKEN does not look like a bot token"),
])
def test_unsafe_settings_refuse_to_start(args, env, starts, tmp_path):
    done = run(args, tmp_path, **env)
    assert done.returncode == 2 and one_line(done).startswith(starts)
    assert not (tmp_path / "resident-bot" / "resident-bot.sqlite3").exists()  # refused before anything started


def test_telegram_with_a_refused_token_says_so(tmp_path):
    stub = BotApiStub("123456:THE-RIGHT-TOKEN").start()
    try:
        done = run(["telegram"], tmp_path, TELEGRAM_BOT_TOKEN="123456:A-WRONG-TOKEN", USER_ID_SALT="s",
                   TELEGRAM_API_BASE_URL=stub.base_url)
    finally:
        stub.stop()
    assert done.returncode == 1
    assert one_line(done).startswith("resident-bot: Telegram refused TELEGRAM_BOT_TOKEN")


def test_telegram_without_network_says_what_to_check(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = run(["telegram"], tmp_path, TELEGRAM_BOT_TOKEN="123456:SOME-TOKEN", USER_ID_SALT="s",
               TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}/bot", TELEGRAM_TIMEOUT="2")
    assert done.returncode == 1
    line = one_line(done)
    assert line.startswith("resident-bot: could not reach the Telegram Bot API") and "TELEGRAM_API_BASE_URL" in line


def test_console_keeps_its_own_private_salt(tmp_path):
    salt = local_salt(tmp_path / "data")
    path = tmp_path / "data" / "user-id-salt"
    assert len(salt) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_salt(tmp_path / "data") == salt  # kept: hashes stay comparable between sessions
