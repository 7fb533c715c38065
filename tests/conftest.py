"""Shared fixtures: the bundled knowledge base and its matcher are built once per test session."""

from __future__ import annotations

import os
import tempfile

import pytest

from bot.knowledge.loader import load_knowledge
from bot.matching.matcher import Matcher
from tests.auxil.kb import BUNDLED
from tests.auxil.semantic import TEST_CACHE, bundled_embedder

# Knowledge-base sentence vectors are cached in the checkout (CLI subprocesses inherit it), shared by every
# test session of it, never in the developer's own cache.
os.environ.setdefault("CACHE_DIR", str(TEST_CACHE))
# The default data directory (SQLite file, record journal) of apps a test builds without one: a temp dir.
os.environ.setdefault("XDG_DATA_HOME", tempfile.mkdtemp(prefix="resident-bot-test-data-"))


def pytest_sessionstart(session):
    """Encode the bundled knowledge base before any test, so that a serving bot built by a test (which
    answers by words until its vectors are ready) starts with them: a no-op once the checkout has them."""
    Matcher(load_knowledge(BUNDLED), embedder=bundled_embedder())


@pytest.fixture(scope="session")
def bundled_kb():
    return load_knowledge(BUNDLED)


@pytest.fixture(scope="session")
def matcher(bundled_kb):
    return Matcher(bundled_kb, embedder=bundled_embedder())


# -- conversation replay files become test items: one per conversation, named after it -------------


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".yaml" and file_path.parent.name == "conversations":
        return ReplayFile.from_parent(parent, path=file_path)
    return None


class ReplayFile(pytest.File):
    def collect(self):
        from bot.replay.format import load_replay_file

        conversations, problems = load_replay_file(self.path)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            yield ReplayProblems.from_parent(self, name="(malformed file)", problems=errors)
        for conv in conversations:
            yield ReplayItem.from_parent(self, name=conv.name, conversation=conv)


class ReplayProblems(pytest.Item):
    def __init__(self, *, problems, **kwargs):
        super().__init__(**kwargs)
        self.problems = problems

    def runtest(self):
        raise ReplayFailed("\n".join(map(str, self.problems)))

    def repr_failure(self, excinfo):
        return str(excinfo.value)


class ReplayItem(pytest.Item):
    def __init__(self, *, conversation, **kwargs):
        super().__init__(**kwargs)
        self.conversation = conversation

    def runtest(self):
        from bot.replay.runner import run_conversation
        from tests.auxil.dialogue import shared_live

        result = run_conversation(shared_live(), self.conversation)
        if not result.passed:
            raise ReplayFailed(result.explain())

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ReplayFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, self.conversation.line, f"conversation: {self.conversation.name}"


class ReplayFailed(Exception):
    pass
