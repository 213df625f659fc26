"""Dates as these sites write them, into ISO 8601 with the precision that was shown.

The network displays ``时间: 2026-02-07`` (day precision, China Standard Time). Sibling
templates add ``2026年2月7日``, ``2026/02/07 09:30`` and English forms. We locate a date-like
substring with a regular expression (so that a copyright year or a phone number is never read as
a date), then hand dateparser the parts in one canonical form with the exact format we recognised:
dateparser checks the calendar (2026-02-30 is no date) and localises to Asia/Shanghai (UTC+08:00).
Giving it the format keeps it at ~0.1 ms a call; left to guess the format and language it costs
1-2 ms and may guess wrong. A time written with an explicit offset (``2020-03-20T15:00:52+00:00``,
metadata of foreign pages) keeps that offset.

Output convention (documented in the README):
  * a date without a time of day -> ``"2026-02-07"`` (a calendar date in UTC+08:00)
  * a date with hours and minutes -> ``"2026-02-07T09:30:00+08:00"``
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

from dateparser.date import DateDataParser

CST = timezone(timedelta(hours=8))

_SEP = r"\s*[-/.年]\s*"
# YYYY-MM-DD / YYYY/MM/DD / YYYY.MM.DD / YYYY年M月D日, optional time of day after it.
NUMERIC_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})" + _SEP + r"(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)\s*日?"
    r"(?:\s*(?:[T\s]|&nbsp;)*\s*(?P<H>[0-2]?\d)\s*[:：时]\s*(?P<M>[0-5]\d)(?:\s*[:：分]\s*(?P<S>[0-5]\d))?(?:\.\d{1,6})?"
    r"(?P<tz>Z|[+-][01]\d:?[0-5]\d(?!\d))?\s*秒?)?"
)
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
ENGLISH_DATE = re.compile(
    r"(?i)\b(?:(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s+(?P<mon1>(?:" + _MONTHS + r")[a-z]*)\.?,?\s+(?P<y1>(?:19|20)\d{2})"
    r"|(?P<mon2>(?:" + _MONTHS + r")[a-z]*)\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y2>(?:19|20)\d{2}))"
    r"(?:,?\s+(?:at\s+)?(?P<H>[0-2]?\d):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?\s*(?P<ampm>[ap]\.?m\.?)?)?"
)

# 9/17/2004 5:54:13 AM: the US-style M/D/YYYY that .NET pages print; D/M/YYYY only when the first
# number cannot be a month (17/9/2004). Tried after the Y-M-D and English forms.
SLASH_MDY = re.compile(
    r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>(?:19|20)\d{2})(?![\d/])"
    r"(?:\s+(?P<H>[0-2]?\d):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?")

_MONTH_NUMBER = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_MONTH_WORDS = frozenset(
    "jan january feb february mar march apr april may jun june jul july aug august sep sept september "
    "oct october nov november dec december".split())


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


_CANONICAL_FORMAT = "%Y-%m-%d %H:%M:%S"
_PARSER = DateDataParser(languages=["en"], settings={
    "TIMEZONE": "Asia/Shanghai", "TO_TIMEZONE": "Asia/Shanghai", "RETURN_AS_TIMEZONE_AWARE": True,
    "REQUIRE_PARTS": ["year", "month", "day"]})


@lru_cache(maxsize=8192)
def _parse(y: int, mo: int, d: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime | None:
    """dateparser on the canonical form of the parts; None for a date the calendar does not have."""
    if not (1 <= mo <= 12 and 1 <= d <= 31 and 0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
        return None
    text = f"{y:04d}-{mo:02d}-{d:02d} {hour:02d}:{minute:02d}:{second:02d}"
    return _PARSER.get_date_data(text, date_formats=[_CANONICAL_FORMAT]).date_obj


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
        hour = minute = second = 0
        if m["H"] is not None and int(m["H"]) < 24:
            precision = "second" if m["S"] else "minute"
            hour, minute, second = int(m["H"]), int(m["M"]), int(m["S"] or 0)
        dt = _parse(y, mo, d, hour, minute, second)
        if dt is None:          # 2026-02-30
            continue
        if precision != "day" and m["tz"] and (m["S"] or "T" in m.group(0)):
            # an explicit offset (2020-03-20T15:00:52-05:00, metadata of a foreign page): kept, so the
            # calendar day stays the one the publisher showed
            tz = m["tz"].replace(":", "")
            offset = timezone.utc if tz == "Z" else timezone(
                (1 if tz[0] == "+" else -1) * timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])))
            dt = dt.replace(tzinfo=offset)
        return ParsedDate(_format(dt, precision), precision, m.group(0).strip())
    for m in ENGLISH_DATE.finditer(text):
        raw = m.group(0).strip().rstrip(",")
        precision = ("second" if m["S"] else "minute") if m["H"] else "day"
        month = _MONTH_NUMBER.get((m["mon1"] or m["mon2"])[:3].lower())
        if month is None or (m["mon1"] or m["mon2"]).lower() not in _MONTH_WORDS:
            continue
        hour = _hour(m["H"], m["ampm"])
        dt = _parse(int(m["y1"] or m["y2"]), month, int(m["d1"] or m["d2"]), hour, int(m["M"] or 0), int(m["S"] or 0))
        if dt is None:
            continue
        return ParsedDate(_format(dt, precision), precision, raw)
    for m in SLASH_MDY.finditer(text):
        a, b = int(m["a"]), int(m["b"])
        month, day = (b, a) if a > 12 else (a, b)
        precision = ("second" if m["S"] else "minute") if m["H"] else "day"
        hour = _hour(m["H"], m["ampm"])
        dt = _parse(int(m["y"]), month, day, hour, int(m["M"] or 0), int(m["S"] or 0))
        if dt is None:
            continue
        return ParsedDate(_format(dt, precision), precision, m.group(0).strip())
    return None


def _hour(h: str | None, ampm: str | None) -> int:
    hour = int(h) if h else 0
    ampm = (ampm or "").replace(".", "").lower()
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    return hour


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
