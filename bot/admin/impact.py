"""`kb impact`: what an edit to the knowledge base changes, before it goes live."""

from __future__ import annotations

import subprocess
import tarfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from bot.evaluation.labelled import Labelled
from bot.evaluation.run import decide
from bot.live import LiveKnowledge
from bot.matching.decision import Decision
from bot.matching.matcher import Matcher
from bot.replay.runner import run_files


@dataclass(frozen=True, slots=True)
class Change:
    question: str
    context: str | None
    old: str  # "answer regional-langfang"
    new: str


@dataclass
class Impact:
    changes: list[Change] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # replay conversations that passed before and fail now
    fixed: list[str] = field(default_factory=list)
    old_version: str = ""
    new_version: str = ""


class ImpactError(Exception):
    pass


def knowledge_from_git(ref: str, repo_dir: Path, into: Path) -> tuple[Path, Path | None]:
    """Extract knowledge/ and, when it exists at `ref`, intents/ beside it into a temporary directory."""
    top = subprocess.run(["git", "-C", str(repo_dir), "rev-parse", "--show-toplevel"], capture_output=True,
                         text=True)
    if top.returncode != 0:
        raise ImpactError(f"{repo_dir} is not in a git repository; use --against DIR instead")
    root = Path(top.stdout.strip())
    prefix = str(repo_dir.resolve().relative_to(root))
    intents = str((repo_dir.resolve().parent / "intents").relative_to(root))
    has_intents = subprocess.run(["git", "-C", str(root), "cat-file", "-e", f"{ref}:{intents}"],
                                 capture_output=True).returncode == 0
    archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", ref, prefix,
                              *([intents] if has_intents else [])], capture_output=True)
    if archive.returncode != 0:
        raise ImpactError(f"cannot read {prefix} at {ref!r}: {archive.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / prefix, (into / intents if has_intents else None)


def describe(d: Decision) -> str:
    return f"{d.status} {d.entry_id or d.intent_id or ''}".strip()


def decisions(matcher: Matcher, items: list[Labelled]) -> list[Decision]:
    return [decide(matcher, it) for it in items]


def compare(old: LiveKnowledge, new: LiveKnowledge, items: list[Labelled], replay_files: list[Path]) -> Impact:
    impact = Impact(old_version=old.snapshot.version, new_version=new.snapshot.version)
    before = decisions(old.snapshot.matcher, items)
    after = decisions(new.snapshot.matcher, items)
    for it, a, b in zip(items, before, after, strict=True):
        if describe(a) != describe(b):
            impact.changes.append(Change(it.question, it.context, describe(a), describe(b)))
    old_results, _ = run_files(old, replay_files)
    new_results, _ = run_files(new, replay_files)
    for a, b in zip(old_results, new_results, strict=True):
        if a.passed and not b.passed:
            impact.broken.append(f"{b.conversation.path}:{b.conversation.line}: {b.conversation.name}\n"
                                 + b.explain())
        elif b.passed and not a.passed:
            impact.fixed.append(b.conversation.name)
    return impact


@dataclass(frozen=True, slots=True)
class Target:
    """What an edit is compared with: its knowledge directory, and the intents that apply to it."""

    knowledge: Path
    intents: Path
    borrowed_intents: bool  # the target has no intents/ of its own: the working copy's are used for both


def against(target: str, knowledge_dir: Path, current_intents: Path, workdir: Path) -> Target:
    """The knowledge and intents directories to compare with: a directory, or a git ref. Without intents
    beside them, the working copy's intents apply, so that identical knowledge files show no change."""
    path = Path(target)
    if path.is_dir():
        kdir = path / "knowledge" if (path / "knowledge").is_dir() else path
        intents: Path | None = kdir.parent / "intents"
        if not intents.is_dir() or not any(intents.glob("*.yaml")):
            intents = None
    else:
        kdir, intents = knowledge_from_git(target, knowledge_dir, workdir)
    if intents is None:
        return Target(kdir, current_intents, True)
    return Target(kdir, intents, False)
