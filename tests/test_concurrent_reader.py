"""Researchers read the archive while a crawl writes it: no reader ever sees "database is locked".

Real processes: a crawl (CLI subprocess) of a generated network into an archive, while
* Datasette serves the same file (a subprocess; pages, a table view and an SQL query, polled);
* a plain SQLite reader in this process queries it in a loop with a **1 s busy timeout**
  (`mode=ro`; Datasette's connections wait 5 s), from before the crawl opens the archive (schema
  migration, run row) until after it closes it (final checkpoint). SQLite itself holds an
  exclusive lock for a few milliseconds when the last connection closes (checkpoint and WAL
  removal) and while a connection recovers the WAL index on open; a reader with no timeout at all
  failed on those about once in seven runs, which no archive design can prevent and no real
  reader sees. Any lock a crawl held for longer (a long write transaction in rollback mode, an
  exclusive checkpoint) still fails this test.
"""
from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from archiver.db import Archive
from harness.replica.generated import GeneratedNetwork
from harness.replica.server import ReplicaServer

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
READER_TIMEOUT = 1.0        # seconds; Datasette's readers wait 5 s (see the module docstring)

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Reader(threading.Thread):
    QUERIES = ("select count(*) from articles", "select id, title, body from articles order by id desc limit 5",
               "select * from crawl_runs order by id desc limit 1", "select count(*) from failures",
               "select count(*) from raw_pages", "pragma schema_version")

    def __init__(self, db: Path):
        super().__init__(daemon=True)
        self.db, self.stop, self.errors, self.queries, self.max_articles = db, threading.Event(), [], 0, 0

    def run(self):
        while not self.stop.is_set():
            try:
                con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=READER_TIMEOUT)
                try:
                    for q in self.QUERIES:
                        row = con.execute(q).fetchall()
                        self.queries += 1
                        if q.startswith("select count(*) from articles"):
                            self.max_articles = max(self.max_articles, row[0][0])
                finally:
                    con.close()
            except sqlite3.OperationalError as e:
                self.errors.append(str(e))
            time.sleep(0.002)


class DatasettePoller(threading.Thread):
    PATHS = ("/archive/articles.json?_size=5&_sort_desc=id", "/archive.json?sql=select+count(*)+as+n+from+articles",
             "/archive/crawl_runs.json", "/archive")

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base, self.stop, self.errors, self.requests = base, threading.Event(), [], 0

    def run(self):
        while not self.stop.is_set():
            for path in self.PATHS:
                try:
                    with NO_PROXY.open(self.base + path, timeout=30) as r:
                        body = r.read().decode("utf-8", "replace")
                        self.requests += 1
                        if "locked" in body.lower():
                            self.errors.append(f"{path}: {body[:200]}")
                except urllib.error.HTTPError as e:
                    self.errors.append(f"{path}: HTTP {e.code} {e.read()[:300]!r}")
                except OSError as e:
                    self.errors.append(f"{path}: {e}")


def test_readers_never_see_database_is_locked_while_a_crawl_writes(tmp_path):
    db = tmp_path / "archive.db"
    Archive.open(db).close()          # Datasette serves an existing file; the crawl migrates it again on open
    server = ReplicaServer(None, resolver=GeneratedNetwork(900).resolve).start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    # Datasette as `datasette serve` runs it: every plugin of the environment loaded, so a plugin that
    # fails to import stops it and this test with it.
    ds = subprocess.Popen([sys.executable, "-m", "datasette", "serve", str(db), "-h", "127.0.0.1", "-p", str(port)],
                          cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    reader = Reader(db)
    poller = DatasettePoller(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                NO_PROXY.open(f"http://127.0.0.1:{port}/-/versions.json", timeout=5).read()
                break
            except OSError:
                if ds.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"datasette did not start: {ds.stderr.read().decode()[-2000:]}")
                time.sleep(0.2)
        # the project's plugin is loaded: its stylesheet route answers
        assert NO_PROXY.open(f"http://127.0.0.1:{port}/-/chinalco-archive.css", timeout=5).status == 200
        reader.start()
        poller.start()
        crawl = subprocess.run([sys.executable, "-m", "archiver.cli", "crawl", "--replica", f"url={server.proxy_url}",
                                "--db", str(db), "-q", "--full"], cwd=REPO, env=env, capture_output=True, text=True,
                               timeout=300)
        time.sleep(0.5)               # keep reading through the writer's close and final checkpoint
    finally:
        reader.stop.set()
        poller.stop.set()
        if reader.ident is not None:
            reader.join(10)
        if poller.ident is not None:
            poller.join(40)
        ds.terminate()
        ds.wait(10)
        server.stop()
    assert crawl.returncode == 0, crawl.stdout + crawl.stderr
    assert reader.errors == [] and poller.errors == []
    assert reader.queries > 100 and poller.requests > 20
    assert 0 < reader.max_articles                       # the readers saw the archive grow
    con = sqlite3.connect(db)
    assert reader.max_articles <= con.execute("select count(*) from articles").fetchone()[0]
    con.close()
