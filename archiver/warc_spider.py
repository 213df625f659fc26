"""Replays the captures of WARC files into the crawl's item pipelines (``archiver warc import``).

No requests: ``start()`` reads each 2xx network article response of the files
(``archiver.warc.CaptureReader``) exactly as the crawl reads a fetched one (archiver/reading.py,
the capture time as the fetch time) and yields the ``ArticleRecord`` or ``Failure``; a 4xx/5xx
capture becomes the ``Failure`` the crawl's errback makes of it (``archiver.failures.http_failure``).
The pipelines do what they do for a crawled page; the store step records the import as a run
(mode ``warc``, the setting ``archiver.warc.import_warcs`` gives it).

It lives outside ``spiders/`` (``SPIDER_MODULES``): it is not a crawl, ``scrapy list`` and a
scrapyd deployment show the network spider only; ``archiver.warc.import_warcs`` runs it by class.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, AsyncIterator

import scrapy

from archiver.db.rawpages import RawPageReader
from archiver.items import Failure, FetchedPage
from archiver.pages.base import response_from_bytes
from archiver.reading import ArticleReader
from archiver.run import RunContext
from archiver.warc import CaptureReader, ImportCounts
from archiver.failures import http_failure

MODE = "warc"


class WarcImportSpider(scrapy.Spider):
    """Spider arguments: ``files`` (WARC paths, a list or comma-separated), ``registry``."""

    name = "warc_import"

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        RunContext.apply_spider_arguments(crawler, registry=kwargs.get("registry"))
        return super().from_crawler(crawler, *args, **kwargs)

    def __init__(self, files: list[str] | str = (), registry: str | None = None, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if isinstance(files, str):
            files = [f for f in files.split(",") if f]
        self.files = [Path(f) for f in files]
        self.counts = ImportCounts()
        self.seen: dict[str, list[tuple[str, str]]] = {}      # url -> (capture time, sha256) in this import
        self.reader: RawPageReader | None = None

    async def start(self) -> AsyncIterator[FetchedPage | Failure]:
        stats = self.crawler.stats
        stats.set_value("archiver/mode", MODE)
        self.network = RunContext.of(self.crawler).network
        self.article_reader = ArticleReader(self.network, stats, self.crawler.settings)
        self.reader = RawPageReader(self.settings.get("ARCHIVER_DB"))     # the store step created it
        try:
            for item in self._items():
                yield item
        finally:
            self.reader.close()
        self._record_counts()

    def _items(self):
        stats = self.crawler.stats
        for capture in CaptureReader(self.files, self.network, self.counts):
            stale = self._stale(capture)
            if stale:
                self.counts.skip(stale)
                continue
            self.counts.passed += 1
            info = self.network.classify(capture.url)
            site = info.site.id if info.site else None
            if capture.status >= 400:             # what the crawl's errback makes of an HTTP error
                kind, reason = http_failure(capture.status, capture.body)
                yield Failure(url=capture.url, kind=kind, reason=reason, status=capture.status, site=site,
                              channel=info.channel)
                continue
            stats.inc_value("archiver/article_pages")
            if site:
                stats.inc_value(f"archiver/site/{site}/article_pages")
            page = FetchedPage(url=capture.url, status=capture.status, headers=capture.headers, body=capture.body,
                               fetched_at=capture.fetched_at, site=site, channel=info.channel)
            yield self.article_reader.read(response_from_bytes(page.url, page.body, page.headers, page.status), page)

    def _stale(self, capture) -> str | None:
        """Why a capture would not tell the archive anything new: the archive (or this import)
        already has a response of this URL captured at the same time or later. The same bytes:
        ``already_archived`` (so importing a WARC again adds nothing); other bytes:
        ``older_than_archived`` (storing them now would make an old version look like a change)."""
        sha = hashlib.sha256(capture.body).hexdigest()
        known = self.reader.captures_of(capture.url) + self.seen.get(capture.url, [])
        self.seen.setdefault(capture.url, []).append((capture.fetched_at, sha))
        if not known or capture.fetched_at > max(t for t, _ in known):
            return None
        return "already_archived" if any(s == sha for _, s in known) else "older_than_archived"

    def _record_counts(self) -> None:
        stats = self.crawler.stats
        stats.set_value("archiver/warc/records", self.counts.records)
        stats.set_value("archiver/warc/captures", self.counts.captures)
        stats.set_value("archiver/warc/passed", self.counts.passed)
        for reason, n in self.counts.skipped.items():
            stats.set_value(f"archiver/warc/skipped/{reason}", n)
        for kind, n in self.counts.other.items():
            stats.set_value(f"archiver/warc/other/{kind}", n)
        stats.set_value("archiver/warc/damaged", len(self.counts.damaged))
