"""The shared frontier: scrapy-redis's scheduler, queue and dupefilter, made safe to kill.

scrapy-redis pops a request from the shared sorted set and from then on it exists only in the
worker's memory: a worker killed with SIGKILL loses every request it was downloading or parsing.
Here a pop is one Lua script that moves the request into the worker's **in-flight hash** (a
token per request); the token is removed only when the request is *done*, that is when

* every item its callback or errback yielded went through the worker's pipelines (so it is in
  the writer's stream) and every request it yielded was pushed to the frontier
  (:class:`OutputTracker`), or
* a downloader middleware replaced it by another request (a retry, a redirect), which the
  scheduler pushed to the frontier first.

Every worker beats a heartbeat into ``workers``; a worker whose heartbeat is older than
``ARCHIVER_REDIS_WORKER_TIMEOUT`` is dead, and whoever notices (any worker, the coordinator)
moves its in-flight requests back to the queue, in one script. A request is therefore always in
the queue, in a live worker's hands, or done: the crawl is over exactly when the queue and every
in-flight hash are empty (checked in one script, :func:`Frontier.drained`) after the seeds are in.

Roles (``ARCHIVER_REDIS_ROLE``): ``seed``, the coordinator's push-only scheduler (the spider's own
``start()`` fills the frontier, nothing is downloaded), and ``worker``.

The dupefilter is scrapy-redis's, per crawl: the coordinator clears the crawl's keys before it
seeds, so a list page that must be walked again in the next run is never swallowed by the
fingerprints of an earlier one (scrapy-redis's ``SCHEDULER_PERSIST`` keeps them only across the
workers of this crawl). Requests put back from a dead worker skip the dupefilter: they passed it.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from archiver.distributed.keys import Keys

logger = logging.getLogger(__name__)

TOKEN = "archiver_frontier_token"          # request.meta: the in-flight token of the popped request
PARENT = "archiver_frontier_parent"        # request.meta: the token of the request whose callback yielded it

# KEYS: queue, inflight hash, sequence. Pops the best request into the in-flight hash.
POP = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
local token = tostring(redis.call('INCR', KEYS[3]))
redis.call('HSET', KEYS[2], token, r[2] .. ' ' .. r[1])
return {token, r[1]}
"""

# KEYS: queue, inflight hash of the worker, workers hash. ARGV: worker. Puts every request the
# worker holds back into the queue (with its priority) and forgets the worker.
RECOVER = """
local held = redis.call('HGETALL', KEYS[2])
local n = 0
for i = 2, #held, 2 do
  local v = held[i]
  local sp = string.find(v, ' ', 1, true)
  redis.call('ZADD', KEYS[1], tonumber(string.sub(v, 1, sp - 1)), string.sub(v, sp + 1))
  n = n + 1
end
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[3], ARGV[1])
return n
"""

# KEYS: queue, workers hash, state hash. ARGV: inflight key prefix. 1 when the crawl is drained:
# the seeds are in, nothing is queued, no worker holds a request. Sets state.phase = drained.
DRAINED = """
local phase = redis.call('HGET', KEYS[3], 'phase')
if phase == 'drained' or phase == 'done' then return 1 end
if phase ~= 'running' then return 0 end
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
local workers = redis.call('HKEYS', KEYS[2])
for _, w in ipairs(workers) do
  if redis.call('HLEN', ARGV[1] .. w) > 0 then return 0 end
end
redis.call('HSET', KEYS[3], 'phase', 'drained')
return 1
"""


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Frontier:
    """The frontier's bookkeeping outside Scrapy: in-flight tokens, heartbeats, recovery, the end."""

    def __init__(self, client, keys: Keys, *, worker: str | None = None, timeout: float = 60.0):
        self.client = client
        self.keys = keys
        self.worker = worker or worker_name()
        self.timeout = timeout
        self._pop = client.register_script(POP)
        self._recover = client.register_script(RECOVER)
        self._drained = client.register_script(DRAINED)

    def pop(self) -> tuple[str, bytes] | None:
        r = self._pop(keys=[self.keys.requests, self.keys.inflight(self.worker), self.keys.sequence])
        return (r[0].decode(), r[1]) if r else None

    def done(self, token: str) -> None:
        self.client.hdel(self.keys.inflight(self.worker), token)

    def beat(self) -> None:
        self.client.hset(self.keys.workers, self.worker, f"{time.time():.3f}")

    def leave(self) -> int:
        """This worker stops: what it still holds goes back to the queue."""
        return self.recover(self.worker)

    def recover(self, worker: str) -> int:
        return int(self._recover(keys=[self.keys.requests, self.keys.inflight(worker), self.keys.workers],
                                 args=[worker]))

    def recover_dead(self) -> dict[str, int]:
        """Put back the requests of every worker whose heartbeat is older than the timeout."""
        now, out = time.time(), {}
        for name, beat in self.client.hgetall(self.keys.workers).items():
            name = name.decode()
            try:
                last = float(beat)
            except ValueError:
                last = 0.0
            if name != self.worker and now - last > self.timeout:
                out[name] = self.recover(name)
                logger.warning("worker %s stopped beating %.0f s ago: %d request(s) it held are queued again",
                               name, now - last, out[name])
        return out

    def drained(self) -> bool:
        return bool(self._drained(keys=[self.keys.requests, self.keys.workers, self.keys.state],
                                  args=[self.keys.inflight("")]))

    def phase(self) -> str | None:
        v = self.client.hget(self.keys.state, "phase")
        return v.decode() if v else None

    def held(self) -> int:
        return int(self.client.hlen(self.keys.inflight(self.worker)))


class InFlightQueue(PriorityQueue):
    """scrapy-redis's priority queue whose pop hands the request to a worker's in-flight hash."""

    frontier: Frontier | None = None

    def pop(self, timeout=0):
        got = self.frontier.pop()
        if got is None:
            return None
        token, data = got
        request = self._decode_request(data)
        request.meta[TOKEN] = token
        return request


@dataclass
class _Outstanding:
    pending: int = 0
    ended: bool = False


class OutputTracker:
    """Knows when all that a popped request's callback or errback yielded is safe (see module)."""

    def __init__(self, frontier: Frontier, stats=None):
        self.frontier = frontier
        self.stats = stats
        self._open: dict[str, _Outstanding] = {}
        self._items: dict[int, str] = {}

    def track(self, request, output):
        """Wrap a callback's output (archiver/requests.py ``tracked``): count what it yields."""
        token = request.meta.get(TOKEN)
        if token is None:
            yield from output or ()
            return
        state = self._open.setdefault(token, _Outstanding())
        try:
            for out in output or ():
                if out is None:
                    continue
                state.pending += 1
                if hasattr(out, "meta") and hasattr(out, "callback"):          # a Request
                    out.meta[PARENT] = token
                else:
                    self._items[id(out)] = token
                yield out
        finally:
            state.ended = True
            self._check(token)

    def settled(self, token: str | None) -> None:
        """One output of ``token`` is safe (an item through the pipelines, a request pushed)."""
        if token is None or token not in self._open:
            return
        self._open[token].pending -= 1
        self._check(token)

    def item_settled(self, item, **_) -> None:
        self.settled(self._items.pop(id(item), None))

    def item_failed(self, item, failure=None, **_) -> None:
        """A pipeline raised. A lost stream leaves the request in flight (fetched again later);
        any other error is the item's end, as in one process (logged, counted)."""
        from archiver.distributed.stream import StreamUnavailable
        token = self._items.pop(id(item), None)
        if failure is not None and isinstance(getattr(failure, "value", None), StreamUnavailable):
            return
        self.settled(token)

    def _check(self, token: str) -> None:
        state = self._open.get(token)
        if state is not None and state.ended and state.pending <= 0:
            del self._open[token]
            self.frontier.done(token)

    def replaced(self, token: str) -> None:
        """A downloader middleware replaced the request (retry, redirect); the new one is queued."""
        if token not in self._open:
            self.frontier.done(token)


class FrontierScheduler(Scheduler):
    """The scheduler of a seed or worker process (see the module)."""

    def __init__(self, server, *, crawler=None, **kwargs):
        super().__init__(server, **kwargs)
        s = crawler.settings
        self.crawler = crawler
        self.role = s.get("ARCHIVER_REDIS_ROLE") or "worker"
        self.keys = Keys(s.get("ARCHIVER_REDIS_PREFIX") or "archiver")
        self.frontier = Frontier(server, self.keys, worker=s.get("ARCHIVER_REDIS_WORKER") or None,
                                 timeout=s.getfloat("ARCHIVER_REDIS_WORKER_TIMEOUT", 60.0))
        self.tracker = OutputTracker(self.frontier, crawler.stats)
        self.poll = s.getfloat("ARCHIVER_REDIS_POLL_INTERVAL", 0.5)
        self.beat_every = s.getfloat("ARCHIVER_REDIS_HEARTBEAT", 2.0)
        self._last_beat = 0.0
        self.redis_lost: str | None = None
        self._leaving = False

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy_redis import connection
        s = crawler.settings
        server = connection.from_settings(s)
        instance = cls(server, crawler=crawler, persist=True, queue_key=s.get("SCHEDULER_QUEUE_KEY"),
                       queue_cls="archiver.distributed.frontier.InFlightQueue",
                       dupefilter_key=s.get("SCHEDULER_DUPEFILTER_KEY"),
                       dupefilter_cls=s.get("DUPEFILTER_CLASS") or "scrapy_redis.dupefilter.RFPDupeFilter")
        instance.stats = crawler.stats
        return instance

    def open(self, spider):
        # scrapy-redis's open(), without its deprecated Spider.log call
        from scrapy.utils.misc import load_object
        self.spider = spider
        self.queue = InFlightQueue(server=self.server, spider=spider, key=self.queue_key, serializer=self.serializer)
        if not self.df:
            self.df = load_object(self.dupefilter_cls).from_spider(spider)
        self.queue.frontier = self.frontier
        if self.role == "worker":
            spider.output_tracker = self.tracker
            for sig in (signals.item_scraped, signals.item_dropped):
                self.crawler.signals.connect(self.tracker.item_settled, signal=sig, weak=False)
            self.crawler.signals.connect(self.tracker.item_failed, signal=signals.item_error, weak=False)
            self.crawler.signals.connect(self._idle, signal=signals.spider_idle, weak=False)
            engine = getattr(self.crawler, "engine", None)
            if engine is not None and hasattr(engine, "_SLOT_HEARTBEAT_INTERVAL"):
                # Scrapy asks an empty scheduler again every 5 s; a worker waiting for the shared
                # queue asks every ARCHIVER_REDIS_POLL_INTERVAL (a private knob: 5 s without it).
                engine._SLOT_HEARTBEAT_INTERVAL = self.poll
            self._beat(force=True)
            # the heartbeat does not wait for the engine to ask for a request (it may be busy
            # with slow downloads for longer than the timeout)
            from twisted.internet import task
            self._beater = task.LoopingCall(self._beat)
            self._beater.start(self.beat_every, now=False)
        self.crawler.signals.connect(self._closed, signal=signals.spider_closed, weak=False)

    def _closed(self, spider=None, reason=None):
        """The process's final stats (with its finish reason) for the writer's sum."""
        if self.redis_lost:
            return
        try:
            publish_stats(self.frontier.client, self.keys, self.frontier.worker if self.role == "worker" else "seed",
                          self.crawler.stats.get_stats())
        except Exception as e:
            logger.error("could not publish this process's stats to Redis: %s", e)

    def close(self, reason):
        if self.role != "worker":
            return
        if getattr(self, "_beater", None) is not None and self._beater.running:
            self._beater.stop()
        try:
            back = self.frontier.leave()
            if back:
                logger.warning("this worker stops (%s): %d request(s) it held are queued again", reason, back)
        except Exception as e:            # Redis gone: the others (or the next crawl) recover them
            logger.error("could not hand back the requests this worker held: %s", e)

    # ------------------------------------------------------------------ queue
    def enqueue_request(self, request):
        parent = request.meta.pop(PARENT, None)
        token = request.meta.pop(TOKEN, None)     # a retry or redirect carries the token it replaces
        try:
            added = self._push(request)
        except Exception as e:
            self._lost(e)
            raise
        if token is not None and self.role == "worker":
            self.tracker.replaced(token)
        if parent is not None:
            self.tracker.settled(parent)
        return added

    def _push(self, request) -> bool:
        """scrapy-redis's enqueue: the dupefilter (unless ``dont_filter``), then the queue."""
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self):
        if self.role != "worker" or self.redis_lost:
            return None
        self._beat()
        try:
            request = self.queue.pop()
        except Exception as e:
            self._lost(e)
            return None
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self):
        if self.role != "worker" or self.redis_lost:
            return False
        try:
            return len(self) > 0
        except Exception as e:
            self._lost(e)
            return False

    # ------------------------------------------------------------------ liveness and the end
    def _beat(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_beat < self.beat_every:
            return
        self._last_beat = now
        try:
            self.frontier.beat()
            self.frontier.recover_dead()
            publish_stats(self.frontier.client, self.keys, self.frontier.worker, self.crawler.stats.get_stats())
            abandoned = self.frontier.phase() == "abandoned"
        except Exception as e:
            self._lost(e)
            return
        if abandoned and not self._leaving:        # the coordinator stopped the crawl: leave
            self._leaving = True
            logger.warning("the crawl was stopped by its coordinator: this worker leaves")
            engine = getattr(self.crawler, "engine", None)
            if engine is not None:
                from scrapy.utils.defer import deferred_from_coro
                deferred_from_coro(engine.close_spider_async(reason="shutdown"))

    def _idle(self, spider=None):
        if self.redis_lost:
            return                           # nothing more can be done: the spider closes
        self._beat()
        try:
            if self.frontier.drained():
                return
        except Exception as e:
            self._lost(e)
            return
        raise DontCloseSpider

    def _lost(self, exc: Exception) -> None:
        if not self.redis_lost:
            self.redis_lost = f"{type(exc).__name__}: {exc}"
            redis_lost(self.crawler, exc)


def redis_lost(crawler, exc: Exception) -> None:
    """Redis cannot be reached: this process stops (reason ``redis_lost``), once."""
    if crawler.stats.get_value("archiver/redis/lost"):
        return
    what = f"{type(exc).__name__}: {exc}"
    logger.error("lost the connection to Redis (%s): this process stops", what)
    crawler.stats.set_value("archiver/redis/lost", what)
    engine = getattr(crawler, "engine", None)
    if engine is not None:
        from scrapy.utils.defer import deferred_from_coro
        deferred_from_coro(engine.close_spider_async(reason="redis_lost"))


def publish_stats(client, keys: Keys, who: str, stats: dict) -> None:
    """One process's crawl stats, as JSON, for the writer to add up at the end."""
    client.set(keys.stats(who), json.dumps(plain_stats(stats)))


def plain_stats(stats: dict) -> dict:
    out = {}
    for k, v in stats.items():
        if isinstance(v, (int, float, str)) or (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            out[k] = v
    return out
