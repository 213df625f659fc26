"""Validate: required fields present and plausible; every missing field is counted."""
from __future__ import annotations

from archiver.items import ArticleRecord, Failure

REQUIRED = ("title", "body")
COUNTED = ("title", "source", "author", "published_at", "body", "breadcrumb")
MIN_BODY_CHARS = 20


class ValidatePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

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
            return Failure(url=item.url, kind="extraction", reason=f"extraction incomplete: {why}",
                           status=item.page.status, site=f.get("site"), channel=f.get("channel"),
                           referer=item.page.referer)
        return item
