"""Downloader middlewares: redirects kept on the network, and Retry-After honoured.

* :class:`NetworkRedirectMiddleware` replaces Scrapy's RedirectMiddleware. It follows a redirect
  only to an in-network URL (a registered or member site, not excluded) over http(s); a redirect
  off the network, to another scheme, in a loop or past ``REDIRECT_MAX_TIMES`` raises
  :class:`archiver.failures.RedirectRefused` with the whole chain, and the spider records it as a
  ``redirect`` failure **on the URL it asked for**. A followed redirect keeps the chain in
  ``redirect_urls``; the store keeps those URLs as aliases of the article it archives.
* :class:`RetryAfterMiddleware`: a 429 or 503 with ``Retry-After`` (seconds or an HTTP date) is
  retried after that delay when it is at most ``ARCHIVER_RETRY_AFTER_MAX`` seconds and the
  request has retries left (``RETRY_TIMES``); otherwise it fails, and the failure says how many
  attempts were made. Without the header Scrapy's RetryMiddleware handles the status as before.
"""
from __future__ import annotations

import asyncio
import email.utils
import time
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured

from archiver.failures import RedirectRefused
from archiver.run import RunContext


class NetworkRedirectMiddleware(RedirectMiddleware):

    def _network(self):
        return RunContext.of(self.crawler).network

    def _build_redirect_request(self, source_request, response, *, url, **kwargs):
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            chain = [*source_request.meta.get("redirect_urls", []), source_request.url, url]
            raise RedirectRefused("redirect to another scheme", chain)
        return super()._build_redirect_request(source_request, response, url=url, **kwargs)

    def _redirect(self, redirected, request, reason):
        chain = [*request.meta.get("redirect_urls", []), request.url, redirected.url]
        network = self._network()
        if network is not None:
            canon = [network.canonical_url(u) for u in chain]
            if canon[-1] in canon[:-1]:
                self.crawler.stats.inc_value("archiver/redirects/loop")
                raise RedirectRefused("redirect loop", chain)
            info = network.classify(redirected.url)
            if info.site is None or info.kind in ("excluded", "offsite", "invalid", "wechat"):
                self.crawler.stats.inc_value("archiver/redirects/off_network")
                raise RedirectRefused("redirect off the network", chain)
        try:
            out = super()._redirect(redirected, request, reason)
        except IgnoreRequest:
            self.crawler.stats.inc_value("archiver/redirects/too_many")
            raise RedirectRefused(f"more than {self.max_redirect_times} redirects", chain) from None
        self.crawler.stats.inc_value("archiver/redirects/followed")
        return out


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryAfterMiddleware:
    STATUSES = (429, 503)

    def __init__(self, crawler):
        s = crawler.settings
        if not s.getbool("RETRY_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.max_delay = s.getfloat("ARCHIVER_RETRY_AFTER_MAX", 120.0)
        self.max_retries = s.getint("RETRY_TIMES", 2)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_response(self, request, response, spider=None):
        if response.status not in self.STATUSES or request.meta.get("dont_retry"):
            return response
        delay = retry_after_seconds(response.headers.get("Retry-After"))
        if delay is None:
            return response                          # Scrapy's RetryMiddleware decides
        stats = self.crawler.stats
        retries = int(request.meta.get("retry_times", 0))
        if delay > self.max_delay or retries >= self.max_retries:
            stats.inc_value("archiver/retry_after/gave_up")
            request.meta["dont_retry"] = True        # fail now, saying how many attempts were made
            return response
        stats.inc_value("archiver/retry_after/waited")
        stats.max_value("archiver/retry_after/longest_s", int(delay))
        await asyncio.sleep(delay)
        retry = request.copy()
        retry.meta["retry_times"] = retries + 1
        retry.dont_filter = True
        return retry


class ProxyMiddleware:
    """Every request through the forward proxy ``ARCHIVER_PROXY`` names (``http://host:port``), when
    set: a corporate proxy, or the development replica (``archiver crawl --replica``). Scrapy's
    HttpProxyMiddleware then does the rest (CONNECT for https). Without the setting, Scrapy's own
    handling of ``http_proxy``/``https_proxy`` from the environment applies."""

    def __init__(self, proxy: str):
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler):
        proxy = crawler.settings.get("ARCHIVER_PROXY")
        if not proxy:
            raise NotConfigured("ARCHIVER_PROXY is not set")
        return cls(proxy)

    def process_request(self, request, spider=None):
        request.meta.setdefault("proxy", self.proxy)
        return None
