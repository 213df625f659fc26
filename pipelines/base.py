"""What every pipeline step shares: the crawler (for stats and the spider), built by Scrapy."""
from __future__ import annotations


class CrawlerPipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)
