"""Field-by-field validation of located YAML values, collecting every problem with its position."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from bot.knowledge.problems import Problem
from bot.knowledge.yaml_source import Located

# At most 60 characters, so that a Telegram button payload (64 bytes) can carry an id with its kind.
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")

# kind, required, max length (for text, per item for lists)
Spec = dict[str, tuple[str, bool, int]]


@dataclass
class Collector:
    """Collects problems for one file."""

    path: str
    problems: list[Problem] = field(default_factory=list)

    def error(self, at: Located | tuple[int, int], message: str) -> None:
        self._add(at, message, "error")

    def warn(self, at: Located | tuple[int, int], message: str) -> None:
        self._add(at, message, "warning")

    def _add(self, at: Located | tuple[int, int], message: str, severity: str) -> None:
        line, col = (at.line, at.column) if isinstance(at, Located) else at
        self.problems.append(Problem(self.path, line, col, message, severity))  # type: ignore[arg-type]

    def fields(self, node: Located, spec: Spec, what: str) -> dict[str, Any] | None:
        """Check a mapping against `spec`; return the valid values (missing optional ones omitted)."""
        if not isinstance(node.value, dict):
            self.error(node, f"{what} must be a block of `key: value` lines, found {describe(node.value)}")
            return None
        out: dict[str, Any] = {}
        suggested: set[str] = set()  # a misspelt required key is one error, not also "missing"
        for key, value in node.value.items():
            if key not in spec:
                hint = difflib.get_close_matches(key, list(spec), n=1)
                suggested.update(hint)
                fix = f"did you mean `{hint[0]}`?" if hint else f"allowed keys: {', '.join(spec)}"
                self.error((value.key_line, value.key_column), f"unknown key `{key}` in {what}; {fix}")
                continue
            kind, required, limit = spec[key]
            if value.value is None and not required:  # `review_by:` left empty means no date
                continue
            checked = self.value(value, kind, limit, f"`{key}`")
            if checked is not None:
                out[key] = checked
        for key, (_kind, required, _limit) in spec.items():
            if required and key not in node.value and key not in suggested:
                self.error(node, f"{what} is missing `{key}`; add a `{key}:` line")
        return out

    def value(self, node: Located, kind: str, limit: int, name: str) -> Any:
        v = node.value
        if kind == "str":
            return self.text(node, limit, name)
        if kind == "date":
            return self.date(node, name)
        if kind == "dates":  # one date, or a list of them
            if not isinstance(v, list):
                one = self.date(node, name)
                return None if one is None else (one,)
            days = [self.date(item, f"an item of {name}") for item in v]
            return tuple(d for d in days if d is not None) if None not in days else None
        if kind == "str_list":
            if not isinstance(v, list):
                self.error(node, f"{name} must be a list (lines starting with `- `), found {describe(v)}")
                return None
            items = [self.text(item, limit, f"an item of {name}") for item in v]
            return tuple(i for i in items if i is not None) if None not in items else None
        if kind == "list":
            if not isinstance(v, list):
                self.error(node, f"{name} must be a list (lines starting with `- `), found {describe(v)}")
                return None
            return node
        if kind == "mapping":
            if not isinstance(v, dict):
                self.error(node, f"{name} must be a block of `key: value` lines, found {describe(v)}")
                return None
            return node
        raise AssertionError(kind)

    def date(self, node: Located, name: str) -> dt.date | None:
        v = node.value
        if isinstance(v, dt.datetime):
            return v.date()
        if isinstance(v, dt.date):
            return v
        if isinstance(v, str):
            try:
                return dt.date.fromisoformat(v.strip())
            except ValueError as exc:
                self.error(node, f"{name} `{v}` is not a valid date ({exc}); write it as YYYY-MM-DD")
                return None
        self.error(node, f"{name} must be a date written as YYYY-MM-DD, found {describe(v)}")
        return None

    def text(self, node: Located, limit: int, name: str) -> str | None:
        v = node.value
        if not isinstance(v, str):
            self.error(node, f"{name} must be text, found {describe(v)}; put it in quotes if needed")
            return None
        v = v.strip()
        if not v:
            self.error(node, f"{name} is empty; write the text or remove the line")
            return None
        if len(v) > limit:
            self.error(node, f"{name} is {len(v):,} characters, over the limit of {limit:,}; shorten it")
            return None
        return v


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a block of key: value lines"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"yes/no ({value})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, dt.date):
        return f"a date ({value})"
    return f"`{str(value)[:40]}`"


def did_you_mean(word: str, choices: list[str]) -> str:
    hint = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"; did you mean `{hint[0]}`?" if hint else ""
