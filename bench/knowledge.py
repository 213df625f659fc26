"""Redis memory and export time of what workers know of the archive (archiver/distributed/knowledge.py).

    .venv/bin/python bench/record.py bench/knowledge.py --sizes 100000,1000000

Builds an archive of N articles shaped like a crawled one (an article row, its primary sighting,
its validators; one in 10 fetched at another host name than its canonical URL, as chalco.com
pages are, with the validators on the fetched URL; one in 30 with a redirect alias; failures for
5 % more URLs), exports it into a private redis-server and prints Redis's ``used_memory`` growth
per article, ``MEMORY USAGE`` of each structure, the export's time and peak Python memory, and
the latency of ``known`` + ``last_checked`` as the crawl asks them.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archiver.db.schema import open_db  # noqa: E402
from archiver.distributed.keys import Keys  # noqa: E402
from archiver.distributed.knowledge import RedisKnowledge, export_knowledge, knowledge_keys  # noqa: E402
from tests.redisutil import start_redis  # noqa: E402

HOSTS = ["www.chalco.com.cn", "www.chinalco.com.cn", "lzly.chinalco.com.cn", "zlgj.chinalco.com.cn"]


def url_of(i: int, host: str | None = None) -> str:
    day = 1 + i % 28
    return f"https://{host or HOSTS[i % len(HOSTS)]}/xwdt/gsyw/2026{1 + i % 12:02d}/t2026{1 + i % 12:02d}{day:02d}_{100000 + i}.html"


def build(path: Path, n: int) -> None:
    db = open_db(path)
    db.execute("drop trigger if exists articles_fts_insert")      # the search index is not what is measured
    checked = "2026-12-07T01:36:31+00:00"
    with db.conn:
        for start in range(0, n, 10000):
            articles, sightings, validators, failures = [], [], [], []
            for i in range(start, min(n, start + 10000)):
                canonical = url_of(i)
                fetched = url_of(i, "www.chalco.com") if i % 10 == 0 else canonical
                published = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"
                articles.append((i + 1, canonical, fetched, "site", published, checked))
                sightings.append((i + 1, fetched, canonical, 1, checked, checked))
                if i % 30 == 0:
                    sightings.append((i + 1, canonical.replace("https://", "http://"), canonical, 0, checked, checked))
                validators.append((fetched, "article", f'"{i:08x}-1a2b"', "Wed, 15 Jul 2026 06:25:00 GMT", checked))
                if i % 20 == 0:
                    failures.append((url_of(n + i), "http", "HTTP 500", checked, checked, 1))
            db.conn.executemany("insert into articles (id, canonical_url, url, site, published_at, last_seen) "
                                "values (?, ?, ?, ?, ?, ?)",
                                articles)
            db.conn.executemany("insert into sightings (article_id, url, canonical_url, is_primary, first_seen, "
                                "last_seen) values (?, ?, ?, ?, ?, ?)", sightings)
            db.conn.executemany("insert into http_validators (url, kind, etag, last_modified, checked_at) "
                                "values (?, ?, ?, ?, ?)", validators)
            db.conn.executemany("insert into failures (url, kind, reason, first_failed_at, last_failed_at, attempts) "
                                "values (?, ?, ?, ?, ?, ?)", failures)
    db.close()


def measure(n: int, workdir: Path) -> None:
    path = workdir / f"archive-{n}.db"
    t0 = time.perf_counter()
    build(path, n)
    built = time.perf_counter() - t0
    server = start_redis()
    try:
        client = server.client()
        keys = Keys("bench")
        before = client.info("memory")["used_memory"]
        tracemalloc.start()
        t0 = time.perf_counter()
        counts = export_knowledge(path, client, keys)
        exported = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        used = client.info("memory")["used_memory"] - before
        by_key = {key.split(":", 1)[1]: client.memory_usage(key, samples=0) or 0 for key in knowledge_keys(keys)}
        knowledge, rng = RedisKnowledge(client, keys), random.Random(n)
        lat = []
        for _ in range(2000):
            i = rng.randrange(2 * n)
            t = time.perf_counter()
            if knowledge.known(url_of(i), url_of(i)) == "article":
                knowledge.last_checked(url_of(i), url_of(i))
            lat.append(time.perf_counter() - t)
        lat.sort()
        print(f"{n:>9,} articles: built in {built:.1f} s; export {exported:.1f} s "
              f"({n / exported:,.0f} articles/s), peak Python memory {peak / 2**20:.1f} MiB")
        print(f"           counts {counts}")
        print(f"           Redis used_memory +{used / 2**20:.1f} MiB = {used / n:.0f} bytes per article; "
              + ", ".join(f"{k} {v / 2**20:.2f} MiB" for k, v in by_key.items()))
        print(f"           known (+ last_checked when archived), one client on 127.0.0.1: "
              f"p50 {lat[len(lat) // 2] * 1e3:.2f} ms, p95 {lat[int(len(lat) * .95)] * 1e3:.2f} ms")
    finally:
        server.stop()
        for p in workdir.glob(f"archive-{n}.db*"):
            p.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated article counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-knowledge-") as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            measure(n, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
