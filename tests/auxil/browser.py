"""A real headless Chromium for the web page's tests: Debian's `chromium` package driven by Playwright, never
a browser Playwright downloads, and a real `serve` host (uvicorn on 127.0.0.1) for it to load.

Without the browser (a laptop without chromium, or without Playwright) the tests skip and say why; where
CI runs them (`CI` or `TEST_DATABASE_URL` set, as `.ci/run` sets) a missing browser fails instead, so CI can
never pass by skipping them.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (requirements/dev.txt has it)"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install -y chromium; or set CHROMIUM)"
    return None


def require_browser() -> None:
    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get("CI") or os.environ.get("TEST_DATABASE_URL"):
        pytest.fail(f"the web page's browser tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def artifacts_dir() -> Path:
    """Where tests keep what a person should look at (screenshots): ARTIFACTS_DIR, else a temp directory."""
    path = Path(os.environ.get("ARTIFACTS_DIR") or Path(tempfile.gettempdir()) / "resident-bot-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(web) -> Iterator[str]:
    """The ASGI app served by uvicorn on 127.0.0.1, as `resident-bot serve` serves it; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning", log_config=None))
    thread = threading.Thread(target=server.run, name="webpage-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def launch(playwright):
    """Headless Chromium from the system package; Playwright's own browser downloads are never used."""
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    return playwright.chromium.launch(executable_path=shutil.which(CHROMIUM) or CHROMIUM, headless=True)
