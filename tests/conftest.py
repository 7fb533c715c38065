"""Shared fixtures: the bundled knowledge base and its matcher are built once per test session."""

from __future__ import annotations

import pytest

from bot.knowledge.loader import load_knowledge
from bot.matching.engine import Matcher
from tests.auxil.kb import BUNDLED


@pytest.fixture(scope="session")
def bundled_kb():
    return load_knowledge(BUNDLED)


@pytest.fixture(scope="session")
def matcher(bundled_kb):
    return Matcher(bundled_kb)
