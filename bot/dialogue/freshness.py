"""Is an answer still current? Residents read 2021 facts years later; forecasts in the past must say so."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.knowledge.schema import Entry

# A forecast stated in the answer text, e.g. 预计2024年竣工, 2023年底前力争…: the year it names.
_FORECAST = re.compile(r"(?:预计|计划|力争|将于|有望)[^。；]{0,12}?(\d{4})年|(\d{4})年(?:底前|底|内)?(?:力争|预计)")


@dataclass(frozen=True, slots=True)
class Staleness:
    kind: str  # "expired" (a forecast date has passed) or "review" (due for review)
    date: dt.date


def staleness(entry: Entry, today: dt.date) -> Staleness | None:
    if entry.expires and entry.expires < today:
        return Staleness("expired", entry.expires)
    forecast = forecast_date(entry.answer)
    if forecast and forecast < today:
        return Staleness("expired", forecast)
    if entry.review_by and entry.review_by < today:
        return Staleness("review", entry.review_by)
    return None


def forecast_date(answer: str) -> dt.date | None:
    """The latest year an answer forecasts, as the last day of that year."""
    years = [int(a or b) for a, b in _FORECAST.findall(answer)]
    return dt.date(max(years), 12, 31) if years else None


def chinese_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"
