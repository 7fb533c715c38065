"""Safe YAML reading that keeps line and column of every value.

Administrators edit these files by hand, so every error must point at a place in the file.
We compose the YAML node graph ourselves (never `yaml.load`), which also lets us refuse what a
hand-written FAQ never needs and an attacker would use: aliases (billion laughs), custom tags
(`!!python/object`), absurd nesting and huge files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 2_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_MAP_TAG = "tag:yaml.org,2002:map"
_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_DATE_TAG = "tag:yaml.org,2002:timestamp"
# libyaml's parser (when PyYAML has it) composes the knowledge base about ten times faster, with the same
# positions and the same refusals; the pure-Python one is the fallback.
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The first characters of the plain scalars an implicit resolver may tag otherwise than as text (digits,
# signs, yes/no, null's `~` and the empty scalar); a value starting otherwise is text.
_IMPLICIT_FIRST = frozenset(_BASE_LOADER.yaml_implicit_resolvers)


class _Loader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader, with the tag of most of a knowledge base's scalars (Chinese text, quoted text) told
    without trying each implicit resolver's pattern, and each other plain scalar's (keys, dates: they repeat)
    worked out once per file: a third of composing a large file."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is not yaml.ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        if not (implicit[0] and value[:1] in _IMPLICIT_FIRST):
            return _STR_TAG  # what `resolve` returns when no implicit resolver applies (its default)
        # A plain scalar's tag depends on its text alone (the implicit resolvers' patterns).
        tags: dict[str, str] = self.__dict__.setdefault("_plain_tags", {})
        tag = tags.get(value)
        if tag is None:
            tag = tags[value] = super().resolve(kind, value, implicit)
        return tag


_LOADER = _Loader if None not in _IMPLICIT_FIRST else _BASE_LOADER  # a wildcard resolver: try every pattern


@dataclass(frozen=True, slots=True)
class Located:
    """A YAML value with its 1-based position. Mappings hold `dict[str, Located]`, lists `list[Located]`."""

    value: Any
    line: int
    column: int
    key_line: int = 0
    key_column: int = 0

    def plain(self) -> Any:
        """The value with positions stripped, recursively."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


class YamlProblem(Exception):
    def __init__(self, line: int, column: int, message: str):
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


def read_yaml_file(path: Path) -> Located | None:
    """Read one file; None for an empty document. Raises YamlProblem with a position."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise YamlProblem(
            1, 1, f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit; split it into smaller files"
        )
    data = path.read_bytes()
    return parse_yaml(data)


def parse_yaml(data: bytes) -> Located | None:
    if b"\x00" in data:
        raise YamlProblem(1, 1, "this is a binary file, not YAML text; save it as UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlProblem(line, 1, "the file is not UTF-8 text; save it with UTF-8 encoding") from None
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "invalid YAML"
        if "nesting depth" in what:  # libyaml's own limit (1000 levels)
            raise YamlProblem(line, col, f"nesting is too deep (more than {MAX_DEPTH} levels)") from None
        raise YamlProblem(line, col, f"YAML syntax error: {what}; check indentation and colons") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, 1, f"YAML error: {exc}") from None
    except RecursionError:
        raise YamlProblem(1, 1, f"nesting is too deep (more than {MAX_DEPTH} levels)") from None
    if node is None:
        return None
    return _Converter().convert(node, 0)


class _Converter:
    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.count = 0
        self.constructor = yaml.constructor.SafeConstructor()
        self.dates: dict[str, Any] = {}  # a date's text → its value (immutable): a knowledge base's dates repeat

    def _visit(self, node: yaml.Node, depth: int) -> tuple[int, int]:
        """The checks every node passes (no alias, not too many, not too deep); its 1-based position."""
        mark = node.start_mark
        line, col = mark.line + 1, mark.column + 1
        if id(node) in self.seen:
            raise YamlProblem(line, col, "anchors and aliases (& and *) are not allowed; write the value out")
        self.seen.add(id(node))
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblem(line, col, f"too many values (over {MAX_NODES:,}); split the file")
        if depth > MAX_DEPTH:
            raise YamlProblem(line, col, f"nesting is too deep (more than {MAX_DEPTH} levels)")
        return line, col

    def _key(self, node: yaml.Node, depth: int) -> tuple[Any, int, int]:
        """A mapping key's value and position: a text key (nearly all) without a `Located` of its own."""
        if type(node) is yaml.ScalarNode and node.tag == _STR_TAG:
            line, col = self._visit(node, depth)
            return node.value, line, col
        key = self.convert(node, depth)
        return key.value, key.line, key.column

    def convert(self, node: yaml.Node, depth: int, key_mark: yaml.Mark | None = None) -> Located:
        line, col = self._visit(node, depth)
        kl, kc = (key_mark.line + 1, key_mark.column + 1) if key_mark else (line, col)
        if isinstance(node, yaml.MappingNode):
            self._check_tag(node, _MAP_TAG)
            out: dict[str, Located] = {}
            for key_node, value_node in node.value:
                key, key_line, key_col = self._key(key_node, depth + 1)
                if not isinstance(key, str):
                    raise YamlProblem(key_line, key_col, "keys must be plain words such as `answer`")
                if key in out:
                    raise YamlProblem(key_line, key_col, f"key `{key}` appears twice in this block")
                out[key] = self.convert(value_node, depth + 1, key_node.start_mark)
            return Located(out, line, col, kl, kc)
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, _SEQ_TAG)
            return Located([self.convert(n, depth + 1) for n in node.value], line, col, kl, kc)
        if node.tag == _STR_TAG:  # most values: what SafeConstructor's `construct_yaml_str` returns, directly
            return Located(node.value, line, col, kl, kc)
        if node.tag not in _PLAIN_TAGS:
            raise YamlProblem(line, col, f"tag `{node.tag}` is not allowed; remove it")
        if node.tag == _DATE_TAG and node.value in self.dates:
            return Located(self.dates[node.value], line, col, kl, kc)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.constructor.ConstructorError, ValueError) as exc:
            if node.tag == _DATE_TAG:
                # Keep the text so field validation can say which date is wrong and why.
                return Located(node.value, line, col, kl, kc)
            raise YamlProblem(line, col, f"cannot read this value: {exc}") from None
        if node.tag == _DATE_TAG:
            self.dates[node.value] = value
        return Located(value, line, col, kl, kc)

    @staticmethod
    def _check_tag(node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            raise YamlProblem(line, col, f"tag `{node.tag}` is not allowed; remove it")
