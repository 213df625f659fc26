"""Reading a fetched article page where the response is: the page object runs on the Scrapy
response, and the result is an item the pipelines only count and store.

:class:`ArticleReader` turns one response into an :class:`ArticleRecord` (the final fields and
the raw page they came from) or a :class:`Failure` saying why the page is not an article. It is
called by the network spider's article callback and by the WARC import, so a captured page is
read exactly as a crawled one. Extraction is bounded by design (linear work, MAX_PAGE_ELEMENTS);
a page that still takes longer than ``ARCHIVER_EXTRACT_TIME_BUDGET`` seconds is logged and
counted (``archiver/extract/over_budget``, a warning in the run summary), and kept. A crash of
a page object is one failure against the page's URL, never the end of the crawl.
"""
from __future__ import annotations

import logging
import time
from datetime import date

from scrapy.http import Response

from archiver.extract import extract_page
from archiver.items import ArticleRecord, Failure, FetchedPage
from archiver.pages.base import PageInput
from archiver.quality import EARLIEST_DATE
from archiver.sites import Network

# Page types that are a crawl failure (worth retrying later) vs. pages that are simply not articles.
RETRYABLE_TYPES = {"challenge", "empty", "error", "malformed", "mis_encoded", "soft404", "incomplete"}
FAILURE_KINDS = {"incomplete": "extraction", "oversized": "oversized"}

logger = logging.getLogger(__name__)


class ArticleReader:
    def __init__(self, network: Network, stats, settings):
        self.network = network
        self.stats = stats
        self.budget = settings.getfloat("ARCHIVER_EXTRACT_TIME_BUDGET", 2.0)
        earliest = settings.get("ARCHIVER_QUALITY_EARLIEST_DATE")
        self.earliest = date.fromisoformat(earliest) if earliest else EARLIEST_DATE

    def read(self, response: Response, page: FetchedPage) -> ArticleRecord | Failure:
        """``page``: the raw capture of ``response`` with the crawl's context (site, channel,
        the list row that linked it)."""
        started = time.perf_counter()
        try:
            result = extract_page(PageInput(response, self.network), now=page.fetched_at,
                                  list_title=page.list_title, earliest=self.earliest)
        except Exception as e:          # a page object bug must not lose the rest of the crawl
            self.stats.inc_value("archiver/extract/crashed")
            logger.exception("extraction crashed on %s", page.url)
            return self._failure(page, "extraction", f"extractor crashed: {type(e).__name__}: {e}"[:500],
                                 exception=type(e).__name__)
        self._timed(page.url, time.perf_counter() - started)
        if not result.is_article:
            self.stats.inc_value(f"archiver/extract/not_article/{result.page_type}")
            kind = FAILURE_KINDS.get(result.page_type) or (
                result.page_type if result.page_type in RETRYABLE_TYPES else "not_article")
            reason = result.reason if result.page_type == "incomplete" else f"{result.page_type}: {result.reason}"
            return self._failure(page, kind, reason, retryable=result.page_type in RETRYABLE_TYPES)
        fields = result.to_dict()
        fields["list_title"] = page.list_title
        fields["list_date"] = page.list_date
        site = self.network.site_for_url(page.url)
        fields["site_role"] = site.role if site is not None and site.id == fields.get("site") else None
        if result.extraction_status == "degraded":
            self.stats.inc_value("archiver/extract/degraded")
            logger.warning("degraded extraction of %s: %s", page.url, result.extraction_reason)
        return ArticleRecord(fields=fields, page=page)

    def _timed(self, url: str, seconds: float) -> None:
        self.stats.max_value("archiver/extract/slowest_ms", int(seconds * 1000))
        if self.budget and seconds > self.budget:
            self.stats.inc_value("archiver/extract/over_budget")
            logger.warning("extraction of %s took %.1f s (budget %.1f s)", url, seconds, self.budget)

    @staticmethod
    def _failure(page: FetchedPage, kind: str, reason: str, *, retryable: bool = True,
                 exception: str | None = None) -> Failure:
        return Failure(url=page.url, kind=kind, reason=reason, status=page.status, exception=exception,
                       site=page.site, channel=page.channel, referer=page.referer, retryable=retryable)
