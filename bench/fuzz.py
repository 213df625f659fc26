#!/usr/bin/env python3
"""The long fuzz run: thousands of hostile variants of the fixture pages (bench/fuzz_cases.py),
each extracted once; prints exceptions, the slowest cases, and the time per page at ~300 KB
against the time of the unmodified fixture pages measured in the same run.

    .venv/bin/python bench/fuzz.py                 # 2,400 cases, seed 11
    .venv/bin/python bench/fuzz.py --cases 600 --seed 3

Target (issue #11): no exception, slowest page < 0.5 s at 300 KB. Exits 1 when a case raises.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archiver.extract import extract_bytes  # noqa: E402
from bench import fuzz_cases as fc  # noqa: E402
from tests.fixture_cases import all_cases  # noqa: E402


def timed(url: str, body: bytes, headers: dict) -> tuple[float, str | None, str]:
    started = time.perf_counter()
    try:
        r = extract_bytes(url, body, headers)
        return time.perf_counter() - started, None, r.page_type
    except Exception as e:           # reported below
        return time.perf_counter() - started, f"{type(e).__name__}: {e}"[:200], "exception"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=2400)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)

    pages = [(c.url, c.body, c.headers) for c in all_cases()
             if c.status == 200 and c.body and c.page_type in ("article", "list")]
    baseline = [timed(*p)[0] for p in pages]
    base_ms = statistics.median(baseline) * 1000
    print(f"baseline: {len(pages)} unmodified fixture pages, median {base_ms:.1f} ms, "
          f"max {max(baseline) * 1000:.1f} ms")

    rows = []
    for name, url, body, headers in fc.cases(pages, args.cases, seed=args.seed):
        seconds, error, page_type = timed(url, body, headers)
        rows.append((seconds, name, url, len(body), page_type, error))
    errors = [r for r in rows if r[5]]
    by_family = defaultdict(list)
    for r in rows:
        by_family[r[1]].append(r)
    print(f"\n{len(rows)} hostile pages (seed {args.seed}); per mutation family:")
    print(f"{'family':<16} {'pages':>5} {'median ms':>10} {'max ms':>8} {'max KB':>7}  x baseline (max)")
    for name in sorted(by_family):
        rs = by_family[name]
        worst = max(rs)
        print(f"{name:<16} {len(rs):>5} {statistics.median(r[0] for r in rs) * 1000:>10.1f} "
              f"{worst[0] * 1000:>8.1f} {worst[3] // 1024:>7}  {worst[0] * 1000 / base_ms:>8.1f}")
    print("\nslowest 10:")
    for seconds, name, url, size, page_type, _ in sorted(rows, reverse=True)[:10]:
        print(f"  {seconds * 1000:8.1f} ms  {size // 1024:>5} KB  {name:<15} {page_type:<10} {url}")
    big = [r for r in rows if 250_000 <= r[3] <= 400_000]
    if big:
        print(f"\npages of 250-400 KB: {len(big)}, slowest {max(big)[0] * 1000:.0f} ms "
              f"({'meets' if max(big)[0] < 0.5 else 'misses'} the 0.5 s target)")
    print(f"\nexceptions: {len(errors)}")
    for _, name, url, _, _, error in errors[:20]:
        print(f"  {name}: {url}: {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
