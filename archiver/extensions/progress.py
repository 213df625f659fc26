"""Live progress of a crawl: one line every ARCHIVER_PROGRESS_INTERVAL seconds on stderr."""
from __future__ import annotations

import sys
import time

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from archiver.health import counts_from_stats


def _span(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def progress_line(stats: dict, elapsed: float | None = None) -> str:
    """One progress line; with ``elapsed`` (seconds) also the totals known so far and a rate:
    pages answered of the requests queued up to now (the crawl finds more as it reads list
    pages, so the total grows until the last list page is read), pages per second, and the
    time the queued rest takes at that rate."""
    c = counts_from_stats(stats)
    head = ""
    if elapsed is not None and elapsed > 0:
        queued = int(stats.get("scheduler/enqueued", 0) or 0)
        done = int(stats.get("scheduler/dequeued", 0) or 0)
        rate = c["pages"] / elapsed
        head = f"{_span(elapsed)} | requests {done} of {queued} queued so far"
        if c["pages"]:
            head += f", {rate:.1f} pages/s"
            if queued > done and rate > 0:
                head += f", ~{_span((queued - done) / rate)} for the queued rest"
        head += " | "
    return head + (f"pages {c['pages']} (lists {c['list_pages']} + {c['list_pages_revalidated']} x304, "
            f"articles {c['article_pages']} + {c['article_pages_revalidated']} x304) | "
            f"articles new {c['articles_new']} changed {c['articles_changed']} unchanged {c['articles_unchanged']} | "
            f"failures {c['failures']} | link entries {c['link_entries']}")


class ProgressExtension:
    def __init__(self, crawler, interval: float):
        self.crawler = crawler
        self.interval = interval
        self.loop: task.LoopingCall | None = None
        self.started: float | None = None

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
        elapsed = time.monotonic() - self.started if self.started is not None else None
        print("[progress] " + progress_line(self.crawler.stats.get_stats(), elapsed), file=sys.stderr, flush=True)

    def spider_opened(self, spider):
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.report)
        self.loop.start(self.interval, now=False)

    def spider_closed(self, spider, reason):
        if self.loop and self.loop.running:
            self.loop.stop()
