"""Dedupe: one article per canonical URL within a run (alias hosts fold onto one URL)."""
from __future__ import annotations

from scrapy.exceptions import DropItem

from archiver.items import ArticleRecord


class DedupePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.seen: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if not isinstance(item, ArticleRecord):
            return item
        key = item.canonical_url
        if key in self.seen and self.seen[key] != item.url:
            self.stats.inc_value("archiver/dedupe/alias_url")
            raise DropItem(f"{item.url} is {key}, already stored this run from {self.seen[key]}")
        self.seen[key] = item.url
        return item
