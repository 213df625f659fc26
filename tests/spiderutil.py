"""The network spider as a crawl with given settings has it, without an engine: for tests that
hand it responses and failures directly."""
from __future__ import annotations

from scrapy.utils.test import get_crawler

from spiders.network import NetworkSpider


def make_spider(reader=None, **settings) -> NetworkSpider:
    """A set-up spider (what ``start()`` does first); ``reader`` replaces the incremental
    policy's view of the archive (an ArchiveReader or a fake with its methods)."""
    crawler = get_crawler(NetworkSpider, settings_dict={"ARCHIVER_DB": ":memory:", "REMOTE_CONTROL_ENABLED": False,
                                                        **settings})
    crawler.spider = spider = NetworkSpider.from_crawler(crawler)
    crawler.stats.open_spider()
    spider._setup()
    if reader is not None:
        spider.policy.reader = reader
    return spider
