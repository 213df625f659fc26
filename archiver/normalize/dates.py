"""Dates as these sites write them, into ISO 8601 with the precision that was shown.

The network displays ``时间: 2026-02-07`` (day precision, China Standard Time). Sibling
templates add ``2026年2月7日``, ``2026/02/07 09:30`` and English forms. We locate a date-like
substring with a regular expression (so that a copyright year or a phone number is never read as
a date), then let dateparser parse it in Asia/Shanghai.

Output convention (documented in the README):
  * a date without a time of day -> ``"2026-02-07"`` (a calendar date in UTC+08:00)
  * a date with hours and minutes -> ``"2026-02-07T09:30:00+08:00"``
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import dateparser

CST_OFFSET = "+08:00"

_SEP = r"\s*[-/.年]\s*"
# YYYY-MM-DD / YYYY/MM/DD / YYYY.MM.DD / YYYY年M月D日, optional time of day after it.
NUMERIC_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})" + _SEP + r"(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)\s*日?"
    r"(?:\s*(?:[T\s]|&nbsp;)*\s*(?P<H>[0-2]?\d)\s*[:：时]\s*(?P<M>[0-5]\d)(?:\s*[:：分]\s*(?P<S>[0-5]\d))?\s*秒?)?"
)
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
ENGLISH_DATE = re.compile(
    r"(?i)\b(?:(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s+(?P<mon1>(?:" + _MONTHS + r")[a-z]*)\.?,?\s+(?P<y1>(?:19|20)\d{2})"
    r"|(?P<mon2>(?:" + _MONTHS + r")[a-z]*)\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y2>(?:19|20)\d{2}))"
    r"(?:,?\s+(?:at\s+)?(?P<H>[0-2]?\d):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?\s*(?P<ampm>[ap]\.?m\.?)?)?"
)

_SETTINGS = {
    "TIMEZONE": "Asia/Shanghai",
    "TO_TIMEZONE": "Asia/Shanghai",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "DATE_ORDER": "YMD",
    "PREFER_DATES_FROM": "past",
    "REQUIRE_PARTS": ["year", "month", "day"],
}


@dataclass(frozen=True)
class ParsedDate:
    value: str          # "2026-02-07" or "2026-02-07T09:30:00+08:00"
    precision: str      # "day" | "minute" | "second"
    raw: str            # the substring it was read from

    @property
    def day(self) -> str:
        return self.value[:10]

    def as_date(self) -> date:
        return date.fromisoformat(self.day)


@lru_cache(maxsize=4096)
def _dateparser(text: str) -> datetime | None:
    return dateparser.parse(text, languages=["zh", "en"], settings=_SETTINGS)


def _format(dt: datetime, precision: str) -> str:
    if precision == "day":
        return dt.date().isoformat()
    return dt.replace(microsecond=0, second=dt.second if precision == "second" else 0).isoformat()


def find_date(text: str | None) -> ParsedDate | None:
    """The first plausible date written in ``text``, or None.

    >>> find_date("来源: 走进兰铝时间: 2026-02-07").value
    '2026-02-07'
    >>> find_date("发布时间：2026年2月7日 09:30").value
    '2026-02-07T09:30:00+08:00'
    """
    if not text:
        return None
    text = text.replace("\xa0", " ").replace("\u3000", " ")
    for m in NUMERIC_DATE.finditer(text):
        y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
        if not (1 <= mo <= 12 and 1 <= d <= 31):
            continue
        precision = "day"
        canonical = f"{y:04d}-{mo:02d}-{d:02d}"
        if m["H"] is not None and int(m["H"]) < 24:
            precision = "second" if m["S"] else "minute"
            canonical += f" {int(m['H']):02d}:{m['M']}" + (f":{m['S']}" if m["S"] else "")
        dt = _dateparser(canonical)
        if dt is None:          # e.g. 2026-02-30
            continue
        return ParsedDate(_format(dt, precision), precision, m.group(0).strip())
    for m in ENGLISH_DATE.finditer(text):
        raw = m.group(0).strip().rstrip(",")
        precision = ("second" if m["S"] else "minute") if m["H"] else "day"
        dt = _dateparser(raw)
        if dt is None:
            continue
        return ParsedDate(_format(dt, precision), precision, raw)
    return None


URL_DATE = re.compile(r"/t(?P<date>(?:19|20)\d{6})_\d+\.html?$")


def url_date(url: str) -> str | None:
    """The document date in a TRS article URL (``t20260210_163910.html`` -> ``2026-02-10``)."""
    m = URL_DATE.search(url.split("?", 1)[0].split("#", 1)[0])
    if not m:
        return None
    s = m["date"]
    try:
        return date(int(s[:4]), int(s[4:6]), int(s[6:])).isoformat()
    except ValueError:
        return None
