"""Quality: every extracted article gets its verdict, assessed with the time it was fetched.

The extractor already judged the page (archiver/quality.py, without a clock); here the verdict is
made again with the fetch time, so that a date after the fetch is caught, and counted in the crawl
stats as ``archiver/quality/<verdict>`` and ``archiver/quality_by_site/<site>/<verdict>``. A site
whose template changed shows up as a jump of ``low`` in its counts on the next crawl.

Runs before ValidatePipeline, so an article that validation then rejects (no title, no body) is
still counted, as ``bad``.
"""
from __future__ import annotations

from datetime import date

from archiver.items import ArticleRecord
from archiver.quality import EARLIEST_DATE, assess
from pipelines.base import CrawlerPipeline


class QualityPipeline(CrawlerPipeline):
    def __init__(self, crawler):
        super().__init__(crawler)
        earliest = crawler.settings.get("ARCHIVER_QUALITY_EARLIEST_DATE")
        self.earliest = date.fromisoformat(earliest) if earliest else EARLIEST_DATE

    def process_item(self, item):
        if not isinstance(item, ArticleRecord):
            return item
        f = item.fields
        verdict = assess(f, now=item.page.fetched_at, earliest=self.earliest)
        f["quality"], f["quality_score"], f["quality_flags"] = verdict.quality, verdict.score, verdict.flags
        if f.get("extraction_status") == "degraded":      # read by the last resort: bad, whatever it looks like
            f["quality"], f["quality_score"] = "bad", 0.0
            f["quality_flags"] = ["degraded"] + [x for x in verdict.flags if x != "degraded"]
        quality = f["quality"]
        item.quality = {"quality": quality, "score": f["quality_score"], "flags": f["quality_flags"]}
        site = f.get("site") or "unknown"
        self.stats.inc_value(f"archiver/quality/{quality}")
        self.stats.inc_value(f"archiver/quality_by_site/{site}/{quality}")
        return item
