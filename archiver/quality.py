"""How sure we are of an extracted article: a verdict, a score and the reasons.

A template change rarely breaks extraction loudly: the page object still returns *something*.
So every article gets a verdict from what a reader would check first:

* the headline is present and plausible (not a site name, a channel label or a ``<title>`` guess);
* the date is present, shown on the page (not only in the URL), within the network's life and
  not after the page was fetched;
* the body is long enough and reads like prose, not like a menu or a footer;
* the layers agree: on a site of the CMS family, a field that had to come from a fallback layer
  means the page object's anchors no longer match the template.

``good`` means nothing to look at; ``low`` means a person should look (the review queue);
``bad`` means the record is wrong or empty. Crawl stats count verdicts per site
(``archiver/quality/<verdict>``, ``archiver/quality_by_site/<site>/<verdict>``), so a template
change shows up as a jump of ``low`` on the next crawl.

Pure: the reference time comes in as an argument (the response's fetch time), never the clock.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from archiver.normalize.text import clean_line

EARLIEST_DATE = date(1990, 1, 1)      # nothing on the network predates its founding companies
LOW_BELOW = 0.75                      # a score below this is "low"
MIN_BODY_CHARS = 20                   # below: no body at all
SHORT_BODY_CHARS = 120                # below (and no image): too short to be an article body

# flag -> (penalty, is the record wrong by itself?)
FLAGS: dict[str, tuple[float, bool]] = {
    "title_missing": (1.0, True),
    "title_implausible": (0.5, True),        # 1 character, 200+, or a sentence of the body
    "title_is_label": (0.5, True),           # the site name, a channel or breadcrumb label
    "title_from_title_tag": (0.15, False),   # no headline on the page matched; <title> with its suffix cut
    "date_missing": (0.3, False),
    "date_from_url": (0.15, False),          # only the CMS creation date of the URL
    "date_too_early": (0.6, True),
    "date_in_future": (0.6, True),
    "body_missing": (1.0, True),
    "body_short": (0.3, False),
    "body_navigation": (0.6, True),          # short unpunctuated lines: a menu or a link list
    "body_boilerplate": (0.15, False),       # copyright / ICP / 上一篇 lines inside the body
    "source_missing": (0.1, False),          # the network's info line always shows 来源
    # layer flags (set by the extractor, which knows which layer answered)
    "title_from_fallback": (0.3, False),
    "date_from_fallback": (0.3, False),
    "body_from_fallback": (0.3, False),
    "body_layers_disagree": (0.3, False),
    # an article URL that no layer read as an article, archived by the last resort (issue #10)
    "degraded": (1.0, True),
    # a field longer than any real one, cut to its bound (archiver/extract.py FIELD_BOUNDS)
    "title_truncated": (0.5, True),
    "body_truncated": (0.3, False),
    "field_truncated": (0.2, False),
    # broken markup (content after </html>, an unclosed comment) read again with html.parser
    "markup_repaired": (0.1, False),
}
LAYER_FLAGS = frozenset(f for f in FLAGS if f.endswith(("_from_fallback", "_disagree")))
# Flags that need the extractor's context (layers, labels, template): kept when assessed again later.
CONTEXT_FLAGS = LAYER_FLAGS | {"title_is_label", "source_missing", "degraded", "title_truncated", "body_truncated",
                               "field_truncated", "markup_repaired"}

_PUNCT = re.compile(r"[，。！？；：、,.!?;:]")
_BOILERPLATE = re.compile(r"版权所有|ICP备|ICP证|公网安备|上一篇|下一篇|All Rights Reserved", re.I)
CST = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Verdict:
    quality: str                      # good | low | bad
    score: float                      # 1.0 = nothing wrong, 0.0 = nothing right
    flags: list[str] = field(default_factory=list)


def _as_datetime(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def navigation_like(body: str) -> bool:
    """Mostly short lines without punctuation (a menu, a link list, a tag cloud)."""
    lines = [clean_line(x) for x in body.splitlines() if clean_line(x)]
    if len(lines) < 5:
        return False
    short = sum(1 for x in lines if len(x) <= 15 and not _PUNCT.search(x))
    return short / len(lines) >= 0.6 and sum(len(x) for x in lines) < 60 * len(lines)


def assess(record: dict, *, now: str | datetime | None = None, earliest: date = EARLIEST_DATE,
           labels: tuple[str, ...] = (), expects_source: bool = False) -> Verdict:
    """The verdict for one extracted article (an ``Extraction.to_dict()`` or an archive row).

    ``now`` is when the page was fetched (no future check without it); ``labels`` are names a
    headline must not be (site name, channel and breadcrumb labels); ``expects_source`` says the
    template always shows a 来源. Flags already in ``record["quality_flags"]`` that need the
    extractor's context (``CONTEXT_FLAGS``) are kept, so the crawl can assess again with the
    fetch time without losing them.
    """
    flags: list[str] = [f for f in (record.get("quality_flags") or []) if f in CONTEXT_FLAGS]

    title = clean_line(record.get("title") or "")
    methods = record.get("extraction") or {}
    if not title:
        flags.append("title_missing")
    else:
        if len(title) < 2 or len(title) > 200 or (len(title) > 80 and _PUNCT.search(title[-1])):
            flags.append("title_implausible")
        if title in {clean_line(x) for x in labels if x}:
            flags.append("title_is_label")
        if (methods.get("title") or {}).get("method") == "title-tag":
            flags.append("title_from_title_tag")

    published = record.get("published_at")
    date_method = (methods.get("published_at") or {}).get("method")
    if not published:
        flags.append("date_missing")
    else:
        day = date.fromisoformat(published[:10])
        if date_method == "url":
            flags.append("date_from_url")
        if day < earliest:
            flags.append("date_too_early")
        ref = _as_datetime(now)
        if ref is not None and day > ref.astimezone(CST).date() + timedelta(days=1):
            flags.append("date_in_future")

    body = record.get("body") or ""
    images = record.get("images") or []
    files = record.get("attachments") or []      # an announcement's content may be its attached file
    if len(body) < MIN_BODY_CHARS and not images and not files:
        flags.append("body_missing")
    else:
        if len(body) < SHORT_BODY_CHARS and not images and not files:
            flags.append("body_short")
        if navigation_like(body):
            flags.append("body_navigation")
        if _BOILERPLATE.search(body):
            flags.append("body_boilerplate")

    if expects_source and not record.get("source"):
        flags.append("source_missing")

    flags = list(dict.fromkeys(flags))
    score = max(0.0, 1.0 - sum(FLAGS[f][0] for f in flags))
    if any(FLAGS[f][1] for f in flags):
        quality = "bad"
    elif score < LOW_BELOW:
        quality = "low"
    else:
        quality = "good"
    return Verdict(quality, round(score, 3), flags)
