"""Extract: a fetched page becomes an ArticleRecord, or a Failure saying why it is not one."""
from __future__ import annotations

import time

from archiver.extract import extract_bytes
from archiver.items import ArticleRecord, Failure, FetchedPage
from pipelines.base import CrawlerPipeline

# Page types that are a crawl failure (worth retrying later) vs. pages that are simply not articles.
RETRYABLE_TYPES = {"challenge", "empty", "error", "malformed", "mis_encoded", "soft404"}


class ExtractPipeline(CrawlerPipeline):
    """Extraction runs in the crawl process: its time per page is bounded by design (linear work,
    MAX_PAGE_ELEMENTS) and measured; a page over ARCHIVER_EXTRACT_TIME_BUDGET seconds is logged
    and counted (``archiver/extract/over_budget``, a warning in the run summary), and kept."""

    def _timed(self, url: str, seconds: float) -> None:
        ms = int(seconds * 1000)
        self.stats.max_value("archiver/extract/slowest_ms", ms)
        budget = self.crawler.settings.getfloat("ARCHIVER_EXTRACT_TIME_BUDGET", 2.0)
        if budget and seconds > budget:
            self.stats.inc_value("archiver/extract/over_budget")
            self.crawler.spider.logger.warning("extraction of %s took %.1f s (budget %.1f s)", url, seconds, budget)

    def process_item(self, item):
        if not isinstance(item, FetchedPage):
            return item
        spider = self.crawler.spider
        network = getattr(spider, "network", None)
        started = time.perf_counter()
        try:
            result = extract_bytes(item.url, item.body, dict(item.headers), item.status, network=network)
        except Exception as e:          # a page object bug must not lose the rest of the crawl
            self.stats.inc_value("archiver/extract/crashed")
            spider.logger.exception("extraction crashed on %s", item.url)
            return Failure(url=item.url, kind="extraction", reason=f"extractor crashed: {type(e).__name__}: {e}"[:500],
                           status=item.status, exception=type(e).__name__, site=item.site, channel=item.channel,
                           referer=item.referer)
        self._timed(item.url, time.perf_counter() - started)
        if not result.is_article:
            self.stats.inc_value(f"archiver/extract/not_article/{result.page_type}")
            kind = result.page_type if result.page_type in RETRYABLE_TYPES | {"oversized"} else "not_article"
            return Failure(url=item.url, kind=kind,
                           reason=f"{result.page_type}: {result.reason}", status=item.status, site=item.site,
                           channel=item.channel, referer=item.referer,
                           retryable=result.page_type in RETRYABLE_TYPES)
        fields = result.to_dict()
        fields["list_title"] = item.list_title
        fields["list_date"] = item.list_date
        if result.extraction_status == "degraded":
            self.stats.inc_value("archiver/extract/degraded")
            spider.logger.warning("degraded extraction of %s: %s", item.url, result.extraction_reason)
        for name, prov in result.extraction.items():
            self.stats.inc_value(f"archiver/extraction/{name}/{prov['method']}")
        return ArticleRecord(fields=fields, page=item)
