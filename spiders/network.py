"""The generic spider for the network's shared CMS.

Crawling only: channel list pages -> every page of their pagination -> article pages, and the
channels and member sites it discovers on the way (archiver/discovery.py: homepages, menus,
landing pages, breadcrumbs, 友情链接; ``--registry-only`` turns that off). Pagers are read and
then verified against what the pages hold (archiver/walks.py). It yields
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
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure as TwistedFailure

from archiver.db.crawlstate import ArchiveReader, validators_from_headers
from archiver.discovery import Budget, Discovery, Entry
from archiver.failures import RedirectRefused, classify
from archiver.incremental import MODES, Revalidation, conditional_headers
from archiver.items import ArticleRevalidated, ChannelWalkStarted, Failure, FetchedPage, Found, LinkEntry
from archiver.pages import detect
from archiver.pages.base import PageInput
from archiver.pages.dom import title_tag
from archiver.pages.lists import ListPage
from archiver.sites import Site, load_network
from archiver.walks import PagerWalk



def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _validators(response: Response) -> tuple[str | None, str | None]:
    return validators_from_headers(
        (k.decode("latin-1"), v.decode("latin-1")) for k, vs in response.headers.items() for v in vs)


class NetworkSpider(scrapy.Spider):
    """Crawl the 中铝网站群 news channels.

    Spider arguments (``-a``): ``sites`` (comma-separated site ids; default every site),
    ``registry`` (path to a site registry TOML; default the bundled one), ``mode``
    (``full`` | ``incremental``; default the ``ARCHIVER_MODE`` setting).
    """

    name = "network"
    ARTICLE_PRIORITY = 1     # articles before further list pages: the request queue stays short (a walk reads
                             # its next page once the last one's articles are fetched: memory stays flat)

    def __init__(self, sites: str | None = None, registry: str | None = None, mode: str | None = None,
                 *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._registry_arg = registry
        self.network = load_network(registry)
        self._sites_arg = sites
        self._mode_arg = mode
        self._walks: dict[tuple, PagerWalk] = {}
        self.incomplete_channels: set[tuple[str, str | None]] = set()   # pager budget exhausted
        self.reader: ArchiveReader | None = None
        self.mode = "incremental"
        self.margin = 1
        self.max_list_pages = 200
        self.revalidation = Revalidation()
        self.retry_max_attempts = 10
        self.db_path: str | None = None
        self.discovery = Discovery(self.network)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        if not spider._registry_arg and s.get("ARCHIVER_REGISTRY"):
            spider.network = load_network(s.get("ARCHIVER_REGISTRY"))
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
        spider.discovery = Discovery(
            spider.network, enabled=s.getbool("ARCHIVER_DISCOVERY", True),
            budget=Budget(max_channels=s.getint("ARCHIVER_DISCOVERY_MAX_CHANNELS", 100),
                          max_sites=s.getint("ARCHIVER_DISCOVERY_MAX_SITES", 50),
                          max_depth=s.getint("ARCHIVER_DISCOVERY_MAX_DEPTH", 4)),
            site_ids=frozenset(spider._site_ids()) if spider._sites_arg else None)
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

    def _site_ids(self) -> list[str]:
        return [s.strip() for s in str(self._sites_arg or "").split(",") if s.strip()]

    @property
    def selected_sites(self) -> list[Site]:
        if not self._sites_arg:
            return list(self.network.sites)
        return [self.network.site(i) for i in self._site_ids()]          # KeyError names the known sites

    def _selected(self, site: Site | None) -> bool:
        if site is None:
            return False
        if site.discovered and not self.discovery.enabled:
            return False
        return not self._sites_arg or site.id in self._site_ids()

    # ------------------------------------------------------------------ start
    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.crawler.stats.set_value("archiver/mode", self.mode)
        self.crawler.stats.set_value("archiver/discovery/enabled", int(self.discovery.enabled))
        # The store step has opened (created, migrated) the archive by now.
        if self.db_path and self.reader is None:
            self.reader = ArchiveReader(self.db_path)
        reader = self.reader
        channels = reader.discovered_channels() if reader is not None else []
        sites = reader.known_sites() if reader is not None else []
        entries: set[str] = set()
        for entry in self.discovery.seeds(self.selected_sites, channels, sites, recheck=not self.incremental):
            entries.add(entry.url)
            yield self._entry_request(entry)
        for request in self._retry_requests(entries):
            yield request

    def _retry_requests(self, skip: set[str]):
        """Failures recorded by earlier runs, due for a retry (all of them in a full run)."""
        if self.reader is None:
            return
        site_ids = [s.id for s in self.selected_sites]
        if self.discovery.enabled and not self._sites_arg:
            site_ids += self.reader.discovered_site_ids()
        due = self.reader.due_failures(site_ids, now=utc_now(), max_attempts=self.retry_max_attempts,
                                       ignore_backoff=not self.incremental)
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

    def _entry_request(self, entry: Entry) -> scrapy.Request:
        found = {"found_by": entry.found_by, "found_on": entry.found_on, "label": entry.label,
                 "new_site": entry.new_site}
        if entry.is_hub:
            meta = {"archiver": {"kind": "hub", "site": entry.site, "channel": None, "referer": entry.found_on,
                                 "depth": entry.depth, "found": found, "entry": True}}
            headers = {}
            if self.incremental and self.reader is not None and not self.reader.needs_resume(entry.url):
                headers = conditional_headers(self.reader.validators(entry.url))   # 304: links known already
                meta["handle_httpstatus_list"] = [304]
            return scrapy.Request(entry.url, callback=self.parse_hub, errback=self.on_error, meta=meta,
                                  headers=headers)
        # A walk that an earlier run started but never completed (killed): read it all again.
        resume = self.incremental and self.reader is not None and self.reader.needs_resume(entry.url)
        if resume:
            self.crawler.stats.inc_value("archiver/incremental/resumed_channels")
        return self._list_request(entry.url, entry.site, entry.channel, page=0, entry=True, resume=resume,
                                  referer=entry.found_on, depth=entry.depth, found=found)

    def _list_request(self, url: str, site: str, channel: str | None, page: int, probe: bool = False,
                      referer: str | None = None, entry: bool = False, walk: tuple | None = None,
                      resume: bool = False, depth: int = 0, found: dict | None = None) -> scrapy.Request:
        meta: dict[str, Any] = {"archiver": {"kind": "list", "site": site, "channel": channel, "page": page,
                                             "probe": probe, "referer": referer, "entry": entry, "walk": walk,
                                             "resume": resume, "depth": depth, "found": found}}
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

    def _found(self, meta: dict, url: str, *, kind: str = "channel", articles: int | None = None,
               label: str | None = None, status: str = "ok") -> Found:
        f = meta["found"]
        site = self.network.site_for_url(url)
        in_registry = not (site is not None and site.discovered) and (
            kind == "site" or f["found_by"] == "registry"
            or (site is not None and site.channel_for_path(meta.get("channel") or "") is not None
                and site.channel_for_path(meta["channel"]).path == (meta.get("channel") or "").strip("/")))
        return Found(kind=kind, site=meta["site"], url=url, found_by=f["found_by"], found_on=f["found_on"],
                     channel=meta.get("channel") if kind == "channel" else None, label=label or f["label"],
                     host=site.host if site else None, in_registry=in_registry, articles=articles, status=status)

    def _discover(self, lst: ListPage, url: str, depth: int):
        for entry in self.discovery.from_links(lst.nav_links, found_on=url, depth=depth):
            self.crawler.stats.inc_value(f"archiver/discovery/found/{entry.found_by}")
            yield self._entry_request(entry)

    def _check_page(self, response: Response, meta: dict) -> tuple[PageInput, detect.Verdict]:
        page = PageInput(response, self.network)
        verdict = page.byte_verdict
        if verdict.ok:
            try:
                verdict = detect.check_tree(page.root, page.text)
            except ValueError as e:
                verdict = detect.Verdict("malformed", str(e))
        return page, verdict

    # ------------------------------------------------------------------ homepages
    def parse_hub(self, response: Response):
        """A site's homepage: its navigation and member-site links are discovered, the articles
        it links are fetched; it is not a list page (no pager, no 'empty list' failure)."""
        meta = response.meta["archiver"]
        stats = self.crawler.stats
        if response.status == 304:
            stats.inc_value("archiver/hub_pages_revalidated")
            yield self._found(meta, response.url, kind="site", status="unchanged")
            return
        stats.inc_value("archiver/hub_pages")
        page, verdict = self._check_page(response, meta)
        if not verdict.ok:
            if verdict.kind in ("soft404", "empty"):
                stats.inc_value("archiver/discovery/hubs_missing")
                yield self._found(meta, response.url, kind="site", status="missing")
                return
            yield self._failure(response.url, meta, kind=verdict.kind, reason=f"homepage: {verdict.reason}",
                                status=response.status)
            return
        site = self.network.site_for_url(response.url)
        name = title_tag(page.root) if site is not None and site.discovered else None
        yield self._found(meta, response.url, kind="site", label=(name or "")[:60] or None)
        yield ChannelWalkStarted(url=response.url, site=meta["site"], channel=None,
                                 **dict(zip(("etag", "last_modified"), _validators(response))))
        lst = ListPage(page)
        yield from self._discover(lst, response.url, meta.get("depth", 0))
        yield from self._article_requests(lst.article_links, {}, response.url, meta)

    # ------------------------------------------------------------------ list pages
    def parse_list(self, response: Response):
        meta = response.meta["archiver"]
        stats = self.crawler.stats
        if response.status == 304:
            # Unchanged since this channel was last walked to the end: nothing new in it.
            stats.inc_value("archiver/list_pages_revalidated")
            self._count(meta["site"], "list_pages_revalidated")
            if meta.get("found"):
                yield self._found(meta, response.url, status="unchanged")
            return
        stats.inc_value("archiver/list_pages")
        self._count(meta["site"], "list_pages")
        page, verdict = self._check_page(response, meta)
        discovered = bool(meta.get("found")) and meta["found"]["found_by"] != "registry"
        if not verdict.ok:
            if (meta["probe"] or discovered) and verdict.kind in ("soft404", "empty"):
                if meta["probe"]:
                    stats.inc_value("archiver/pager/probe_end")
                else:
                    stats.inc_value("archiver/discovery/channels_missing")
                    yield self._found(meta, response.url, status="missing")
                return
            self._count(meta["site"], "list_failures")
            yield self._failure(response.url, meta, kind=verdict.kind, reason=f"list page: {verdict.reason}",
                                status=response.status)
            return
        lst = ListPage(page)
        site_id = meta["site"]
        channel = meta["channel"] or (page.url_info.channel if page.url_info.kind == "list" else None)
        yield from self._discover(lst, response.url, meta.get("depth", 0))

        articles = lst.article_links
        if not articles and not lst.link_entries:
            yield from self._no_rows(response, meta)
            return
        if meta.get("entry"):
            etag, last_modified = _validators(response)
            # The store records the start now; validators only if this run finishes its walks.
            yield ChannelWalkStarted(url=response.url, site=site_id, channel=channel, etag=etag,
                                     last_modified=last_modified)
            if meta.get("found"):
                yield self._found(meta, response.url, articles=len(articles),
                                  status="ok" if articles else "no_articles")
        row_info = {r.url: r for r in lst.rows}
        unarchived = yield from self._article_requests(articles, row_info, response.url, meta)
        for row in lst.link_entries:
            stats.inc_value(f"archiver/link_entries/{row.kind}")
            yield LinkEntry(url=row.url, kind=row.kind, title=row.title, list_url=response.url,
                            list_date=row.date, site=site_id, channel=channel)
        yield from self._next_list_page(lst, response, meta, channel, unarchived)

    def _no_rows(self, response: Response, meta: dict):
        """A list page without article links or link rows."""
        stats = self.crawler.stats
        walk = self._walks.get(meta.get("walk")) if meta.get("walk") else None
        if meta["probe"]:
            stats.inc_value("archiver/pager/probe_end")
        elif walk is not None and meta.get("page"):
            walk.judge([], 0, None)                    # an empty page in the middle of a walk ends it
            self._walk_ended(walk)
        elif meta.get("found") and meta["found"]["found_by"] != "registry":
            stats.inc_value("archiver/discovery/channels_without_articles")
            yield self._found(meta, response.url, articles=0, status="no_articles")
        else:
            self._count(meta["site"], "list_failures")
            yield self._failure(response.url, meta, kind="empty_list",
                                reason="list page has no article links (template change?)", status=response.status)

    def _article_requests(self, articles: list[str], row_info: dict, list_url: str, meta: dict):
        """Requests for the in-network articles of a page; returns how many are not archived."""
        stats = self.crawler.stats
        unarchived = 0
        for url in articles:
            info = self.network.classify(url)
            if not self._selected(info.site):
                stats.inc_value("archiver/links/other_site_skipped")
                continue
            for entry in self.discovery.from_article(info, found_on=list_url, depth=meta.get("depth", 0)):
                self.crawler.stats.inc_value(f"archiver/discovery/found/{entry.found_by}")
                yield self._entry_request(entry)
            row = row_info.get(url)
            if self.incremental and self.reader is not None:
                known = self.reader.known(info.canonical_url or url, url)
                if known == "article":
                    stats.inc_value("archiver/incremental/archived_rows")
                    if not meta.get("resume") and self._revalidation_due(info.canonical_url or url, url):
                        yield self._article_request(url, info, referer=list_url, row=row, revalidate=True)
                    continue
                if known == "failure":           # retried on its own back-off schedule
                    stats.inc_value("archiver/incremental/failed_rows")
                    continue
            unarchived += 1
            yield self._article_request(url, info, referer=list_url, row=row)
        return unarchived

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

    def _next_list_page(self, lst: ListPage, response: Response, meta: dict, channel: str | None, unarchived: int):
        """One page at a time: the next page only while the pages add article URLs (PagerWalk)."""
        stats = self.crawler.stats
        site_id = meta["site"]
        pager = lst.pager
        stats.inc_value(f"archiver/pager/{pager.style}")
        key = meta.get("walk") or (site_id, channel or response.url)
        walk = self._walks.get(key)
        if walk is None:
            walk = self._walks[key] = PagerWalk(response.url, incremental=self.incremental,
                                                resume=bool(meta.get("resume")), margin=self.margin,
                                                max_pages=self.max_list_pages)
        canonical = [self.network.canonical_url(u) for u in lst.article_links]
        if not walk.judge(canonical, unarchived, pager.total):
            if walk.stopped == "archived":
                stats.inc_value("archiver/incremental/walk_stopped")
            self._walk_ended(walk)
            return
        nxt = walk.next_page(lst.next_candidates(), lst.probe_url(), last_page=pager.is_last,
                             rows=len(lst.article_links))
        if nxt is not None:
            info = self.network.classify(nxt[0])
            if info.site is None or info.site.id != site_id:
                nxt = None
        if nxt is None:
            if not walk.complete:
                stats.inc_value("archiver/pager/budget_exhausted")
                self.incomplete_channels.add((site_id, channel or response.url))
            self._walk_ended(walk)
            return
        url, probe = nxt
        yield self._list_request(url, site_id, channel, page=info.list_page or pager.current + 1, probe=probe,
                                 referer=response.url, walk=key, resume=bool(meta.get("resume")),
                                 depth=meta.get("depth", 0))

    def _walk_ended(self, walk: PagerWalk) -> None:
        stats = self.crawler.stats
        stats.inc_value(f"archiver/pager/stopped/{walk.stopped or 'unknown'}")
        warning = walk.warning
        if warning:
            self.logger.warning(warning)
            warnings = stats.get_value("archiver/pager/warnings") or []
            stats.set_value("archiver/pager/warnings", warnings + [warning])

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
            redirected_from=list(response.meta.get("redirect_urls") or []),
        )

    # ------------------------------------------------------------------ failures
    def _failure(self, url: str, meta: dict, *, kind: str, reason: str, status: int | None = None,
                 exception: str | None = None, retryable: bool = True) -> Failure:
        return Failure(url=url, kind=kind, reason=reason, status=status, exception=exception,
                       site=meta.get("site"), channel=meta.get("channel"), referer=meta.get("referer"),
                       retryable=retryable)

    @staticmethod
    def _discovered_entry(meta: dict) -> bool:
        """The first page of a homepage or of a channel the registry does not list."""
        found = meta.get("found") or {}
        return meta.get("kind") == "hub" or (bool(meta.get("entry")) and found.get("found_by") not in (None, "registry"))

    def _expected_absence(self, meta: dict, url: str) -> bool:
        """A 404 that loses no article: a probe past a channel's last page, a homepage or a
        discovered channel that does not exist, a page a pager named but the site never made
        (reported as a pager warning)."""
        stats = self.crawler.stats
        if meta.get("probe"):
            stats.inc_value("archiver/pager/probe_end")
            return True
        if meta.get("kind") == "hub":
            stats.inc_value("archiver/discovery/hubs_missing")
            return True
        if self._discovered_entry(meta):
            stats.inc_value("archiver/discovery/channels_missing")
            return True
        walk = self._walks.get(meta.get("walk")) if meta.get("walk") else None
        if meta.get("kind") == "list" and walk is not None and meta.get("page"):
            walk.missing(url)
            self._walk_ended(walk)
            return True
        return False

    def on_error(self, failure: TwistedFailure):
        request = failure.request
        meta = request.meta.get("archiver", {})
        exc = failure.value
        if isinstance(exc, HttpError) and exc.response.status in (404, 410) \
                and self._expected_absence(meta, request.url):
            if self._discovered_entry(meta):
                yield self._found(meta, request.url, kind="site" if meta["kind"] == "hub" else "channel",
                                  status="missing")
            return
        if isinstance(exc, IgnoreRequest) and not isinstance(exc, RedirectRefused) and self._discovered_entry(meta):
            # A homepage or discovered channel the site's robots.txt keeps us out of: no article lost.
            self.crawler.stats.inc_value("archiver/discovery/ignored")
            yield self._found(meta, request.url, kind="site" if meta["kind"] == "hub" else "channel",
                              status="ignored")
            return
        if meta.get("kind") == "list":
            self._count(meta.get("site"), "list_failures")
        c = classify(failure)
        if c.kind in ("dns", "connection", "timeout", "redirect", "oversized"):
            self.logger.warning("%s: %s (%s)", c.url, c.kind, c.reason)      # one line, no traceback
        yield self._failure(c.url, meta, kind=c.kind, reason=c.reason, status=c.status, exception=c.exception,
                            retryable=c.retryable)
