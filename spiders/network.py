"""The generic spider for the network's shared CMS.

Crawling only: channel list pages -> every page of their pagination -> article pages. It yields
raw ``FetchedPage`` items (extraction happens in ExtractPipeline), ``LinkEntry`` items for list
rows that are files, WeChat posts or other hosts, and a ``Failure`` for every request that did not
produce a page, so nothing fails silently. Everything site-specific comes from the registry.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, AsyncIterator

import scrapy
from scrapy.exceptions import (CannotResolveHostError, DownloadCancelledError, DownloadConnectionRefusedError,
                               DownloadFailedError, DownloadTimeoutError, IgnoreRequest, ResponseDataLossError)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as twisted_errors
from twisted.python.failure import Failure as TwistedFailure

from archiver.items import Failure, FetchedPage, LinkEntry
from archiver.pages import detect
from archiver.pages.base import PageInput
from archiver.pages.lists import ListPage
from archiver.sites import Site, load_network

ANTI_BOT_STATUSES = {403, 412, 429, 521}


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class NetworkSpider(scrapy.Spider):
    """Crawl the 中铝网站群 news channels.

    Spider arguments (``-a``): ``sites`` (comma-separated site ids; default every site),
    ``registry`` (path to a site registry TOML; default the bundled one).
    """

    name = "network"

    def __init__(self, sites: str | None = None, registry: str | None = None, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.network = load_network(registry)
        self._sites_arg = sites
        self._list_pages: dict[tuple[str, str], int] = {}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        if not spider._sites_arg:
            spider._sites_arg = crawler.settings.get("ARCHIVER_SITES") or None
        spider.max_list_pages = crawler.settings.getint("ARCHIVER_MAX_LIST_PAGES", 200)
        return spider

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
        for site in self.selected_sites:
            for channel in site.channels:
                yield self._list_request(channel.list_url(site), site.id, channel.path, page=0)
            for url in site.extra_start_urls:
                yield self._list_request(url, site.id, None, page=0)

    def _list_request(self, url: str, site: str, channel: str | None, page: int, probe: bool = False,
                      referer: str | None = None) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_list, errback=self.on_error, meta={
            "archiver": {"kind": "list", "site": site, "channel": channel, "page": page, "probe": probe,
                         "referer": referer}})

    # ------------------------------------------------------------------ list pages
    def parse_list(self, response: Response):
        meta = response.meta["archiver"]
        stats = self.crawler.stats
        stats.inc_value("archiver/list_pages")
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
            yield self._failure(response.url, meta, kind="empty_list",
                                reason="list page has no article links (template change?)", status=response.status)
            return
        row_info = {r.url: r for r in lst.rows}
        for url in articles:
            info = self.network.classify(url)
            if not self._selected(info.site):
                stats.inc_value("archiver/links/other_site_skipped")
                continue
            row = row_info.get(url)
            yield scrapy.Request(url, callback=self.parse_article, errback=self.on_error, meta={"archiver": {
                "kind": "article", "site": info.site.id, "channel": info.channel, "referer": response.url,
                "list_title": row.title if row else None, "list_date": row.date if row else None}})
        for row in lst.link_entries:
            stats.inc_value(f"archiver/link_entries/{row.kind}")
            yield LinkEntry(url=row.url, kind=row.kind, title=row.title, list_url=response.url,
                            list_date=row.date, site=site_id, channel=channel)

        yield from self._follow_pager(lst, response, site_id, channel)

    def _follow_pager(self, lst: ListPage, response: Response, site_id: str, channel: str | None):
        stats = self.crawler.stats
        pager = lst.pager
        stats.inc_value(f"archiver/pager/{pager.style}")
        key = (site_id, channel or response.url)
        if pager.style == "none":
            nxt = lst.probe_url()
            if nxt and lst.article_links:
                if self._budget(key):
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
            if self._budget(key):
                yield self._list_request(url, site_id, channel, page=info.list_page or 0, referer=response.url)

    def _budget(self, key) -> bool:
        n = self._list_pages.get(key, 0) + 1
        self._list_pages[key] = n
        if n > self.max_list_pages:
            self.crawler.stats.inc_value("archiver/pager/budget_exhausted")
            return False
        return True

    # ------------------------------------------------------------------ articles
    def parse_article(self, response: Response):
        meta = response.meta["archiver"]
        self.crawler.stats.inc_value("archiver/article_pages")
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
            kind = "http"
            reason = f"HTTP {response.status}"
            if response.status in ANTI_BOT_STATUSES:
                verdict = detect.check_bytes(response.status, {}, response.body)
                if verdict.kind == "challenge" or response.status in (412, 521):
                    kind, reason = "challenge", f"HTTP {response.status} anti-bot response"
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
