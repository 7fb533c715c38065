"""The live knowledge base: one reference to an immutable (snapshot, matcher) pair, swapped on reload."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.knowledge.loader import check_knowledge
from bot.knowledge.problems import KnowledgeError, Problem
from bot.knowledge.schema import KnowledgeBase
from bot.matching import dictionary
from bot.matching.decision import Thresholds
from bot.matching.matcher import Matcher
from bot.matching.stored import IndexStore
from bot.progress import announced_if_slow

if TYPE_CHECKING:
    from bot.semantic.model import Embedder

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    kb: KnowledgeBase
    matcher: Matcher

    @property
    def version(self) -> str:
        return self.kb.version


_pause_lock = threading.Lock()
_pauses = 0  # builds running with the cyclic garbage collector paused
_was_enabled = False


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Reading or building a knowledge base makes millions of lists, tuples and dicts that all stay alive:
    every collection the allocations trigger walks them again for nothing (a tenth of a restart at 10,000
    entries). Paused while any build runs, then as it was; what little cyclic garbage a build leaves is
    collected at the next collection."""
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


def build_snapshot(knowledge_dir: Path | None, intents_dir: Path | None, thresholds: Thresholds,
                   max_chars: int = 300, embedder: Embedder | None = None,
                   background: bool = False, announce: bool = False, *, cache_dir: Path | None = None,
                   previous: Snapshot | None = None) -> tuple[Snapshot | None, list[Problem]]:
    """`announce`: at start, say what takes time when it does (a reload says what it did when done).
    `cache_dir`: where knowledge files read and indexes built are kept between starts; `previous`: the
    snapshot a reload replaces (its unchanged entries are reused, not built again)."""
    with _collector_paused():
        return _build_snapshot(knowledge_dir, intents_dir, thresholds, max_chars, embedder, background, announce,
                               cache_dir, previous)


def _build_snapshot(knowledge_dir: Path | None, intents_dir: Path | None, thresholds: Thresholds, max_chars: int,
                    embedder: Embedder | None, background: bool, announce: bool, cache_dir: Path | None,
                    previous: Snapshot | None) -> tuple[Snapshot | None, list[Problem]]:
    if cache_dir is not None:
        dictionary.keep_in(cache_dir)
    kb, problems = check_knowledge(knowledge_dir, intents_dir, cache_dir=cache_dir)
    store = IndexStore(cache_dir) if cache_dir is not None else None
    if kb is None:
        return None, problems
    what = (f"preparing the knowledge base: indexing {kb.question_count} questions of {len(kb.entries)} entries "
            "(a few seconds; longer on a busy machine)")
    done = f"knowledge base {kb.version} ready"
    with announced_if_slow(what, done) if announce else contextlib.nullcontext():
        matcher = Matcher(kb, thresholds, max_chars=max_chars, embedder=embedder, background=background,
                          store=store, previous=previous.matcher if previous is not None else None)
    return Snapshot(kb, matcher), problems


class LiveKnowledge:
    """Readers take `snapshot` once per message; a reload builds beside it and swaps the reference."""

    def __init__(self, knowledge_dir: Path | None = None, intents_dir: Path | None = None,
                 thresholds: Thresholds | None = None, max_chars: int = 300, embedder: Embedder | None = None,
                 background: bool = False, cache_dir: Path | None = None):
        """`background`: sentence vectors not cached yet are computed while the bot answers by words (a
        serving bot); a tool that compares answers (`kb impact`) waits for them. `cache_dir`: where the
        knowledge files read and the built index are kept beside the sentence vectors, so that a restart
        reads and builds only what changed."""
        self.cache_dir = cache_dir
        self.knowledge_dir = knowledge_dir
        self.embedder = embedder
        self.background = background
        self.intents_dir = intents_dir
        self.thresholds = thresholds or Thresholds()
        self.max_chars = max_chars
        self._reload_lock = threading.Lock()
        # For /healthz: when the last reload that failed happened and where its errors are (positions only:
        # the page is public, the administrator reads the messages in the log or with `kb check`).
        self.last_failed_reload: dict[str, object] | None = None
        snapshot, problems = build_snapshot(knowledge_dir, intents_dir, self.thresholds, max_chars, embedder,
                                            background, announce=True, cache_dir=cache_dir)
        if snapshot is None:
            raise KnowledgeError(problems)
        self.snapshot: Snapshot = snapshot
        # Called after each swap (bot/heap.py's settle in a serving process); by `reload`'s caller's thread.
        self.after_swap: list[Callable[[], None]] = []

    def reload(self) -> tuple[bool, list[Problem]]:
        """Build a new snapshot; swap it in only when it has no errors. Returns (swapped, problems)."""
        with self._reload_lock:
            started = time.perf_counter()
            snapshot, problems = build_snapshot(self.knowledge_dir, self.intents_dir, self.thresholds,
                                                self.max_chars, self.embedder, self.background,
                                                cache_dir=self.cache_dir, previous=self.snapshot)
            from bot.observability import RELOADS

            RELOADS.labels("failed" if snapshot is None else "ok").inc()
            if snapshot is None:
                errors = [p for p in problems if p.severity == "error"]
                self.last_failed_reload = {
                    "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "errors": len(errors),
                    "where": [f"{Path(p.path).parent.name}/{Path(p.path).name}:{p.line}:{p.column}"
                              for p in errors[:5]],
                    "still_serving": self.snapshot.version}
                log.warning("knowledge reload failed, still serving %s: %d error(s)", self.snapshot.version,
                            sum(p.severity == "error" for p in problems))
                return False, problems
            self.snapshot = snapshot  # a single reference assignment: readers see old or new, never half
            log.info("knowledge reloaded: version %s (%d of %d entries indexed anew, %.1f s)", snapshot.version,
                     snapshot.matcher.built.rebuilt, len(snapshot.kb.entries), time.perf_counter() - started)
            del snapshot
            for hook in self.after_swap:
                hook()
            return True, problems
