"""Running the real CLI crawl against a replica that runs in the test process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.replica.server import ReplicaServer

REPO = Path(__file__).resolve().parents[1]


def crawl(server: ReplicaServer, db: Path, *extra: str) -> dict:
    """``archiver crawl --replica url=...`` in a subprocess; the replica's request log of that run."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    server.clear_log()
    out = subprocess.run([sys.executable, "-m", "archiver.cli", "crawl", "--replica", f"url={server.proxy_url}",
                          "--db", str(db), *extra], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    return {"proc": out, "log": server.requests}


def crawl_own_replica(db: Path, *extra: str, fixtures: Path | None, state: str = "t1", resolver=None) -> dict:
    """``crawl`` against a replica of its own (``ReplicaServer(fixtures, state, resolver=...)``),
    stopped when the crawl has ended.

    Every request in the returned log was made by this crawl, and a response still in flight when
    it ended (a slow case whose client gave up) ends with that replica: it can never reach the log
    of another crawl, as it could through a log cleared between crawls on a shared replica."""
    with ReplicaServer(fixtures, state=state, resolver=resolver) as server:
        return crawl(server, db, *extra)
