"""Benchmark of Chinese search: index size, build time, query latency, recall and precision.

    .venv/bin/python bench/search.py                       # 10k, 100k and 1M articles, both corpora
    .venv/bin/python bench/search.py --sizes 10000 --corpus evaldata --json out.json
    .venv/bin/python bench/search.py --sizes 1000000 --dir /work/tmp/b --build-only   # build now,
    .venv/bin/python bench/search.py --sizes 1000000 --dir /work/tmp/b --reuse        # measure later

For each size it builds an archive of synthetic articles through the project's own schema
(migrations) and index builder (``search_index.rebuild``, what ``archiver reindex`` runs), then:

* index size (FTS5 tables, from dbstat) against the UTF-8 bytes of the text it indexes;
* build time of the index (shadow text + FTS5 inserts + optimize), and the cost of keeping it in
  step: ``Archive.upsert_article`` of 200 new articles into the built archive;
* latency of the shipped canned ``search`` query (headline hits first among the newest 5,000
  matches, excerpt), limited to the top 20, for 1-, 2-, 3-, 4+-character, mixed and multi-word
  queries: p50/p95 over the queries of a class (each query: median of 3 runs);
* latency of what Datasette's table search box runs with the plugin (``?_search=``: the match as an
  ``id in (...)`` filter, sorted by published_at, first page plus the count);
* the baseline: ``title LIKE '%q%' OR body LIKE '%q%'`` over the same table (one run per query), and
  the ratio LIKE / search;
* recall and precision of the index's matches against that substring truth.

Two corpora (``--corpus``):

* ``fixtures``: text from the fixture corpus (below): few distinct characters, every phrase common;
* ``evaldata``: realistic text, built at run time from the labelled Chinese news pages of
  ``../shared/evaldata`` (zh-gne-news and zh-cwced ground truth: 131 pages of many publishers and
  topics, ~400k characters, a realistic character and bigram distribution), recombined the same
  way. Nothing of it is copied into the repository; if the folder is absent the benchmark says so
  and measures the fixture corpus only.

Synthetic articles come from the fixture corpus (``fixtures/``): every article case is extracted
with the project's extractor, its text cut into clauses at punctuation, and each synthetic body
strings clauses drawn at random into paragraphs up to a length drawn from a log-normal
distribution (median ``--median-chars``). With few fixture articles the vocabulary is small and
every character and phrase is common, which makes this a pessimistic benchmark for latency.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archiver.db import Archive, open_db, search_index  # noqa: E402
from archiver.search.sql import RANK_WINDOW, search_sql  # noqa: E402
from archiver.search.query import matching_ids  # noqa: E402
from archiver.search.zh import fts_query, is_cjk  # noqa: E402

CLAUSE_END = re.compile(r"(?<=[，。；！？、,;!?：:])")
FIXED_QUERIES = {
    "1": ["铝", "兰", "党", "峰"],
    "2": ["兰铝", "党建", "安全", "中铝", "改革"],
    "3": ["电解铝", "职代会", "新兰铝", "氧化铝"],
    "4+": ["职工代表大会", "兰州铝业", "高质量发展", "十五五", "安全生产月活动"],
    "mixed": ["2026年", "ESG", "ESG报告", "6063铝合金", "2025年", "5G"],
    "multi": ["兰州铝业 职代会", "党建 改革", "电解铝 2026年", "铝 2026年", "党 改革"],
}
SITES = [("lzly_chinalco_com_cn", "兰州铝业有限公司"), ("chalco_com_cn", "中国铝业股份有限公司"),
         ("chinalco_com_cn", "中国铝业集团有限公司"), ("zlgj_chinalco_com_cn", "中铝国际"),
         ("dq_chinalco_com_cn", "中铝东轻"), ("sami_chinalco_com_cn", "沈阳铝镁设计研究院")]
EXTRA_CLAUSES = ["发布2026年ESG报告，", "6063铝合金产品通过认证。", "5G智慧工厂建成投用，", "2025年产量创新高。"]


# ----------------------------------------------------------------------------- corpus
def fixture_texts(fixtures: Path) -> tuple[list[str], list[str]]:
    """(title clauses, body clauses) from every article case under ``fixtures``."""
    from archiver.extract import extract_bytes

    titles, clauses = [], []
    for resp_path in sorted(fixtures.glob("**/article-*/response.json")):
        resp = json.loads(resp_path.read_text(encoding="utf-8"))
        if not resp.get("body"):
            continue
        body = (resp_path.parent / resp["body"]).read_bytes()
        try:
            rec = extract_bytes(resp["url"], body, resp.get("headers", {}), resp.get("status", 200)).to_dict()
        except Exception as e:  # a broken case must not stop the benchmark; say so
            print(f"  (skipped {resp_path.parent.name}: {e})", file=sys.stderr)
            continue
        if not rec.get("is_article") or not rec.get("body"):
            continue
        titles += [t for t in re.split(r"[\s—，,]+", rec.get("title") or "") if t]
        for para in rec["body"].splitlines():
            clauses += [c for c in CLAUSE_END.split(para) if c.strip()]
    if not clauses:
        raise SystemExit(f"no article text found under {fixtures}")
    return titles, clauses + EXTRA_CLAUSES


EVALDATA = REPO.parent / "shared" / "evaldata"
EVALDATA_SETS = ("zh-gne-news", "zh-cwced")


def evaldata_texts(root: Path) -> tuple[list[str], list[str]] | None:
    """(title clauses, body clauses) from the labelled Chinese pages under ``root``, or None if absent."""
    files = [root / d / "ground-truth.jsonl" for d in EVALDATA_SETS]
    if not all(f.exists() for f in files):
        return None
    titles, clauses = [], []
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            body = rec.get("body") or ""
            if rec.get("title"):
                titles += [t for t in re.split(r"[\s—，,]+", rec["title"]) if t]
            for para in body.splitlines():
                clauses += [c for c in CLAUSE_END.split(para.strip()) if c.strip()]
            if not rec.get("title") and body.strip():
                titles += [c for c in CLAUSE_END.split(body.strip().splitlines()[0])[:1] if c.strip()]
    return titles, clauses + EXTRA_CLAUSES


def synthetic_articles(n: int, titles: list[str], clauses: list[str], median_chars: int, seed: int = 7):
    rnd = random.Random(seed)
    mu, sigma = math.log(median_chars), 0.6
    for i in range(1, n + 1):
        target = int(min(8000, max(80, rnd.lognormvariate(mu, sigma))))
        paras, length = [], 0
        while length < target:
            para = "".join(rnd.choice(clauses) for _ in range(rnd.randint(2, 6)))
            paras.append(para)
            length += len(para)
        body = "\n".join(paras)
        title = "".join(rnd.sample(titles, k=min(2, len(titles))))[:40]
        site, site_name = SITES[i % len(SITES)]
        y, m, d = 2015 + rnd.randrange(12), 1 + rnd.randrange(12), 1 + rnd.randrange(28)
        url = f"https://{site.replace('_', '.')}/xwdt/gsyw/{y}{m:02d}/t{y}{m:02d}{d:02d}_{i}.html"
        yield (i, url, url, site, site_name, "xwdt/gsyw", "公司要闻", title, "bench", f"{y}-{m:02d}-{d:02d}",
               body, "2026-03-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00")


def build(path: Path, n: int, titles, clauses, median_chars: int) -> dict:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    db = open_db(path)
    search_index.drop_triggers(db)          # bulk load: index once at the end (search_index.bulk_load)
    t0 = time.perf_counter()
    rows = synthetic_articles(n, titles, clauses, median_chars)
    cols = ("id, canonical_url, url, site, site_name, channel, channel_label, title, source, published_at, body, "
            "first_seen, last_seen")
    while True:
        chunk = [r for _, r in zip(range(10000), rows)]
        if not chunk:
            break
        with db.atomic():
            db.conn.executemany(f"insert into articles({cols}) values ({', '.join('?' * 13)})", chunk)
    t_articles = time.perf_counter() - t0
    t0 = time.perf_counter()
    with db.atomic():
        search_index.rebuild(db, batch=5000)     # also puts the triggers back
    t_index = time.perf_counter() - t0
    db.execute("pragma wal_checkpoint(truncate)")
    db.close()
    archive = Archive.open(path)
    t0 = time.perf_counter()
    extra = list(synthetic_articles(200, titles, clauses, median_chars, seed=99))
    from archiver.db.archive import RawResponse
    for r in extra:
        rec = {"canonical_url": r[1] + "?u", "url": r[2] + "?u", "site": r[3], "title": r[7], "body": r[10],
               "published_at": r[9]}
        archive.upsert_article(rec, RawResponse(rec["url"], 200, [], b"", r[11]), run_id=None, now=r[11])
    t_upsert = (time.perf_counter() - t0) / len(extra)
    ok = search_index.check(archive.db)["ok"]
    archive.close()
    return {"articles_insert_s": round(t_articles, 1), "index_build_s": round(t_index, 1),
            "upsert_ms_per_article": round(t_upsert * 1000, 2), "index_in_step": ok}


def sizes(conn) -> dict:
    text = conn.execute("select sum(length(cast(title as blob)) + length(cast(body as blob))), "
                        "sum(length(title) + length(body)), count(*) from articles").fetchone()
    fts = conn.execute("select sum(pgsize) from dbstat where name like 'articles_fts%'").fetchone()[0]
    table = conn.execute("select sum(pgsize) from dbstat where name = 'articles'").fetchone()[0]
    return {"articles": text[2], "text_mb": round(text[0] / 1e6, 1), "text_chars_m": round(text[1] / 1e6, 1),
            "mean_chars": round(text[1] / max(1, text[2])), "articles_table_mb": round(table / 1e6, 1),
            "index_mb": round(fts / 1e6, 1), "index_to_text": round(fts / text[0], 3)}


# ----------------------------------------------------------------------------- queries
def pick_queries(conn, seed: int = 3, per_class: int = 8) -> dict[str, list[str]]:
    """The fixed queries plus, per length class, substrings sampled from random articles."""
    rnd = random.Random(seed)
    n = conn.execute("select max(id) from articles").fetchone()[0]
    out = {k: list(v) for k, v in FIXED_QUERIES.items()}
    for cls, k in (("1", 1), ("2", 2), ("3", 3), ("4+", 4)):
        got = 0
        while got < per_class:
            body = conn.execute("select body from articles where id = ?", [rnd.randint(1, n)]).fetchone()
            if not body or not body[0]:
                continue
            text = body[0]
            pos = rnd.randrange(max(1, len(text) - k))
            sub = text[pos:pos + k]
            if len(sub) == k and all(is_cjk(c) for c in sub) and sub not in out[cls]:
                out[cls].append(sub)
                got += 1
    return out


def timed(conn, sql: str, params, runs: int) -> tuple[float, list]:
    times, rows = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        rows = conn.execute(sql, params).fetchall()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, rows


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


# What Datasette's table search box runs with the plugin (escape_fts = the canned query's expression).
BOX_SQL = ("select id, title, site, published_at from articles where id in "
           "(select rowid from articles_fts where articles_fts match :expr) order by published_at desc limit 101")
BOX_COUNT_SQL = "select count(*) from articles where id in (select rowid from articles_fts where articles_fts match :expr)"
LIKE_SQL = "select id from articles where title like :pat or body like :pat"


def measure(path: Path, windows: list[int], like: bool, box: bool = True) -> dict:
    import sqlite3
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    queries = pick_queries(conn)
    search = {w: search_sql(window=w, limit=20) for w in windows}
    result = {"queries": queries, "classes": {}}
    for cls, qs in queries.items():
        row = {"n": len(qs), "search_ms": {}, "box_ms": [], "like_ms": [], "matches": [], "recall": [],
               "precision": [], "window_exact": 0}
        per_window = {w: [] for w in windows}
        for q in qs:
            expr = fts_query(q)
            for w in windows:
                ms, top = timed(conn, search[w], {"q": q}, 3)
                per_window[w].append(ms)
            if box:
                b1, _ = timed(conn, BOX_SQL, {"expr": expr}, 3)
                b2, _ = timed(conn, BOX_COUNT_SQL, {"expr": expr}, 3)
                row["box_ms"].append(b1 + b2)
            found = set(matching_ids(conn, q))        # the index the canned query reads for q
            row["matches"].append(len(found))
            row["window_exact"] += len(found) <= RANK_WINDOW
            if like:
                terms = [t for t in re.split(r"[\s\u3000]+", q) if t]
                t0 = time.perf_counter()
                truth = None
                for t in terms:           # a multi-word query: every term must occur
                    ids = {r[0] for r in conn.execute(LIKE_SQL, {"pat": f"%{t}%"})}
                    truth = ids if truth is None else truth & ids
                row["like_ms"].append((time.perf_counter() - t0) * 1000)
                truth = truth or set()
                row["recall"].append(len(found & truth) / len(truth) if truth else 1.0)
                row["precision"].append(len(found & truth) / len(found) if found else 1.0)
        for w in windows:
            row["search_ms"][w] = {"p50": round(pct(per_window[w], 50), 1), "p95": round(pct(per_window[w], 95), 1),
                                   "max": round(max(per_window[w]), 1)}
        row["box"] = ({"p50": round(pct(row["box_ms"], 50), 1), "p95": round(pct(row["box_ms"], 95), 1)}
                      if box else {"p50": "-", "p95": "-"})
        if like:
            row["like"] = {"p50": round(pct(row["like_ms"], 50), 1), "p95": round(pct(row["like_ms"], 95), 1)}
            row["recall_mean"] = round(statistics.mean(row["recall"]), 4)
            row["recall_min"] = round(min(row["recall"]), 4)
            row["precision_mean"] = round(statistics.mean(row["precision"]), 4)
        row["matches_median"] = int(statistics.median(row["matches"]))
        row["matches_max"] = max(row["matches"])
        result["classes"][cls] = row
    result["sizes"] = sizes(conn)
    conn.close()
    return result


def report(n: int, b: dict, m: dict, windows: list[int], like: bool) -> str:
    s = m["sizes"]
    lines = [f"== {n:,} articles: {s['text_chars_m']} M characters ({s['mean_chars']} per article), "
             f"text {s['text_mb']} MB",
             f"   index {s['index_mb']} MB = {s['index_to_text']:.2f} x the text it indexes "
             f"(articles table {s['articles_table_mb']} MB)",
             f"   build: articles {b['articles_insert_s']} s, index {b['index_build_s']} s; keeping it in step: "
             f"{b['upsert_ms_per_article']} ms per Archive.upsert_article (index in step: {b['index_in_step']})"]
    head = "   class   n  matches(med/max)  " + "  ".join(f"search w={w} p50/p95/max ms" for w in windows)
    head += "  box p50/p95 ms"
    if like:
        head += "  LIKE p50/p95 ms  LIKE/search(p50)  recall mean/min  precision"
    lines.append(head)
    for cls, r in m["classes"].items():
        cells = [f"   {cls:<6}{r['n']:>3}  {r['matches_median']:>8}/{r['matches_max']:<8}"]
        for w in windows:
            sm = r["search_ms"][w]
            cells.append(f"{sm['p50']:>10}/{sm['p95']}/{sm['max']}".ljust(29))
        cells.append(f"{r['box']['p50']:>8}/{r['box']['p95']}".ljust(14))
        if like:
            ratio = r["like"]["p50"] / max(0.01, r["search_ms"][windows[0]]["p50"])
            cells.append(f"{r['like']['p50']:>9}/{r['like']['p95']}".ljust(16))
            cells.append(f"{ratio:>10.0f}x".ljust(17))
            cells.append(f"{r['recall_mean']:.3f}/{r['recall_min']:.3f}".ljust(15))
            cells.append(f"{r['precision_mean']:.3f}")
        lines.append("  ".join(cells))
    lines.append("   queries: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in m["queries"].items()))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the runner-up, for comparison
# An overlapping-bigram index (the design CHINESE_SEARCH.md measured as "bigram + run-final
# unigram"): 2+ character queries become phrases of bigrams, a 1-character query a prefix query.
# Bench-only: built in a separate file from the same articles, to compare size and latency.
def bigram_shadow(text: str | None) -> str:
    from archiver.search.zh import _BARRIER_RE, _CJK_RE, _FULLWIDTH, BARRIER

    if not text:
        return ""
    text = _BARRIER_RE.sub(f" {BARRIER} ", text.translate(_FULLWIDTH))

    def run(m):
        r = m.group(0)
        return f" {r} " if len(r) == 1 else " " + " ".join(r[i:i + 2] for i in range(len(r) - 1)) + f" {r[-1]} "
    return re.sub(_CJK_RE.pattern + "+", run, text)


def bigram_query(q: str) -> str:
    from archiver.search.zh import _CJK_RE

    out = []
    for term in q.split():
        parts = re.findall(_CJK_RE.pattern + "+|" + _CJK_RE.pattern.replace("[", "[^", 1) + "+", term)
        toks, prefix = [], False
        for k, part in enumerate(parts):
            if _CJK_RE.match(part[0]):
                toks += [part] if len(part) == 1 else [part[i:i + 2] for i in range(len(part) - 1)]
                prefix = len(part) == 1 and k == len(parts) - 1
            else:
                toks.append(part)
        out.append('"' + " ".join(toks).replace('"', " ") + '"' + ("*" if prefix else ""))
    return " ".join(out)


def build_bigram(src: Path) -> tuple[Path, float]:
    import sqlite3

    dst = src.with_name(src.stem + "-bigram.db")
    if dst.exists():
        return dst, float("nan")
    t0 = time.perf_counter()
    conn = sqlite3.connect(dst)
    conn.execute("create virtual table articles_fts using fts5(title, body, content='')")
    conn.execute("insert into articles_fts(articles_fts, rank) values ('rank', 'bm25(5.0, 1.0)')")
    conn.execute(f"attach database 'file:{src}?mode=ro' as src")
    last = 0
    while True:
        rows = conn.execute("select id, title, body from src.articles where id > ? order by id limit 5000",
                            [last]).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        conn.executemany("insert into articles_fts(rowid, title, body) values (?, ?, ?)",
                         [(i, bigram_shadow(t), bigram_shadow(b)) for i, t, b in rows])
        conn.commit()
    conn.execute("insert into articles_fts(articles_fts) values ('optimize')")
    conn.commit()
    conn.close()
    return dst, time.perf_counter() - t0


def measure_bigram(path: Path, queries: dict[str, list[str]], text_bytes: float) -> dict:
    import sqlite3

    dst, build_s = build_bigram(path)
    conn = sqlite3.connect(f"file:{dst}?mode=ro", uri=True)
    size = conn.execute("select sum(pgsize) from dbstat where name like 'articles_fts%'").fetchone()[0]
    sql = (f"select id from (select rowid as id, rank from articles_fts where articles_fts match :expr "
           f"order by rowid desc limit {RANK_WINDOW}) order by rank limit 20")
    out = {"index_mb": round(size / 1e6, 1), "index_to_text": round(size / text_bytes, 3),
           "build_s": round(build_s, 1), "classes": {}}
    for cls, qs in queries.items():
        times = [timed(conn, sql, {"expr": bigram_query(q)}, 3)[0] for q in qs]
        out["classes"][cls] = {"p50": round(pct(times, 50), 1), "p95": round(pct(times, 95), 1)}
    conn.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated article counts")
    ap.add_argument("--dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "chinalco-bench-search")
    ap.add_argument("--fixtures", type=Path, default=REPO / "fixtures")
    ap.add_argument("--median-chars", type=int, default=800, help="median body length of a synthetic article")
    ap.add_argument("--windows", default=str(RANK_WINDOW),
                    help=f"ranking windows to measure, comma-separated (shipped: {RANK_WINDOW})")
    ap.add_argument("--no-like", action="store_true", help="skip the LIKE baseline (and so recall/precision)")
    ap.add_argument("--no-box", action="store_true", help="skip timing the table search box (seconds per query at 1M)")
    ap.add_argument("--compare-bigram", action="store_true",
                    help="also build an overlapping-bigram index of the same articles and time the same queries")
    ap.add_argument("--reuse", action="store_true", help="reuse an archive already built in --dir")
    ap.add_argument("--build-only", action="store_true", help="build the archives (and their .build.json), measure nothing")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--corpus", default="fixtures,evaldata",
                    help="fixtures, evaldata (realistic text from ../shared/evaldata), or both")
    ap.add_argument("--evaldata", type=Path, default=EVALDATA)
    args = ap.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    windows = [int(w) for w in args.windows.split(",")]
    print(f"SQLite {__import__('sqlite3').sqlite_version}", flush=True)
    out = {}
    for corpus in [c.strip() for c in args.corpus.split(",") if c.strip()]:
        if corpus == "fixtures":
            titles, clauses = fixture_texts(args.fixtures)
            where = args.fixtures
        elif corpus == "evaldata":
            got = evaldata_texts(args.evaldata)
            if got is None:
                print(f"## corpus evaldata: {args.evaldata} is absent (it is ../shared/evaldata beside the "
                      f"repository): the realistic corpus is not measured", flush=True)
                continue
            titles, clauses = got
            where = args.evaldata
        else:
            raise SystemExit(f"unknown corpus {corpus!r}")
        print(f"## corpus {corpus}: {len(clauses)} clauses, {len(set(''.join(clauses)))} distinct characters "
              f"({where})", flush=True)
        for n in [int(x) for x in args.sizes.split(",")]:
            stem = f"search-{corpus}-{n}"
            path = args.dir / f"{stem}.db"
            if args.reuse and path.exists():
                b = json.loads((args.dir / f"{stem}.build.json").read_text())
            else:
                b = build(path, n, titles, clauses, args.median_chars)
                (args.dir / f"{stem}.build.json").write_text(json.dumps(b))
            if args.build_only:
                print(f"== {n:,} articles built in {path}: {json.dumps(b)}", flush=True)
                continue
            m = measure(path, windows, like=not args.no_like, box=not args.no_box)
            print(report(n, b, m, windows, like=not args.no_like), flush=True)
            if args.compare_bigram:
                m["bigram"] = bg = measure_bigram(path, m["queries"], m["sizes"]["text_mb"] * 1e6)
                print(f"   old runner-up, bigram-only index: {bg['index_mb']} MB = {bg['index_to_text']:.2f} x the "
                      f"text (build {bg['build_s']} s); bm25 w={RANK_WINDOW} p50/p95 ms: "
                      + ", ".join(f"{c} {v['p50']}/{v['p95']}" for c, v in bg["classes"].items()), flush=True)
            out[f"{corpus}-{n}"] = {"build": b, **m}
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
