"""The spider of the network's shared CMS: crawling, and nothing else.

Channel list pages -> every page of their pagination -> article pages, and the channels and
member sites discovered on the way (archiver/discovery.py). Pagers are read, then verified
against what the pages hold (archiver/walks.py). What to ask again and what to skip on a
recurring run is the incremental policy's answer (archiver/incremental.py). Each article is read
where its response is (archiver/reading.py). Every request that produces no page yields a
``Failure`` against its own URL, so nothing fails silently. Site knowledge comes from the registry
of the run (archiver/run.py); the spider arguments ``sites``, ``registry`` and ``mode`` set the
settings of the same name.
"""
from __future__ import annotations

from typing import AsyncIterator

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

from archiver.clock import utc_now
from archiver.db.crawlstate import validators_from_headers
from archiver.discovery import Budget, Discovery, Entry, discovered_entry, found_item
from archiver.failures import RedirectRefused, classify
from archiver.incremental import IncrementalPolicy
from archiver.items import (ArticleRevalidated, ChannelWalkIncomplete, ChannelWalkStarted, Failure, FetchedPage,
                            LinkEntry)
from archiver.pages import detect
from archiver.pages.base import PageInput
from archiver.pages.dom import title_tag
from archiver.pages.lists import ListPage
from archiver.reading import ArticleReader
from archiver.requests import CrawlRequests, tracked
from archiver.run import RunContext
from archiver.walks import Walks


class NetworkSpider(scrapy.Spider):
    name = "network"
    output_tracker = None        # a distributed worker's (archiver/distributed/frontier.py)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        RunContext.apply_spider_arguments(crawler, **kwargs)
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    def _setup(self) -> None:
        if hasattr(self, "run"):
            return
        s, stats = self.crawler.settings, self.crawler.stats
        self.run = RunContext.of(self.crawler)
        self.network = self.run.network
        # A distributed crawl (archiver/distributed/): walks, discovery and what workers know of the
        # archive are shared through Redis; one process keeps them in memory and in the archive.
        shared = None
        if self.run.role:
            from archiver.distributed.shared import SharedState
            shared = SharedState.of(self.crawler)
        self.policy = IncrementalPolicy(s, incremental=self.run.incremental, stats=stats,
                                        reader=shared.knowledge() if self.run.role == "worker" and self.run.incremental
                                        else None)
        self.walks = Walks(stats, self.logger, incremental=self.run.incremental, margin=self.policy.margin,
                           max_pages=self.policy.max_list_pages, store=shared.walk_store() if shared else None)
        discovery = dict(enabled=self.run.discovery, budget=Budget.from_settings(s),
                         site_ids=frozenset(self.run.site_ids) or None)
        self.discovery = shared.discovery(self.network, **discovery) if shared else Discovery(self.network, **discovery)
        self.reader = ArticleReader(self.network, stats, s)
        self.requests = CrawlRequests(self, self.policy, self.network, stats)
        self.policy.open()

    def _closed(self, spider=None, reason=None):
        if hasattr(self, "policy"):
            self.policy.close()

    def _count(self, site: str | None, name: str) -> None:
        """Per-site counter; archiver/health.py turns these into crawl_runs.site_counts."""
        if site:
            self.crawler.stats.inc_value(f"archiver/site/{site}/{name}")

    # ------------------------------------------------------------------ start
    async def start(self) -> AsyncIterator[scrapy.Request]:
        self._setup()
        if self.run.role == "worker":       # the coordinator seeded the shared frontier
            return
        stats = self.crawler.stats
        stats.set_value("archiver/mode", self.run.mode)
        stats.set_value("archiver/discovery/enabled", int(self.discovery.enabled))
        channels, sites = self.policy.discovered()
        entries = set()
        for entry in self.discovery.seeds(self.run.selected_sites, channels, sites, recheck=not self.run.incremental):
            entries.add(entry.url)
            yield self.requests.entry(entry)
        site_ids = [s.id for s in self.run.selected_sites]
        if self.discovery.enabled and not self.run.site_ids:
            site_ids += self.policy.discovered_site_ids()
        for f in self.policy.due_retries(site_ids):     # failures of earlier runs, due for a retry
            if f["url"] not in entries:
                yield self.requests.retry(f)

    def _check(self, response: Response) -> tuple[PageInput, detect.Verdict]:
        page = PageInput(response, self.network)
        return page, detect.page_verdict(page)

    def _discover(self, entries: list[Entry]):
        for entry in entries:
            self.crawler.stats.inc_value(f"archiver/discovery/found/{entry.found_by}")
            yield self.requests.entry(entry)

    # ------------------------------------------------------------------ homepages and list pages
    @tracked
    def parse_hub(self, response: Response):
        """A site's homepage: its channels and member sites are discovered, its articles fetched."""
        meta = response.meta["archiver"]
        if response.status == 304:
            self.crawler.stats.inc_value("archiver/hub_pages_revalidated")
            yield found_item(self.network, meta, response.url, kind="site", status="unchanged")
            return
        self.crawler.stats.inc_value("archiver/hub_pages")
        page, verdict = self._check(response)
        if not verdict.ok and verdict.kind in ("soft404", "empty"):
            self.crawler.stats.inc_value("archiver/discovery/hubs_missing")
            yield found_item(self.network, meta, response.url, kind="site", status="missing")
            return
        if not verdict.ok:
            yield self._failure(response.url, meta, verdict.kind, f"homepage: {verdict.reason}", response.status)
            return
        site = self.network.site_for_url(response.url)
        name = title_tag(page.root) if site is not None and site.discovered else None
        yield found_item(self.network, meta, response.url, kind="site", label=(name or "")[:60] or None)
        yield ChannelWalkStarted(response.url, meta["site"], None, *_validators(response))
        lst = ListPage(page)
        yield from self._discover(self.discovery.from_links(lst.nav_links, found_on=response.url, depth=meta.get("depth", 0)))
        yield from self._article_requests(lst, response.url, meta)

    @tracked
    def parse_list(self, response: Response):
        meta, stats = response.meta["archiver"], self.crawler.stats
        if response.status == 304:             # unchanged since its last complete walk: nothing new in it
            stats.inc_value("archiver/list_pages_revalidated")
            self._count(meta["site"], "list_pages_revalidated")
            if meta.get("found"):
                yield found_item(self.network, meta, response.url, status="unchanged")
            return
        stats.inc_value("archiver/list_pages")
        self._count(meta["site"], "list_pages")
        page, verdict = self._check(response)
        discovered = discovered_entry(meta)
        if not verdict.ok and (meta.get("probe") or discovered) and verdict.kind in ("soft404", "empty"):
            stats.inc_value("archiver/pager/probe_end" if meta.get("probe") else "archiver/discovery/channels_missing")
            if not meta.get("probe"):
                yield found_item(self.network, meta, response.url, status="missing")
            return
        if not verdict.ok:
            self._count(meta["site"], "list_failures")
            yield self._failure(response.url, meta, verdict.kind, f"list page: {verdict.reason}", response.status)
            return
        lst = ListPage(page)
        channel = meta.get("channel") or (page.url_info.channel if page.url_info.kind == "list" else None)
        yield from self._discover(self.discovery.from_links(lst.nav_links, found_on=response.url, depth=meta.get("depth", 0)))
        if not lst.article_links and not lst.link_entries:
            yield from self._no_rows(response, meta)
            return
        if meta.get("entry"):        # the store records the start now; validators only if this run finishes its walks
            yield ChannelWalkStarted(response.url, meta["site"], channel, *_validators(response))
            if meta.get("found"):
                yield found_item(self.network, meta, response.url, articles=len(lst.article_links),
                                 status="ok" if lst.article_links else "no_articles")
        unarchived = yield from self._article_requests(lst, response.url, meta)
        for row in lst.link_entries:
            stats.inc_value(f"archiver/link_entries/{row.kind}")
            yield LinkEntry(row.url, row.kind, row.title, response.url, row.date, meta["site"], channel)
        key = meta.get("walk") or (meta["site"], channel or response.url)
        nxt, incomplete = self.walks.advance(
            key, lst, response.url, [self.network.canonical_url(u) for u in lst.article_links], unarchived,
            resume=bool(meta.get("resume")), accept=lambda url: self.network.classify(url).site is not None
            and self.network.classify(url).site.id == meta["site"])
        if incomplete:
            yield ChannelWalkIncomplete(meta["site"], channel or response.url)
        if nxt is not None:
            yield self.requests.list_page(nxt[0], meta["site"], channel, self.network.classify(nxt[0]).list_page
                                     or lst.pager.current + 1, probe=nxt[1], referer=response.url, walk=key,
                                     resume=bool(meta.get("resume")), depth=meta.get("depth", 0))

    def _no_rows(self, response: Response, meta: dict):
        if meta.get("probe"):
            self.crawler.stats.inc_value("archiver/pager/probe_end")
        elif meta.get("page") and self.walks.empty_page(meta.get("walk")):
            pass                                   # an empty page in the middle of a walk ends it
        elif discovered_entry(meta):
            self.crawler.stats.inc_value("archiver/discovery/channels_without_articles")
            yield found_item(self.network, meta, response.url, articles=0, status="no_articles")
        else:
            self._count(meta["site"], "list_failures")
            yield self._failure(response.url, meta, "empty_list", "list page has no article links (template change?)",
                                response.status)

    def _article_requests(self, lst: ListPage, list_url: str, meta: dict):
        """Requests for the page's in-network articles the policy wants; returns how many are new."""
        stats, rows, unarchived = self.crawler.stats, {r.url: r for r in lst.rows}, 0
        for url in lst.article_links:
            info = self.network.classify(url)
            if not self.run.selected(info.site):
                stats.inc_value("archiver/links/other_site_skipped")
                continue
            yield from self._discover(self.discovery.from_article(info, found_on=list_url, depth=meta.get("depth", 0)))
            decision = self.policy.article_row(info.canonical_url or url, url, resume=bool(meta.get("resume")))
            if decision in ("fetch", "revalidate"):
                unarchived += decision == "fetch"
                yield self.requests.article(url, info, referer=list_url, row=rows.get(url),
                                            revalidate=decision == "revalidate")
        return unarchived

    # ------------------------------------------------------------------ articles
    @tracked
    def parse_article(self, response: Response):
        meta = response.meta["archiver"]
        if response.status == 304:      # unchanged: a revalidation, not a fetch
            self.crawler.stats.inc_value("archiver/article_pages_revalidated")
            yield ArticleRevalidated(response.url, meta.get("canonical_url") or response.url, meta["site"], meta.get("channel"))
            return
        self.crawler.stats.inc_value("archiver/article_pages")
        self._count(meta["site"], "article_pages")
        fetched = FetchedPage(
            url=response.url, status=response.status, headers=_header_list(response), body=response.body,
            fetched_at=utc_now(), site=meta["site"], channel=meta.get("channel"), referer=meta.get("referer"),
            list_title=meta.get("list_title"), list_date=meta.get("list_date"),
            redirected_from=list(response.meta.get("redirect_urls") or []))
        yield self.reader.read(response, fetched)

    # ------------------------------------------------------------------ failures
    def _failure(self, url: str, meta: dict, kind: str, reason: str, status: int | None = None, **extra) -> Failure:
        return Failure(url=url, kind=kind, reason=reason, status=status, site=meta.get("site"),
                       channel=meta.get("channel"), referer=meta.get("referer"), **extra)

    @tracked
    def on_error(self, failure):
        meta, exc, stats = failure.request.meta.get("archiver", {}), failure.value, self.crawler.stats
        kind = "site" if meta.get("kind") == "hub" else "channel"
        if isinstance(exc, HttpError) and exc.response.status in (404, 410):
            # What loses no article: a probe past a channel's end, a homepage or discovered channel
            # that does not exist, a page a pager named but the site never made (a pager warning).
            if meta.get("probe"):
                stats.inc_value("archiver/pager/probe_end")
                return
            if discovered_entry(meta):
                stats.inc_value(f"archiver/discovery/{'hubs' if kind == 'site' else 'channels'}_missing")
                yield found_item(self.network, meta, failure.request.url, kind=kind, status="missing")
                return
            if meta.get("kind") == "list" and meta.get("page") and self.walks.missing_page(meta.get("walk"),
                                                                                           failure.request.url):
                return
        if isinstance(exc, IgnoreRequest) and not isinstance(exc, RedirectRefused) and discovered_entry(meta):
            stats.inc_value("archiver/discovery/ignored")         # robots.txt keeps us out: no article lost
            yield found_item(self.network, meta, failure.request.url, kind=kind, status="ignored")
            return
        if meta.get("kind") == "list":
            self._count(meta.get("site"), "list_failures")
        c = classify(failure)
        if c.kind in ("dns", "connection", "timeout", "redirect", "oversized"):
            self.logger.warning("%s: %s (%s)", c.url, c.kind, c.reason)      # one line, no traceback
        yield self._failure(c.url, meta, c.kind, c.reason, c.status, exception=c.exception, retryable=c.retryable)


def _header_list(response: Response) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, vs in response.headers.items() for v in vs]


def _validators(response: Response) -> tuple[str | None, str | None]:
    return validators_from_headers(_header_list(response))
