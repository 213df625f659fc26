"""A crawl on a shared Redis frontier gives the archive one process gives, and loses nothing when
any one of its processes dies (issue #14).

Every test crawls a generated replica network (harness/replica/generated.py) through the real
CLI (``archiver crawl --redis … --workers K``), with a private Debian ``redis-server`` on
127.0.0.1, and compares the archive with the one a one-process crawl of the same network wrote:
the URLs archived (sightings) with their bodies, the articles' bodies and titles, the failures.
"""
from __future__ import annotations

import collections
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.replica.generated import GeneratedNetwork
from harness.replica.server import ReplicaServer
from tests.redisutil import redis_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
ARTICLES = 300
# A killed worker is noticed after 3 s; where nothing is killed, a worker slowed down by the
# shared CPUs is never taken for dead (which would fetch what it holds a second time).
FAST = ["-s", "ARCHIVER_REDIS_HEARTBEAT=0.5"]
KILLS = [*FAST, "-s", "ARCHIVER_REDIS_WORKER_TIMEOUT=3"]
CALM = [*FAST, "-s", "ARCHIVER_REDIS_WORKER_TIMEOUT=60"]


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def network_server(**kw) -> ReplicaServer:
    return ReplicaServer(None, resolver=GeneratedNetwork(articles=ARTICLES, **kw).resolve)


def one_process_crawl(server: ReplicaServer, db: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archiver.cli", "crawl", "--replica", f"url={server.proxy_url}",
                           "--db", str(db), "-q", *extra], cwd=REPO, env=_env(), capture_output=True, text=True,
                          timeout=300)


def distributed_crawl(server: ReplicaServer, redis_url: str, db: Path, *extra: str, workers: int = 3,
                      wait: bool = True):
    args = [sys.executable, "-m", "archiver.cli", "crawl", "--redis", redis_url, "--workers", str(workers),
            "--replica", f"url={server.proxy_url}", "--db", str(db), *extra]
    proc = subprocess.Popen(args, cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not wait:
        return proc
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def crawl_and_meanwhile(server: ReplicaServer, redis_url: str, db: Path, settings: list[str], action,
                        at: int = ARTICLES // 5) -> subprocess.CompletedProcess:
    """A distributed --full crawl; once ``at`` articles are archived, ``action(coordinator)``."""
    proc = distributed_crawl(server, redis_url, db, "--full", *settings, wait=False)
    try:
        wait_for(lambda: count(db, "select count(*) from articles") >= at, what="the first articles")
        action(proc)
    finally:
        done = finish(proc)
    return done


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def snapshot(db: Path) -> dict:
    """What must be equal, independent of the order pages arrived in."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            "sightings": dict(conn.execute("select url, content_hash from sightings")),
            "articles": collections.Counter(conn.execute("select content_hash, title from articles")),
            "failures": set(conn.execute("select url, kind from failures where resolved_at is null")),
        }
    finally:
        conn.close()


def count(db: Path, sql: str) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute(sql).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def last_run(db: Path) -> dict:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("select * from crawl_runs order by id desc limit 1").fetchone())
    finally:
        conn.close()


def children(parent: int, role: str) -> list[int]:
    """Pids of ``archiver <role>`` processes started by ``parent``."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and role.encode() in cmd:
            out.append(int(entry.name))
    return out


def gone(pid: int) -> bool:
    """The process has exited (a zombie no one reaped counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_for(predicate, timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def holding_requests(client, pid: int, name_end: str) -> int:
    """Freeze worker ``pid`` at a moment it holds requests; returns how many (it stays frozen)."""
    for _ in range(200):
        os.kill(pid, signal.SIGSTOP)
        time.sleep(0.05)
        held = sum(client.hlen(k) for k in client.scan_iter(match=f"archiver:inflight:*{name_end}"))
        if held:
            return held
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.05)
    pytest.fail("the worker never held a request")


def fetched_twice(log) -> dict[str, int]:
    """URLs the crawl asked for more than once (robots.txt aside: each worker reads it)."""
    c = collections.Counter(url for method, url, _ in log if method == "GET" and not url.endswith("/robots.txt"))
    return {u: n for u, n in c.items() if n > 1}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    db = tmp_path_factory.mktemp("reference") / "one.db"
    with network_server() as server:
        done = one_process_crawl(server, db, "--full")
    assert done.returncode == 0, done.stderr[-2000:]
    snap = snapshot(db)
    assert len(snap["sightings"]) >= ARTICLES
    return snap


def test_three_workers_give_the_archive_one_process_gives(reference, redis_server, tmp_path):
    db = tmp_path / "three.db"
    with network_server() as server:
        done = distributed_crawl(server, redis_server.url, db, "--full", *CALM)
        log = server.requests
    assert done.returncode == 0, done.stderr[-3000:]
    assert "status ok" in done.stdout
    assert snapshot(db) == reference
    assert fetched_twice(log) == {}, "a URL was fetched twice without a retry"
    run = last_run(db)
    assert run["status"] == "ok" and run["finish_reason"] == "finished"
    assert run["articles_new"] == len(reference["articles"])
    assert count(db, "select count(*) from stream_applied") == 0      # cleared with the run


def test_retries_are_the_only_urls_fetched_more_than_once(redis_server, tmp_path):
    """A network whose every 7th article answers 500: each is asked 1 + RETRY_TIMES times (the
    replica's settings), by whichever workers, exactly as one process asks it; every other URL once."""
    with network_server(faults=7) as server:
        alone = one_process_crawl(server, tmp_path / "one.db", "--full")
        once = collections.Counter(u for m, u, _ in server.requests if not u.endswith("/robots.txt"))
        server.clear_log()
        spread = distributed_crawl(server, redis_server.url, tmp_path / "three.db", "--full", *CALM)
        many = collections.Counter(u for m, u, _ in server.requests if not u.endswith("/robots.txt"))
    assert alone.returncode == spread.returncode
    retried = {u for u, n in once.items() if n > 1}
    assert retried and len({once[u] for u in retried}) == 1            # 1 + RETRY_TIMES each
    assert many == once
    assert snapshot(tmp_path / "three.db") == snapshot(tmp_path / "one.db")


def test_a_worker_killed_mid_crawl_loses_nothing(reference, redis_server, tmp_path):
    db = tmp_path / "killed-worker.db"
    held = []

    def kill_a_worker_holding_requests(proc):
        victim = next(pid for pid in children(proc.pid, "worker")
                      if f"-{proc.pid}-w0".encode() in Path(f"/proc/{pid}/cmdline").read_bytes())
        held.append(holding_requests(redis_server.client(), victim, f"-{proc.pid}-w0"))
        os.kill(victim, signal.SIGKILL)

    with network_server() as server:
        done = crawl_and_meanwhile(server, redis_server.url, db, KILLS, kill_a_worker_holding_requests)
        log = server.requests
    assert done.returncode == 0, done.stderr[-3000:]
    # the requests the dead worker held went back to the queue, and were fetched by the others
    put_back = [int(n) for n in re.findall(r"(\d+) request\(s\) it held are queued again", done.stderr)]
    assert held[0] in put_back
    assert snapshot(db) == reference
    # Only what the killed worker held can have been fetched twice.
    assert len(fetched_twice(log)) <= sum(put_back)


def test_the_writer_killed_and_restarted_loses_and_duplicates_nothing(reference, redis_server, tmp_path):
    db = tmp_path / "killed-writer.db"
    def kill_the_writer(proc):
        writers = children(proc.pid, "writer")
        assert len(writers) == 1
        os.kill(writers[0], signal.SIGKILL)

    with network_server() as server:
        done = crawl_and_meanwhile(server, redis_server.url, db, CALM, kill_the_writer, at=ARTICLES // 4)
        log = server.requests
    assert done.returncode == 0, done.stderr[-3000:]
    assert fetched_twice(log) == {}                 # the writer's death costs no fetch
    assert "archive writer stopped" in done.stderr and "starting it again" in done.stderr
    assert snapshot(db) == reference
    run = last_run(db)
    assert run["status"] == "ok"
    # Every article counted once as new: nothing stored twice, nothing counted twice.
    assert run["articles_new"] == len(reference["articles"])
    assert count(db, "select count(*) from crawl_runs") == 1


def test_redis_unreachable_at_start_is_one_clear_line(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]                   # nothing listens here
    db = tmp_path / "never.db"
    done = subprocess.run([sys.executable, "-m", "archiver.cli", "crawl", "--redis", f"redis://127.0.0.1:{port}/0",
                           "--db", str(db)], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 69
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be reached" in lines[0] and "Traceback" not in done.stderr
    assert not db.exists()                          # nothing was touched


def test_redis_lost_mid_crawl_ends_unhealthy_with_a_consistent_archive(reference, redis_server, tmp_path):
    db = tmp_path / "redis-lost.db"
    with network_server() as server:
        done = crawl_and_meanwhile(server, redis_server.url, db, KILLS, lambda proc: redis_server.kill())
        assert done.returncode == 1, done.stderr[-3000:]
        run = last_run(db)
        assert run["status"] != "ok" and run["finish_reason"] == "redis_lost"
        assert count(db, "select count(*) from crawl_runs where status = 'running'") == 0
        conn = sqlite3.connect(db)
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        conn.close()
        # The next (one-process) run finds the archive consistent and completes it.
        again = one_process_crawl(server, db)
    assert again.returncode == 0, again.stderr[-2000:]
    assert snapshot(db) == reference


def test_an_unchanged_distributed_recrawl_costs_under_five_percent(redis_server, tmp_path):
    db = tmp_path / "recrawl.db"
    with network_server() as server:
        first = distributed_crawl(server, redis_server.url, db, "--full", *CALM)
        full = len([r for r in server.requests if not r[1].endswith("/robots.txt")])
        copy = tmp_path / "copy.db"
        with sqlite3.connect(db) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)
        server.clear_log()
        again = distributed_crawl(server, redis_server.url, db, *CALM)
        asked = {url for _, url, _ in server.requests if not url.endswith("/robots.txt")}
        recrawl = len([r for r in server.requests if not r[1].endswith("/robots.txt")])
        server.clear_log()
        alone = one_process_crawl(server, copy)           # the same archive, the same questions, one process
        asked_alone = {url for _, url, _ in server.requests if not url.endswith("/robots.txt")}
    assert first.returncode == 0 and again.returncode == 0 and alone.returncode == 0, again.stderr[-3000:]
    assert recrawl <= 0.05 * full, f"{recrawl} requests for an unchanged network, {full} for the full crawl"
    # ... and it asked what one process asks: every channel again (a conditional request), nothing
    # swallowed by the first crawl's dupefilter, nothing more
    assert asked == asked_alone and len(asked) > 0
    run = last_run(db)
    assert run["status"] == "ok" and run["list_pages_revalidated"] > 0


def test_a_second_crawl_on_the_same_prefix_is_refused(redis_server, tmp_path):
    client = redis_server.client()
    client.hset("archiver:state", mapping={"phase": "running", "beat": f"{time.time():.3f}",
                                           "coordinator": "elsewhere pid 1", "db": "/srv/other.db"})
    done = subprocess.run([sys.executable, "-m", "archiver.cli", "crawl", "--redis", redis_server.url,
                           "--db", str(tmp_path / "a.db")], cwd=REPO, env=_env(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 75
    assert "already running" in done.stderr and "elsewhere pid 1" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert client.hget("archiver:state", "coordinator") == b"elsewhere pid 1"      # untouched


def test_the_coordinator_killed_leaves_workers_and_writer_to_close_the_run(reference, redis_server, tmp_path):
    db = tmp_path / "killed-coordinator.db"
    with network_server() as server:
        orphans = []

        def kill_the_coordinator(proc):
            orphans.extend(children(proc.pid, "worker") + children(proc.pid, "writer"))
            assert len(orphans) == 4
            os.kill(proc.pid, signal.SIGKILL)

        crawl_and_meanwhile(server, redis_server.url, db, CALM, kill_the_coordinator)
        wait_for(lambda: all(gone(pid) for pid in orphans), what="the workers and the writer to finish")
    run = last_run(db)
    assert run["status"] == "ok" and run["finish_reason"] == "finished"
    assert snapshot(db) == reference


def worker(redis_url: str, name: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "archiver.cli", "worker", "--redis", redis_url, "--name", name,
                             *extra], cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_workers_started_elsewhere_join_the_crawl_and_leave_when_it_is_over(reference, redis_server, tmp_path):
    """`--workers 0`: the coordinator only seeds, writes and waits; `archiver worker --redis URL` on
    "other machines" (here: other processes that know nothing but the URL) does the crawling."""
    db = tmp_path / "joined.db"
    with network_server() as server:
        joiners = [worker(redis_server.url, f"elsewhere-{i}") for i in range(2)]   # before the crawl: they wait
        done = distributed_crawl(server, redis_server.url, db, "--full", *CALM, workers=0)
        codes = [j.wait(120) for j in joiners]
    assert done.returncode == 0, done.stderr[-3000:]
    assert codes == [0, 0], [j.stderr.read()[-2000:] for j in joiners]
    assert snapshot(db) == reference


def test_a_worker_with_no_crawl_to_join_says_so_and_exits(redis_server):
    w = worker(redis_server.url, "lonely", "--wait", "1")
    out, err = w.communicate(timeout=60)
    assert w.returncode == 0
    assert "no crawl in progress" in err and "Traceback" not in err


def test_a_stopped_crawl_closes_its_run_like_one_process(reference, redis_server, tmp_path):
    """SIGTERM to the coordinator (systemd stop, Ctrl-C): the workers hand back their requests, the
    writer stores what reached it and closes the run `shutdown`; the next run completes the archive."""
    db = tmp_path / "stopped.db"
    with network_server() as server:
        helpers = []

        def stop_the_coordinator(proc):
            helpers.extend(children(proc.pid, "worker") + children(proc.pid, "writer"))
            proc.send_signal(signal.SIGTERM)

        done = crawl_and_meanwhile(server, redis_server.url, db, CALM, stop_the_coordinator)
        assert done.returncode == 1, done.stderr[-3000:]
        assert "status" in done.stdout                   # the usual summary
        assert all(gone(pid) for pid in helpers)
        run = last_run(db)
        assert run["finish_reason"] == "shutdown" and run["status"] != "ok"
        again = one_process_crawl(server, db)
    assert again.returncode == 0, again.stderr[-2000:]
    assert snapshot(db) == reference


def test_what_a_dead_crawl_left_in_the_stream_is_stored_before_the_next_crawl(redis_server, tmp_path):
    """The coordinator and the writer of the last crawl died with items in the stream: the next
    `crawl --redis` stores them and closes that run (coordinator_lost) before it starts its own."""
    from archiver.clock import utc_now
    from archiver.db import Archive
    from archiver.distributed import config, stream
    from archiver.distributed.keys import Keys
    from archiver.items import Failure, LinkEntry

    db = tmp_path / "left.db"
    archive = Archive.open(db)
    run_id = archive.start_run(started_at=utc_now(), mode="full", sites=[])
    archive.close()
    client, keys = redis_server.client(), Keys()
    config.publish(client, keys, config.crawl_config({"ARCHIVER_DB": str(db), "ARCHIVER_MODE": "full"},
                                                     redis_url=redis_server.url))
    client.hset(keys.state, mapping={"phase": "running", "beat": f"{time.time() - 3600:.3f}", "run_id": run_id,
                                     "db": os.path.realpath(db)})
    stream.ensure_group(client, keys)
    left = [Failure(f"https://www.chalco.com.cn/xwdt/gsyw/202601/t20260101_{i}.html", "http", "HTTP 500", 500,
                    site="chalco_com_cn") for i in range(4)]
    left.append(LinkEntry("https://mp.weixin.qq.com/s/left", "wechat", "左", "https://www.chalco.com.cn/", None,
                          "chalco_com_cn", None))
    for item in left:
        client.xadd(keys.items, stream.encode(item))
    with network_server() as server:
        done = distributed_crawl(server, redis_server.url, db, "--full", *CALM)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "unfinished crawl of run" in done.stderr
    conn = sqlite3.connect(db)
    runs = conn.execute("select id, finish_reason from crawl_runs order by id").fetchall()
    assert runs[0] == (run_id, "coordinator_lost") and runs[1][1] == "finished"
    assert conn.execute("select count(*) from failures where url like '%t20260101_%'").fetchone()[0] == 4
    assert conn.execute("select count(*) from link_entries where url = 'https://mp.weixin.qq.com/s/left'"
                        ).fetchone()[0] == 1
    conn.close()


def test_discovery_beyond_the_registry_gives_what_one_process_finds(redis_server, tmp_path):
    """The network variant of tests/test_discovery_e2e.py (a channel and a member site the registry
    lacks, a runaway pager): three workers share discovery's decisions and the walks, and find,
    record and bound exactly what one process does."""
    from tests.fixture_cases import FIXTURES
    from tests.test_discovery_e2e import RUNAWAY, RUNAWAY_ARTICLES, Variant, variant_registry

    registry = variant_registry(tmp_path)

    def found(db: Path) -> dict:
        conn = sqlite3.connect(db)
        try:
            # how a channel was first found (and on which page) depends on which page was read
            # first, in one process as in many: not compared
            return {"channels": set(conn.execute("select site, channel, in_registry, status from network_channels")),
                    "sites": set(conn.execute("select site, in_registry, status from network_sites")),
                    "archive": snapshot(db)}
        finally:
            conn.close()

    logs = {}
    for name in ("one", "three"):
        with ReplicaServer(FIXTURES, state="t1", resolver=Variant().resolve) as server:
            if name == "one":
                done = one_process_crawl(server, tmp_path / "one.db", "--registry", str(registry))
            else:
                done = distributed_crawl(server, redis_server.url, tmp_path / "three.db", "--registry", str(registry),
                                         *CALM)
            logs[name] = server.requests
        assert done.returncode == 0, done.stderr[-3000:]
    one, three = found(tmp_path / "one.db"), found(tmp_path / "three.db")
    assert three == one
    assert ("zlrm_chinalco_com_cn", 0, "ok") in three["sites"]
    runaway = [u for _, u, _ in logs["three"] if u.startswith(RUNAWAY) and u not in RUNAWAY_ARTICLES]
    assert len(runaway) <= 3                         # the runaway pager still costs one extra page
    assert "promised 10000 pages" in last_run(tmp_path / "three.db")["problems"]
