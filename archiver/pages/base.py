"""Page objects: a saved response in, an item out.

A page object takes a response (url, status, headers, raw bytes) and returns fields. It never
touches the network, the clock, the database or randomness; ``fetched_at`` comes with the
response. Decoding is Scrapy's (w3lib: HTTP header, BOM, ``<meta charset>``, then detection), the
same whether the page came from a crawl or from a file, so a GBK page decodes identically in both.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from scrapy.http import HtmlResponse, Response, TextResponse

from archiver.sites import Network, Site, UrlInfo, load_network

from . import detect
from .dom import parse_html


def response_from_bytes(url: str, body: bytes, headers: dict | None = None, status: int = 200,
                        encoding: str | None = None) -> TextResponse:
    """A Scrapy response built from saved bytes (for ``archiver extract`` and tests)."""
    headers = dict(headers or {})
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "text/html"
    kwargs: dict[str, Any] = {"url": url, "body": body, "headers": headers, "status": status}
    if encoding:
        kwargs["encoding"] = encoding
    return HtmlResponse(**kwargs)


@dataclass
class Field:
    """One extracted value with where it came from."""
    value: Any
    method: str                  # e.g. "chinalco:info-line", "meta:PubDate", "url"
    raw: str | None = None       # the string it was read from

    def provenance(self) -> dict:
        return {"method": self.method, "raw": self.raw}


@dataclass
class PageInput:
    """The response a page object reads, with the network's view of its URL."""
    response: Response
    network: Network = field(default_factory=load_network)

    @property
    def url(self) -> str:
        return self.response.url

    @property
    def status(self) -> int:
        return self.response.status

    @cached_property
    def headers(self) -> dict[str, str]:
        return {k.decode("latin-1").lower(): b", ".join(v).decode("latin-1")
                for k, v in self.response.headers.items()}

    @cached_property
    def url_info(self) -> UrlInfo:
        return self.network.classify(self.url)

    @property
    def site(self) -> Site | None:
        return self.url_info.site

    @cached_property
    def text(self) -> str:
        if isinstance(self.response, TextResponse):
            return self.response.text
        return HtmlResponse(url=self.url, body=self.response.body, headers=self.response.headers).text

    @cached_property
    def encoding(self) -> str | None:
        return getattr(self.response, "encoding", None)

    @cached_property
    def byte_verdict(self) -> detect.Verdict:
        return detect.check_bytes(self.status, self.headers, self.response.body)

    @cached_property
    def root(self):
        return parse_html(self.text)
