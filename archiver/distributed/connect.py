"""The Redis connection of a distributed crawl, and the one-line error when it cannot be had."""
from __future__ import annotations

from urllib.parse import urlsplit

from archiver.errors import ExitError

EXIT_UNAVAILABLE = 69           # EX_UNAVAILABLE (sysexits.h): a service the command needs is not there


class RedisUnavailable(ExitError):
    exit_status = EXIT_UNAVAILABLE


class CrawlInProgress(ExitError):
    """Another distributed crawl runs under the same prefix (EX_TEMPFAIL, like a locked archive)."""
    exit_status = 75


def redacted(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def connect(url: str, *, timeout: float = 5.0):
    """A checked ``redis.Redis`` for ``url`` (``redis://HOST:PORT/N``, ``rediss://``, ``unix://``);
    raises :class:`RedisUnavailable` with one line when the URL is wrong or nobody answers."""
    import redis

    if not url or urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise RedisUnavailable(f"--redis expects redis://HOST:PORT/N, got {url!r}", 2)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=max(timeout, 30.0),
                                      health_check_interval=30)
        client.ping()
    except (redis.exceptions.RedisError, ValueError, OSError) as e:
        raise RedisUnavailable(f"Redis at {redacted(url)} cannot be reached ({type(e).__name__}: {e})") from None
    return client
