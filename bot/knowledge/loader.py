"""Load `knowledge/` and `intents/` into one immutable KnowledgeBase, reporting every problem at once."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import string
import subprocess
from pathlib import Path

from bot.knowledge.fields import SLUG, Collector, Spec, did_you_mean
from bot.knowledge.parsed import ParsedFiles
from bot.knowledge.problems import KnowledgeError, Problem
from bot.knowledge.schema import (
    Aspect,
    Entry,
    Intent,
    Interrogative,
    KnowledgeBase,
    Language,
    Scope,
    Source,
    WelcomeExample,
)
from bot.knowledge.yaml_source import MAX_FILE_BYTES, Located, YamlProblem, parse_yaml, read_yaml_file

# Files in knowledge/ that are not lists of entries.
SPECIAL_FILES = {"synonyms.yaml", "aspects.yaml", "language.yaml", "replies.yaml", "scope.yaml", "asked.yaml"}

ENTRY_SPEC: Spec = {
    "id": ("str", True, 63),
    "topic": ("str", True, 20),
    "title": ("str", False, 60),
    "questions": ("str_list", True, 120),
    "answer": ("str", True, 1200),
    "source": ("mapping", True, 0),
    "as_of": ("date", True, 0),
    "review_by": ("date", False, 0),
    "expires": ("date", False, 0),
    "acknowledged_passed": ("dates", False, 0),
    "follow_ups": ("str_list", False, 63),
    "tags": ("str_list", False, 30),
    "aspects": ("str_list", False, 30),
}
SOURCE_SPEC: Spec = {
    "title": ("str", True, 200),
    "publisher": ("str", True, 100),
    "date": ("date", True, 0),
    "section": ("str", True, 100),
    "speaker": ("str", False, 100),
    "quote": ("str", True, 1000),
}
ASPECT_SPEC: Spec = {
    "id": ("str", True, 30),
    "label": ("str", True, 30),
    "words": ("str_list", False, 20),
    "not_words": ("str_list", False, 20),
    "endings": ("str_list", False, 10),
    "adjectives": ("str_list", False, 10),
    "units": ("str_list", False, 10),
    "nouns": ("str_list", False, 10),
    "verbs": ("str_list", False, 10),
    "states": ("str_list", False, 20),
    "not_states": ("str_list", False, 20),
}
ASPECT_WORD_FIELDS = ("words", "not_words", "endings", "adjectives", "units", "nouns", "verbs", "states",
                      "not_states")
INTERROGATIVE_SPEC: Spec = {
    "words": ("str_list", True, 10),
    "slot": ("str", True, 20),
    "pos": ("str_list", False, 4),
    "default": ("str", False, 30),
    "alone": ("str", False, 30),
    "not_after": ("str_list", False, 10),
    "not_before": ("str_list", False, 10),
    "ignore": ("str_list", False, 20),
    "not_when_ending": ("str_list", False, 10),
    "also_answered_by": ("str_list", False, 30),
    "numbered": ("str", False, 30),
}
INTERROGATIVE_SLOTS = ("adjectives", "units", "nouns", "verbs")
INTENT_SPEC: Spec = {"id": ("str", True, 30), "phrases": ("str_list", True, 60), "replies": ("str_list", True, 600)}
LANGUAGE_SPEC: Spec = {
    "fillers": ("str_list", False, 20),
    "particles": ("str_list", False, 4),
    "follow_up_prefixes": ("str_list", False, 6),
    "follow_up_suffixes": ("str_list", False, 4),
    "follow_up_pronouns": ("str_list", False, 8),
    "light_chars": ("str", False, 200),
    "broad_questions": ("str_list", False, 10),
    "not_stated": ("str_list", False, 20),
    "fact_light_words": ("str_list", False, 10),
    "fact_predicates": ("str_list", False, 6),
    "person_roles": ("str_list", False, 4),
    "eligible_groups": ("str_list", False, 4),
    "time_starts": ("str_list", False, 6),
    "time_ends": ("str_list", False, 6),
}
SCOPE_SPEC: Spec = {
    "label": ("str", True, 40),
    "home": ("str_list", True, 20),
    "province": ("str", False, 20),
    "others": ("str_list", False, 10),
    "elsewhere": ("str_list", False, 10),
    "kinds": ("str_list", False, 10),
    "institutions": ("str_list", False, 10),
}

# Every reply template the dialogue uses, with the placeholders each may contain.
REPLY_PLACEHOLDERS: dict[str, set[str]] = {
    "source_line": {"publisher", "title", "date", "section"},
    "as_of_line": {"as_of"},
    "freshness_expired": {"as_of", "expires"},
    "freshness_review": {"as_of", "review_by"},
    "clarify_prompt": set(),
    "clarify_none": set(),
    "clarify_hint": set(),
    "fallback": set(),
    "fallback_nearby": set(),
    "hotline": set(),
    "partial": {"title", "answer"},
    "partial_missing": {"aspect"},
    "partial_missing_detail": {"detail"},
    "scope_known": {"place", "where", "answer"},
    "scope_missing": {"place", "where"},
    "rephrase": {"example"},
    "related": set(),
    "feedback_prompt": set(),
    "feedback_thanks": set(),
    "feedback_sorry": set(),
    "feedback_nothing": set(),
    "choice_invalid": {"n", "none_index"},
    "examples_title": set(),
    "topics_prompt": set(),
    "topic_questions": {"topic"},
    "stale_button": set(),
    "rate_limited": set(),
    "resend_pending": set(),
    "unknown_command": set(),
    "topic_unknown": {"topic"},
    "console_intro": set(),
    "helpful_button": set(),
    "not_helpful_button": set(),
    "text_only": set(),
    "continued": set(),
    "trimmed": set(),
    # the web chat page (bot/channels/webpage/)
    "page_title": set(),
    "page_intro": set(),
    "page_input_label": set(),
    "page_placeholder": set(),
    "page_input_hint": set(),
    "page_send": set(),
    "page_topics": set(),
    "page_help": set(),
    "page_you": set(),
    "page_bot": set(),
    "page_waiting": set(),
    "page_failed": set(),
    "page_retry": set(),
    "page_empty": set(),
    "page_too_long": {"count", "max"},
    "page_bad_request": set(),
    "page_session": set(),
    "page_feedback_prompt": set(),
    "page_helpful": set(),
    "page_not_helpful": set(),
    "page_comment_label": set(),
    "page_comment_placeholder": set(),
    "page_comment_send": set(),
    "page_comment_thanks": set(),
    "page_comment_too_long": {"count", "max"},
    "page_noscript": set(),
    "page_footer": set(),
}

# replies.yaml's list of questions the welcome offers to try (shown as buttons where the channel has them).
WELCOME_EXAMPLES = "welcome_examples"
MAX_EXAMPLES = 8


BUNDLED_REPLIES = Path(__file__).resolve().parents[2] / "knowledge" / "replies.yaml"


@functools.lru_cache(maxsize=1)
def bundled_replies() -> dict[str, str]:
    """The fixed texts shipped with this version, for keys an older replies.yaml does not have yet."""
    if not BUNDLED_REPLIES.is_file():
        return {}
    loader = _Loader(BUNDLED_REPLIES.parent, BUNDLED_REPLIES.parent.parent / "intents")
    texts = loader.replies(BUNDLED_REPLIES)
    return texts if not any(p.severity == "error" for p in loader.problems) else {}


def default_knowledge_dir() -> Path:
    """`KNOWLEDGE_DIR`, else ./knowledge, else the knowledge/ bundled beside the package."""
    env = os.environ.get("KNOWLEDGE_DIR", "").strip()  # empty means not set, as in Settings
    if env:
        return Path(env)
    here = Path.cwd() / "knowledge"
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "knowledge"


def default_intents_dir(knowledge_dir: Path) -> Path:
    env = os.environ.get("INTENTS_DIR", "").strip()
    return Path(env) if env else knowledge_dir.parent / "intents"


def load_knowledge(knowledge_dir: Path | None = None, intents_dir: Path | None = None) -> KnowledgeBase:
    """Load and validate; raise KnowledgeError listing every error (warnings are on the snapshot's check)."""
    kb, problems = check_knowledge(knowledge_dir, intents_dir)
    if kb is None:
        raise KnowledgeError(problems)
    return kb


def check_knowledge(
    knowledge_dir: Path | None = None, intents_dir: Path | None = None, *, partial: bool = False,
    cache_dir: Path | None = None,
) -> tuple[KnowledgeBase | None, list[Problem]]:
    """Load and validate everything; return the snapshot (None when there are errors) and all problems.

    `partial` returns, despite errors, what did load (the valid entries), for `kb check` to lint: an
    administrator fixing one error should still see every warning at once. Never serve a partial one.
    `cache_dir`: where files that loaded cleanly are remembered by content (`parsed.py`), so that only
    changed files are read again."""
    kdir = Path(knowledge_dir) if knowledge_dir else default_knowledge_dir()
    idir = Path(intents_dir) if intents_dir else default_intents_dir(kdir)
    parsed = ParsedFiles(cache_dir / "knowledge") if cache_dir is not None else None
    loader = _Loader(kdir, idir, parsed)
    kb = loader.run(partial)
    if parsed is not None and kb is not None and not any(p.severity == "error" for p in loader.problems):
        parsed.prune()
    return kb, loader.problems


class _Loader:
    def __init__(self, kdir: Path, idir: Path, parsed: ParsedFiles | None = None):
        self.kdir = kdir
        self.idir = idir
        self.parsed = parsed
        self.problems: list[Problem] = []
        # Ids of entries dropped for an error of their own: naming them elsewhere is not a second error.
        self.dropped: set[str] = set()
        self.examples: tuple[WelcomeExample, ...] = ()
        # Entry files read without errors (remembered name and path): what a remembered cross-check is of.
        self.clean_files: list[str] = []

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def read(self, path: Path, data: bytes | None = None) -> tuple[Collector, Located | None]:
        col = Collector(self.rel(path))
        try:
            node = read_yaml_file(path) if data is None else parse_yaml(data)
        except YamlProblem as exc:
            col.error((exc.line, exc.column), exc.message)
            node = None
        except OSError as exc:
            col.error((1, 1), f"cannot read the file: {exc.strerror}")
            node = None
        return col, node

    def run(self, partial: bool = False) -> KnowledgeBase | None:
        if not self.kdir.is_dir():
            self.problems.append(Problem(str(self.kdir), 1, 1, "knowledge directory not found"))
            return None
        files = sorted(p for p in self.kdir.glob("*.yaml") if p.is_file())
        entries: list[Entry] = []
        entry_files = [p for p in files if p.name not in SPECIAL_FILES]
        for path in entry_files:
            entries.extend(self.entry_file(path))
        synonyms = self.synonyms(self.kdir / "synonyms.yaml")
        aspects = self.aspects(self.kdir / "aspects.yaml")
        interrogatives = self.interrogatives(self.kdir / "asked.yaml", {a.id for a in aspects})
        language = self.language(self.kdir / "language.yaml")
        replies = self.replies(self.kdir / "replies.yaml")
        scope = self.scope(self.kdir / "scope.yaml")
        intents = self.intents()
        self.cross_checked(entries, {a.id for a in aspects}, len(entry_files))
        if not entries and not self.problems:
            self.problems.append(Problem(self.rel(self.kdir), 1, 1, "no entries found; add a topic file"))
        if any(p.severity == "error" for p in self.problems) and not partial:
            return None
        return KnowledgeBase(
            entries=tuple(entries),
            synonyms=synonyms,
            aspects=aspects,
            language=language,
            replies=replies,
            intents=intents,
            version=self.version(files),
            directory=self.kdir,
            sources_text=self.sources_text(),
            scope=scope,
            git_commit=git_commit(self.kdir),
            welcome_examples=self.examples,
            interrogatives=interrogatives,
        )

    def entry_file(self, path: Path) -> list[Entry]:
        data = self.remembered_bytes(path)
        if data is not None:
            assert self.parsed is not None
            hit = self.parsed.get(data, self.rel(path))
            if hit is not None:
                entries, warnings = hit
                self.problems.extend(warnings)
                self.clean_files.append(f"{self.parsed.name(data)} {self.rel(path)}")
                return entries
        col, node = self.read(path, data)
        out: list[Entry] = []
        if node is None:
            if not col.problems:
                col.warn((1, 1), "the file is empty; add entries or delete it")
        elif not isinstance(node.value, list):
            col.error(node, "this file must be a list of entries, each starting with `- id:`")
        else:
            for item in node.value:
                entry = self.entry(col, item)
                if entry is not None:
                    out.append(entry)
        self.problems.extend(col.problems)
        if data is not None and self.parsed is not None and not any(p.severity == "error" for p in col.problems):
            self.parsed.put(data, out, col.problems)
            self.clean_files.append(f"{self.parsed.name(data)} {self.rel(path)}")
        return out

    def remembered_bytes(self, path: Path) -> bytes | None:
        """The file's bytes, read once, when files are remembered and it is not over the size limit (then
        it is read and refused as usual)."""
        if self.parsed is None:
            return None
        try:
            return path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else None
        except OSError:
            return None

    def entry(self, col: Collector, node: Located) -> Entry | None:
        before = len(col.problems)
        f = col.fields(node, ENTRY_SPEC, "an entry")
        if f is None:
            return None
        if "id" in f and not SLUG.match(f["id"]):
            col.error(node.value["id"], f"id `{f['id']}` must be lower-case letters, digits and dashes")
        source = col.fields(f["source"], SOURCE_SPEC, "`source`") if "source" in f else None
        if len(col.problems) > before or source is None:
            if "id" in f:
                self.dropped.add(f["id"])
            return None
        questions = f["questions"]
        for q in node.value["questions"].value:
            if _JOINED.search(q.value):
                col.warn(q, f"question “{q.value}” of `{f['id']}` looks like two questions joined by ` - `: "
                            "a `- ` line indented deeper than the one above it continues that line; "
                            "indent every question of the list the same")
        return Entry(
            id=f["id"],
            topic=f["topic"],
            title=f.get("title", questions[0]),
            questions=questions,
            answer=f["answer"],
            source=Source(**source),
            as_of=f["as_of"],
            review_by=f.get("review_by"),
            expires=f.get("expires"),
            acknowledged_passed=f.get("acknowledged_passed", ()),
            follow_ups=f.get("follow_ups", ()),
            tags=f.get("tags", ()),
            aspects=f.get("aspects", ()),
            path=col.path,
            line=node.line,
        )

    def cross_checked(self, entries: list[Entry], aspect_ids: set[str], file_count: int) -> None:
        """`cross_check`, unless these very files (every one read cleanly, so remembered) passed it before."""
        clean = len(self.clean_files) == file_count and not any(p.severity == "error" for p in self.problems)
        key = None
        if self.parsed is not None and clean:
            what = [*self.clean_files, "aspects", *sorted(aspect_ids)]  # names hold the loading code
            key = hashlib.sha256("\0".join(what).encode()).hexdigest()
            if self.parsed.checked(key):
                return
        before = len(self.problems)
        self.cross_check(entries, aspect_ids)
        if key is not None and len(self.problems) == before:
            assert self.parsed is not None
            self.parsed.mark_checked(key)

    def cross_check(self, entries: list[Entry], aspect_ids: set[str]) -> None:
        first: dict[str, Entry] = {}
        questions: dict[str, Entry] = {}
        ids = [e.id for e in entries]
        known = set(ids)
        for e in entries:
            where = Collector(e.path)
            if e.id in first:
                other = first[e.id]
                where.error((e.line, 3), f"duplicate id `{e.id}`, first used at {other.path}:{other.line}")
            first.setdefault(e.id, e)
            for q in e.questions:
                key = question_key(q)
                owner = questions.get(key)
                if owner is not None and owner.id != e.id:
                    where.error((e.line, 3), f"question “{q}” of `{e.id}` is also a question of `{owner.id}`"
                                f" ({owner.path}:{owner.line}); keep it in one entry")
                questions.setdefault(key, e)
            for ref in e.follow_ups:
                if ref in self.dropped:
                    continue  # that entry's own error is reported where it is
                if ref not in known:
                    where.error((e.line, 3), f"`follow_ups` of `{e.id}` names unknown entry `{ref}`"
                                + did_you_mean(ref, ids))
                elif ref == e.id:
                    where.error((e.line, 3), f"`follow_ups` of `{e.id}` names the entry itself")
            for a in e.aspects:
                if a not in aspect_ids:
                    where.error((e.line, 3), f"`aspects` of `{e.id}` names unknown aspect `{a}`"
                                + did_you_mean(a, sorted(aspect_ids)))
            self.problems.extend(where.problems)

    def synonyms(self, path: Path) -> tuple[tuple[str, ...], ...]:
        node, col = self.optional_mapping(path)
        groups: list[tuple[str, ...]] = []
        if node is not None:
            raw = node.value.get("groups")
            unknown = [k for k in node.value if k != "groups"]
            for k in unknown:
                col.error((node.value[k].key_line, node.value[k].key_column),
                          f"unknown key `{k}` in synonyms.yaml; only `groups` is allowed")
            if raw is None or not isinstance(raw.value, list):
                col.error(node, "synonyms.yaml needs `groups:`, a list of lists such as `- [公租房, 公共租赁住房]`")
            else:
                for g in raw.value:
                    words = col.value(g, "str_list", 20, "a synonym group")
                    if words is None:
                        continue
                    if len(words) < 2:
                        col.error(g, "a synonym group needs at least two words: the standard one, then variants")
                        continue
                    groups.append(words)
        self.problems.extend(col.problems)
        return tuple(groups)

    def aspects(self, path: Path) -> tuple[Aspect, ...]:
        col, node = self.read(path) if path.exists() else (Collector(self.rel(path)), None)
        out: list[Aspect] = []
        if node is not None and not isinstance(node.value, list):
            col.error(node, "aspects.yaml must be a list of aspects, each starting with `- id:`")
        elif node is not None:
            for item in node.value:
                f = col.fields(item, ASPECT_SPEC, "an aspect")
                if f and {"id", "label"} <= f.keys():
                    out.append(Aspect(f["id"], f["label"], **{k: f.get(k, ()) for k in ASPECT_WORD_FIELDS}))
        self.problems.extend(col.problems)
        return tuple(out)

    def interrogatives(self, path: Path, kinds: set[str]) -> tuple[Interrogative, ...]:
        """asked.yaml: interrogatives and the word list or part of speech after them that tells the kind."""
        if not path.exists():
            return ()
        col, node = self.read(path)
        out: list[Interrogative] = []
        if node is not None and not isinstance(node.value, list):
            col.error(node, "asked.yaml must be a list of interrogatives, each starting with `- words:`")
        elif node is not None:
            for item in node.value:
                f = col.fields(item, INTERROGATIVE_SPEC, "an interrogative")
                if not f or not {"words", "slot"} <= f.keys():
                    continue
                if f["slot"] not in INTERROGATIVE_SLOTS:
                    col.error(item, f"`slot` must be one of {', '.join(INTERROGATIVE_SLOTS)}, not `{f['slot']}`"
                              + did_you_mean(f["slot"], list(INTERROGATIVE_SLOTS)))
                    continue
                named = (f.get("default"), f.get("alone"), f.get("numbered"), *f.get("also_answered_by", ()))
                unknown = [k for k in named if k and k not in kinds]
                if unknown:
                    col.error(item, f"`{unknown[0]}` is not an aspect of aspects.yaml"
                              + did_you_mean(unknown[0], sorted(kinds)))
                    continue
                out.append(Interrogative(**f))
        self.problems.extend(col.problems)
        return tuple(out)

    def language(self, path: Path) -> Language:
        node, col = self.optional_mapping(path)
        f = col.fields(node, LANGUAGE_SPEC, "language.yaml") if node is not None else {}
        self.problems.extend(col.problems)
        return Language(**(f or {}))

    def scope(self, path: Path) -> Scope:
        """Optional: without scope.yaml no question is held to be about another place."""
        if not path.exists():
            return Scope()
        node, col = self.optional_mapping(path)
        f = col.fields(node, SCOPE_SPEC, "scope.yaml") if node is not None else {}
        self.problems.extend(col.problems)
        return Scope(**f) if f and {"label", "home"} <= f.keys() else Scope()

    def replies(self, path: Path) -> dict[str, str]:
        node, col = self.optional_mapping(path)
        out: dict[str, str] = {}
        if node is None:
            col.error((1, 1), "replies.yaml is missing or empty; it holds the texts the bot replies with")
        else:
            for key, value in node.value.items():
                if key == WELCOME_EXAMPLES:
                    self.examples = self.welcome_examples(col, value)
                    continue
                if key not in REPLY_PLACEHOLDERS:
                    col.error((value.key_line, value.key_column), f"unknown reply `{key}`"
                              + did_you_mean(key, [*REPLY_PLACEHOLDERS, WELCOME_EXAMPLES]))
                    continue
                text = col.text(value, 600, f"`{key}`")
                if text is None:
                    continue
                bad = placeholders(text) - REPLY_PLACEHOLDERS[key]
                if bad:
                    allowed = ", ".join("{" + p + "}" for p in sorted(REPLY_PLACEHOLDERS[key])) or "none"
                    col.error(value, f"`{key}` uses unknown placeholder(s) "
                              + ", ".join("{" + b + "}" for b in sorted(bad)) + f"; allowed: {allowed}")
                    continue
                out[key] = text
            defaults = bundled_replies() if path.resolve() != BUNDLED_REPLIES else {}
            for key in sorted(REPLY_PLACEHOLDERS.keys() - node.value.keys()):
                if key in defaults:  # a text added by a newer version: an older file (a mount, a git ref) still loads
                    out[key] = defaults[key]
                    col.warn(node, f"replies.yaml has no `{key}`; the bundled text is used (“{defaults[key]}”): "
                                   f"add a `{key}:` line to change it")
                else:
                    col.error(node, f"replies.yaml is missing `{key}`")
        self.problems.extend(col.problems)
        return out

    def welcome_examples(self, col: Collector, node: Located) -> tuple[WelcomeExample, ...]:
        """The questions the welcome offers: a list of 1 to MAX_EXAMPLES questions as a resident would ask
        them. Whether each one is answered is the matcher's to say (`kb check` warns when it is not)."""
        if not isinstance(node.value, list) or not 1 <= len(node.value) <= MAX_EXAMPLES:
            col.error(node, f"`{WELCOME_EXAMPLES}` must be a list of 1 to {MAX_EXAMPLES} questions, "
                            "one per line starting with `- `")
            return ()
        out = []
        for item in node.value:
            text = col.text(item, ENTRY_SPEC["questions"][2], f"an item of `{WELCOME_EXAMPLES}`")
            if text is not None:
                out.append(WelcomeExample(text, col.path, item.line))
        return tuple(out)

    def intents(self) -> tuple[Intent, ...]:
        out: list[Intent] = []
        seen: set[str] = set()
        for path in sorted(self.idir.glob("*.yaml")) if self.idir.is_dir() else []:
            col, node = self.read(path)
            if node is not None:
                f = col.fields(node, INTENT_SPEC, "an intent")
                if f and {"id", "phrases", "replies"} <= f.keys():
                    if f["id"] in seen:
                        col.error(node.value["id"], f"duplicate intent id `{f['id']}`")
                    else:
                        seen.add(f["id"])
                        out.append(Intent(f["id"], f["phrases"], f["replies"]))
            self.problems.extend(col.problems)
        return tuple(out)

    def optional_mapping(self, path: Path) -> tuple[Located | None, Collector]:
        if not path.exists():
            return None, Collector(self.rel(path))
        col, node = self.read(path)
        if node is not None and not isinstance(node.value, dict):
            col.error(node, f"{path.name} must be a block of `key: value` lines")
            return None, col
        return node, col

    def sources_text(self) -> str:
        src = self.kdir / "sources"
        if not src.is_dir():
            return ""
        return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                         for p in sorted(src.iterdir()) if p.suffix in {".md", ".txt"})

    def version(self, files: list[Path]) -> str:
        """Content hash of every file that shapes answers: the snapshot's version."""
        h = hashlib.sha256()
        paths = list(files)
        if (self.kdir / "sources").is_dir():
            paths += sorted((self.kdir / "sources").iterdir())
        if self.idir.is_dir():
            paths += sorted(self.idir.glob("*.yaml"))
        for p in paths:
            if p.is_file():
                h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
        return h.hexdigest()[:12]


_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
# What YAML makes of an over-indented `- ` line: it folds it into the question above as " - ".
_JOINED = re.compile(r"\s-\s+\S")


def git_commit(directory: Path) -> str | None:
    """The commit the directory was last checked out at, if it is in a git repository."""
    try:
        head = subprocess.run(["git", "-C", str(directory), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(directory), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=5)
        return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def question_key(text: str) -> str:
    """A cheap identity for duplicate detection: case and punctuation do not make a new question."""
    return _PUNCT.sub("", text).lower()


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}

