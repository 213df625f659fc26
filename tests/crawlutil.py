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
