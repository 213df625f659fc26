"""A crawl writes its own WARC as it goes (issue #15): ``ARCHIVER_WARC_DIR``.

Off unless the setting names a folder (``archiver crawl -s ARCHIVER_WARC_DIR=warcs``). Every
response the crawl receives (list pages, articles, errors, 304s; after Scrapy removed the transfer
and content codings) is written with the request as it was sent, one gzip member per record, to
``<dir>/crawl-<UTC start>-<pid>.warc.gz``; the CDXJ index is written beside it when the crawl
ends. A killed crawl leaves a file that is whole up to its last record (``archiver warc import``
counts a cut-off last record as damaged). Records are written by ``archiver.warc.WarcExporter``,
the export's writer, so the two agree on headers, revisits and record ids.
"""
from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver.clock import utc_now
from archiver.db.rawpages import RawPage
from archiver.warc import WARC_VERSION, ExportResult, WarcExporter, write_cdxj


def sent_request(request) -> StatusAndHeaders:
    """The request line and headers Scrapy sent (the downloader middlewares have run)."""
    from urllib.parse import urlsplit

    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [("Host", parts.netloc)] + [(k.decode("latin-1"), v.decode("latin-1"))
                                          for k, vs in request.headers.items() for v in vs]
    return StatusAndHeaders(f"{request.method} {target} HTTP/1.1", headers, protocol="HTTP/1.1",
                            is_http_request=True)


class WarcExtension:
    def __init__(self, crawler, directory: Path):
        self.crawler = crawler
        self.directory = directory
        self.path: Path | None = None
        self.fh = None
        self.exporter: WarcExporter | None = None
        self.sequence = 0

    @classmethod
    def from_crawler(cls, crawler):
        directory = crawler.settings.get("ARCHIVER_WARC_DIR")
        if not directory:
            raise NotConfigured
        ext = cls(crawler, Path(directory))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider):
        now = datetime.now(timezone.utc)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / f"crawl-{now:%Y%m%dT%H%M%SZ}-{os.getpid()}.warc.gz"
        self.fh = open(self.path, "wb")
        self.exporter = WarcExporter(WARCWriter(self.fh, gzip=True, warc_version=WARC_VERSION),
                                     ExportResult(self.path, self.path))
        self.exporter.warcinfo(self.path.name, f"{now:%Y-%m-%dT%H:%M:%SZ}",
                               f"responses of a crawl of the Chinalco network ({spider.name}), written as they arrived")
        self.crawler.stats.set_value("archiver/warc/file", str(self.path))

    def response_received(self, response, request, spider):
        if self.exporter is None:
            return
        self.sequence += 1
        body = response.body
        page = RawPage(self.sequence, response.url, response.status,
                       [(k.decode("latin-1"), v.decode("latin-1")) for k, vs in response.headers.items() for v in vs],
                       body, hashlib.sha256(body).hexdigest(),
                       utc_now())
        self.exporter.write(page, sent_request(request))
        self.crawler.stats.inc_value("archiver/warc/responses_written")

    def spider_closed(self, spider, reason):
        if self.fh is None:
            return
        self.fh.close()
        self.fh = None
        self.exporter = None
        write_cdxj(self.path)
