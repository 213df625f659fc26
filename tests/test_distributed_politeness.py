"""Per-host politeness across workers (archiver/distributed/politeness.py).

Two levels. The Lua limiter, asked by many clients in threads at once: never more than ``limit``
leases, grants ``delay`` apart by the Redis server's own clock, expired leases taken back. Then
the real thing: three Scrapy crawls in separate processes fetch from one local HTTP server that
counts its concurrent requests and notes when each starts; with the middleware the server sees
the limits one process keeps (and sees them reached: the limit is used, not just respected),
without it the same three crawls break them, so the test can fail.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings

from archiver.distributed.keys import Keys
from archiver.distributed.politeness import (HostLimiter, HostPolitenessMiddleware, host_limits, new_token)
from tests.redisutil import redis_server  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
HOST = "h.example"


# --------------------------------------------------------------------------- the limiter
def hammer(server_url: str, keys: Keys, *, limit: int, delay: float, threads: int, per_thread: int,
           hold: float) -> tuple[list[float], int]:
    """Threads with a Redis client each take and give back leases; (grant times, the most leases
    held at once as the threads saw them: counted after the grant, before the release)."""
    import redis
    grants: list[float] = []
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def work():
        limiter = HostLimiter(redis.Redis.from_url(server_url), keys, limit=limit, delay=delay, busy_poll=0.002)
        for _ in range(per_thread):
            token = new_token()
            while not (attempt := limiter.try_acquire(HOST, token, ttl=30)).granted:
                time.sleep(min(attempt.wait, 0.01))
            with lock:
                grants.append(attempt.at)
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            time.sleep(hold)
            with lock:
                state["now"] -= 1
            limiter.release(HOST, token)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    return sorted(grants), state["max"]


def test_many_clients_never_hold_more_than_the_limit(redis_server):
    grants, most = hammer(redis_server.url, Keys("t"), limit=3, delay=0, threads=8, per_thread=25, hold=0.01)
    assert len(grants) == 200
    assert most == 3                    # reached, never passed


def test_grants_are_spaced_by_the_delay_on_the_server_clock(redis_server):
    grants, most = hammer(redis_server.url, Keys("t"), limit=4, delay=0.05, threads=6, per_thread=5, hold=0.0)
    gaps = [b - a for a, b in zip(grants, grants[1:])]
    assert len(grants) == 30 and most >= 1
    assert min(gaps) >= 0.05 - 1e-6, min(gaps)        # server microseconds: 1 µs for float rounding only
    assert max(gaps) < 0.05 + 0.2                      # and nobody waited much longer than asked


def test_the_lease_limit_and_the_delay_are_per_host(redis_server):
    limiter = HostLimiter(redis_server.client(), Keys("t"), limit=1, delay=10)
    assert limiter.try_acquire("a.example", "1", ttl=30).granted
    assert limiter.try_acquire("b.example", "2", ttl=30).granted
    refused = limiter.try_acquire("a.example", "3", ttl=30)
    assert not refused.granted and 9 < refused.wait <= 10


def test_expired_leases_are_taken_back(redis_server):
    client = redis_server.client()
    limiter = HostLimiter(client, Keys("t"), limit=2, delay=0, busy_poll=0.05)
    assert limiter.try_acquire(HOST, "dead-1", ttl=0.3).granted      # a worker killed while holding them
    assert limiter.try_acquire(HOST, "dead-2", ttl=0.3).granted
    refused = limiter.try_acquire(HOST, "new", ttl=30)
    assert not refused.granted and refused.wait == pytest.approx(0.05)
    time.sleep(0.35)
    assert limiter.try_acquire(HOST, "new", ttl=30).granted
    assert client.zrange(Keys("t").host_leases(HOST), 0, -1) == [b"new"]
    assert 0 < client.pttl(Keys("t").host_leases(HOST)) <= 31_000      # the keys go away on their own


def test_a_released_lease_is_free_at_once(redis_server):
    limiter = HostLimiter(redis_server.client(), Keys("t"), limit=1, delay=0)
    assert limiter.try_acquire(HOST, "a", ttl=30).granted
    assert not limiter.try_acquire(HOST, "b", ttl=30).granted
    limiter.release(HOST, "a")
    assert limiter.try_acquire(HOST, "b", ttl=30).granted


# --------------------------------------------------------------------------- settings
def test_limits_come_from_the_scrapy_settings_unless_overridden():
    s = Settings({"CONCURRENT_REQUESTS_PER_DOMAIN": 2, "DOWNLOAD_DELAY": 1.5})
    assert host_limits(s) == (2, 1.5)
    s.set("ARCHIVER_REDIS_HOST_CONCURRENCY", 5)
    s.set("ARCHIVER_REDIS_HOST_DELAY", 0)
    assert host_limits(s) == (5, 0.0)
    s.set("ARCHIVER_REDIS_HOST_CONCURRENCY", 0)
    s.set("ARCHIVER_REDIS_HOST_DELAY", -1)
    assert host_limits(s) == (2, 1.5)


def test_without_a_redis_url_the_middleware_is_off():
    from scrapy.utils.test import get_crawler
    with pytest.raises(NotConfigured):
        HostPolitenessMiddleware.from_crawler(get_crawler(settings_dict={}))


def test_a_redis_failure_while_acquiring_fails_the_request_and_says_so(redis_server, caplog):
    import asyncio

    from scrapy import Request
    from scrapy.utils.test import get_crawler
    crawler = get_crawler(settings_dict={"ARCHIVER_REDIS_URL": redis_server.url})
    mw = HostPolitenessMiddleware.from_crawler(crawler)
    crawler.stats.open_spider()
    redis_server.kill()
    import redis
    with pytest.raises(redis.exceptions.ConnectionError):
        asyncio.run(asyncio.wait_for(mw.process_request(Request("http://h.example/a")), 10))
    assert crawler.stats.get_value("archiver/politeness/errors") == 1
    assert "Redis failed while acquiring a lease on h.example" in caplog.text


# --------------------------------------------------------------------------- three real crawls
class Recorder:
    """What the HTTP server saw: each request's start (monotonic seconds) and the most requests
    in progress at once, per Host."""

    def __init__(self):
        self.lock = threading.Lock()
        self.starts: dict[str, list[float]] = {}
        self.active: Counter[str] = Counter()
        self.most: Counter[str] = Counter()


def serve(recorder: Recorder, pause: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            host = self.headers.get("Host", "")
            with recorder.lock:
                recorder.starts.setdefault(host, []).append(time.monotonic())
                recorder.active[host] += 1
                recorder.most[host] = max(recorder.most[host], recorder.active[host])
            try:
                time.sleep(pause)
                body = b"<html><body>ok</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
            finally:
                with recorder.lock:
                    recorder.active[host] -= 1

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# Each crawl first fetches one page under another host name (its HTTP client is then up), and
# waits for the other two to have done so (a file each in a shared folder) before the measured
# requests: three processes starting on two cores would otherwise delay their first requests by
# their start-up, which is not what the limiter is measured on.
SPIDER = '''
import asyncio, json, os, sys
import scrapy
from scrapy.crawler import CrawlerProcess

class Fetch(scrapy.Spider):
    name = "fetch"

    def __init__(self, urls, barrier, me, together, **kwargs):
        super().__init__(**kwargs)
        self.urls, self.barrier, self.me, self.together = urls, barrier, me, together

    async def start(self):
        yield scrapy.Request(self.urls[0].replace("127.0.0.1", "localhost") + "?warm-up", callback=self.ready)
        while len(os.listdir(self.barrier)) < self.together:
            await asyncio.sleep(0.01)
        for url in self.urls:
            yield scrapy.Request(url, dont_filter=True)

    def ready(self, response):
        open(os.path.join(self.barrier, self.me), "w").close()

    def parse(self, response):
        pass

config = json.loads(sys.argv[1])
process = CrawlerProcess(settings=config["settings"])
crawler = process.create_crawler(Fetch)
process.crawl(crawler, urls=config["urls"], barrier=config["barrier"], me=config["me"], together=3)
process.start()
print(json.dumps(crawler.stats.get_stats(), default=str))
'''


def crawl_three(tmp_path: Path, port: int, *, redis_url: str | None, concurrency: int, delay: float,
                urls: int, extra: dict | None = None) -> list[dict]:
    """Three crawls at once, each fetching ``urls`` distinct pages of the server; their stats."""
    script = tmp_path / "fetch.py"
    script.write_text(SPIDER)
    settings = {
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency, "DOWNLOAD_DELAY": delay,
        "ROBOTSTXT_OBEY": False, "RETRY_ENABLED": False, "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False, "LOG_LEVEL": "INFO", "DOWNLOAD_TIMEOUT": 10, **(extra or {}),
    }
    if redis_url:
        settings |= {"ARCHIVER_REDIS_URL": redis_url, "ARCHIVER_REDIS_PREFIX": f"p{port}",
                     "DOWNLOADER_MIDDLEWARES": {"archiver.distributed.politeness.HostPolitenessMiddleware": 950}}
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    barrier = tmp_path / f"ready-{time.monotonic_ns()}"
    barrier.mkdir()
    procs = [subprocess.Popen([sys.executable, str(script), json.dumps({
        "settings": settings, "urls": [f"http://127.0.0.1:{port}/w{w}/p{i}.html" for i in range(urls)],
        "barrier": str(barrier), "me": f"w{w}"})],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(3)]
    stats = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err[-3000:]
        stats.append(json.loads(out.strip().splitlines()[-1]))
        assert stats[-1].get("downloader/response_status_count/200") == urls + 1, (stats[-1], err[-3000:])
    return stats


@pytest.fixture
def http_server():
    recorder = Recorder()
    server = serve(recorder, pause=0.1)
    try:
        yield server.server_address[1], recorder
    finally:
        server.shutdown()
        server.server_close()


def host_key(port: int) -> str:
    return f"127.0.0.1:{port}"


def test_three_workers_together_keep_the_concurrency_of_one(tmp_path, http_server, redis_server):
    port, seen = http_server
    stats = crawl_three(tmp_path, port, redis_url=redis_server.url, concurrency=2, delay=0, urls=20)
    assert len(seen.starts[host_key(port)]) == 60
    assert seen.most[host_key(port)] == 2, seen.most        # at most 2, and 2 is reached
    assert sum(s.get("archiver/politeness/waits", 0) for s in stats) > 0
    assert not redis_server.client().zcard(Keys(f"p{port}").host_leases("127.0.0.1"))   # every lease given back


def test_three_workers_together_keep_the_delay_of_one(tmp_path, http_server, redis_server):
    port, seen = http_server
    # the project's own throttle settings: jitter and AutoThrottle on each worker's slot
    stats = crawl_three(tmp_path, port, redis_url=redis_server.url, concurrency=1, delay=0.2, urls=10,
                        extra={"DOWNLOAD_DELAY_JITTER": 0.5, "AUTOTHROTTLE_ENABLED": True,
                               "AUTOTHROTTLE_START_DELAY": 0.5})
    starts = sorted(seen.starts[host_key(port)])
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert len(starts) == 30 and seen.most[host_key(port)] == 1
    assert min(gaps) >= 0.19, sorted(gaps)[:5]
    assert sum(gaps) / len(gaps) < 0.45, gaps         # the delay is kept, not multiplied by the local slots
    assert sum(s.get("archiver/politeness/wait_seconds", 0) for s in stats) > 1


def test_without_the_middleware_three_workers_break_both_limits(tmp_path, http_server):
    port, seen = http_server
    crawl_three(tmp_path, port, redis_url=None, concurrency=2, delay=0, urls=20)
    assert seen.most[host_key(port)] > 2, seen.most
    seen.starts.clear()
    crawl_three(tmp_path, port, redis_url=None, concurrency=1, delay=0.2, urls=5)
    starts = sorted(seen.starts[host_key(port)])
    assert min(b - a for a, b in zip(starts, starts[1:])) < 0.19
