"""Two `serve` processes against one PostgreSQL and one Redis: replicas share nothing in memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from bot.storage.connection import make_engine
from bot.storage.repository import Repository
from tests.auxil.db import empty_database
from tests.auxil.kb import ROOT

PG = os.environ.get("TEST_DATABASE_URL")
REDIS = os.environ.get("TEST_REDIS_URL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--no-telegram", "--port", str(port)],
                            cwd=ROOT, env={**os.environ, "USER_ID_SALT": "replica-salt", "HOST": "127.0.0.1", **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {proc.stdout.read().decode(errors='replace')}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("serve did not become healthy")


def stored(base: str, timeout: float = 10) -> None:
    """Wait until the replica's background writer has stored what it journalled (milliseconds, usually;
    a resident's next message takes seconds to type)."""
    deadline = time.monotonic() + timeout
    while httpx.get(f"{base}/healthz", timeout=5).json().get("records_waiting") and time.monotonic() < deadline:
        time.sleep(0.01)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.skipif(not (PG and REDIS), reason="TEST_DATABASE_URL and TEST_REDIS_URL not set")
def test_two_replicas_share_context_and_rate_limit(tmp_path):
    url = empty_database(PG, tmp_path)
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "DATABASE_URL": url})
    env = {"DATABASE_URL": url, "REDIS_URL": REDIS, "RATE_LIMIT_PER_MINUTE": "6", "USER_ID_SALT": "replicas",
           "LOG_FORMAT": "json", "REDIS_TIMEOUT_SECONDS": "3"}  # a busy test machine: Redis slow, not gone
    (a, url_a), (b, url_b) = start_serve(env), start_serve(env)
    user = f"resident-{uuid.uuid4().hex[:8]}"
    try:
        def ask(base: str, text: str) -> httpx.Response:
            reply = httpx.post(f"{base}/api/v1/messages", json={"user": user, "text": text}, timeout=10)
            stored(base)  # the next turn goes to the other replica: let this one's context reach the database
            return reply

        assert ask(url_a, "和滨海新区跨省通办多少项").json()["faq_id"] == "cross-province-binhai"
        assert ask(url_b, "那廊坊呢？").json()["faq_id"] == "regional-langfang"  # context from replica A
        clarify = ask(url_a, "一键呼").json()
        assert clarify["status"] == "clarify"
        chosen = ask(url_b, "2").json()  # the choice, answered by the other replica
        assert chosen["status"] == "answer" and chosen["faq_id"] == clarify["choices"][1]["id"]
        statuses = [ask(url, "你好").status_code for url in (url_a, url_b, url_a)]
        assert statuses == [200, 200, 429]  # six messages a minute, counted across both replicas
    finally:
        codes = [stop(a), stop(b)]
    assert codes == [0, 0]
    repo = Repository(make_engine(url))
    assert repo.count_interactions() == 6  # every answered message recorded once, by whichever replica
    repo.engine.dispose()


def test_sigterm_flushes_and_exits_zero(tmp_path):
    db = f"sqlite:///{tmp_path}/serve.sqlite3"
    proc, url = start_serve({"DATABASE_URL": db, "LOG_FORMAT": "json"})
    try:
        reply = httpx.post(f"{url}/api/v1/messages", json={"user": "u", "text": "厂通路哪年通车"}, timeout=10)
        assert reply.json()["faq_id"] == "changtong-road-opening"
    finally:
        code = stop(proc)
    output = proc.stdout.read().decode()
    assert code == 0, output
    assert '"message": "message handled"' in output and '"status": "answer"' in output
    assert '"user_hash"' in output and '"u"' not in output
    repo = Repository(make_engine(db))
    assert repo.count_interactions() == 1
    repo.engine.dispose()


def test_killed_process_keeps_the_conversation(tmp_path):
    """kill -9 mid-conversation: a new process answers the follow-up from the stored context."""
    db = f"sqlite:///{tmp_path}/kill.sqlite3"
    proc, url = start_serve({"DATABASE_URL": db, "LOG_FORMAT": "json"})
    try:
        body = {"user": "resident", "text": "和滨海新区跨省通办多少项"}
        assert httpx.post(f"{url}/api/v1/messages", json=body, timeout=10).json()["faq_id"] == "cross-province-binhai"
    finally:
        proc.kill()
        proc.wait(timeout=30)
    proc, url = start_serve({"DATABASE_URL": db, "LOG_FORMAT": "json"})
    try:
        body = {"user": "resident", "text": "那廊坊呢？"}
        assert httpx.post(f"{url}/api/v1/messages", json=body, timeout=10).json()["faq_id"] == "regional-langfang"
    finally:
        assert stop(proc) == 0
