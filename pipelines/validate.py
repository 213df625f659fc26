"""Validate: required fields present and plausible; every missing field is counted.

Every article also gets its quality verdict (archiver/quality.py), assessed again here with the
fetch time so that a date after the fetch is caught; verdicts are counted as
``archiver/quality/<verdict>`` and ``archiver/quality_by_site/<site>/<verdict>``.
"""
from __future__ import annotations

from datetime import date

from archiver.items import ArticleRecord, Failure
from archiver.quality import EARLIEST_DATE, assess

REQUIRED = ("title", "body")
COUNTED = ("title", "source", "author", "published_at", "body", "breadcrumb")
MIN_BODY_CHARS = 20


class ValidatePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        earliest = crawler.settings.get("ARCHIVER_QUALITY_EARLIEST_DATE")
        self.earliest = date.fromisoformat(earliest) if earliest else EARLIEST_DATE

    def count_quality(self, site: str | None, verdict: str) -> None:
        self.stats.inc_value(f"archiver/quality/{verdict}")
        self.stats.inc_value(f"archiver/quality_by_site/{site or 'unknown'}/{verdict}")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if not isinstance(item, ArticleRecord):
            return item
        f = item.fields
        for name in COUNTED:
            if not f.get(name):
                self.stats.inc_value(f"archiver/field/{name}/missing")
        missing = [n for n in REQUIRED if not f.get(n)]
        if missing or len(f.get("body") or "") < MIN_BODY_CHARS:
            why = f"missing {', '.join(missing)}" if missing else f"body shorter than {MIN_BODY_CHARS} characters"
            self.stats.inc_value("archiver/validate/rejected")
            self.count_quality(f.get("site"), "bad")
            return Failure(url=item.url, kind="extraction", reason=f"extraction incomplete: {why}",
                           status=item.page.status, site=f.get("site"), channel=f.get("channel"),
                           referer=item.page.referer)
        verdict = assess(f, now=item.page.fetched_at, earliest=self.earliest)
        f["quality"], f["quality_score"], f["quality_flags"] = verdict.quality, verdict.score, verdict.flags
        self.count_quality(f.get("site"), verdict.quality)
        return item
