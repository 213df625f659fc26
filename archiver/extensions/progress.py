"""Live progress of a crawl: one line every ARCHIVER_PROGRESS_INTERVAL seconds on stderr."""
from __future__ import annotations

import sys

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from archiver.health import counts_from_stats


def progress_line(stats: dict) -> str:
    c = counts_from_stats(stats)
    return (f"pages {c['pages']} (lists {c['list_pages']} + {c['list_pages_revalidated']} x304, "
            f"articles {c['article_pages']} + {c['article_pages_revalidated']} x304) | "
            f"articles new {c['articles_new']} changed {c['articles_changed']} unchanged {c['articles_unchanged']} | "
            f"failures {c['failures']} | link entries {c['link_entries']}")


class ProgressExtension:
    def __init__(self, crawler, interval: float):
        self.crawler = crawler
        self.interval = interval
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler):
        interval = crawler.settings.getfloat("ARCHIVER_PROGRESS_INTERVAL", 10.0)
        if interval <= 0:
            raise NotConfigured
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def report(self):
        print("[progress] " + progress_line(self.crawler.stats.get_stats()), file=sys.stderr, flush=True)

    def spider_opened(self, spider):
        self.loop = task.LoopingCall(self.report)
        self.loop.start(self.interval, now=False)

    def spider_closed(self, spider, reason):
        if self.loop and self.loop.running:
            self.loop.stop()
