"""Store: the only step that writes the archive (through archiver.db.Archive).

Opens the archive and records the crawl run when the spider opens; writes each article,
failure and link entry in its own transaction; closes the run with its counts and status.
"""
from __future__ import annotations

import os
import socket
import sys
from datetime import datetime, timezone

from scrapy import signals
from scrapy.exceptions import NotConfigured

from archiver.db import Archive
from archiver.db.archive import RawResponse
from archiver.health import assess
from archiver.items import ArticleRecord, Failure, LinkEntry


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class StorePipeline:
    def __init__(self, crawler, db_path: str):
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_path = db_path
        self.archive: Archive | None = None
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler):
        path = crawler.settings.get("ARCHIVER_DB")
        if not path:
            raise NotConfigured("ARCHIVER_DB is not set")
        pipeline = cls(crawler, path)
        # Pipelines close before Scrapy knows the finish reason; the run is closed on spider_closed.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self):
        spider = self.crawler.spider
        self.archive = Archive.open(self.db_path)
        now = utc_now()
        stale = self.archive.mark_interrupted_runs(now=now)
        if stale:
            spider.logger.warning("%d earlier run(s) had not finished; marked interrupted", stale)
        sites = [s.id for s in getattr(spider, "selected_sites", [])]
        self.run_id = self.archive.start_run(
            started_at=now, mode=self.crawler.settings.get("ARCHIVER_MODE", "full"), sites=sites,
            command=" ".join(sys.argv)[:500], pid=os.getpid(), hostname=socket.gethostname())
        self.stats.set_value("archiver/run_id", self.run_id)
        self.stats.set_value("archiver/db", self.db_path)

    def process_item(self, item):
        now = utc_now()
        if isinstance(item, ArticleRecord):
            p = item.page
            raw = RawResponse(p.url, p.status, list(p.headers), p.body, p.fetched_at, item.fields.get("encoding"))
            outcome, _ = self.archive.upsert_article(item.fields, raw, run_id=self.run_id, now=now)
            self.stats.inc_value(f"archiver/articles/{outcome.value}")
            self.stats.inc_value(f"archiver/articles_by_site/{item.fields.get('site')}/{outcome.value}")
        elif isinstance(item, Failure):
            self.archive.record_failure(
                item.url, kind=item.kind, reason=item.reason, now=now, run_id=self.run_id, status=item.status,
                exception=item.exception, site=item.site, channel=item.channel, referer=item.referer,
                retryable=item.retryable)
            self.stats.inc_value("archiver/failures_stored")
            self.stats.inc_value(f"archiver/failures/{item.kind}")
            if item.site:
                self.stats.inc_value(f"archiver/failures_by_site/{item.site}")
        elif isinstance(item, LinkEntry):
            new = self.archive.record_link_entry(
                url=item.url, kind=item.kind, title=item.title, list_url=item.list_url, list_date=item.list_date,
                site=item.site, channel=item.channel, now=now, run_id=self.run_id)
            self.stats.inc_value("archiver/link_entries_new" if new else "archiver/link_entries_seen")
        return item

    def spider_closed(self, spider, reason):
        if self.archive is None:
            return
        stats = self.crawler.stats.get_stats()
        report = assess(stats, self.crawler.settings, finish_reason=reason)
        self.stats.set_value("archiver/health", report.status)
        self.stats.set_value("archiver/health_problems", "; ".join(report.problems))
        self.archive.finish_run(self.run_id, finished_at=utc_now(), status=report.status, finish_reason=reason,
                                counts=report.counts,
                                stats={k: v for k, v in stats.items() if isinstance(v, (int, float, str))})
        self.archive.close()
        self.archive = None
