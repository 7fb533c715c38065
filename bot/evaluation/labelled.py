"""The labelled question set: what each question must get."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

STYLES = {"colloquial", "traditional", "typo", "follow_up", "out_of_scope", "aspect_gap", "smalltalk"}


@dataclass(frozen=True, slots=True)
class Labelled:
    question: str
    style: str
    faq: str | None = None  # the entry that must answer
    status: str | None = None  # fallback | partial | smalltalk when no entry must answer
    intent: str | None = None
    context: str | None = None  # previous message, for follow-ups

    @property
    def answerable(self) -> bool:
        return self.faq is not None


def load_labelled(path: Path | None = None, known_ids: set[str] | None = None) -> list[Labelled]:
    if path is None:
        from bot.config import load_settings

        path = load_settings().labelled_questions_path  # LABELLED_QUESTIONS, or the clone's tests/data
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for i, raw in enumerate(items, 1):
        item = Labelled(question=str(raw["q"]), style=raw["style"], faq=raw.get("faq"), status=raw.get("status"),
                        intent=raw.get("intent"), context=raw.get("context"))
        if item.style not in STYLES or (item.faq is None) == (item.status is None):
            raise ValueError(f"{path}: item {i} ({item.question}) needs a known style and one of faq/status")
        if known_ids is not None and item.faq and item.faq not in known_ids:
            raise ValueError(f"{path}: item {i} names unknown entry {item.faq}")
        out.append(item)
    return out
