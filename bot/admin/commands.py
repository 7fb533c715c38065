"""Administrators' commands, channel-neutral: each returns plain text of at most `limit` characters.

A channel decides who is an administrator (Telegram: `ADMIN_IDS`) and how to send the text; what the
commands do and say lives here, so every channel's administrators get the same answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.live import LiveKnowledge

COMMANDS = ("reload", "stats", "unanswered")
TELEGRAM_LIMIT = 4096  # characters in one Telegram message
MAX_ERRORS = 20  # reload errors listed; the rest are counted
MAX_UNANSWERED = 15  # questions listed by /unanswered; anyone can add to that list, so it is bounded
MAX_QUESTION = 80  # characters of one listed question
MAX_COMMENTS = 5  # residents' comments on unhelpful answers listed by /unanswered (the report has more)

Report = Callable[[dt.datetime], dict | None]  # stored figures since a time; None without a database


class AdminCommands:
    def __init__(self, live: LiveKnowledge, report: Report | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)):
        self.live = live
        self.report = report
        self.clock = clock

    def run(self, name: str, *, limit: int = TELEGRAM_LIMIT) -> str:
        """The reply to command `name` (one of COMMANDS). Blocking: call it from a thread in async code."""
        lines = {"reload": self.reload, "stats": self.stats, "unanswered": self.unanswered}[name]()
        return fit(lines, limit)

    def reload(self) -> list[str]:
        swapped, problems = self.live.reload()
        version = self.live.snapshot.version
        if swapped:
            return [f"已重新加载知识库，版本 {version}（{len(problems)} 条警告）。"]
        errors = [str(p) for p in problems if p.severity == "error"]
        more = [f"……另有 {len(errors) - MAX_ERRORS} 个错误"] if len(errors) > MAX_ERRORS else []
        return [f"重新加载失败，继续使用版本 {version}。{len(errors)} 个错误：", *errors[:MAX_ERRORS], *more]

    def stats(self) -> list[str]:
        report = self._figures(dt.timedelta(days=1))
        if report is None:
            return ["没有可用的数据库。"]
        shares = "，".join(f"{k} {v * 100:.0f}%" for k, v in report["shares"].items())
        return [f"过去24小时：{report['messages']} 条消息；{shares}；"
                f"延迟 p50 {report['latency_ms']['p50']} ms，p95 {report['latency_ms']['p95']} ms。"]

    def unanswered(self) -> list[str]:
        """The most asked unanswered questions of the week, each once (the report groups them by their
        normalised text), each cut to a line, most asked first."""
        report = self._figures(dt.timedelta(days=7))
        if report is None:
            return ["没有可用的数据库。"]
        rows = report["unanswered"]
        seen: set[str] = set()
        lines = ["过去7天没答上的问题："]
        for row in rows:
            question = one_line(str(row["question"]))
            if question in seen:
                continue
            seen.add(question)
            if len(seen) > MAX_UNANSWERED:
                lines.append("……更多见 resident-bot report --since 7d")
                break
            lines.append(f"{row['count']}× {question}")
        lines = lines if len(lines) > 1 else [*lines, "（没有）"]
        # What residents said was wrong with an answer (没帮助 and a comment): the newest, one line each.
        said = [c for c in report.get("comments", []) if not c["helpful"]][:MAX_COMMENTS]
        if said:
            lines.append("居民说没帮上的回答（最新在前）：")
            lines += [f"- {one_line(str(c.get('question') or c['id']), MAX_QUESTION // 2)}："
                      f"{one_line(str(c['comment']), MAX_QUESTION // 2)}" for c in said]
        return lines

    def _figures(self, period: dt.timedelta) -> dict | None:
        return self.report(self.clock() - period) if self.report is not None else None


def one_line(text: str, limit: int = MAX_QUESTION) -> str:
    """Whatever a resident sent, as one line of at most `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def fit(lines: list[str], limit: int) -> str:
    """Lines joined, keeping whole lines within `limit` characters and saying how many were left out."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    for i, line in enumerate(lines):
        note = f"\n……另有 {len(lines) - i} 行未显示"
        if len("\n".join([*kept, line])) + len(note) > limit:
            if not kept:  # the first line alone is too long: cut it
                note = f"\n……另有 {len(lines) - 1} 行未显示" if len(lines) > 1 else ""
                return line[: limit - len(note) - 1] + "…" + note
            return "\n".join(kept) + note
        kept.append(line)
    return text
