"""Benchmark: what a recurring crawl costs, and how fast a full crawl runs (issue #6).

    .venv/bin/python bench/bench.py [--articles 10000] [--new 30] [--small 2500] [--json out.json]

One invocation, on one machine:

1. starts the replica in this process with a **generated network** of ``--articles`` articles
   (harness/replica/generated.py: fixture templates, generated text), and crawls it with the
   real CLI in a subprocess (``archiver crawl --replica url=...``): extraction, dedupe and storage on;
2. run **full** (``--full``) into a fresh archive, then **incremental with nothing changed**, then
   the replica publishes ``--new`` articles and **incremental** runs again;
3. counts every request from the replica's own log (list / article / robots, 200 / 304 / 404),
   and checks that the last run fetched (200) exactly the new articles at article level;
4. runs ``scrapy bench`` (outside the project, Scrapy's defaults) and compares pages/s;
5. measures peak RSS of each crawl process (``wait4``), plus a full and an unchanged incremental
   crawl of a ``--small`` network, to show whether memory grows with the archive.

Targets (issue #6): unchanged incremental <= 5 % of the full run's requests; the run after N new
articles fetches those N and nothing else at article level; full-crawl pages/s >= 0.8 x scrapy
bench; peak RSS not growing with the archive. Exit status 0 when every target is met.
"""
from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.replica.generated import ARTICLE_RE, GeneratedNetwork  # noqa: E402
from harness.replica.server import ReplicaServer  # noqa: E402


def kind_of(url: str) -> str:
    path = urlsplit(url).path
    if path == "/robots.txt":
        return "robots"
    if ARTICLE_RE.match(path):
        return "article"
    return "list"


def wait_rss(proc: subprocess.Popen) -> tuple[int, float]:
    """Wait for ``proc``; returns (exit status, peak RSS in MB) from wait4."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024


def crawl(server: ReplicaServer, db: Path, *extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    server.clear_log()
    cmd = [sys.executable, "-m", "archiver.cli", "crawl", "--replica", f"url={server.proxy_url}", "--db", str(db), "-q",
           "--loglevel", "ERROR", *extra]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    code, rss = wait_rss(proc)
    wall = time.monotonic() - t0
    err = proc.stderr.read().decode(errors="replace")
    log = server.requests
    counts = collections.Counter((kind_of(url), status) for _, url, status in log)
    con = sqlite3.connect(db)
    stats = json.loads(con.execute("select stats from crawl_runs order by id desc limit 1").fetchone()[0])
    con.close()
    responses = stats.get("downloader/response_count", 0)
    elapsed = stats.get("elapsed_time_seconds") or wall
    return {
        "exit": code, "stderr": err[-2000:], "wall_s": round(wall, 2), "crawl_s": round(elapsed, 2),
        "requests": len(log), "by_kind_status": {f"{k} {s}": n for (k, s), n in sorted(counts.items())},
        "article_200": sorted(url for _, url, status in log if status == 200 and kind_of(url) == "article"),
        "article_304": sum(1 for _, url, status in log if status == 304 and kind_of(url) == "article"),
        "list_200": sum(1 for _, url, status in log if status == 200 and kind_of(url) == "list"),
        "list_304": sum(1 for _, url, status in log if status == 304 and kind_of(url) == "list"),
        "pages_per_s": round(responses / elapsed, 1) if elapsed else None,
        "peak_rss_mb": round(rss, 1),
        "articles_new": stats.get("archiver/articles/new", 0),
        "health": stats.get("archiver/health"),
    }


def scrapy_bench() -> dict:
    """``scrapy bench`` with Scrapy's defaults (run outside the project, like a fresh install)."""
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE" and "proxy" not in k.lower()}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "scrapy", "bench", "-s", "REMOTE_CONTROL_ENABLED=False",
                                 "-s", "TELNETCONSOLE_ENABLED=False"], cwd=tmp, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        code, rss = wait_rss(proc)
        wall = time.monotonic() - t0
        log = proc.stderr.read().decode(errors="replace")
    m = re.search(r"Dumping Scrapy stats:\s*(\{.*?\})\s*\n\d{4}-", log, re.S)
    if not m:
        raise RuntimeError(f"scrapy bench printed no stats (exit {code}):\n{log[-3000:]}")
    text = re.sub(r"datetime\.datetime\([^)]*\)", "None", m.group(1))
    stats = ast.literal_eval(text)
    return {"exit": code, "wall_s": round(wall, 2), "responses": stats["response_received_count"],
            "crawl_s": round(stats["elapsed_time_seconds"], 2),
            "pages_per_s": round(stats["response_received_count"] / stats["elapsed_time_seconds"], 1),
            "peak_rss_mb": round(rss, 1)}


def row(name: str, r: dict) -> str:
    return (f"{name:<34} {r['requests']:>7} {r['list_200']:>6} {r['list_304']:>6} {len(r['article_200']):>7} "
            f"{r['article_304']:>6} {r['wall_s']:>7.1f} {r['pages_per_s'] or 0:>7.1f} {r['peak_rss_mb']:>7.1f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=10000)
    ap.add_argument("--new", type=int, default=30)
    ap.add_argument("--small", type=int, default=2500, help="size of the smaller network for the RSS comparison")
    ap.add_argument("--skip-scrapy-bench", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)

    results: dict = {"articles": args.articles, "new": args.new, "small": args.small, "cpus": os.cpu_count()}
    if not args.skip_scrapy_bench:
        results["scrapy_bench_before"] = scrapy_bench()
    with tempfile.TemporaryDirectory(prefix="archiver-bench-") as tmp:
        tmp = Path(tmp)
        base = GeneratedNetwork(args.articles)
        grown = GeneratedNetwork(args.articles, new=args.new)
        server = ReplicaServer(None, resolver=base.resolve).start()
        try:
            db = tmp / "archive.db"
            results["full"] = crawl(server, db, "--full")
            results["incremental_unchanged"] = crawl(server, db)
            server.resolver = grown.resolve                     # the network publishes N articles
            results["incremental_new"] = crawl(server, db)
            small = GeneratedNetwork(args.small)
            server.resolver = small.resolve
            sdb = tmp / "small.db"
            results["small_full"] = crawl(server, sdb, "--full")
            results["small_incremental_unchanged"] = crawl(server, sdb)
        finally:
            server.stop()
        results["archive_mb"] = round((tmp / "archive.db").stat().st_size / 2**20, 1)
        new_urls = sorted(grown.new_article_urls())
    if not args.skip_scrapy_bench:
        # Run before and after the crawls (the machine may be shared with other work):
        # the faster of two runs is the reference, which can only make our ratio look worse.
        runs = [results.pop("scrapy_bench_before"), scrapy_bench()]
        results["scrapy_bench_runs"] = runs
        results["scrapy_bench"] = max(runs, key=lambda r: r["pages_per_s"])

    full, unchanged, new = results["full"], results["incremental_unchanged"], results["incremental_new"]
    print(f"generated network: {args.articles} articles (+{args.new} new for the last run), "
          f"{base.total} reachable; archive {results['archive_mb']} MB; {os.cpu_count()} CPUs")
    print(f"{'run':<34} {'reqs':>7} {'list':>6} {'l304':>6} {'art200':>7} {'a304':>6} {'wall s':>7} "
          f"{'pages/s':>7} {'RSS MB':>7}")
    for name in ("full", "incremental_unchanged", "incremental_new", "small_full", "small_incremental_unchanged"):
        print(row(name.replace("_", " ") + (f" ({args.small})" if name.startswith("small") else ""), results[name]))
    checks = {}
    ratio = unchanged["requests"] / full["requests"]
    checks["unchanged incremental <= 5% of full requests"] = (ratio <= 0.05, f"{ratio:.2%}")
    # Every archived row was checked moments ago (still fresh: ARCHIVER_REVALIDATE = "due"), so
    # the only article-level requests are the new articles.
    exact = new["article_200"] == new_urls and new["article_304"] == 0
    checks[f"after {args.new} new: article-level requests are exactly those {args.new}"] = (
        exact, f"{len(new['article_200'])} fetched (200), {new['article_304']} revalidated (304), "
               f"new stored {new['articles_new']}")
    ratio_new = new["requests"] / full["requests"]
    print(f"ratios: unchanged/full requests {ratio:.2%}; new/full requests {ratio_new:.2%}; "
          f"wall unchanged/full {unchanged['wall_s'] / full['wall_s']:.2%}")
    if "scrapy_bench" in results:
        sb = results["scrapy_bench"]
        tput = full["pages_per_s"] / sb["pages_per_s"]
        print(f"scrapy bench: {sb['responses']} pages in {sb['crawl_s']} s = {sb['pages_per_s']} pages/s, "
              f"peak RSS {sb['peak_rss_mb']} MB (faster of "
              f"{', '.join(str(r['pages_per_s']) for r in results['scrapy_bench_runs'])} pages/s)")
        print(f"full crawl:   {full['pages_per_s']} pages/s with extraction, dedupe and storage = "
              f"{tput:.2f}x scrapy bench")
        checks["full crawl >= 0.8x scrapy bench pages/s"] = (tput >= 0.8, f"{tput:.2f}x")
    growth = full["peak_rss_mb"] / results["small_full"]["peak_rss_mb"]
    inc_growth = unchanged["peak_rss_mb"] / results["small_incremental_unchanged"]["peak_rss_mb"]
    print(f"peak RSS: full crawl {results['small_full']['peak_rss_mb']} MB ({args.small}) -> "
          f"{full['peak_rss_mb']} MB ({args.articles}) = x{growth:.2f}; incremental over the archive "
          f"{results['small_incremental_unchanged']['peak_rss_mb']} MB -> {unchanged['peak_rss_mb']} MB = x{inc_growth:.2f}")
    checks["peak RSS does not grow with the archive (incremental, x<=1.1)"] = (inc_growth <= 1.1, f"x{inc_growth:.2f}")
    for name, r in results.items():
        if isinstance(r, dict) and r.get("exit") not in (0, None):
            checks[f"{name} exit status 0"] = (False, f"exit {r['exit']}: {r.get('stderr', '')[-300:]}")
    ok = True
    for name, (passed, detail) in checks.items():
        ok &= passed
        print(f"  [{'ok' if passed else 'FAIL'}] {name}: {detail}")
    results["checks"] = {k: {"ok": v[0], "detail": v[1]} for k, v in checks.items()}
    if args.json:
        for r in results.values():
            if isinstance(r, dict):
                r.pop("article_200", None)
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
