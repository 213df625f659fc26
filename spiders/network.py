"""The generic spider for the network's shared CMS.

Crawling only: channel list pages -> every page of their pagination -> article pages. It yields
raw ``FetchedPage`` items (extraction happens in ExtractPipeline), ``LinkEntry`` items for list
rows that are files, WeChat posts or other hosts, and a ``Failure`` for every request that did not
produce a page, so nothing fails silently. Everything site-specific comes from the registry.

Two modes (``ARCHIVER_MODE`` / spider argument ``mode``; see archiver/incremental.py):

* ``full``: every page of every channel's pager, every article, unconditionally.
* ``incremental`` (the default): a channel's first list page is requested with the validators
  saved when the last run finished walking it; ``304`` means nothing changed in that channel
  and the walk stops there. Otherwise list pages are read one after the other, only while a page
  still holds rows that are not in the archive, plus ``ARCHIVER_INCREMENTAL_MARGIN`` pages. New
  rows are fetched; archived rows on those pages whose freshness has run out
  (``ARCHIVER_REVALIDATE``, :class:`archiver.incremental.Revalidation`) are revalidated with a
  conditional request (``304`` is counted as a revalidation, not a fetch), which is how an
  edited article is found.
  Failures recorded by earlier runs are retried when their back-off has elapsed.

"Is this archived?" is answered by indexed lookups on a read-only connection to the archive
(archiver/db/crawlstate.py), so memory does not grow with the archive.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, AsyncIterator

import scrapy
from scrapy import signals
from scrapy.exceptions import (CannotResolveHostError, DownloadCancelledError, DownloadConnectionRefusedError,
                               DownloadFailedError, DownloadTimeoutError, IgnoreRequest, ResponseDataLossError)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as twisted_errors
from twisted.python.failure import Failure as TwistedFailure

from archiver.db.crawlstate import ArchiveReader, validators_from_headers
from archiver.incremental import MODES, ChannelWalk, Revalidation, conditional_headers
from archiver.items import ArticleRevalidated, ChannelWalkStarted, Failure, FetchedPage, LinkEntry
from archiver.pages import detect
from archiver.pages.base import PageInput
from archiver.pages.lists import ListPage
from archiver.sites import Site, load_network

ANTI_BOT_STATUSES = {403, 412, 429, 521}


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def http_failure(status: int, body: bytes) -> tuple[str, str]:
    """(kind, reason) of the failure an HTTP error response is (also for imported captures)."""
    if status in ANTI_BOT_STATUSES:
        verdict = detect.check_bytes(status, {}, body)
        if verdict.kind == "challenge" or status in (412, 521):
            return "challenge", f"HTTP {status} anti-bot response"
    return "http", f"HTTP {status}"


class NetworkSpider(scrapy.Spider):
    """Crawl the 中铝网站群 news channels.

    Spider arguments (``-a``): ``sites`` (comma-separated site ids; default every site),
    ``registry`` (path to a site registry TOML; default the bundled one), ``mode``
    (``full`` | ``incremental``; default the ``ARCHIVER_MODE`` setting).
    """

    name = "network"
    ARTICLE_PRIORITY = 1     # articles before further list pages: the request queue stays short

    def __init__(self, sites: str | None = None, registry: str | None = None, mode: str | None = None,
                 *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.network = load_network(registry)
        self._sites_arg = sites
        self._mode_arg = mode
        self._list_pages: dict[tuple[str, str], set[str]] = {}
        self._walks: dict[tuple, ChannelWalk] = {}
        self.incomplete_channels: set[tuple[str, str | None]] = set()   # pager budget exhausted
        self.reader: ArchiveReader | None = None
        self.mode = "incremental"
        self.margin = 1
        self.revalidation = Revalidation()
        self.retry_max_attempts = 10
        self.db_path: str | None = None

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        if not spider._sites_arg:
            spider._sites_arg = s.get("ARCHIVER_SITES") or None
        spider.max_list_pages = s.getint("ARCHIVER_MAX_LIST_PAGES", 200)
        mode = (spider._mode_arg or s.get("ARCHIVER_MODE") or "incremental").strip().lower()
        if mode not in MODES:
            raise ValueError(f"unknown crawl mode {mode!r}; expected one of {', '.join(MODES)}")
        spider.mode = mode
        spider.margin = s.getint("ARCHIVER_INCREMENTAL_MARGIN", 1)
        spider.revalidation = Revalidation(
            mode=(s.get("ARCHIVER_REVALIDATE") or "due").strip().lower(),
            factor=s.getfloat("ARCHIVER_REVALIDATE_FACTOR", 0.1),
            min_age=s.getfloat("ARCHIVER_REVALIDATE_MIN_AGE", 600.0),
            max_age=s.getfloat("ARCHIVER_REVALIDATE_MAX_AGE", 30 * 86400.0))
        spider.retry_max_attempts = s.getint("ARCHIVER_RETRY_MAX_ATTEMPTS", 10)
        spider.db_path = s.get("ARCHIVER_DB")
        crawler.signals.connect(spider._close_reader, signal=signals.spider_closed)
        return spider

    @property
    def incremental(self) -> bool:
        return self.mode == "incremental"

    def _close_reader(self, spider=None, reason=None):
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def _count(self, site: str | None, name: str) -> None:
        """Per-site counter; archiver/health.py turns these into crawl_runs.site_counts."""
        if site:
            self.crawler.stats.inc_value(f"archiver/site/{site}/{name}")

    @property
    def selected_sites(self) -> list[Site]:
        if not self._sites_arg:
            return list(self.network.sites)
        ids = [s.strip() for s in str(self._sites_arg).split(",") if s.strip()]
        return [self.network.site(i) for i in ids]          # KeyError names the known sites

    def _selected(self, site: Site | None) -> bool:
        return site is not None and any(site.id == s.id for s in self.selected_sites)

    # ------------------------------------------------------------------ start
    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.crawler.stats.set_value("archiver/mode", self.mode)
        # The store step has opened (created, migrated) the archive by now.
        if self.db_path and self.reader is None:
            self.reader = ArchiveReader(self.db_path)
        entries: set[str] = set()
        for site in self.selected_sites:
            starts = [(c.list_url(site), c.path) for c in site.channels] + [(u, None) for u in site.extra_start_urls]
            for url, channel in starts:
                entries.add(url)
                # A walk that an earlier run started but never completed (killed): read it all again.
                resume = self.incremental and self.reader is not None and self.reader.needs_resume(url)
                if resume:
                    self.crawler.stats.inc_value("archiver/incremental/resumed_channels")
                yield self._list_request(url, site.id, channel, page=0, entry=True, resume=resume)
        for request in self._retry_requests(entries):
            yield request

    def _retry_requests(self, skip: set[str]):
        """Failures recorded by earlier runs, due for a retry (all of them in a full run)."""
        if self.reader is None:
            return
        due = self.reader.due_failures([s.id for s in self.selected_sites], now=utc_now(),
                                       max_attempts=self.retry_max_attempts, ignore_backoff=not self.incremental)
        for f in due:
            if f["url"] in skip:
                continue
            info = self.network.classify(f["url"])
            self.crawler.stats.inc_value("archiver/retries/scheduled")
            self._count(f["site"], "retried")
            if info.kind == "article":
                yield self._article_request(f["url"], info, referer=None, row=None)
            else:
                channel = f["channel"] or info.channel
                yield self._list_request(f["url"], f["site"], channel, page=info.list_page or 0,
                                         walk=("retry", f["url"]))

    def _list_request(self, url: str, site: str, channel: str | None, page: int, probe: bool = False,
                      referer: str | None = None, entry: bool = False, walk: tuple | None = None,
                      resume: bool = False) -> scrapy.Request:
        meta: dict[str, Any] = {"archiver": {"kind": "list", "site": site, "channel": channel, "page": page,
                                             "probe": probe, "referer": referer, "entry": entry, "walk": walk,
                                             "resume": resume}}
        headers = {}
        if entry and self.incremental and self.reader is not None and not resume:
            # "Changed since the last complete walk of this channel?" A 304 ends the channel.
            headers = conditional_headers(self.reader.validators(url))
            meta["handle_httpstatus_list"] = [304]
        return scrapy.Request(url, callback=self.parse_list, errback=self.on_error, meta=meta, headers=headers)

    def _article_request(self, url: str, info, *, referer: str | None, row, revalidate: bool = False):
        meta: dict[str, Any] = {"archiver": {
            "kind": "article", "site": info.site.id if info.site else None, "channel": info.channel,
            "referer": referer, "canonical_url": info.canonical_url or url,
            "list_title": row.title if row else None, "list_date": row.date if row else None}}
        headers = {}
        if revalidate and self.reader is not None:
            headers = conditional_headers(self.reader.validators(url) or self.reader.validators(info.canonical_url))
            meta["handle_httpstatus_list"] = [304]
        return scrapy.Request(url, callback=self.parse_article, errback=self.on_error, meta=meta, headers=headers,
                              priority=self.ARTICLE_PRIORITY)

    # ------------------------------------------------------------------ list pages
    def parse_list(self, response: Response):
        meta = response.meta["archiver"]
        stats = self.crawler.stats
        if response.status == 304:
            # Unchanged since this channel was last walked to the end: nothing new in it.
            stats.inc_value("archiver/list_pages_revalidated")
            self._count(meta["site"], "list_pages_revalidated")
            return
        stats.inc_value("archiver/list_pages")
        self._count(meta["site"], "list_pages")
        page = PageInput(response, self.network)
        verdict = page.byte_verdict
        if verdict.ok:
            try:
                verdict = detect.check_tree(page.root, page.text)
            except ValueError as e:
                verdict = detect.Verdict("malformed", str(e))
        if not verdict.ok:
            if meta["probe"] and verdict.kind in ("soft404", "empty"):
                stats.inc_value("archiver/pager/probe_end")
                return
            self._count(meta["site"], "list_failures")
            yield self._failure(response.url, meta, kind=verdict.kind, reason=f"list page: {verdict.reason}",
                                status=response.status)
            return
        lst = ListPage(page)
        site_id = meta["site"]
        channel = meta["channel"] or (page.url_info.channel if page.url_info.kind == "list" else None)

        articles = lst.article_links
        if not articles and not lst.link_entries:
            if meta["probe"]:
                stats.inc_value("archiver/pager/probe_end")
                return
            self._count(meta["site"], "list_failures")
            yield self._failure(response.url, meta, kind="empty_list",
                                reason="list page has no article links (template change?)", status=response.status)
            return
        if meta.get("entry"):
            etag, last_modified = validators_from_headers(
                (k.decode("latin-1"), v.decode("latin-1")) for k, vs in response.headers.items() for v in vs)
            # The store records the start now; validators only if this run finishes its walks.
            yield ChannelWalkStarted(url=response.url, site=site_id, channel=channel, etag=etag,
                                     last_modified=last_modified)
        row_info = {r.url: r for r in lst.rows}
        unarchived = 0
        for url in articles:
            info = self.network.classify(url)
            if not self._selected(info.site):
                stats.inc_value("archiver/links/other_site_skipped")
                continue
            row = row_info.get(url)
            if self.incremental and self.reader is not None:
                known = self.reader.known(info.canonical_url or url, url)
                if known == "article":
                    stats.inc_value("archiver/incremental/archived_rows")
                    if not meta.get("resume") and self._revalidation_due(info.canonical_url or url, url):
                        yield self._article_request(url, info, referer=response.url, row=row, revalidate=True)
                    continue
                if known == "failure":           # retried on its own back-off schedule
                    stats.inc_value("archiver/incremental/failed_rows")
                    continue
            unarchived += 1
            yield self._article_request(url, info, referer=response.url, row=row)
        for row in lst.link_entries:
            stats.inc_value(f"archiver/link_entries/{row.kind}")
            yield LinkEntry(url=row.url, kind=row.kind, title=row.title, list_url=response.url,
                            list_date=row.date, site=site_id, channel=channel)

        yield from self._follow_pager(lst, response, site_id, channel, unarchived, meta.get("walk"),
                                      bool(meta.get("resume")))

    def _revalidation_due(self, canonical_url: str, url: str) -> bool:
        """Is this archived row due for a conditional request (ARCHIVER_REVALIDATE)?"""
        policy = self.revalidation
        if policy.mode != "due":
            due = policy.mode == "all"
        else:
            checked = self.reader.last_checked(canonical_url, url) if self.reader is not None else None
            due = policy.due(datetime.now(timezone.utc), *(checked or (None, None)))
        if not due:
            self.crawler.stats.inc_value("archiver/incremental/fresh_rows")
        return due

    def _follow_pager(self, lst: ListPage, response: Response, site_id: str, channel: str | None,
                      unarchived: int = 0, walk_key: tuple | None = None, resume: bool = False):
        stats = self.crawler.stats
        pager = lst.pager
        stats.inc_value(f"archiver/pager/{pager.style}")
        key = (site_id, channel or response.url)
        if self.incremental:
            yield from self._follow_incremental(lst, response, site_id, channel, unarchived, walk_key or key, resume)
            return
        if pager.style == "none":
            nxt = lst.probe_url()
            if nxt and lst.article_links:
                if self._budget(key, nxt):
                    yield self._list_request(nxt, site_id, channel, page=pager.current + 1, probe=True,
                                             referer=response.url)
            return
        urls = list(pager.page_urls)
        if pager.next_url and pager.next_url not in urls:
            urls.append(pager.next_url)
        for url in urls:
            info = self.network.classify(url)
            if info.site is None or info.site.id != site_id:
                continue
            if self._budget(key, url):
                yield self._list_request(url, site_id, channel, page=info.list_page or 0, referer=response.url)

    def _follow_incremental(self, lst: ListPage, response: Response, site_id: str, channel: str | None,
                            unarchived: int, walk_key: tuple, resume: bool = False):
        """One page at a time: the next page only after this one was judged (ChannelWalk).

        A resume walk (the last walk of this channel was killed) reads every page: the rows that
        run archived are not a prefix of the channel, so "only archived rows here" proves nothing.
        """
        stats = self.crawler.stats
        walk = self._walks.setdefault(walk_key, ChannelWalk(margin=self.margin))
        if not walk.judge(unarchived) and not resume:
            stats.inc_value("archiver/incremental/walk_stopped")
            return
        pager = lst.pager
        if pager.style == "none":
            nxt = lst.probe_url() if lst.article_links else None
        else:
            nxt = pager.next_url
        if not nxt:
            return
        info = self.network.classify(nxt)
        if info.site is None or info.site.id != site_id:
            return
        if self._budget((site_id, channel or response.url), nxt):
            yield self._list_request(nxt, site_id, channel, page=info.list_page or pager.current + 1,
                                     probe=pager.style == "none", referer=response.url, walk=walk_key, resume=resume)

    def _budget(self, key, url: str) -> bool:
        """At most ARCHIVER_MAX_LIST_PAGES distinct list pages per channel (every createPageHTML page
        names every other page: count URLs, not links)."""
        seen = self._list_pages.setdefault(key, set())
        if url in seen:
            return True
        if len(seen) >= self.max_list_pages:
            self.crawler.stats.inc_value("archiver/pager/budget_exhausted")
            self.incomplete_channels.add(key)
            return False
        seen.add(url)
        return True

    # ------------------------------------------------------------------ articles
    def parse_article(self, response: Response):
        meta = response.meta["archiver"]
        if response.status == 304:
            # A conditional request for an archived article: unchanged (a revalidation, not a fetch).
            self.crawler.stats.inc_value("archiver/article_pages_revalidated")
            yield ArticleRevalidated(url=response.url, canonical_url=meta.get("canonical_url") or response.url,
                                     site=meta.get("site"), channel=meta.get("channel"))
            return
        self.crawler.stats.inc_value("archiver/article_pages")
        self._count(meta.get("site"), "article_pages")
        yield FetchedPage(
            url=response.url, status=response.status,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, vs in response.headers.items() for v in vs],
            body=response.body, fetched_at=utc_now(), site=meta.get("site"), channel=meta.get("channel"),
            referer=meta.get("referer"), list_title=meta.get("list_title"), list_date=meta.get("list_date"),
        )

    # ------------------------------------------------------------------ failures
    def _failure(self, url: str, meta: dict, *, kind: str, reason: str, status: int | None = None,
                 exception: str | None = None, retryable: bool = True) -> Failure:
        return Failure(url=url, kind=kind, reason=reason, status=status, exception=exception,
                       site=meta.get("site"), channel=meta.get("channel"), referer=meta.get("referer"),
                       retryable=retryable)

    def on_error(self, failure: TwistedFailure):
        request = failure.request
        meta = request.meta.get("archiver", {})
        exc = failure.value
        if isinstance(exc, HttpError):
            response = exc.response
            if meta.get("probe") and response.status == 404:
                self.crawler.stats.inc_value("archiver/pager/probe_end")
                return
        if meta.get("kind") == "list":
            self._count(meta.get("site"), "list_failures")
        if isinstance(exc, HttpError):
            kind, reason = http_failure(response.status, response.body)
            yield self._failure(request.url, meta, kind=kind, reason=reason, status=response.status)
            return
        if isinstance(exc, IgnoreRequest):
            # RobotsTxtMiddleware (and any other deliberate skip): not retried.
            reason = str(exc) or "request ignored"
            kind = "robots" if "robots" in reason.lower() or not reason else "ignored"
            yield self._failure(request.url, meta, kind=kind, reason=reason or "forbidden by robots.txt",
                                exception=type(exc).__name__, retryable=False)
            return
        if failure.check(DownloadTimeoutError, twisted_errors.TimeoutError, twisted_errors.TCPTimedOutError):
            kind = "timeout"
        elif failure.check(CannotResolveHostError, twisted_errors.DNSLookupError):
            kind = "dns"
        elif failure.check(DownloadConnectionRefusedError, DownloadFailedError, ResponseDataLossError,
                           twisted_errors.ConnectionRefusedError, twisted_errors.ConnectionLost,
                           twisted_errors.ConnectError):
            kind = "connection"
        elif failure.check(DownloadCancelledError):
            kind = "oversized" if "maxsize" in str(exc).lower() or "max" in str(exc).lower() else "cancelled"
        else:
            kind = "exception"
        yield self._failure(request.url, meta, kind=kind, reason=f"{type(exc).__name__}: {exc}"[:500],
                            exception=type(exc).__name__)
