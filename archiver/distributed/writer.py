"""The one process that writes the archive of a distributed crawl.

It reads the workers' items from the Redis stream as the consumer group ``writer`` and stores
them with the store step one process uses (pipelines/store.py ``StorePipeline``: dedup,
sightings, revisions, the search index, failures, validators), in batches:

1. read a batch: first the entries delivered to this writer and not acknowledged (after a
   restart: what the killed writer had taken, claimed with XAUTOCLAIM), then new ones;
2. store each item and record its entry id in ``stream_applied``, and the writer's counts in
   ``writer_state``, in one SQLite transaction; an entry already in ``stream_applied`` (committed
   by a writer killed before it acknowledged) is skipped;
3. commit, then acknowledge and delete the entries (XACK, XDEL).

So a writer killed at any moment loses nothing (what is not committed is not acknowledged and
comes again) and stores nothing twice. When the frontier is drained and the stream is empty, the
writer closes the run the way one process does (channel validators, health, the run row) with
the stats of every process added up, and writes the report for the coordinator.

What the writer must remember across a restart besides the archive (the channel walks started
and the walks left incomplete, for the validators saved at the end) is kept in Redis.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time

from scrapy.exceptions import DropItem
from scrapy.statscollectors import MemoryStatsCollector

from archiver.clock import utc_now
from archiver.distributed import stream
from archiver.distributed.frontier import Frontier
from archiver.distributed.keys import Keys
from archiver.items import ChannelWalkIncomplete, ChannelWalkStarted

logger = logging.getLogger(__name__)

MAX_KEYS = {"archiver/run_id", "elapsed_time_seconds", "memusage/max", "memusage/startup"}


class _Host:
    """What the store step needs of a crawler: settings and stats (no engine, no reactor)."""

    def __init__(self, settings):
        self.settings = settings
        self.stats = MemoryStatsCollector(self)
        self.engine = None


class ArchiveWriter:
    def __init__(self, client, keys: Keys, settings, *, db_path: str, batch: int = 200,
                 report_path: str | None = None, poll: float = 0.5):
        from pipelines.store import StorePipeline

        self.client = client
        self.keys = keys
        self.db_path = db_path
        self.batch = batch
        self.poll = poll
        self.report_path = report_path
        self.consumer = f"writer-{socket.gethostname()}-{os.getpid()}"
        self.host = _Host(settings)
        self.store = StorePipeline(self.host, db_path, batches=False)     # one commit per batch of entries
        self.frontier = Frontier(client, keys, worker=self.consumer)
        self.stats = self.host.stats
        self.redis_lost: str | None = None

    # ------------------------------------------------------------------ the run
    def open(self) -> int:
        """Open the archive and the run (a new one, or the run of this crawl a killed writer began)."""
        raw = self.client.hget(self.keys.state, "run_id")
        attach = int(raw) if raw else None
        self.store.open_spider(attach=attach)
        if self.store.archive is None:
            raise RuntimeError(self.stats.get_value("archiver/refused") or "the archive could not be opened")
        run_id = self.store.run_id
        if attach is None:
            self.client.hset(self.keys.state, "run_id", run_id)
        else:
            logger.warning("writer restarted: going on with run %s", run_id)
            row = self.store.archive.db.execute("select stats from writer_state where run_id = ?", [run_id]).fetchone()
            if row and row[0]:
                for k, v in json.loads(row[0]).items():
                    self.stats.set_value(k, v)
            self.stats.inc_value("archiver/writer/restarts")
        for url, raw in self.client.hgetall(self._k("walks_started")).items():
            self.store.channel_walks[url.decode()] = ChannelWalkStarted(**json.loads(raw))
        for raw in self.client.smembers(self._k("walks_incomplete")):
            self.store.incomplete_walks.add(tuple(json.loads(raw)))
        stream.ensure_group(self.client, self.keys)
        self._claim_pending()
        return run_id

    def _k(self, name: str) -> str:
        return f"{self.keys.prefix}:writer:{name}"

    def _claim_pending(self) -> int:
        """Every entry delivered to a writer and not acknowledged is now this writer's (one writer
        runs at a time: it holds the archive's lock)."""
        start, claimed = "0-0", 0
        while True:
            nxt, entries, *_ = self.client.xautoclaim(self.keys.items, self.keys.writer_group, self.consumer,
                                                      min_idle_time=0, start_id=start, count=500)
            claimed += len(entries)
            start = nxt.decode() if isinstance(nxt, bytes) else nxt
            if start == "0-0":
                break
        if claimed:
            logger.warning("took over %d stream entries a stopped writer had not acknowledged", claimed)
            self.stats.inc_value("archiver/writer/claimed", claimed)
        return claimed

    # ------------------------------------------------------------------ the loop
    def run(self) -> dict:
        """Store until the crawl is over; returns the report (also written for the coordinator)."""
        import redis

        self.open()
        reason = "finished"
        try:
            while True:
                entries = self._read()
                if entries:
                    self._store_batch(entries)
                    continue
                phase = self.frontier.phase()
                if phase == "abandoned":
                    reason = self.client.hget(self.keys.state, "reason").decode() if \
                        self.client.hget(self.keys.state, "reason") else "abandoned"
                    if not self.client.xlen(self.keys.items):
                        break
                elif phase in ("drained", "done") or self.frontier.drained():
                    if not self.client.xlen(self.keys.items):
                        break
        except KeyboardInterrupt:           # Ctrl-C or SIGTERM: the run ends here, as one process's would
            logger.error("the writer was stopped: closing the run")
            reason = "shutdown"
        except redis.exceptions.RedisError as e:
            self.redis_lost = f"{type(e).__name__}: {e}"
            logger.error("lost the connection to Redis (%s): the run ends here, unhealthy", self.redis_lost)
            self.stats.set_value("archiver/redis/lost", self.redis_lost)
            reason = "redis_lost"
        return self.finish(reason)

    def _read(self) -> list:
        group, me = self.keys.writer_group, self.consumer
        mine = self.client.xreadgroup(group, me, {self.keys.items: "0"}, count=self.batch)
        entries = mine[0][1] if mine else []
        if not entries:
            new = self.client.xreadgroup(group, me, {self.keys.items: ">"}, count=self.batch,
                                         block=int(self.poll * 1000))
            entries = new[0][1] if new else []
        return [(i, f) for i, f in entries if f]        # a deleted entry comes back empty

    def _store_batch(self, entries: list) -> None:
        t0 = time.monotonic()
        db = self.store.archive.db
        run_id = self.store.run_id
        self.store._begin_batch()
        ids = []
        for entry_id, fields in entries:
            eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            ids.append(entry_id)
            if db.execute("select 1 from stream_applied where entry_id = ?", [eid]).fetchone():
                self.stats.inc_value("archiver/writer/already_stored")
                continue
            try:
                item = stream.decode(fields)
            except stream.StreamError as e:
                logger.error("stream entry %s: %s", eid, e)
                self.stats.inc_value("archiver/writer/unreadable")
                self.stats.inc_value("archiver/store/errors")
            else:
                self._remember(item)
                try:
                    self.store.process_item(item)
                except DropItem:
                    pass                               # counted and logged by the store step
            db.execute("insert or ignore into stream_applied (entry_id, run_id) values (?, ?)", [eid, run_id])
        self.stats.inc_value("archiver/writer/entries", len(entries))
        self.stats.inc_value("archiver/writer/busy_seconds", round(time.monotonic() - t0, 4))
        db.execute("insert or replace into writer_state (run_id, stats, updated_at) values (?, ?, ?)",
                   [run_id, json.dumps(_plain(self.stats.get_stats()), ensure_ascii=False), utc_now()])
        lost_before = self.stats.get_value("archiver/store/batches_lost", 0)
        self.store.commit(force=True)
        if self.stats.get_value("archiver/store/batches_lost", 0) != lost_before:
            return                           # rolled back: not acknowledged, read again from this writer's list
        pipe = self.client.pipeline(transaction=True)
        pipe.xack(self.keys.items, self.keys.writer_group, *ids)
        pipe.xdel(self.keys.items, *ids)
        pipe.execute()

    def _remember(self, item) -> None:
        """Walk bookkeeping the end of the run needs, kept in Redis across writer restarts."""
        if isinstance(item, ChannelWalkStarted):
            self.client.hset(self._k("walks_started"), item.url, json.dumps(item.__dict__, ensure_ascii=False))
        elif isinstance(item, ChannelWalkIncomplete):
            self.client.sadd(self._k("walks_incomplete"), json.dumps([item.site, item.key], ensure_ascii=False))

    # ------------------------------------------------------------------ the end
    def merged_stats(self) -> dict:
        """Every process's stats added up (the seed, each worker, this writer)."""
        merged: dict = {}
        sources = []
        if not self.redis_lost:
            try:
                for key in self.client.scan_iter(match=self.keys.stats_pattern, count=500):
                    raw = self.client.get(key)
                    if raw:
                        sources.append(json.loads(raw))
            except Exception as e:                 # the run still closes, with what is known
                logger.error("could not read the workers' stats: %s", e)
                self.stats.set_value("archiver/redis/lost", f"{type(e).__name__}: {e}")
        sources.append(_plain(self.stats.get_stats()))
        for stats in sources:
            for k, v in stats.items():
                if k == "finish_reason":
                    continue
                if k in MAX_KEYS and isinstance(v, (int, float)):
                    merged[k] = max(merged.get(k, v), v)
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    merged[k] = merged.get(k, 0) + v if isinstance(merged.get(k, 0), (int, float)) else v
                elif isinstance(v, list):
                    merged[k] = list(dict.fromkeys((merged.get(k) or []) + v))
                else:
                    merged.setdefault(k, v)
        merged["archiver/distributed/processes"] = len(sources)
        return merged

    def finish(self, reason: str) -> dict:
        merged = self.merged_stats()
        merged["finish_reason"] = reason
        self.stats.set_stats(merged)
        if self.store.archive is not None:
            # the run is closing: no entry of it can come again (the coordinator clears the stream
            # before the next crawl), so its exactly-once ledger goes
            self.store.commit(force=True)
            with self.store.archive.db.atomic():
                self.store.archive.db.execute("delete from stream_applied where run_id = ?", [self.store.run_id])
        self.store.spider_closed(None, reason)
        out = {"stats": _plain(self.stats.get_stats()), "report": self.stats.get_value("archiver/health_report")}
        if self.report_path:
            tmp = f"{self.report_path}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(out, f, ensure_ascii=False)
            os.replace(tmp, self.report_path)
        if not self.redis_lost:
            try:
                self.client.hset(self.keys.state, mapping={"phase": "done", "finished": f"{time.time():.3f}"})
                self.client.set(self._k("report"), json.dumps(out, ensure_ascii=False))
            except Exception as e:
                logger.error("could not record the end of the crawl in Redis: %s", e)
        return out


def _plain(stats: dict) -> dict:
    from archiver.distributed.frontier import plain_stats
    out = plain_stats(stats)
    for k in ("archiver/health_report",):
        if k in stats:
            out[k] = stats[k]
    return out
