"""Store: the only step that writes the archive (through archiver.db.Archive).

Opens the archive and records the crawl run when the spider opens; writes each article,
failure and link entry atomically (a savepoint of its own); closes the run with its counts and
status.

Commits are batched: items are written inside one transaction that is committed after
``ARCHIVER_COMMIT_EVERY`` items or ``ARCHIVER_COMMIT_INTERVAL`` seconds, whichever comes first
(a timer commits an idle batch too). Per-item commits cost more than the extraction itself once
the search index is kept in step (measured: bench/bench.py). A killed crawl loses at most the
open batch, never a half-written article, and the run that follows fetches what is missing: it
is not in the archive. A batch that SQLite rolled back as a whole (disk full, I/O error) is
logged and counted, makes the run unhealthy, and keeps the run from saving channel validators,
so the next run walks those channels again.

Incremental crawls (issue #6) add: the archive's lock (one crawl per archive; a refused run
closes as ``archive_locked`` without touching the archive), article validators written in the
article's transaction, the retry back-off of each failure, 304-revalidated articles, and the
validators of channels, saved only when the run finished (a killed run leaves none that could
hide unarchived rows). The run row gets per-site counts and the health verdict.
"""
from __future__ import annotations

import logging
import os
import socket
import sqlite3
import sys
import time

from scrapy import signals
from scrapy.exceptions import CloseSpider, DropItem, NotConfigured
from twisted.internet import task

from archiver import lock as archive_lock
from archiver.clock import utc_now
from archiver.db import Archive
from archiver.db.archive import RawResponse
from archiver.db.check import ArchiveError
from archiver.db.crawlstate import CrawlState
from archiver.health import SiteHistory, assess, extraction_failure, run_columns
from archiver.incremental import next_retry_at
from archiver.items import (ArticleRecord, ArticleRevalidated, ChannelWalkIncomplete, ChannelWalkStarted, Failure,
                            Found, LinkEntry)
from archiver.run import RunContext

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, crawler, db_path: str, *, batches: bool = True):
        self.crawler = crawler
        self.stats = crawler.stats
        self.db_path = db_path
        self.archive: Archive | None = None
        self.state: CrawlState | None = None
        self.lock: archive_lock.ArchiveLock | None = None
        self.run_id: int | None = None
        self.history: SiteHistory | None = None
        self.channel_walks: dict[str, ChannelWalkStarted] = {}
        self.incomplete_walks: set[tuple[str, str]] = set()      # (site, channel or entry URL)
        self.run = RunContext.of(crawler)
        s = crawler.settings
        self.backoff = {"base": s.getfloat("ARCHIVER_RETRY_BACKOFF_BASE", 1800.0),
                        "factor": s.getfloat("ARCHIVER_RETRY_BACKOFF_FACTOR", 2.0),
                        "cap": s.getfloat("ARCHIVER_RETRY_BACKOFF_MAX", 7 * 86400.0)}
        # batches=False: the caller commits (a distributed crawl's writer commits a batch of stream
        # entries with its own bookkeeping in one transaction, archiver/distributed/writer.py)
        self.batches = batches
        self.commit_every = max(1, s.getint("ARCHIVER_COMMIT_EVERY", 200))
        self.commit_interval = s.getfloat("ARCHIVER_COMMIT_INTERVAL", 1.0)
        self._batch_items = 0
        self._batch_started: float | None = None     # monotonic time of the open batch's BEGIN
        self._ticker: task.LoopingCall | None = None
        self.batch_lost = False

    @classmethod
    def from_crawler(cls, crawler):
        path = crawler.settings.get("ARCHIVER_DB")
        if not path:
            raise NotConfigured("ARCHIVER_DB is not set")
        pipeline = cls(crawler, path)
        # Pipelines close before Scrapy knows the finish reason; the run is closed on spider_closed.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self, *, attach: int | None = None):
        """Lock and open the archive and record the run (``attach``: go on with that run, as a
        distributed crawl's writer restarted mid-run does)."""
        try:
            # Before anything is written: a second crawl must not mark the running one interrupted.
            self.lock = archive_lock.acquire(self.db_path)
        except archive_lock.ArchiveLocked as e:
            logger.error("refusing to crawl: %s", e)
            self.stats.set_value("archiver/refused", str(e))
            raise CloseSpider("archive_locked") from None
        try:
            self.archive = Archive.open(self.db_path)      # checks itself (archiver/db/check.py)
        except ArchiveError as e:
            logger.error("refusing to crawl: %s", e)
            self.stats.set_value("archiver/refused", str(e))
            self.stats.set_value("archiver/archive_error_status", e.exit_status)
            self.lock.release()
            self.lock = None
            raise CloseSpider("archive_unusable") from None
        for line in self.archive.db.repairs:
            logger.warning("repaired the archive: %s", line)
        self.state = CrawlState(self.archive.db)
        now = utc_now()
        stale = self.archive.mark_interrupted_runs(now=now, keep=attach)
        if stale:
            logger.warning("%d earlier run(s) had not finished; marked interrupted", stale)
        sites = [s.id for s in self.run.selected_sites] if self.run.mode != "warc" else []
        mode = self.run.mode
        self.run_id = attach if attach is not None else self.archive.start_run(
            started_at=now, mode=mode, sites=sites,
            command=" ".join(sys.argv)[:500], pid=os.getpid(), hostname=socket.gethostname())
        self.stats.set_value("archiver/run_id", self.run_id)
        self.stats.set_value("archiver/db", self.db_path)
        self.stats.set_value("archiver/sites", ",".join(sites))
        self.history = SiteHistory(
            established=self.state.established_sites(sites),
            previous=self.state.recent_site_counts(
                before_run_id=self.run_id, limit=self.crawler.settings.getint("ARCHIVER_HEALTH_HISTORY_RUNS", 5)))
        if self.commit_interval > 0 and self.batches:
            self._ticker = task.LoopingCall(self._tick)
            self._ticker.start(self.commit_interval, now=False)

    # ------------------------------------------------------------------ batched commits
    def _begin_batch(self) -> None:
        if self._batch_started is None:
            self.archive.db.begin()
            self._batch_started = time.monotonic()
            self._batch_items = 0

    def _batch_vanished(self) -> bool:
        """SQLite rolled the whole open batch back (an error that ends the transaction)."""
        return self._batch_started is not None and not self.archive.db.conn.in_transaction

    def _lose_batch(self, why: str) -> None:
        logger.error("the archive rolled back %d stored item(s) of this run (%s); the next run fetches "
                            "them again", self._batch_items, why)
        self.stats.inc_value("archiver/store/batches_lost")
        self.stats.inc_value("archiver/store/items_lost", self._batch_items)
        self.batch_lost = True
        self._batch_started = None
        self._batch_items = 0

    def commit(self, force: bool = False) -> None:
        """Commit the open batch when it is full or old enough (or ``force``)."""
        if self._batch_started is None or self.archive is None:
            return
        if self._batch_vanished():
            self._lose_batch("the transaction was rolled back")
            return
        if not force and not self.batches:
            return
        if not force and self._batch_items < self.commit_every and \
                time.monotonic() - self._batch_started < self.commit_interval:
            return
        try:
            self.archive.db.commit()
        except sqlite3.Error as e:
            if self.archive.db.conn.in_transaction:
                self.archive.db.rollback()
            self._lose_batch(f"commit failed: {e}")
            return
        self.stats.inc_value("archiver/store/commits")
        self._batch_started = None
        self._batch_items = 0

    def _tick(self) -> None:
        try:
            self.commit()
        except Exception:             # the timer must keep running
            logger.exception("periodic commit of the archive failed")

    def process_item(self, item):
        if self._batch_vanished():          # rolled back since the last item (the timer found it fine)
            self._lose_batch("the transaction was rolled back")
        self._begin_batch()
        try:
            return self._store(item)
        except Exception as e:
            # Never silent, never fatal to the crawl, always fatal to the run's health.
            self._store_failed(item, e)
            raise DropItem(f"not stored: {type(e).__name__}: {e}") from None
        finally:
            self._batch_items += 1
            if self._batch_vanished():
                self._lose_batch("an error rolled the transaction back")
            else:
                self.commit()

    def _store(self, item):
        now = utc_now()
        if isinstance(item, ArticleRecord):
            p = item.page
            raw = RawResponse(p.url, p.status, list(p.headers), p.body, p.fetched_at, item.fields.get("encoding"))
            with self.archive.db.atomic():      # the article and its validators: one transaction
                outcome, _ = self.archive.upsert_article(item.fields, raw, run_id=self.run_id, now=now,
                                                         aliases=list(getattr(p, "redirected_from", None) or []))
                self.state.save_validators(p.url, kind="article", headers=p.headers, now=now, run_id=self.run_id)
            self.stats.inc_value(f"archiver/articles/{outcome.value}")
            self.stats.inc_value(f"archiver/articles_by_site/{item.fields.get('site')}/{outcome.value}")
            self._count(item.fields.get("site"), f"articles_{outcome.value}")
        elif isinstance(item, ArticleRevalidated):
            if self.state.touch_article(item.url, item.canonical_url, now=now, run_id=self.run_id):
                self.stats.inc_value("archiver/articles/revalidated")
                self._count(item.site, "articles_revalidated")
            else:   # a 304 for an article the archive does not hold (deleted by hand?)
                self.stats.inc_value("archiver/articles/revalidated_unknown")
        elif isinstance(item, ChannelWalkStarted):
            self.state.walk_started(item.url, site=item.site, channel=item.channel, now=now, run_id=self.run_id)
            self.channel_walks[item.url] = item
        elif isinstance(item, Failure):
            with self.archive.db.atomic():
                attempts = self.archive.record_failure(
                    item.url, kind=item.kind, reason=item.reason, now=now, run_id=self.run_id, status=item.status,
                    exception=item.exception, site=item.site, channel=item.channel, referer=item.referer,
                    retryable=item.retryable)
                if item.retryable:
                    self.state.schedule_retry(item.url, next_retry_at(now, attempts, **self.backoff))
            self.stats.inc_value("archiver/failures_stored")
            self.stats.inc_value(f"archiver/failures/{item.kind}")
            if item.site:
                self.stats.inc_value(f"archiver/failures_by_site/{item.site}")
            self._count(item.site, "failures")
            if extraction_failure(item.kind, item.url, self.run.network):
                self._count(item.site, "extraction_failures")
        elif isinstance(item, Found):
            new = self.state.record_found(item, now=now, run_id=self.run_id)
            self.stats.inc_value(f"archiver/discovery/{item.kind}s_walked/{item.status}")
            if not item.in_registry and item.status in ("ok", "unchanged"):     # walked and holding articles
                self.stats.inc_value(f"archiver/discovery/{item.kind}s_not_in_registry")
                if new:
                    self.stats.inc_value(f"archiver/discovery/{item.kind}s_new")
        elif isinstance(item, ChannelWalkIncomplete):
            self.incomplete_walks.add((item.site, item.key))
        elif isinstance(item, LinkEntry):
            new = self.archive.record_link_entry(
                url=item.url, kind=item.kind, title=item.title, list_url=item.list_url, list_date=item.list_date,
                site=item.site, channel=item.channel, now=now, run_id=self.run_id)
            self.stats.inc_value("archiver/link_entries_new" if new else "archiver/link_entries_seen")
        return item

    def _store_failed(self, item, exc: Exception) -> None:
        url = getattr(item, "url", None) or "?"
        what = f"{type(exc).__name__}: {exc}"
        logger.error("store step failed for %s %s: %s", type(item).__name__, url, what,
                            exc_info=str(self.crawler.settings.get("LOG_LEVEL")).upper() == "DEBUG")
        self.stats.inc_value("archiver/store/errors")
        if not self.stats.get_value("archiver/store/first_error"):
            self.stats.set_value("archiver/store/first_error", f"{type(item).__name__} {url}: {what}")
        low = str(exc).lower()
        if isinstance(exc, (sqlite3.Error, OSError)) and ("full" in low or "i/o" in low or "readonly" in low):
            # Nothing more can be stored: stop fetching (what is committed stays; the next run goes on).
            if not self.stats.get_value("archiver/store/stopped"):
                self.stats.set_value("archiver/store/stopped", what)
                logger.error("the archive cannot be written (%s): stopping the crawl", what)
                try:
                    engine = self.crawler.engine
                except Exception:          # no engine (the pipeline driven by a test)
                    engine = None
                if engine is not None:
                    from scrapy.utils.defer import deferred_from_coro
                    deferred_from_coro(engine.close_spider_async(reason="archive_unwritable"))

    def _count(self, site: str | None, name: str) -> None:
        if site:
            self.stats.inc_value(f"archiver/site/{site}/{name}")

    def _complete_channel_walks(self, now: str) -> int:
        """Validators of the channels walked to the end, and their walks marked complete."""
        incomplete = self.incomplete_walks
        saved = 0
        with self.archive.db.atomic():
            for v in self.channel_walks.values():
                if (v.site, v.channel) in incomplete or (v.site, v.url) in incomplete:
                    continue
                saved += self.state.save_validators(v.url, kind="list", etag=v.etag, last_modified=v.last_modified,
                                                    now=now, run_id=self.run_id)
                self.state.walk_completed(v.url, now=now, run_id=self.run_id)
        return saved

    def spider_closed(self, spider, reason):
        if self.archive is None:
            return
        if self._ticker is not None and self._ticker.running:
            self._ticker.stop()
        self.commit(force=True)
        now = utc_now()
        if reason == "finished" and not self.batch_lost and not self.stats.get_value("archiver/store/errors"):
            # Only a run that walked its channels to the end may tell the next one "unchanged → stop".
            try:
                self.stats.set_value("archiver/channel_validators_saved", self._complete_channel_walks(now))
            except Exception as e:
                self._store_failed(ChannelWalkStarted("(channel validators)", None, None), e)
        stats = self.crawler.stats.get_stats()
        report = assess(stats, self.crawler.settings, finish_reason=reason, history=self.history)
        self.stats.set_value("archiver/health", report.status)
        self.stats.set_value("archiver/health_problems", "; ".join(report.problems))
        self.stats.set_value("archiver/health_report", report.to_dict())
        for p in report.problems:        # into the log (stderr or --log-file), also under -q
            logger.error("run %s %s: %s", self.run_id, report.status, p)
        try:
            self.archive.finish_run(self.run_id, finished_at=now, status=report.status, finish_reason=reason,
                                    counts=report.counts,
                                    stats={k: v for k, v in stats.items() if isinstance(v, (int, float, str))},
                                    extra=run_columns(report))
        except Exception as e:      # the run row stays 'running'; the next run marks it interrupted
            problem = f"the run could not be recorded in the archive ({type(e).__name__}: {e})"
            logger.error("run %s: %s", self.run_id, problem)
            report.problems.append(problem)
            if report.status == "ok":
                report.status = "unhealthy"
            self.stats.set_value("archiver/health", report.status)
            self.stats.set_value("archiver/health_report", report.to_dict())
        finally:
            try:
                self.archive.close()
            finally:
                self.archive = None
                if self.lock is not None:
                    self.lock.release()
                    self.lock = None
