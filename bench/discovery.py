#!/usr/bin/env python3
"""Discovery on a variant of the network the registry does not describe (tests/test_discovery_e2e.py):
requests and articles of a first crawl, of an unchanged re-crawl, and of a --registry-only crawl.

    .venv/bin/python bench/discovery.py
"""
from __future__ import annotations

import collections
import sqlite3
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.replica.server import ReplicaServer  # noqa: E402
from tests.crawlutil import crawl  # noqa: E402
from tests.test_discovery_e2e import FIXTURES, Variant, variant_registry  # noqa: E402


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="discovery-bench-"))
    registry = variant_registry(folder)
    server = ReplicaServer(FIXTURES, state="t1", resolver=Variant().resolve).start()
    try:
        runs = {"first crawl": crawl(server, folder / "a.db", "--registry", str(registry)),
                "unchanged re-crawl": crawl(server, folder / "a.db", "--registry", str(registry)),
                "--registry-only": crawl(server, folder / "r.db", "--registry", str(registry), "--registry-only")}
    finally:
        server.stop()
    first = None
    for name, run in runs.items():
        log = [x for x in run["log"] if not x[1].endswith("/robots.txt")]
        first = first or len(log)
        statuses = dict(sorted(collections.Counter(s for _, _, s in log).items()))
        print(f"{name:<20} {len(log):>4} requests ({len(log) / first:.0%} of the first), statuses {statuses}")
    for name, db in (("discovery", "a.db"), ("--registry-only", "r.db")):
        with sqlite3.connect(folder / db) as con:
            print(f"{name:<20} {con.execute('select count(*) from articles').fetchone()[0]} articles")
    print(next(line for line in runs["first crawl"]["proc"].stdout.splitlines() if "discovered" in line).strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
