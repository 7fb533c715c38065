"""`resident-bot report`: what residents asked, what share was answered, what was not."""

from __future__ import annotations

import datetime as dt
import html
import math
from collections import Counter, defaultdict

from bot.knowledge.schema import KnowledgeBase
from bot.storage.repository import Repository

STATUSES = ("answer", "partial", "clarify", "fallback", "smalltalk")
MAX_SHOWN = 50  # characters of one resident's message shown in the text report (JSON keeps it whole)
MAX_SHOWN_HTML = 200
MAX_COMMENTS = 20  # the most recent comments residents left with a rating
UNANSWERED_REASONS = {"unknown", "none-of-these", "only-aspect"}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: a value that was really observed."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return round(ordered[k], 2)


def one_line(text: str, limit: int = MAX_SHOWN) -> str:
    """A resident's message as one line of at most `limit` characters: anyone can send a page of spam."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def build_report(repo: Repository, since: dt.datetime, until: dt.datetime | None = None,
                 kb: KnowledgeBase | None = None) -> dict[str, object]:
    """Figures for the period; with the knowledge base serving now, entries carry their titles and the
    report names its version."""
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    status_counts: Counter[str] = Counter()
    entries: Counter[str] = Counter()
    unanswered: dict[str, Counter[str]] = defaultdict(Counter)
    latencies: list[float] = []
    versions: Counter[str] = Counter()
    answers: dict[str, str | None] = {}
    rated = repo.feedback(since)
    commented = {fb.interaction_id for fb in rated if fb.comment}
    asked: dict[str, str] = {}  # what was asked, for the answers residents commented on
    for row in repo.interactions(since, until):
        day = row.created_at.date().isoformat()
        per_day[day][row.status] += 1
        status_counts[row.status] += 1
        versions[row.kb_version] += 1
        latencies.append(row.latency_ms)
        answers[row.id] = row.entry_id
        if row.id in commented:
            asked[row.id] = row.asked or row.text
        if row.entry_id and row.status in ("answer", "partial"):
            entries[row.entry_id] += 1
        if row.status in ("fallback", "partial") and row.reason != "empty":
            question = row.asked or row.text  # 都不是 stands for the question it refused
            unanswered[question if row.asked else (row.normalised or row.text)][question] += 1
    ratings: dict[str, Counter[str]] = defaultdict(Counter)
    comments: list[tuple[dt.datetime, str, bool, str, str | None]] = []
    for fb in rated:
        entry = fb.entry_id or answers.get(fb.interaction_id) or "?"
        ratings[entry]["helpful" if fb.helpful else "not_helpful"] += 1
        if fb.comment:
            comments.append((fb.created_at, entry, fb.helpful, fb.comment, asked.get(fb.interaction_id)))
    total = sum(status_counts.values())

    def title(entry_id: str) -> str:
        entry = kb.by_id.get(entry_id) if kb else None
        return entry.title if entry else entry_id  # an entry deleted since keeps its id

    return {
        "since": since.isoformat(),
        "until": (until or dt.datetime.now(dt.UTC)).isoformat(),
        "messages": total,
        "shares": {s: round(status_counts[s] / total, 4) if total else 0.0 for s in STATUSES},
        "counts": {s: status_counts[s] for s in STATUSES},
        "per_day": [{"date": d, "total": sum(c.values()), **{s: c[s] for s in STATUSES}}
                    for d, c in sorted(per_day.items())],
        "top_entries": [{"id": e, "title": title(e), "count": n} for e, n in entries.most_common(10)],
        "unanswered": sorted(
            ({"question": texts.most_common(1)[0][0], "normalised": key, "count": sum(texts.values())}
             for key, texts in unanswered.items()),
            key=lambda u: (-u["count"], u["normalised"]),
        )[:20],
        "ratings": sorted(({"id": e, "title": title(e), **{k: c[k] for k in ("helpful", "not_helpful")}}
                           for e, c in ratings.items()),
                          key=lambda r: (-r["not_helpful"], r["id"])),
        # Resident's text, like the questions: the report shows it, the log never does.
        "comments": [{"id": e, "title": title(e), "helpful": h, "comment": c, "question": q}
                     for _, e, h, c, q in sorted(comments, key=lambda c: c[0], reverse=True)[:MAX_COMMENTS]],
        "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95)},
        "kb_versions": dict(versions),
        "kb_version_now": kb.version_label if kb else None,
    }


def render_text(r: dict[str, object]) -> str:
    lines = [f"{r['messages']} messages since {r['since'][:16]}"]
    shares = r["shares"]
    lines.append("  " + "  ".join(f"{s} {shares[s] * 100:.1f}%" for s in STATUSES))
    lines.append(f"  latency p50 {r['latency_ms']['p50']} ms, p95 {r['latency_ms']['p95']} ms")
    lines.append(f"  knowledge base now {r.get('kb_version_now') or '-'}; versions that answered: "
                 + (", ".join(f"{v} ({n})" for v, n in r["kb_versions"].items()) or "-"))
    lines.append("per day:")
    lines += [f"  {d['date']}  {d['total']:5}  answered {d['answer']}, fallback {d['fallback']}" for d in r["per_day"]]
    lines.append("top entries:")
    lines += [f"  {e['count']:5}  {e['id']}  {e.get('title', '')}".rstrip() for e in r["top_entries"]]
    lines.append("most frequent unanswered questions:")
    lines += [f"  {u['count']:5}  {one_line(u['question'])}" for u in r["unanswered"]]
    lines.append("ratings (not helpful first):")
    lines += [f"  {x['id']}: {x['not_helpful']} not helpful, {x['helpful']} helpful" for x in r["ratings"]]
    if r.get("comments"):
        lines.append("comments with ratings (latest first):")
        lines += [f"  {'+' if c['helpful'] else '-'} {c['id']}: {one_line(c['comment'])}"
                  + (f"  (asked: {one_line(c['question'])})" if c.get("question") else "") for c in r["comments"]]
    return "\n".join(lines)


def _charts(r: dict[str, object]) -> list[str]:
    import pygal
    from pygal.style import LightStyle

    # js=[] keeps the SVG self-contained: pygal otherwise links its tooltip script from the network.
    common = {"style": LightStyle, "js": [], "disable_xml_declaration": True, "width": 720, "height": 320}
    days = pygal.StackedBar(title="Questions per day", x_label_rotation=30, **common)
    days.x_labels = [d["date"] for d in r["per_day"]]
    for s in STATUSES:
        days.add(s, [d[s] for d in r["per_day"]])
    shares = pygal.Pie(title="Share by outcome", inner_radius=0.4, **common)
    for s in STATUSES:
        shares.add(s, r["counts"][s])
    # Titles, whole: ids cut to the legend's width made two entries of one subject look the same.
    top = pygal.HorizontalBar(title="Top entries", truncate_legend=-1, legend_at_bottom=True,
                              legend_at_bottom_columns=1, **{**common, "height": 320 + 22 * len(r["top_entries"])})
    for e in reversed(r["top_entries"]):
        top.add(e.get("title", e["id"]), e["count"])
    return [days.render(is_unicode=True), shares.render(is_unicode=True), top.render(is_unicode=True)]


def render_html(r: dict[str, object]) -> str:
    esc = html.escape
    rows = "".join(f"<tr><td>{u['count']}</td><td>{esc(one_line(u['question'], MAX_SHOWN_HTML))}</td></tr>"
                   for u in r["unanswered"])
    top = "".join(f"<tr><td>{e['count']}</td><td>{esc(e.get('title', e['id']))}</td><td><code>{esc(e['id'])}"
                  "</code></td></tr>" for e in r["top_entries"])
    ratings = "".join(f"<tr><td>{esc(x.get('title', x['id']))}</td><td><code>{esc(x['id'])}</code></td>"
                      f"<td>{x['not_helpful']}</td><td>{x['helpful']}</td></tr>" for x in r["ratings"])
    comments = "".join(f"<tr><td>{'helpful' if c['helpful'] else 'not helpful'}</td><td>{esc(c['title'])}</td>"
                       f"<td>{esc(one_line(c.get('question') or '', MAX_SHOWN_HTML))}</td>"
                       f"<td>{esc(one_line(c['comment'], MAX_SHOWN_HTML))}</td></tr>" for c in r.get("comments", []))
    versions = ", ".join(f"<code>{esc(v)}</code> ({n} messages)" for v, n in r["kb_versions"].items()) or "none"
    charts = "".join(f'<figure class="chart">{svg}</figure>' for svg in _charts(r))
    shares = " · ".join(f"{s} {r['shares'][s] * 100:.1f}%" for s in STATUSES)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>resident-bot report</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}}</style>
</head><body>
<h1>resident-bot report</h1>
<p>{r['messages']} messages from {esc(r['since'][:16])} to {esc(r['until'][:16])}. {shares}.
Latency p50 {r['latency_ms']['p50']} ms, p95 {r['latency_ms']['p95']} ms.</p>
<p id="versions">Knowledge base now: <code>{esc(r.get('kb_version_now') or 'unknown')}</code>.
Versions that answered in this period: {versions}.</p>
{charts}
<h2>Top entries</h2>
<table id="top"><tr><th>count</th><th>entry</th><th>id</th></tr>{top}</table>
<h2>Most frequent unanswered questions</h2>
<table id="unanswered"><tr><th>count</th><th>question</th></tr>{rows}</table>
<h2>Ratings per entry</h2>
<table id="ratings"><tr><th>entry</th><th>id</th><th>not helpful</th><th>helpful</th></tr>{ratings}</table>
<h2>Comments with ratings</h2>
<table id="comments"><tr><th>rating</th><th>entry</th><th>question asked</th><th>comment</th></tr>{comments}</table>
</body></html>
"""
