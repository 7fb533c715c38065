"""A start that takes a while says so: what is being prepared, then that it is ready (issue 19, item 1).
The sentence vectors' own progress is tested in tests/semantic/test_first_start.py."""

from __future__ import annotations

import contextlib
import logging
import os
import pty
import re
import subprocess
import sys
import time

from bot.progress import announced_if_slow

# `resident-bot` as a person runs it, with "slow" meaning any time at all, so the lines always appear.
SLOW = "import sys, bot.progress; bot.progress.SLOW_AFTER = 0; from bot.cli import main; sys.exit(main(sys.argv[1:]))"


def resident_bot(*args: str, terminal: bool = True) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of `resident-bot ARGS`, its stderr a terminal (as a person sees it)
    or a pipe (as a script does)."""
    env = {**os.environ, "SEMANTIC_MODEL": "off"}
    if not terminal:
        run = subprocess.run([sys.executable, "-c", SLOW, *args], capture_output=True, text=True, timeout=300,
                             env=env)
        return run.returncode, run.stdout, run.stderr
    controller, terminal_end = pty.openpty()
    with subprocess.Popen([sys.executable, "-c", SLOW, *args], stdout=subprocess.PIPE, stderr=terminal_end,
                          env=env, text=True) as proc:
        os.close(terminal_end)
        out = proc.communicate(timeout=300)[0]
        err = b""
        with contextlib.suppress(OSError):  # EIO once the process has closed its end
            while chunk := os.read(controller, 4096):
                err += chunk
        os.close(controller)
    return proc.returncode, out, err.decode().replace("\r\n", "\n")


def test_a_slow_start_says_what_it_prepares_and_when_it_is_ready():
    status, out, err = resident_bot("ask", "潞河附校晚托到几点")
    assert status == 0 and "19:20" in out
    lines = err.splitlines()
    assert re.fullmatch(r"resident-bot: preparing the knowledge base: indexing \d+ questions of \d+ entries "
                        r"\(a few seconds; longer on a busy machine\)…", lines[0]), lines
    assert re.fullmatch(r"resident-bot: knowledge base [0-9a-f]{12} ready in \d+\.\d s", lines[1]), lines


def test_a_script_gets_no_progress_lines():
    status, out, err = resident_bot("ask", "潞河附校晚托到几点", terminal=False)
    assert status == 0 and "19:20" in out and err == ""


def test_a_quick_preparation_prints_nothing_and_a_slow_one_two_lines(caplog):
    with caplog.at_level(logging.INFO, logger="bot.progress"):
        with announced_if_slow("preparing", "ready", after=5):
            pass
        assert caplog.messages == []
        with announced_if_slow("preparing", "ready", after=0.01):
            time.sleep(0.3)
    assert caplog.messages[0] == "preparing…" and re.fullmatch(r"ready in 0\.\d s", caplog.messages[1])
