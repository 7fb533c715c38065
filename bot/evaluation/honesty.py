"""Honesty sets: questions whose answer the knowledge base does not hold, and controls it must answer.

A YAML list, one item per question:

- ``{q: 绿心公园有多大, asks: size, topic_of: green-heart-visitors, expect: honest}``: a detail (or
  several: ``asks: [money, procedure]``) the knowledge base does not state, about a topic it knows;
- ``{q: 朝阳区公租房配了多少户, scope: other, topic_of: public-rental-households, expect: honest}``: the
  same question about another place or thing than the entry covers;
- ``{q: 公租房配租了多少户, asks: count, faq: public-rental-households}`` or
  ``{q: 副中心公租房配了多少户, faq: public-rental-households, scope: in}``: a control that must be answered,
  with that entry.

Optional on every item: ``context`` (the message before it, for follow-ups). ``topic_of`` names the entry
whose topic the question is about (for reading the figures; any honest reply counts).

Verdicts: an item expected honest is *honest* when the reply is ``partial`` or ``fallback`` (it says the
knowledge base does not hold the answer and points to 12345), *wrong* when it is a confident ``answer``,
else *hedged* (a clarification). A control is *right* when answered with its entry, *wrong* when answered
with another, else *hedged*.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

HONEST, RIGHT, HEDGED, WRONG = "honest", "right", "hedged", "wrong"
SCOPES = {"in", "other"}
KEYS = {"q", "asks", "scope", "topic_of", "expect", "faq", "context"}


@dataclass(frozen=True, slots=True)
class HonestyItem:
    question: str
    asks: tuple[str, ...] = ()  # asked types (bot.matching.asked kinds)
    scope: str | None = None  # "other": about another place or thing; "in": in scope, other words
    topic_of: str | None = None
    expect: str | None = None  # "honest"
    faq: str | None = None  # a control: the entry that must answer
    context: str | None = None

    @property
    def control(self) -> bool:
        return self.faq is not None


@dataclass(frozen=True, slots=True)
class HonestyOutcome:
    item: HonestyItem
    status: str
    entry_id: str | None
    score: float = 0.0

    @property
    def verdict(self) -> str:
        if self.item.control:
            if self.status == "answer":
                return RIGHT if self.entry_id == self.item.faq else WRONG
            return HEDGED
        if self.status == "answer":
            return WRONG
        return HONEST if self.status in ("partial", "fallback") else HEDGED


class HonestyFileError(ValueError):
    pass


def is_honesty_file(items: object) -> bool:
    """A list whose items carry no `style` (the labelled sets' field) but honesty keys."""
    return (isinstance(items, list) and bool(items) and all(isinstance(i, dict) for i in items)
            and not any("style" in i for i in items)
            and all({"expect", "faq", "asks", "scope"} & i.keys() for i in items))


def load_honesty(path: Path, known_ids: Iterable[str] | None = None,
                 known_kinds: Iterable[str] | None = None) -> list[HonestyItem]:
    """Read and check an honesty file; every mistake is reported with the item's number and question."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return parse_honesty(raw, str(path), known_ids, known_kinds)


def parse_honesty(raw: object, where: str, known_ids: Iterable[str] | None = None,
                  known_kinds: Iterable[str] | None = None) -> list[HonestyItem]:
    if not isinstance(raw, list) or not raw:
        raise HonestyFileError(f"{where}: an honesty file is a YAML list of {{q: ..., asks: ..., expect: honest}} "
                               "or {q: ..., faq: ENTRY} items")
    ids = set(known_ids) if known_ids is not None else None
    kinds = set(known_kinds) if known_kinds is not None else None
    out, errors = [], []
    for n, it in enumerate(raw, 1):
        label = f"{where}: item {n}"
        if not isinstance(it, dict) or "q" not in it:
            errors.append(f"{label}: each item needs `q` (the question)")
            continue
        label += f" ({it['q']})"
        unknown = set(it) - KEYS
        if unknown:
            errors.append(f"{label}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                          f"known: {', '.join(sorted(KEYS))}")
        asks = it.get("asks") or ()
        asks = tuple(str(a) for a in ([asks] if isinstance(asks, str) else asks))
        item = HonestyItem(question=str(it["q"]), asks=asks, scope=it.get("scope"), topic_of=it.get("topic_of"),
                           expect=it.get("expect"), faq=it.get("faq"), context=it.get("context"))
        if (item.expect == "honest") == (item.faq is not None):
            errors.append(f"{label}: give either `expect: honest` (not stated) or `faq: ENTRY` (must be answered)")
        elif item.expect not in (None, "honest"):
            errors.append(f"{label}: `expect` can only be `honest`")
        if item.scope is not None and item.scope not in SCOPES:
            errors.append(f"{label}: `scope` is `in` or `other`, not `{item.scope}`")
        if kinds is not None:
            bad = [a for a in asks if a not in kinds]
            if bad:
                errors.append(f"{label}: unknown asked type(s) {', '.join(bad)}; known: {', '.join(sorted(kinds))}")
        if ids is not None:
            for key in ("faq", "topic_of"):
                value = getattr(item, key)
                if value is not None and value not in ids:
                    errors.append(f"{label}: `{key}` names unknown entry `{value}`")
        out.append(item)
    if errors:
        raise HonestyFileError("\n".join(errors))
    return out


def _share(items: list[HonestyOutcome], verdict: str) -> float:
    return round(sum(o.verdict == verdict for o in items) / len(items), 4) if items else 0.0


def _row(items: list[HonestyOutcome]) -> dict[str, object]:
    good = HONEST if items and not items[0].item.control else RIGHT
    return {"n": len(items), "good": _share(items, good), "wrong": _share(items, WRONG),
            "hedged": _share(items, HEDGED)}


def summarise_honesty(outcomes: list[HonestyOutcome]) -> dict[str, object]:
    """Overall honesty, confident wrong answers and controls answered; then per asked type and per scope,
    so that an administrator sees which kinds of question are weak."""
    honest = [o for o in outcomes if not o.item.control]
    controls = [o for o in outcomes if o.item.control]
    by_kind: dict[str, list[HonestyOutcome]] = defaultdict(list)
    by_kind_controls: dict[str, list[HonestyOutcome]] = defaultdict(list)
    by_scope: dict[str, list[HonestyOutcome]] = defaultdict(list)
    for o in outcomes:
        target = by_kind_controls if o.item.control else by_kind
        for kind in o.item.asks or (("(none)",) if o.item.scope is None else ()):
            target[kind].append(o)
        if o.item.scope is not None:
            by_scope[f"{o.item.scope}{' (controls)' if o.item.control else ''}"].append(o)
    statuses: dict[str, int] = defaultdict(int)
    for o in outcomes:
        statuses[o.status] += 1
    return {
        "questions": len(outcomes),
        "not_stated": len(honest),
        "controls": len(controls),
        "honest": _share(honest, HONEST),
        "confident_wrong": _share(outcomes, WRONG),
        "not_stated_wrong": _share(honest, WRONG),
        "controls_answered": _share(controls, RIGHT),
        "by_asked_type": {k: _row(v) for k, v in sorted(by_kind.items())},
        "controls_by_asked_type": {k: _row(v) for k, v in sorted(by_kind_controls.items())},
        "by_scope": {k: _row(v) for k, v in sorted(by_scope.items())},
        "statuses": dict(statuses),
        "misses": [{"q": o.item.question, "status": o.status, "entry": o.entry_id,
                    "expected": o.item.faq or "honest", "asks": list(o.item.asks)}
                   for o in outcomes if o.verdict in (WRONG, HEDGED)],
    }


def render_honesty(summary: dict[str, object], header: str) -> str:
    s = summary
    lines = [header, "",
             f"not stated, answered honestly (partial or fallback): {s['honest'] * 100:5.1f}% "
             f"of {s['not_stated']}",
             f"not stated, answered confidently (wrong):            {s['not_stated_wrong'] * 100:5.1f}%"]
    if s["controls"]:
        lines.append(f"controls answered with their entry:                 {s['controls_answered'] * 100:5.1f}% "
                     f"of {s['controls']}")
    lines.append(f"confident wrong, all questions:                     {s['confident_wrong'] * 100:5.1f}%")
    for title, key, good in (("by asked type (not stated)", "by_asked_type", "honest"),
                             ("by asked type (controls: stated, must be answered)", "controls_by_asked_type",
                              "right"),
                             ("by scope", "by_scope", "good")):
        rows = s[key]
        if not rows:
            continue
        lines += ["", f"{title:52}{'n':>5}{good:>9}{'wrong':>8}{'hedged':>8}"]
        for kind, r in rows.items():
            lines.append(f"  {kind:50}{r['n']:5}{r['good'] * 100:8.1f}%{r['wrong'] * 100:7.1f}%"
                         f"{r['hedged'] * 100:7.1f}%")
    if s["misses"]:
        lines += ["", "not as expected:"]
        for m in s["misses"]:
            asks = f" [{', '.join(m['asks'])}]" if m["asks"] else ""
            lines.append(f"  {m['q']}{asks} → {m['status']} {m['entry'] or ''} (expected {m['expected']})")
    lines += ["", f"statuses: {s['statuses']}"]
    return "\n".join(lines)
