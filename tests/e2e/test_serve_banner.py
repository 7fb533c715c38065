"""`resident-bot serve` says, once it listens, where, with which knowledge base and which channels."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

from tests.auxil.kb import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_announces_where_it_listens_and_what_it_mounts(tmp_path):
    port = free_port()
    env = {**os.environ, "USER_ID_SALT": "banner-salt", "HOST": "127.0.0.1", "LOG_FORMAT": "json",
           "SEMANTIC_MODEL": "off", "DATABASE_URL": f"sqlite:///{tmp_path}/b.sqlite3"}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--no-telegram", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    banner = None
    try:
        deadline = time.monotonic() + 120
        while banner is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            record = json.loads(line)
            if record.get("logger") == "bot.server":
                banner = record["message"]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # announced means listening
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[0]
    assert banner is not None, rest
    assert banner.startswith(f"serving on http://127.0.0.1:{port} · knowledge base ")
    assert "channels: api (/api/v1/messages /api/v1/feedback), webpage (/ /web/messages) · " in banner
    assert "telegram" not in banner
    assert banner.endswith("health /healthz, readiness /readyz, metrics /metrics")
    assert proc.returncode == 0
