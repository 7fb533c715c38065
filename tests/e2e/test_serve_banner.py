"""`resident-bot serve` says, once it listens, where, with which knowledge base and which channels."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.auxil.kb import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


UNREACHABLE = {"TELEGRAM_BOT_TOKEN": "123456:SOME-TOKEN", "TELEGRAM_TIMEOUT": "2"}


@pytest.mark.parametrize(("flags", "env", "telegram"), [
    ([], {}, False),  # no token: Telegram is simply not mounted, no flag needed
    (["--no-telegram"], UNREACHABLE, False),  # the explicit off-switch, token or not
    ([], UNREACHABLE, True),  # a token and the Bot API out of reach: mounted, one line, the rest serves
], ids=["no-token", "no-telegram-flag", "bot-api-unreachable"])
def test_serve_announces_where_it_listens_and_what_it_mounts(tmp_path, flags, env, telegram):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "WECHAT_", "API_"))} | {
        "USER_ID_SALT": "banner-salt", "HOST": "127.0.0.1", "LOG_FORMAT": "json", "SEMANTIC_MODEL": "off",
        "DATABASE_URL": f"sqlite:///{tmp_path}/b.sqlite3",
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{free_port()}/bot", **env}  # nothing listens there
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", *flags, "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    banner = None
    lines = []
    try:
        deadline = time.monotonic() + 120
        while banner is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            record = json.loads(line)
            if record.get("logger") == "bot.server":
                banner = record["message"]
        answer = httpx.post(f"http://127.0.0.1:{port}/api/v1/messages", json={"user": "u", "text": "厂通路哪年通车"},
                            timeout=30)  # announced means listening, and the API answers whatever Telegram does
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[0]
    assert banner is not None, rest
    assert banner.startswith(f"serving on http://127.0.0.1:{port} · knowledge base ")
    assert "api (/api/v1/messages /api/v1/feedback)" in banner and "webpage (/ /web/messages)" in banner
    assert ("telegram (/telegram/webhook)" in banner) is telegram
    assert banner.endswith("health /healthz, readiness /readyz, metrics /metrics")
    assert answer.status_code == 200 and answer.json()["faq_id"] == "changtong-road-opening"
    output = "".join(lines) + rest
    problems = [json.loads(x)["message"] for x in output.splitlines() if json.loads(x)["level"] in ("warning", "error")]
    if telegram:
        assert len(problems) == 1 and problems[0].startswith("telegram not started yet: could not reach the Telegram "
                                                             "Bot API"), problems
    else:
        assert problems == []
    assert "Traceback" not in output and "SOME-TOKEN" not in output
    assert proc.returncode == 0
