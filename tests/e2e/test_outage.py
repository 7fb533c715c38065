"""Real processes during a database outage: `serve` killed with SIGKILL, and `chat` started without one."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.storage import schema
from bot.storage.connection import make_engine
from bot.storage.repository import Repository
from tests.auxil.db import empty_database
from tests.auxil.faultproxy import FaultProxy
from tests.auxil.kb import ROOT

PG = os.environ.get("TEST_DATABASE_URL")
WORDS_ONLY = {"SEMANTIC_MODEL": "off"}  # storage is under test here: start in a second, not after encoding


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--no-telegram", "--port", str(port)],
                                cwd=ROOT, env={**os.environ, **WORDS_ONLY, **env}, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"serve exited: {log.read_text(errors='replace')}"
            assert time.monotonic() < deadline, "serve did not answer /healthz"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.skipif(not PG, reason="TEST_DATABASE_URL not set")
def test_kill_9_while_the_database_hangs_loses_no_record_and_duplicates_none(tmp_path):
    url = empty_database(PG, tmp_path)
    engine = make_engine(url)
    schema.upgrade(engine)
    data = tmp_path / "data"
    user = f"resident-{uuid.uuid4().hex[:8]}"
    texts = ["和滨海新区跨省通办多少项", "那廊坊呢？", "潞河附校晚托到几点", "一键呼", "2", "厂通路哪年通车",
             "公积金怎么提取"]
    replies: list[str] = []
    with FaultProxy(engine.url.port or 5432) as proxy:
        env = {"DATABASE_URL": proxy.url(url), "DATA_DIR": str(data), "USER_ID_SALT": "outage", "LOG_FORMAT": "json",
               "RATE_LIMIT_PER_MINUTE": "100000", "DB_CONNECT_TIMEOUT": "2", "DB_STATEMENT_TIMEOUT": "1",
               "CONTEXT_READ_TIMEOUT": "0.2"}
        first_log = tmp_path / "first.log"
        with serve(env, first_log) as (proc, base):
            def ask(text: str) -> float:
                started = time.perf_counter()
                r = httpx.post(f"{base}/api/v1/messages", json={"user": user, "text": text}, timeout=30)
                assert r.status_code == 200
                replies.append(r.json()["interaction_id"])
                return time.perf_counter() - started

            for text in texts[:5]:
                ask(text)
            proxy.blackhole()
            slowest = max(ask(texts[n % len(texts)]) for n in range(30))
            deadline = time.monotonic() + 20
            while httpx.get(f"{base}/healthz").json()["database"] and time.monotonic() < deadline:
                time.sleep(0.1)
            health = httpx.get(f"{base}/healthz").json()
            ready = httpx.get(f"{base}/readyz")
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        assert slowest < 5, slowest  # was up to 60 s a request with the old code
        assert health["status"] == "degraded" and health["records_waiting"] > 0 and ready.status_code == 503
        segments = list((data / "journal").rglob("*.jsonl"))
        assert segments and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in segments)
        lines = first_log.read_text(encoding="utf-8").splitlines()
        outage = [json.loads(x)["message"] for x in lines if "database unreachable" in x]
        assert len(outage) == 1 and "Traceback" not in first_log.read_text(encoding="utf-8")
        proxy.restore()
        with serve(env, tmp_path / "second.log") as (_proc, base):
            deadline = time.monotonic() + 60
            while (h := httpx.get(f"{base}/healthz").json())["records_waiting"] or not h["database"]:
                assert time.monotonic() < deadline, h
                time.sleep(0.2)
    by_id = {r.id: r for r in Repository(engine).interactions(_epoch())}
    conversations = {by_id[i].conversation_id for i in replies if i in by_id}
    stored = [r.id for r in by_id.values() if r.conversation_id in conversations]
    assert len(conversations) == 1 and len(replies) == 35
    assert sorted(stored) == sorted(replies)  # every reply's record, and no other: none lost, none twice
    engine.dispose()


def test_chat_with_an_unreachable_database_answers_and_says_so_in_one_line(tmp_path):
    port = free_port()  # nothing listens there
    env = {**os.environ, **WORDS_ONLY, "DATABASE_URL": f"postgresql+psycopg://bot:s3cret@127.0.0.1:{port}/resident",
           "DATA_DIR": str(tmp_path / "data"), "DB_CONNECT_TIMEOUT": "2"}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "chat"], cwd=ROOT, env=env, input="潞河附校晚托到几点\n",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "19:20" in done.stdout
    [line] = done.stderr.strip().splitlines()
    assert "DATABASE_URL is postgresql+psycopg://bot:***@127.0.0.1" in line and "check that" in line
    assert "s3cret" not in done.stderr
    # The conversation was not lost: it waits in the journal for the database.
    [segment] = (tmp_path / "data" / "journal").rglob("*.jsonl")
    assert [json.loads(x)["kind"] for x in segment.read_text(encoding="utf-8").splitlines()].count("interaction") == 1


def _epoch():
    import datetime as dt

    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "purge"], ["report"]])
def test_commands_that_need_the_database_now_say_so_in_one_line(command, tmp_path, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://bot:s3cret@127.0.0.1:{free_port()}/resident")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    assert main(command) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("resident-bot: cannot reach the database at DATABASE_URL postgresql+psycopg://bot:***@")
    assert "check that it is running" in line and "s3cret" not in line
