"""`kb check`: load errors, lints and the matcher's self-consistency, in one report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.lint import lint
from bot.knowledge.loader import check_knowledge
from bot.knowledge.problems import Problem
from bot.knowledge.schema import KnowledgeBase


@dataclass
class CheckResult:
    kb: KnowledgeBase | None  # None when there are errors: such a knowledge base is never served
    problems: list[Problem]
    self_check_skipped: bool = False  # the matcher's check needs every entry: it waits for the errors' fix

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def failed(self, strict: bool = False) -> bool:
        return bool(self.errors or (strict and self.warnings))

    def summary(self) -> str:
        counts = f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        if self.kb is None:
            skipped = "; the matcher self-check runs once they are fixed" if self.self_check_skipped else ""
            return (f"FAILED: {counts}; the bot keeps serving its previous knowledge base until the errors are "
                    f"fixed{skipped}")
        kb = self.kb
        return (f"{'OK' if not self.errors else 'FAILED'}: {len(kb.entries)} entries, {kb.question_count} questions, "
                f"{len(kb.topics)} topics, {len(kb.intents)} intents, version {kb.version_label}; {counts}")

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": not self.errors,
            "version": self.kb.version if self.kb else None,
            "git_commit": self.kb.git_commit if self.kb else None,
            "entries": len(self.kb.entries) if self.kb else 0,
            "questions": self.kb.question_count if self.kb else 0,
            "topics": len(self.kb.topics) if self.kb else 0,
            "problems": [p.to_dict() for p in self.problems],
        }


def run_check(directory: Path | None = None, *, self_check: bool = True,
              today: dt.date | None = None) -> CheckResult:
    kb, problems = check_knowledge(directory, partial=True)
    failed = any(p.severity == "error" for p in problems)
    if kb is not None:
        problems = problems + lint(kb, today)  # the warnings of every entry that did load
        if not failed:
            from bot.matching.answered import AnsweredTypes, declaration_warnings
            from bot.matching.matcher import Matcher
            from bot.matching.selfcheck import example_check
            from bot.matching.selfcheck import self_check as consistency

            if self_check:
                matcher = Matcher(kb)
                problems += consistency(matcher) + example_check(matcher) + declaration_warnings(matcher.answered)
            else:
                problems += declaration_warnings(AnsweredTypes(kb))
    problems.sort(key=lambda p: (p.path, p.line, p.column, p.severity))
    return CheckResult(None if failed else kb, problems, self_check_skipped=failed and self_check)
