"""Dedupe: nothing is dropped for being a copy. Every URL of an article is kept as a sighting.

Alias URLs (``www.chalco.com`` for ``www.chalco.com.cn``), re-posts under a new ID and copies on
other sites all reach the store step, where ``Archive.upsert_article`` folds them onto one
article (``archiver.db.dedup``). This step adds the site's registry role, which the
primary-sighting rule reads, and counts in the crawl stats what the store step will see:
``archiver/dedupe/alias_url`` (a URL whose canonical form differs) and
``archiver/dedupe/same_body_in_run`` (a body already seen at another URL in this run).
"""
from __future__ import annotations

from archiver.dedup.text import body_key
from archiver.items import ArticleRecord
from pipelines.base import CrawlerPipeline


class DedupePipeline(CrawlerPipeline):
    def __init__(self, crawler):
        super().__init__(crawler)
        self.bodies: dict[str, str] = {}

    def process_item(self, item):
        if not isinstance(item, ArticleRecord):
            return item
        f = item.fields
        network = getattr(self.crawler.spider, "network", None)
        if network is not None and f.get("site") and "site_role" not in f:
            site = next((s for s in network.sites if s.id == f["site"]), None)
            f["site_role"] = site.role if site else None
        if item.canonical_url != item.url:
            self.stats.inc_value("archiver/dedupe/alias_url")
        key = body_key(f.get("body"), f.get("title"))
        if key:
            first = self.bodies.setdefault(key, item.url)
            if first != item.url:
                self.stats.inc_value("archiver/dedupe/same_body_in_run")
        return item
