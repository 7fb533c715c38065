"""Hot reload: watch knowledge/ and intents/ (watchfiles) and reload on SIGHUP, never serving a broken base."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from bot.knowledge.problems import Problem
from bot.live import LiveKnowledge

log = logging.getLogger(__name__)

Report = Callable[[bool, list[Problem], str], None]


def log_report(swapped: bool, problems: list[Problem], version: str) -> None:
    errors = [p for p in problems if p.severity == "error"]
    if swapped:
        log.info("knowledge base reloaded: version %s", version)
    else:
        log.error("knowledge base reload failed; still serving %s:\n%s", version, "\n".join(map(str, errors)))


class Reloader:
    def __init__(self, live: LiveKnowledge, report: Report = log_report):
        self.live = live
        self.report = report
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reload(self) -> bool:
        swapped, problems = self.live.reload()
        self.report(swapped, problems, self.live.snapshot.version)
        return swapped

    def directories(self) -> list[Path]:
        kb = self.live.snapshot.kb
        dirs = [kb.directory]
        intents = self.live.intents_dir or kb.directory.parent / "intents"
        if Path(intents).is_dir():
            dirs.append(Path(intents))
        return dirs

    def watch(self) -> None:
        """Start a daemon thread that reloads after files change (debounced by watchfiles)."""
        from watchfiles import watch

        def run() -> None:
            for _changes in watch(*self.directories(), stop_event=self._stop, debounce=400, step=100,
                                  watch_filter=lambda _c, path: path.endswith((".yaml", ".yml", ".md", ".txt"))):
                self.reload()

        self._thread = threading.Thread(target=run, name="knowledge-watch", daemon=True)
        self._thread.start()

    def on_sighup(self) -> None:
        """SIGHUP reloads in a thread, so the signal handler itself returns at once."""
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=self.reload, daemon=True).start())

    def stop(self) -> None:
        self._stop.set()
