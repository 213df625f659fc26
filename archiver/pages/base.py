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

from scrapy.http import Headers, HtmlResponse, Response, TextResponse

from archiver.sites import Network, Site, UrlInfo, load_network

from . import detect
from .dom import parse_html

# A page whose declared charset leaves this many replacement characters is mis-encoded.
MIS_ENCODED_MIN = 8
MIS_ENCODED_RATIO = 0.002


def response_from_bytes(url: str, body: bytes, headers=None, status: int = 200,
                        encoding: str | None = None) -> TextResponse:
    """A Scrapy response built from saved bytes (``archiver extract``, the WARC import, tests).
    ``headers``: a dict, or (name, value) pairs as served (a repeated header stays repeated)."""
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    built = Headers()
    for name, value in pairs:
        built.appendlist(name, value)
    if b"Content-Type" not in built:
        built["Content-Type"] = "text/html"
    kwargs: dict[str, Any] = {"url": url, "body": body, "headers": built, "status": status}
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
    def _decoded(self) -> tuple[str, str | None, str | None]:
        """(text, encoding used, note). Scrapy decides first (header, BOM, meta, detection); when
        its answer leaves many U+FFFD in the text, the page lied about its charset, and the two
        encodings this network uses are tried strictly before giving up."""
        resp = self.response
        if not isinstance(resp, TextResponse):
            resp = HtmlResponse(url=self.url, body=resp.body, headers=resp.headers)
        text = resp.text
        bad = text.count("\ufffd")
        if bad < MIS_ENCODED_MIN or bad < len(text) * MIS_ENCODED_RATIO:
            return text, resp.encoding, None
        for enc in ("utf-8", "gb18030"):
            try:
                fixed = self.response.body.decode(enc)
            except UnicodeDecodeError:
                continue
            return fixed, enc, f"declared {resp.encoding} but the bytes are {enc}"
        return text, resp.encoding, f"mis-encoded: {bad} undecodable characters as {resp.encoding}"

    @property
    def text(self) -> str:
        return self._decoded[0]

    @property
    def encoding(self) -> str | None:
        return self._decoded[1]

    @property
    def encoding_note(self) -> str | None:
        return self._decoded[2]

    @property
    def mis_encoded(self) -> bool:
        return bool(self.encoding_note and self.encoding_note.startswith("mis-encoded"))

    @cached_property
    def byte_verdict(self) -> detect.Verdict:
        return detect.check_bytes(self.status, self.headers, self.response.body)

    @cached_property
    def root(self):
        return parse_html(self.text)
