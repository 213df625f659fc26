"""What a failed request was, in one line: its kind, its reason, whether a later run retries it,
and the URL it is recorded against (the URL the crawl asked for, not the last hop of a redirect).

Used by the spider's errback and by the WARC import (the same classification for a capture).
Expected network conditions (DNS, refused connections, timeouts, anti-bot answers, redirects off
the network) are a kind and a readable reason, never a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass

from scrapy.exceptions import (CannotResolveHostError, DownloadCancelledError, DownloadConnectionRefusedError,
                               DownloadFailedError, DownloadTimeoutError, IgnoreRequest, ResponseDataLossError)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as twisted_errors
from twisted.python.failure import Failure as TwistedFailure

from archiver.pages import detect

ANTI_BOT_STATUSES = {403, 412, 429, 521}


class RedirectRefused(IgnoreRequest):
    """A redirect the crawl does not follow: off the network, to another scheme, a loop, too many."""

    def __init__(self, why: str, chain: list[str]):
        self.why = why
        self.chain = chain
        super().__init__(f"{why}: {' -> '.join(chain)}")


@dataclass(frozen=True)
class Classified:
    kind: str
    reason: str
    url: str                     # the URL the crawl asked for (first of a redirect chain)
    status: int | None = None
    exception: str | None = None
    retryable: bool = True


def http_failure(status: int, body: bytes) -> tuple[str, str]:
    """(kind, reason) of the failure an HTTP error response is (also for imported captures)."""
    if status in ANTI_BOT_STATUSES:
        verdict = detect.check_bytes(status, {}, body)
        if verdict.kind == "challenge" or status in (412, 521):
            return "challenge", f"HTTP {status} anti-bot response"
    return "http", f"HTTP {status}"


def first_url(request) -> str:
    """The URL the crawl asked for: before any redirect."""
    chain = request.meta.get("redirect_urls") or []
    return chain[0] if chain else request.url


def attempts(request) -> int:
    return int(request.meta.get("retry_times", 0)) + 1


def classify(failure: TwistedFailure) -> Classified:
    request = failure.request
    exc = failure.value
    url = first_url(request)
    hops = request.meta.get("redirect_urls") or []
    via = f" (redirected: {' -> '.join([*hops, request.url])})" if hops else ""
    if isinstance(exc, HttpError):
        response = exc.response
        kind, reason = http_failure(response.status, response.body)
        n = attempts(request)
        if n > 1:
            reason += f" after {n} attempts"
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            reason += f" (Retry-After: {retry_after.decode('latin-1')[:40]})"
        return Classified(kind, reason + via, url, status=response.status)
    if isinstance(exc, RedirectRefused):
        return Classified("redirect", str(exc)[:500], exc.chain[0] if exc.chain else url,
                          exception=type(exc).__name__)
    if isinstance(exc, IgnoreRequest):
        reason = str(exc) or "request ignored"
        if "DOWNLOAD_MAXSIZE" in reason or "download max size" in reason.lower():
            return Classified("oversized", reason[:500] + via, url, exception=type(exc).__name__, retryable=False)
        if "max redirections" in reason:
            chain = [*hops, request.url]
            return Classified("redirect", f"too many redirects: {' -> '.join(chain)}"[:500], url,
                              exception=type(exc).__name__)
        kind = "robots" if "robots" in reason.lower() else "ignored"
        return Classified(kind, reason + via, url, exception=type(exc).__name__, retryable=False)
    name = type(exc).__name__
    if failure.check(DownloadTimeoutError, twisted_errors.TimeoutError, twisted_errors.TCPTimedOutError):
        kind = "timeout"
    elif failure.check(CannotResolveHostError, twisted_errors.DNSLookupError):
        kind = "dns"
    elif failure.check(DownloadConnectionRefusedError, DownloadFailedError, ResponseDataLossError,
                       twisted_errors.ConnectionRefusedError, twisted_errors.ConnectionLost,
                       twisted_errors.ConnectError):
        kind = "connection"
    elif failure.check(DownloadCancelledError):
        text = str(exc).lower()
        kind = "oversized" if "maxsize" in text or "max size" in text or "larger than" in text else "cancelled"
    else:
        kind = "exception"
    n = attempts(request)
    suffix = f" after {n} attempts" if n > 1 else ""
    return Classified(kind, f"{name}: {exc}{suffix}{via}"[:500], url, exception=name,
                      retryable=kind != "oversized")
