"""A `resident-bot serve --no-telegram` subprocess on a free loopback port, for the benchmarks."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, str]]:
    """Start the server, wait until /healthz answers, yield (process, base URL), stop it with SIGTERM."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--no-telegram", "--port", str(port)],
                            cwd=ROOT, env={"USER_ID_SALT": "benchmark-salt", **env, "HOST": "127.0.0.1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(timeout=60)
