"""Crash safety: a crawl killed with SIGKILL leaves a sound archive, and the next run resumes it
to the same archive as an uninterrupted crawl.

Real processes: the replica (a generated network of a few hundred articles, some of which answer
500) runs in this process; each crawl is the CLI in a subprocess, killed with SIGKILL once the
archive holds a given number of articles. A gate in front of the replica serves exactly that many
article pages and then holds every further article request until the test releases it, so the
crawl cannot finish before the kill, however slow or fast the machine is.

"The same archive" is defined as equality of
* ``articles``: per canonical URL, the fields a reader sees (title, source, author, published_at,
  body, body_html) and the content hash;
* ``failures``: the set of (url, kind, retryable, open or resolved);
* ``link_entries``: the set of URLs;
and not of timestamps, run ids, attempt counters or the number of crawl runs.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archiver.db.crawlstate import integrity_ok
from harness.replica.generated import ARTICLE_RE, GeneratedNetwork
from harness.replica.server import ReplicaServer

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
NETWORK = {"articles": 450, "faults": 41, "per_page": 5}     # 6 list pages per channel


def crawl_cmd(server: ReplicaServer, db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "archiver.cli", "crawl", "--replica", f"url={server.proxy_url}", "--db", str(db), "-q",
            *extra]


def env() -> dict:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def snapshot(db: Path) -> dict:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        articles = {r[0]: r[1:] for r in con.execute(
            "select canonical_url, title, source, author, published_at, body, body_html, content_hash from articles")}
        failures = set(con.execute("select url, kind, retryable, resolved_at is null from failures"))
        links = {r[0] for r in con.execute("select url from link_entries")}
    finally:
        con.close()
    return {"articles": articles, "failures": failures, "link_entries": links}


def archived_urls(db: Path) -> set[str]:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return {r[0] for r in con.execute("select canonical_url from articles")}
        finally:
            con.close()
    except sqlite3.OperationalError:          # not created yet
        return set()


class ArticleGate:
    """A resolver in front of another: open by default; ``close_after(n)`` lets the next ``n``
    article pages (200) through and holds every later article request until ``release()``."""

    def __init__(self, resolve):
        self.resolve = resolve
        self.lock = threading.Lock()
        self.allow: int | None = None
        self.served = 0
        self.opened = threading.Event()
        self.opened.set()
        self.holding = threading.Event()           # set once a request is held

    def close_after(self, n: int) -> None:
        with self.lock:
            self.allow, self.served = n, 0
            self.opened.clear()
            self.holding.clear()

    def release(self) -> None:
        with self.lock:
            self.allow = None
            self.opened.set()

    def __call__(self, url: str):
        case = self.resolve(url)
        if case is None or case.status != 200 or not ARTICLE_RE.match(urlsplit(url).path):
            return case
        with self.lock:
            if self.allow is None or self.served < self.allow:
                self.served += 1
                return case
        self.holding.set()
        self.opened.wait()
        return case


@pytest.fixture(scope="module")
def gate():
    g = ArticleGate(GeneratedNetwork(**NETWORK).resolve)
    yield g
    g.release()


@pytest.fixture(scope="module")
def server(gate):
    srv = ReplicaServer(None, resolver=gate).start()
    yield srv
    gate.release()
    srv.stop()


@pytest.fixture(scope="module")
def uninterrupted(server, tmp_path_factory):
    db = tmp_path_factory.mktemp("uninterrupted") / "archive.db"
    out = subprocess.run(crawl_cmd(server, db), env=env(), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    snap = snapshot(db)
    assert len(snap["articles"]) > 400 and snap["failures"]          # the faults are failures
    return snap


@pytest.mark.parametrize("kill_at", [1, 150, 380], ids=["after-first-article", "early", "late"])
def test_a_killed_crawl_resumes_to_the_same_archive(server, gate, uninterrupted, tmp_path, kill_at):
    db = tmp_path / "archive.db"
    gate.close_after(kill_at)
    # Held requests must not time out (the replica's 4 s) while the test waits for the commit.
    proc = subprocess.Popen(crawl_cmd(server, db, "-s", "DOWNLOAD_TIMEOUT=600"), env=env(), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # The crawl got its kill_at article pages and waits at the gate; wait for their commit
        # (the store step's timer commits an idle batch within ARCHIVER_COMMIT_INTERVAL).
        assert gate.holding.wait(timeout=180), "the crawl never reached the gate"
        seen: set[str] = set()
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            seen = archived_urls(db)
            if len(seen) >= kill_at:
                break
            time.sleep(0.05)
        assert len(seen) >= kill_at, f"only {len(seen)} of {kill_at} articles committed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        gate.release()
    assert proc.returncode == -signal.SIGKILL, "the crawl ended before it could be killed"

    # The killed run left an archive that opens, is sound, and keeps every committed article.
    assert integrity_ok(db)
    after_kill = snapshot(db)
    assert seen <= set(after_kill["articles"])
    assert len(after_kill["articles"]) < len(uninterrupted["articles"])      # it really was mid-run
    con = sqlite3.connect(db)
    assert con.execute("select status from crawl_runs order by id desc limit 1").fetchone()[0] == "running"
    con.close()

    # The next run (what the timer starts next) resumes.
    resumed = subprocess.run(crawl_cmd(server, db), env=env(), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert snapshot(db) == uninterrupted
    con = sqlite3.connect(db)
    assert [r[0] for r in con.execute("select status from crawl_runs order by id")] == ["interrupted", "ok"]
    con.close()
    assert integrity_ok(db)
