"""Per-host politeness shared by every worker of a distributed crawl.

One Scrapy process keeps a host to ``CONCURRENT_REQUESTS_PER_DOMAIN`` requests at once and one
request start per ``DOWNLOAD_DELAY`` seconds, in its download slot. K workers would each keep
those limits and together send K times as much. :class:`HostPolitenessMiddleware` keeps the
limits across all of them: before a request is downloaded it takes a **lease** on its host in
Redis, and gives it back when the response (or the error) comes.

The limiter (:class:`HostLimiter`) is one Lua script, so checking and taking a lease is atomic
however many workers ask at once. Per host, a sorted set holds the leases (token -> expiry) and a
string the earliest moment of the next start. The script drops expired leases, and grants when
fewer than ``limit`` leases are held *and* that moment has come; it then records the lease and
moves the next start ``delay`` on. Otherwise it answers how long to wait. Time is the Redis
server's (``TIME``), so the workers' clocks do not matter. A lease expires ``DOWNLOAD_TIMEOUT``
+ 30 s after its grant: the leases of a killed worker free themselves.

The middleware sits at priority 950, after every middleware that retries or redirects, so a retry
takes a new lease. Scrapy's own download slot still lies between this middleware and the
transfer, and would hold a granted request back (its delay, with jitter and AutoThrottle, and its
concurrency): the start the host sees would then lag the grant, and two workers' starts could
come closer than ``delay``. So the middleware makes the slot pass granted requests straight on:
new slots get no delay of their own, AutoThrottle leaves these requests' slots alone
(``autothrottle_dont_adjust_delay``), and a worker holds no more leases on a host than its slot
transfers at once. The Redis limits are then the only ones, and the ones the host sees.

Settings: ``ARCHIVER_REDIS_URL`` (without it the middleware is off), ``ARCHIVER_REDIS_PREFIX``,
``ARCHIVER_REDIS_HOST_CONCURRENCY`` (default: ``CONCURRENT_REQUESTS_PER_DOMAIN``) and
``ARCHIVER_REDIS_HOST_DELAY`` (default: ``DOWNLOAD_DELAY``). Stats: ``archiver/politeness/waits``
(requests that had to wait), ``archiver/politeness/wait_seconds`` (their waiting, summed) and
``archiver/politeness/errors`` (Redis failures while acquiring: the request fails with that error).
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass

from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from .keys import DEFAULT_PREFIX, Keys

logger = logging.getLogger(__name__)

LEASE_META = "archiver_host_lease"
LEASE_GRACE = 30.0              # seconds a lease outlives DOWNLOAD_TIMEOUT (then it is a dead worker's)
MAX_SLEEP = 0.25                # the longest sleep between two attempts
BUSY_POLL = 0.05                # the wait answered when every lease is taken (a release may come any moment)

# KEYS: leases (sorted set token -> expiry, microseconds), next (string, microseconds)
# ARGV: token, limit, delay, lease ttl, busy poll (all microseconds but limit)
# -> {1, now} granted at server time now; {0, wait} wait that long first
ACQUIRE_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, delay, ttl, poll = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
local held = redis.call('ZCARD', KEYS[1])
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if held < limit and now >= nxt then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], math.ceil(ttl / 1000) + 1000)
  if delay > 0 then
    redis.call('SET', KEYS[2], string.format('%.0f', now + delay), 'PX', math.ceil(delay / 1000) + 1000)
  end
  return {1, now}
end
local wait = nxt - now
if held >= limit and wait < poll then wait = poll end
return {0, wait}
"""


@dataclass(frozen=True)
class Attempt:
    granted: bool
    at: float | None = None     # server time of the grant (seconds)
    wait: float = 0.0           # seconds to wait before asking again


class HostLimiter:
    """At most ``limit`` leases per host at once, grants at least ``delay`` seconds apart, across
    every process that uses the same Redis and :class:`Keys`."""

    def __init__(self, client, keys: Keys, *, limit: int, delay: float, busy_poll: float = BUSY_POLL):
        if limit < 1:
            raise ValueError(f"a host needs a concurrency of at least 1, got {limit}")
        self.client, self.keys = client, keys
        self.limit, self.delay, self.busy_poll = limit, max(0.0, delay), busy_poll
        self._acquire = client.register_script(ACQUIRE_LUA)

    def try_acquire(self, host: str, token: str, ttl: float) -> Attempt:
        """One attempt (one EVALSHA): a lease on ``host`` for ``ttl`` seconds, or how long to wait."""
        granted, value = self._acquire(keys=[self.keys.host_leases(host), self.keys.host_next(host)],
                                       args=[token, self.limit, _us(self.delay), _us(ttl), _us(self.busy_poll)])
        if granted:
            return Attempt(True, at=int(value) / 1e6)
        return Attempt(False, wait=max(int(value), 0) / 1e6)

    def release(self, host: str, token: str) -> None:
        self.client.zrem(self.keys.host_leases(host), token)


def _us(seconds: float) -> int:
    return int(round(seconds * 1e6))


def new_token() -> str:
    return os.urandom(9).hex()


def host_limits(settings) -> tuple[int, float]:
    """(concurrency, delay) per host: ``ARCHIVER_REDIS_HOST_CONCURRENCY`` when above 0, else
    ``CONCURRENT_REQUESTS_PER_DOMAIN``; ``ARCHIVER_REDIS_HOST_DELAY`` when set and not negative,
    else ``DOWNLOAD_DELAY``."""
    limit = settings.getint("ARCHIVER_REDIS_HOST_CONCURRENCY", 0)
    if limit <= 0:
        limit = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8)
    raw = settings.get("ARCHIVER_REDIS_HOST_DELAY")
    delay = float(raw) if raw not in (None, "") else -1.0
    if delay < 0:
        delay = settings.getfloat("DOWNLOAD_DELAY", 0.0)
    return max(1, limit), delay


class HostPolitenessMiddleware:
    """Downloader middleware (priority 950): a Redis lease on the request's host around its download."""

    def __init__(self, crawler, limiter: HostLimiter, *, timeout: float, local_limit: int):
        self.crawler, self.limiter = crawler, limiter
        self.stats = crawler.stats
        self.timeout = timeout
        self.local_limit = max(1, local_limit)
        self.held: Counter[str] = Counter()          # leases this worker holds, per host

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        url = settings.get("ARCHIVER_REDIS_URL")
        if not url:
            raise NotConfigured("ARCHIVER_REDIS_URL is not set")
        from .connect import connect

        limit, delay = host_limits(settings)
        keys = Keys(settings.get("ARCHIVER_REDIS_PREFIX") or DEFAULT_PREFIX)
        limiter = HostLimiter(connect(url), keys, limit=limit, delay=delay)
        logger.info("host politeness across workers: %d at once, %.2f s between starts per host (Redis, prefix %s)",
                    limit, delay, keys.prefix)
        return cls(crawler, limiter, timeout=settings.getfloat("DOWNLOAD_TIMEOUT", 180.0),
                   local_limit=(settings.getint("CONCURRENT_REQUESTS_PER_IP", 0)
                                or settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8)))

    # ------------------------------------------------------------------ the request's host
    def host_of(self, request) -> str | None:
        """The key Scrapy's download slot uses (its ``download_slot`` or the host name): the limits
        across workers apply to what one worker limits."""
        slot = request.meta.get("download_slot")
        if slot:
            return str(slot)
        parts = urlparse_cached(request)
        if parts.scheme not in ("http", "https"):
            return None
        return parts.hostname or None

    # ------------------------------------------------------------------ acquiring
    async def process_request(self, request):
        host = self.host_of(request)
        if host is None:
            return None
        request.meta.pop(LEASE_META, None)       # a copy of a request that held one (a retry) takes its own
        token = new_token()
        ttl = float(request.meta.get("download_timeout") or self.timeout) + LEASE_GRACE
        started, waited = time.monotonic(), False
        while True:
            if self.held[host] >= self.local_limit:
                attempt = Attempt(False, wait=BUSY_POLL)     # the local slot could not start it at once
            else:
                attempt = self._attempt(host, token, ttl)
            if attempt.granted:
                break
            waited = True
            await asyncio.sleep(min(max(attempt.wait, 0.001), MAX_SLEEP))
        self.held[host] += 1
        request.meta[LEASE_META] = (host, token)
        self._pass_through_local_slot(request, host)
        if waited:
            self.stats.inc_value("archiver/politeness/waits")
            self.stats.inc_value("archiver/politeness/wait_seconds", time.monotonic() - started, start=0.0)
        return None

    def _attempt(self, host: str, token: str, ttl: float) -> Attempt:
        try:
            return self.limiter.try_acquire(host, token, ttl)
        except Exception as e:
            self.stats.inc_value("archiver/politeness/errors")
            logger.error("host politeness: Redis failed while acquiring a lease on %s (%s: %s); the request fails",
                         host, type(e).__name__, e)
            raise

    def _pass_through_local_slot(self, request, host: str) -> None:
        """Granted means start now: the local download slot must not delay it (module docstring)."""
        request.meta["autothrottle_dont_adjust_delay"] = True
        downloader = getattr(self.crawler.engine, "downloader", None)
        if downloader is None:
            return
        downloader._delay = 0.0          # the delay new slots get (AutoThrottle sets it the same way)
        slot = downloader.slots.get(host)
        if slot is not None:
            slot.delay = 0.0

    # ------------------------------------------------------------------ releasing
    def release(self, request) -> None:
        lease = request.meta.pop(LEASE_META, None)
        if lease is None:
            return
        host, token = lease
        self.held[host] -= 1
        if self.held[host] <= 0:
            del self.held[host]
        try:
            self.limiter.release(host, token)
        except Exception as e:           # the lease expires on its own; the response is still good
            self.stats.inc_value("archiver/politeness/errors")
            logger.warning("host politeness: Redis failed while releasing a lease on %s (%s: %s); it expires "
                           "in at most %.0f s", host, type(e).__name__, e, self.timeout + LEASE_GRACE)

    def process_response(self, request, response):
        self.release(request)
        return response

    def process_exception(self, request, exception):
        self.release(request)
        return None
