"""Make Chinese and Arabic numbers comparable: 十九点二十 and 19点20 normalise alike."""

from __future__ import annotations

import re

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}
_NUMERAL = "零〇一二三四五六七八九两十百千万亿"
# A lone numeral is converted only before a measure word, so that names such as 一键呼 or 一带一轴
# keep their characters while 五点半 becomes 5点半.
_MEASURES = "点时号月日年个项家户次场人套名元分位天周岁层栋条座所张"
_RUN = re.compile(f"[{_NUMERAL}]{{2,}}|[{_NUMERAL}](?=[{_MEASURES}])")
_CLOCK = re.compile(r"(\d{1,2})[:：](\d{2})")


def chinese_to_int(run: str) -> int | None:
    """Value of a run of Chinese numerals, or None when it is not a well-formed number."""
    if all(c in _DIGITS for c in run):  # digit by digit, as in 二〇二一
        return int("".join(str(_DIGITS[c]) for c in run))
    total = section = digit = 0
    for c in run:
        if c in _DIGITS:
            digit = _DIGITS[c]
        elif c in _UNITS:
            section += (digit or 1) * _UNITS[c]
            digit = 0
        elif c in _BIG:
            total += (section + digit) * _BIG[c]
            section = digit = 0
        else:
            return None
    return total + section + digit


def normalise_numbers(text: str) -> str:
    text = _CLOCK.sub(lambda m: f"{int(m.group(1))}点{m.group(2)}", text)

    def repl(m: re.Match[str]) -> str:
        run = m.group(0)
        # 一一 or 万万 are not numbers residents write; 万/亿 alone stay words.
        if run in _BIG or run[0] in _BIG:
            return run
        value = chinese_to_int(run)
        return str(value) if value is not None else run

    return _RUN.sub(repl, text)
