"""Helpers for tests that need a small knowledge base of their own."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "knowledge"
INTENTS = ROOT / "intents"

ENTRY = """\
- id: {id}
  topic: 测试
  questions:
    - {question}
    - 问法一{id}
    - 问法二{id}
    - 问法三{id}
    - 问法四{id}
  answer: {answer}
  source:
    title: 测试来源
    publisher: 测试发布者
    date: 2021-12-28
    section: 测试
    quote: 测试原文
  as_of: 2021-12-28
"""


def make_kb(tmp: Path, files: dict[str, str] | None = None, *, with_language: bool = True) -> Path:
    """A knowledge dir with the bundled replies (and optionally synonyms/aspects/language) plus `files`."""
    kdir = tmp / "knowledge"
    kdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(BUNDLED / "replies.yaml", kdir / "replies.yaml")
    if with_language:
        for name in ("synonyms.yaml", "aspects.yaml", "language.yaml"):
            shutil.copy(BUNDLED / name, kdir / name)
    shutil.copytree(INTENTS, tmp / "intents", dirs_exist_ok=True)
    for name, text in (files or {}).items():
        (kdir / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return kdir


def entry(id: str, question: str = "测试问题", answer: str = "测试回答。") -> str:
    return ENTRY.format(id=id, question=question, answer=answer)


# Three topics of the bundled knowledge base: enough siblings for a sentence model to confuse, a sixth of
# the texts to encode. Tests of m3e-small (encoded by no fixture of the session) share these vectors.
MODEL_TOPICS = frozenset({"交通出行", "运河商务区", "政务服务"})


def topics_of(kb, topics=MODEL_TOPICS, *, without: str = ""):
    """`kb` with the entries of `topics` only (and not `without`)."""
    from dataclasses import replace

    return replace(kb, entries=tuple(e for e in kb.entries if e.topic in topics and e.id != without))
