"""``archiver crawl --redis URL --workers K``: one crawl, many processes.

The coordinator, on the machine that holds the archive:

1. checks Redis (one line when it cannot be reached) and that no other crawl runs under the
   prefix; finishes the run a crashed coordinator left in the stream, if any;
2. checks and locks the archive (the lock is handed down to the writer: one writer at a time);
3. clears the prefix's keys (a new frontier and dupefilter: nothing of an earlier crawl can
   swallow a list page this one must walk), publishes the crawl's settings, copies what workers
   must know of the archive into Redis (incremental runs), and seeds the frontier with the
   spider's own ``start()`` through a push-only scheduler;
4. starts the writer and K local workers (``archiver worker``; more can join from any machine),
   restarts the writer if it dies, puts back the requests of workers that stop beating, and
   prints progress;
5. when the writer has closed the run, prints the summary a one-process crawl prints and returns
   its health, so the exit status means the same.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from archiver.distributed import config as crawl_config
from archiver.distributed.connect import CrawlInProgress, RedisUnavailable, connect, redacted
from archiver.distributed.frontier import Frontier, publish_stats
from archiver.distributed.keys import Keys

logger = logging.getLogger(__name__)

WRITER_RESTARTS = 5
COORDINATOR_STALE = 30.0          # seconds without a coordinator heartbeat: that crawl is over


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "archiver.cli", *args]


class Coordinator:
    def __init__(self, redis_url: str, *, prefix: str, db: str, workers: int, loglevel: str, log_file: str | None,
                 quiet: bool):
        self.redis_url = redis_url
        self.keys = Keys(prefix)
        self.db = db
        self.workers = workers
        self.loglevel = loglevel
        self.log_file = log_file
        self.quiet = quiet
        self.client = connect(redis_url)
        self.frontier = Frontier(self.client, self.keys, worker=f"coordinator-{socket.gethostname()}-{os.getpid()}")
        self.tmp = Path(tempfile.mkdtemp(prefix="archiver-crawl-"))
        self.report_path = self.tmp / "report.json"
        self.seen_workers = False

    # ------------------------------------------------------------------ before the crawl
    def check_free(self) -> dict:
        """Refuse when another coordinator is alive under this prefix; returns the old state."""
        state = {k.decode(): v.decode() for k, v in self.client.hgetall(self.keys.state).items()}
        if state.get("phase") in ("seeding", "running", "drained"):
            beat = float(state.get("beat") or 0)
            if time.time() - beat < COORDINATOR_STALE:
                raise CrawlInProgress(
                    f"refused: a distributed crawl is already running under the prefix {self.keys.prefix!r} of "
                    f"{redacted(self.redis_url)} (coordinator {state.get('coordinator', '?')}, "
                    f"archive {state.get('db', '?')}); wait for it or use another --redis-prefix")
        return state

    def finish_abandoned(self, state: dict, settings_overrides: dict) -> None:
        """A coordinator died mid-crawl: the items its workers sent are stored, its run closed."""
        if not state.get("run_id") or state.get("phase") == "done" or not self.client.xlen(self.keys.items):
            return                       # nothing left to store (a run left open is marked interrupted)
        if state.get("db") and os.path.realpath(state["db"]) != os.path.realpath(self.db):
            return                                  # another archive's leftovers: not ours to store
        from archiver.distributed.writer import ArchiveWriter
        click.echo(f"archiver crawl: storing what the unfinished crawl of run {state['run_id']} left in Redis",
                   err=True)
        self.client.hset(self.keys.state, mapping={"phase": "abandoned", "reason": "coordinator_lost"})
        config = crawl_config.read(self.client, self.keys) or crawl_config.crawl_config(
            settings_overrides, redis_url=self.redis_url)
        settings = crawl_config.process_settings(config, role="writer", redis_url=self.redis_url, keys=self.keys)
        settings.set("ARCHIVER_DB", self.db, priority="cmdline")
        ArchiveWriter(self.client, self.keys, settings, db_path=self.db).run()

    def clear(self) -> int:
        n = 0
        for pattern in self.keys.all_patterns():
            batch = []
            for key in self.client.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    n += self.client.delete(*batch)
                    batch = []
            if batch:
                n += self.client.delete(*batch)
        return n

    def begin(self, config: dict, *, mode: str) -> None:
        self.clear()
        crawl_config.publish(self.client, self.keys, config)
        self.client.hset(self.keys.state, mapping={
            "phase": "seeding", "coordinator": f"{socket.gethostname()} pid {os.getpid()}",
            "db": os.path.realpath(self.db), "started": f"{time.time():.3f}", "beat": f"{time.time():.3f}",
            "mode": mode})
        from archiver.distributed.stream import ensure_group
        ensure_group(self.client, self.keys)

    def export_knowledge(self) -> dict:
        from archiver.distributed.knowledge import export_knowledge
        return export_knowledge(self.db, self.client, self.keys)

    def seed(self, config: dict) -> dict:
        """The spider's own start() into the shared frontier (a push-only scheduler: no download)."""
        from scrapy.crawler import CrawlerProcess

        settings = crawl_config.process_settings(config, role="seed", redis_url=self.redis_url, keys=self.keys)
        settings.set("LOG_LEVEL", self.loglevel, priority="cmdline")
        if self.log_file:
            settings.set("LOG_FILE", self.log_file, priority="cmdline")
        settings.set("ARCHIVER_PROGRESS_INTERVAL", 0, priority="cmdline")
        process = CrawlerProcess(settings)
        crawler = process.create_crawler("network")
        process.crawl(crawler)
        process.start()
        stats = crawler.stats.get_stats()
        if stats.get("finish_reason") != "finished":
            raise RedisUnavailable(f"seeding the shared frontier failed ({stats.get('finish_reason')}); see the log", 1)
        publish_stats(self.client, self.keys, "seed", stats)
        self.client.hset(self.keys.state, "phase", "running")
        return stats

    # ------------------------------------------------------------------ during the crawl
    def _spawn_writer(self, lock_fd: int | None) -> subprocess.Popen:
        env = dict(os.environ)
        pass_fds: tuple = ()
        if lock_fd is not None:
            env["ARCHIVER_LOCK_FD"] = str(lock_fd)
            pass_fds = (lock_fd,)
        args = _cli("writer", "--redis", self.redis_url, "--redis-prefix", self.keys.prefix, "--db", self.db,
                    "--report", str(self.report_path), "--loglevel", self.loglevel)
        if self.log_file:
            args += ["--log-file", self.log_file]
        return subprocess.Popen(args, env=env, pass_fds=pass_fds)

    def _spawn_worker(self, n: int) -> subprocess.Popen:
        args = _cli("worker", "--redis", self.redis_url, "--redis-prefix", self.keys.prefix, "--wait", "60",
                    "--name", f"{socket.gethostname()}-{os.getpid()}-w{n}", "--loglevel", self.loglevel)
        if self.log_file:
            args += ["--log-file", self.log_file]
        return subprocess.Popen(args)

    def supervise(self, lock_fd: int | None) -> dict:
        """Run the writer and the local workers until the writer reports the run closed."""
        self._writer = self._spawn_writer(lock_fd)
        workers = [self._spawn_worker(i) for i in range(self.workers)]
        try:
            try:
                self._run_until_reported(workers, lock_fd)
            except KeyboardInterrupt:
                self._interrupt(workers)
        finally:
            self._stop_workers(workers)
            if self._writer.poll() is None:
                self._writer.terminate()
                self._writer.wait(30)
        return json.loads(self.report_path.read_text(encoding="utf-8"))

    def _interrupt(self, workers: list[subprocess.Popen]) -> None:
        """Ctrl-C or SIGTERM: every worker leaves (handing its requests back), the writer stores what
        reached the stream and closes the run (finish reason ``shutdown``), as one process would."""
        click.echo("archiver crawl: stopping: the workers hand back their requests, the writer closes the run",
                   err=True)
        try:
            self.client.hset(self.keys.state, mapping={"phase": "abandoned", "reason": "shutdown"})
        except Exception:
            pass                                    # the writer ends on SIGTERM alone
        for w in workers:
            if w.poll() is None:
                w.terminate()
        deadline = time.monotonic() + 120
        while self._writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if not self.report_path.exists():
            if self._writer.poll() is None:
                self._writer.terminate()            # SIGTERM: it closes the run at once
                self._writer.wait(60)
        if not self.report_path.exists():
            raise KeyboardInterrupt

    def _run_until_reported(self, workers: list[subprocess.Popen], lock_fd) -> None:
        """Supervise: heartbeat, dead workers' requests put back, progress, the writer restarted."""
        import redis

        restarts, last_progress, t0 = 0, time.monotonic(), time.monotonic()
        redis_ok = True
        while True:
            time.sleep(0.5)
            if redis_ok:
                try:
                    self.client.hset(self.keys.state, "beat", f"{time.time():.3f}")
                    self.frontier.recover_dead()
                    self._abandon_if_orphaned(workers)
                    if not self.quiet and time.monotonic() - last_progress >= 10:
                        last_progress = time.monotonic()
                        click.echo(self.progress_line(time.monotonic() - t0), err=True)
                except redis.exceptions.RedisError as e:
                    redis_ok = False
                    click.echo(f"archiver crawl: lost the connection to Redis ({e}); waiting for the writer "
                               f"to close the run", err=True)
            code = self._writer.poll()
            if code is None:
                continue
            if self.report_path.exists():
                break
            if restarts >= WRITER_RESTARTS or not redis_ok:
                raise RedisUnavailable(f"the archive writer stopped (exit {code}) {restarts + 1} time(s) "
                                       f"without closing the run; see the log", 1)
            restarts += 1
            click.echo(f"archiver crawl: the archive writer stopped (exit {code}); starting it again", err=True)
            self._writer = self._spawn_writer(lock_fd)

    def _abandon_if_orphaned(self, workers: list[subprocess.Popen]) -> None:
        """Every local worker is gone, no other worker beats and the frontier is not drained: the
        crawl cannot go on; the writer closes the run (unhealthy)."""
        if any(w.poll() is None for w in workers) or self.frontier.phase() != "running":
            return
        if self.frontier.drained():
            return
        now = time.time()
        alive = [n for n, b in self.client.hgetall(self.keys.workers).items()
                 if now - float(b or 0) <= self.frontier.timeout]
        if alive:
            self.seen_workers = True
            return
        if not workers and not self.seen_workers:
            return                     # --workers 0: waiting for the first worker to join from elsewhere
        self.frontier.recover_dead()
        codes = ", ".join(str(w.returncode) for w in workers)
        click.echo(f"archiver crawl: every worker stopped (exit {codes}) before the crawl was over; "
                   f"closing the run", err=True)
        self.client.hset(self.keys.state, mapping={"phase": "abandoned", "reason": "workers_lost"})

    def _stop_workers(self, workers: list[subprocess.Popen]) -> None:
        deadline = time.monotonic() + 30
        for w in workers:
            try:
                w.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.terminate()
        for w in workers:
            try:
                w.wait(15)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()

    def progress_line(self, elapsed: float) -> str:
        c, k = self.client, self.keys
        workers = c.hkeys(k.workers)
        held = sum(c.hlen(k.inflight(w.decode())) for w in workers)
        return (f"crawl {elapsed:.0f} s: {c.zcard(k.requests)} queued, {held} in flight on {len(workers)} worker(s), "
                f"{c.xlen(k.items)} item(s) waiting for the writer")

    def close(self) -> None:
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_distributed_crawl(*, redis_url: str, workers: int, prefix: str, db: str, sites: tuple[str, ...] = (),
                          replica: str | None = None, loglevel: str = "WARNING", log_file: str | None = None,
                          sets: dict[str, str] | None = None, quiet: bool = False, mode: str | None = None):
    """One crawl on Redis (module docstring); returns (HealthReport, stats) like ``run_crawl``."""
    from archiver import lock as archive_lock
    from archiver.cli import start_replica, tell_the_operator
    from archiver.db import Archive
    from archiver.db.check import preflight
    from archiver.health import HealthReport
    from archiver.sites import load_network

    t0 = time.monotonic()
    overrides = dict(sets or {})
    network = load_network(overrides.get("ARCHIVER_REGISTRY") or None)
    for s in sites:
        network.site(s)
    coordinator = Coordinator(redis_url, prefix=prefix, db=db, workers=workers, loglevel=loglevel,
                              log_file=log_file, quiet=quiet)
    session = None
    try:
        old = coordinator.check_free()
        preflight(db)
        lock = archive_lock.acquire(db)
        try:
            checked = Archive.open(db)
            for line in checked.db.repairs:
                click.echo(f"archiver crawl: repaired {db}: {line}", err=True)
            checked.close()
            overrides.update({"ARCHIVER_DB": os.path.abspath(db), "ARCHIVER_SITES": ",".join(sites)})
            if mode:
                overrides["ARCHIVER_MODE"] = mode
            coordinator.finish_abandoned(old, overrides)
            if replica is not None:
                session = start_replica(replica)
                overrides.update({k: v for k, v in session.settings.items()})
                overrides["ARCHIVER_PROXY"] = session.proxy_url
                if not quiet:
                    click.echo(f"replica of the network on {session.proxy_url} ({session.label}); crawling it "
                               "through that proxy", err=True)
            config = crawl_config.crawl_config(overrides, redis_url=redis_url)
            run_mode = (overrides.get("ARCHIVER_MODE") or "incremental").strip().lower()
            coordinator.begin(config, mode=run_mode)
            if run_mode == "incremental":
                known = coordinator.export_knowledge()
                if not quiet:
                    click.echo(f"copied into Redis what the workers must know of the archive: {known.get('articles', 0)} "
                               f"articles, {known.get('failures', 0)} failures, {known.get('validators', 0)} validators, "
                               f"{known.get('resume', 0)} unfinished walks", err=True)
            coordinator.seed(config)
            if not quiet:
                click.echo(f"frontier seeded on {redacted(redis_url)} (prefix {prefix!r}); {workers} local worker(s) "
                           f"and the archive writer start; `archiver worker --redis URL` joins from other machines",
                           err=True)
            import signal
            previous = signal.signal(signal.SIGTERM, _interrupted)    # stopped by systemd: close the run first
            try:
                out = coordinator.supervise(lock.fd)
            finally:
                signal.signal(signal.SIGTERM, previous)
        finally:
            lock.release()
    finally:
        if session is not None:
            session.stop()
        coordinator.close()
    stats = out["stats"]
    report = HealthReport.from_dict(out["report"])
    tell_the_operator(stats, report, db=db, elapsed=time.monotonic() - t0, quiet=quiet, log_file=log_file)
    return report, stats


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def run_worker(redis_url: str, *, prefix: str, name: str | None, wait: float, loglevel: str,
               log_file: str | None) -> int:
    """``archiver worker``: join the crawl in progress under ``prefix``, leave when it is over."""
    from scrapy.crawler import CrawlerProcess

    from archiver.distributed.frontier import worker_name

    client = connect(redis_url)
    keys = Keys(prefix)
    deadline = time.monotonic() + wait
    while True:
        phase = client.hget(keys.state, "phase")
        phase = phase.decode() if phase else None
        if phase == "running":
            break
        if time.monotonic() >= deadline:          # none started in time (a finished one does not count)
            click.echo(f"archiver worker: no crawl in progress under the prefix {prefix!r} of {redacted(redis_url)}"
                       + (f" (the last one is {phase})" if phase else ""), err=True)
            return 0
        time.sleep(0.2)
    config = crawl_config.read(client, keys)
    settings = crawl_config.process_settings(config, role="worker", redis_url=redis_url, keys=keys,
                                             worker=name or worker_name())
    settings.set("LOG_LEVEL", loglevel, priority="cmdline")
    if log_file:
        settings.set("LOG_FILE", log_file, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler("network")
    process.crawl(crawler)
    process.start()
    reason = crawler.stats.get_value("finish_reason")
    if reason != "finished":
        click.echo(f"archiver worker: stopped ({reason})", err=True)
        return 1
    return 0


def run_writer(redis_url: str, *, prefix: str, db: str, report: str | None, loglevel: str,
               log_file: str | None) -> int:
    """``archiver writer``: store the crawl's items into ``db`` until the crawl is over."""
    from scrapy.exceptions import CloseSpider
    from scrapy.utils.log import configure_logging

    from archiver import lock as archive_lock
    from archiver.distributed.writer import ArchiveWriter

    client = connect(redis_url)
    keys = Keys(prefix)
    config = crawl_config.read(client, keys)
    if config is None:
        raise RedisUnavailable(f"no crawl under the prefix {prefix!r} of {redacted(redis_url)}", 1)
    settings = crawl_config.process_settings(config, role="writer", redis_url=redis_url, keys=keys)
    settings.set("ARCHIVER_DB", db, priority="cmdline")
    settings.set("LOG_LEVEL", loglevel, priority="cmdline")
    if log_file:
        settings.set("LOG_FILE", log_file, priority="cmdline")
    configure_logging(settings)
    fd = os.environ.get("ARCHIVER_LOCK_FD")
    if fd:
        archive_lock.adopt(db, int(fd))
    writer = ArchiveWriter(client, keys, settings, db_path=db, report_path=report)
    import signal
    signal.signal(signal.SIGTERM, _interrupted)        # stopped: close the run with what is stored
    try:
        out = writer.run()
    except CloseSpider as e:
        raise RedisUnavailable(f"the writer cannot open the archive ({e.reason}): "
                               f"{writer.stats.get_value('archiver/refused')}", 75 if e.reason == "archive_locked" else 1)
    logger.info("run %s closed: %s", out["stats"].get("archiver/run_id"), (out.get("report") or {}).get("status"))
    return 0           # the run's health is the coordinator's exit status, not the writer's
