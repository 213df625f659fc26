"""Dedupe: one article per canonical URL within a run (alias hosts fold onto one URL)."""
from __future__ import annotations

from scrapy.exceptions import DropItem

from archiver.items import ArticleRecord
from pipelines.base import CrawlerPipeline


class DedupePipeline(CrawlerPipeline):
    def __init__(self, crawler):
        super().__init__(crawler)
        self.seen: dict[str, str] = {}

    def process_item(self, item):
        if not isinstance(item, ArticleRecord):
            return item
        key = item.canonical_url
        if key in self.seen and self.seen[key] != item.url:
            self.stats.inc_value("archiver/dedupe/alias_url")
            raise DropItem(f"{item.url} is {key}, already stored this run from {self.seen[key]}")
        self.seen[key] = item.url
        return item
