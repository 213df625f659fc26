"""The requests of a crawl and what each carries (its ``archiver`` meta): the one place that
knows the protocol between the spider's requests and its callbacks.

* an **entry**: a channel's first list page or a site's homepage (``Entry`` from discovery), with
  the incremental policy's conditional headers, and how it was found (``found``);
* a **list page** of a walk (``page``, ``probe``: a guessed ``index_N.html``, ``walk``: the walk's
  key, ``resume``: a walk a killed run left unfinished);
* an **article** (the list row's headline and date, and conditional headers when the policy
  revalidates it); articles go before further list pages (``ARTICLE_PRIORITY``), so a walk's next
  list page waits for its articles and the queue (and memory) stays flat;
* a **retry** of a failure an earlier run recorded.

A request whose headers are conditional accepts a 304 as an answer.
"""
from __future__ import annotations

import functools
from typing import Any

import scrapy

from archiver.discovery import Entry
from archiver.incremental import IncrementalPolicy
from archiver.sites import Network

ARTICLE_PRIORITY = 1


def tracked(callback):
    """A spider callback or errback whose output a distributed worker counts until it is safe
    (archiver/distributed/frontier.py ``OutputTracker``); unchanged when the spider has no
    ``output_tracker`` (one process)."""
    @functools.wraps(callback)
    def wrapper(spider, answer):
        output = callback(spider, answer)
        tracker = getattr(spider, "output_tracker", None)
        if tracker is None:
            return output
        return tracker.track(answer.request, output)
    return wrapper


class CrawlRequests:
    def __init__(self, spider, policy: IncrementalPolicy, network: Network, stats):
        self.spider = spider
        self.policy = policy
        self.network = network
        self.stats = stats

    def entry(self, entry: Entry) -> scrapy.Request:
        found = {"found_by": entry.found_by, "found_on": entry.found_on, "label": entry.label}
        if entry.is_hub:
            meta = {"kind": "hub", "site": entry.site, "channel": None, "referer": entry.found_on,
                    "depth": entry.depth, "found": found, "entry": True}
            return self._request(entry.url, self.spider.parse_hub, meta, self.policy.entry_headers(entry.url))
        resume = self.policy.resumes(entry.url)     # a walk a killed run left unfinished: read it all again
        if resume:
            self.stats.inc_value("archiver/incremental/resumed_channels")
        return self.list_page(entry.url, entry.site, entry.channel, page=0, entry=True, resume=resume,
                              referer=entry.found_on, depth=entry.depth, found=found)

    def list_page(self, url: str, site: str, channel: str | None, page: int, probe: bool = False,
                  entry: bool = False, resume: bool = False, **meta: Any) -> scrapy.Request:
        meta = {"kind": "list", "site": site, "channel": channel, "page": page, "probe": probe, "entry": entry,
                "resume": resume, "depth": 0, "walk": None, "referer": None, **meta}
        return self._request(url, self.spider.parse_list, meta, self.policy.entry_headers(url) if entry else {})

    def article(self, url: str, info, *, referer: str | None, row, revalidate: bool = False) -> scrapy.Request:
        canonical = info.canonical_url or url
        meta = {"kind": "article", "site": info.site.id if info.site else None, "channel": info.channel,
                "referer": referer, "canonical_url": canonical, "list_title": row.title if row else None,
                "list_date": row.date if row else None}
        headers = self.policy.revalidation_headers(url, canonical) if revalidate else {}
        return self._request(url, self.spider.parse_article, meta, headers, priority=ARTICLE_PRIORITY)

    def retry(self, failure: dict) -> scrapy.Request:
        """A failure row of an earlier run (``url``, ``site``, ``channel``)."""
        self.stats.inc_value("archiver/retries/scheduled")
        if failure["site"]:
            self.stats.inc_value(f"archiver/site/{failure['site']}/retried")
        info = self.network.classify(failure["url"])
        if info.kind == "article":
            return self.article(failure["url"], info, referer=None, row=None)
        return self.list_page(failure["url"], failure["site"], failure["channel"] or info.channel,
                              page=info.list_page or 0, walk=("retry", failure["url"]))

    def _request(self, url, callback, meta, headers, priority=0) -> scrapy.Request:
        request_meta = {"archiver": meta}
        if headers:
            request_meta["handle_httpstatus_list"] = [304]      # a conditional request: 304 is an answer
        return scrapy.Request(url, callback=callback, errback=self.spider.on_error, meta=request_meta,
                              headers=headers, priority=priority)
