"""Validate: required fields present and plausible; every missing field is counted.

A page at an article URL (the network's ``tYYYYMMDD_ID.html`` grammar) is never rejected here:
what is missing makes it a ``degraded`` article with the reason (review queue), so an article URL
the crawler reached is never lost. Other pages that lack a headline or a body are failures.
"""
from __future__ import annotations

from archiver.items import ArticleRecord, Failure
from pipelines.base import CrawlerPipeline

REQUIRED = ("title", "body")
COUNTED = ("title", "source", "author", "published_at", "body", "breadcrumb")
MIN_BODY_CHARS = 20


class ValidatePipeline(CrawlerPipeline):

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
            if f.get("doc_id") is not None:
                degrade(f, why)
                self.stats.inc_value("archiver/validate/degraded")
                return item
            self.stats.inc_value("archiver/validate/rejected")
            return Failure(url=item.url, kind="extraction", reason=f"extraction incomplete: {why}",
                           status=item.page.status, site=f.get("site"), channel=f.get("channel"),
                           referer=item.page.referer)
        return item


def degrade(fields: dict, why: str) -> None:
    """Mark an article record ``degraded`` (review queue) with the reason, a headline at least."""
    if not fields.get("title"):
        fields["title"] = fields.get("list_title") or fields.get("url")
        fields.setdefault("extraction", {})["title"] = {
            "method": "last-resort:list-title" if fields.get("list_title") else "last-resort:url", "raw": None}
    reason = f"extraction incomplete: {why}"
    if fields.get("extraction_status") == "degraded" and fields.get("extraction_reason"):
        reason = f"{fields['extraction_reason']}; {reason}"
    fields["extraction_status"], fields["extraction_reason"] = "degraded", reason
    fields["quality"], fields["quality_score"] = "bad", 0.0
    fields["quality_flags"] = ["degraded"] + [x for x in (fields.get("quality_flags") or []) if x != "degraded"]
