"""What the operator sees (issue #11): settings that work from ``-s``, a warning when the real
network would get the placeholder contact, expected network errors as one log line each, feed
exports (``scrapy crawl network -O items.jsonl``) that hold the articles, dropped items as one line.
"""
from __future__ import annotations

import logging
from dataclasses import is_dataclass
from typing import Any

from scrapy import logformatter, signals
from scrapy.extensions.feedexport import FeedExporter

PLACEHOLDER_CONTACT = "set-ARCHIVER_CONTACT@example.invalid"
USER_AGENT_TEMPLATE = ("chinalco-archive/0.1 (news archive crawler; +https://github.com/chinalco-archive; "
                       "contact: {contact})")


# --------------------------------------------------------------------------- settings (an add-on)
class ArchiverAddon:
    """Derived settings, computed after every ``-s`` / ``custom_settings`` override and before the
    settings freeze: the User-Agent carries ``ARCHIVER_CONTACT`` from wherever it was set (the
    environment, ``-s ARCHIVER_CONTACT=…``, scrapyd's ``setting=``). An explicit ``USER_AGENT``
    above project priority wins."""

    def update_settings(self, settings) -> None:
        if settings.getpriority("USER_AGENT") > 20:        # USER_AGENT itself was overridden: it wins
            return
        contact = settings.get("ARCHIVER_CONTACT") or PLACEHOLDER_CONTACT
        settings.set("USER_AGENT", USER_AGENT_TEMPLATE.format(contact=contact), priority="project")


def placeholder_contact(settings) -> bool:
    return (settings.get("ARCHIVER_CONTACT") or PLACEHOLDER_CONTACT) == PLACEHOLDER_CONTACT


# --------------------------------------------------------------------------- network errors, one line
def _expected_network_errors() -> tuple[type, ...]:
    from twisted.internet import error as terr
    from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

    names = ("CannotResolveHostError", "DownloadConnectionRefusedError", "DownloadTimeoutError",
             "DownloadFailedError", "ResponseDataLossError")
    import scrapy.exceptions as sx
    extra = tuple(getattr(sx, n) for n in names if hasattr(sx, n))
    return (terr.DNSLookupError, terr.ConnectionRefusedError, terr.ConnectError, terr.TimeoutError,
            terr.TCPTimedOutError, terr.ConnectionLost, terr.ConnectionDone, ResponseFailed,
            ResponseNeverReceived, *extra)


class NetworkErrorFilter(logging.Filter):
    """Drops the traceback of a log record whose exception is an expected network error (DNS
    failure, refused or timed-out connection …): the record's message already names the URL and
    the error, one line. Unexpected exceptions keep their traceback."""

    def __init__(self):
        super().__init__()
        self.expected = _expected_network_errors()

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            chain, seen = exc, 0
            while chain is not None and seen < 5:
                if isinstance(chain, self.expected):
                    record.exc_info = None
                    record.exc_text = None
                    break
                chain, seen = chain.__cause__ or chain.__context__, seen + 1
        return True


def install_network_error_filter() -> None:
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, NetworkErrorFilter) for f in handler.filters):
            handler.addFilter(NetworkErrorFilter())


class OperatorExtension:
    """One line per expected network error; the placeholder-contact warning before the real
    network is crawled (``ARCHIVER_REPLICA`` is set by ``archiver crawl --replica/--replica-url``)."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler)
        install_network_error_filter()
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        return ext

    def spider_opened(self, spider):
        install_network_error_filter()     # Scrapy installs its root handler anew after the extensions
        s = self.crawler.settings
        if s.getbool("ARCHIVER_REPLICA") or not placeholder_contact(s) or s.get("ARCHIVER_MODE") == "warc":
            return
        msg = ("ARCHIVER_CONTACT is not set: the real network gets the placeholder contact "
               f"{PLACEHOLDER_CONTACT} in the User-Agent; set it (environment or -s ARCHIVER_CONTACT=you@example.org)")
        self.crawler.stats.set_value("archiver/warnings/placeholder_contact", 1)
        spider.logger.warning(msg)


# --------------------------------------------------------------------------- feed exports
def export_view(item: Any) -> dict | None:
    """What a feed export (``-O``) gets for an item: an archived article's fields, nothing for the
    crawl's internal items (channel validators, failures, link entries, discovery)."""
    from archiver.items import ArticleRecord

    if isinstance(item, ArticleRecord):
        out = dict(item.fields)
        out.setdefault("fetched_at", item.page.fetched_at)
        out.setdefault("status", item.page.status)
        return out
    if isinstance(item, dict):
        return item
    if is_dataclass(item):
        return None
    return item


class ArticleFeedExporter(FeedExporter):
    """Scrapy's feed exporter, fed the articles only (``-O items.jsonl`` / ``FEEDS``)."""

    def item_scraped(self, item, spider):
        view = export_view(item)
        if view is None:
            return None
        return super().item_scraped(view, spider)


# --------------------------------------------------------------------------- log lines
class ArchiverLogFormatter(logformatter.LogFormatter):
    """A dropped item is one line (its URL and the reason), not the item with its raw bytes."""

    def dropped(self, item, exception, response, spider=None):
        entry = super().dropped(item, exception, response, spider)
        entry["msg"] = "Dropped %(kind)s %(url)s: %(exception)s"
        entry["args"] = {"kind": type(item).__name__, "url": getattr(item, "url", "?"), "exception": exception}
        return entry

    def item_error(self, item, exception, response, spider=None):
        entry = super().item_error(item, exception, response, spider)
        entry["msg"] = "Error processing %(kind)s %(url)s"
        entry["args"] = {"kind": type(item).__name__, "url": getattr(item, "url", "?")}
        return entry
