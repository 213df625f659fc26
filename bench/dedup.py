"""Benchmark of deduplication (#4): quality on the labelled pairs, cost on synthetic archives.

    .venv/bin/python bench/dedup.py                      # labelled pairs + 10k and 100k synthetic articles
    .venv/bin/python bench/dedup.py --sizes 2000 20000   # other sizes (the ratio is last / first)

1. **Labelled pairs** (``fixtures/dedup_pairs.json``, plus ``fixtures/dedup_pairs_extra.json`` when
   present): every article page of the replica is stored through ``Archive.upsert_article`` (state
   t1, then the pages state t2 adds or changes), exactly as a crawl stores them. A pair is then
   predicted ``same`` (one article), ``near`` (a near-duplicate link) or ``different``. Printed:
   precision and recall of linking, false merges, and the links made between articles no pair
   mentions. The same pairs are scored with simpler methods for comparison (no guards; SimHash).
2. **Synthetic archives**: n articles built from the fixtures' paragraphs with controlled edits
   (exact re-posts, near-duplicates of seven kinds, look-alikes with other dates and figures), each
   size stored in a fresh archive by a child process. Printed: precision and recall against the
   known truth; the wall and CPU time spent in ``Archive.upsert_article`` (storing, exact and
   near-duplicate detection; generating the articles is not counted); peak memory (max RSS of the
   child); the ratio between sizes. CPU time is the steadier figure on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archiver.db import Archive  # noqa: E402
from archiver.db.archive import RawResponse  # noqa: E402
from archiver.dedup import near  # noqa: E402
from archiver.dedup.text import shingles  # noqa: E402
from archiver.extract import extract_bytes  # noqa: E402
from harness.replica.cases import load_cases, normalize_url  # noqa: E402
from archiver.sites import load_network  # noqa: E402

FIXTURES = REPO / "fixtures"
PAIR_FILES = [FIXTURES / "dedup_pairs.json", FIXTURES / "dedup_pairs_extra.json"]


# ---------------------------------------------------------------------------------------------- helpers
def extracted(case) -> dict | None:
    r = extract_bytes(case.url, case.body, dict(case.headers), case.status)
    return r.to_dict() if r.is_article else None


def network_article_cases(state: str):
    net = load_network()
    for key, case in sorted(load_cases(FIXTURES, state).items()):
        if case.status == 200 and net.classify(case.url).kind == "article":
            yield key, case


def prf(tp: int, fp: int, fn: int) -> tuple[float, float]:
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def simhash(text: str, k: int = near.SHINGLE) -> int:
    import hashlib
    v = [0] * 64
    for s in shingles(text, k):
        h = int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")
        for i in range(64):
            v[i] += 1 if h >> i & 1 else -1
    return sum(1 << i for i in range(64) if v[i] > 0)


# ---------------------------------------------------------------------------------------------- 1. labelled pairs
def labelled(out) -> dict:
    pairs = [p for f in PAIR_FILES if f.exists() for p in json.loads(f.read_text(encoding="utf-8"))]
    tmp = tempfile.TemporaryDirectory(prefix="dedup-bench-")
    archive = Archive.open(Path(tmp.name) / "labelled.db")
    texts: dict[str, dict] = {}
    stored = 0
    for state in ("t1", "t2"):
        for key, case in network_article_cases(state):
            rec = extracted(case)
            if rec is None:
                continue
            raw = RawResponse(case.url, case.status, list(case.headers), case.body, "2026-08-31T00:00:00+00:00")
            archive.upsert_article(rec, raw, run_id=None, now=state)
            texts[key] = rec
            stored += 1
    article_of = {}
    for url, aid in archive.db.execute("select url, article_id from sightings"):
        article_of[normalize_url(url)] = aid
    links = {tuple(r) for r in archive.db.execute("select article_id_a, article_id_b from near_duplicates")}

    def predict(a, b):
        ia, ib = article_of.get(normalize_url(a)), article_of.get(normalize_url(b))
        if ia is None or ib is None:
            return None
        if ia == ib:
            return "same"
        return "near" if tuple(sorted((ia, ib))) in links else "different"

    rows, missing = [], []
    for p in pairs:
        pred = predict(p["a"], p["b"])
        if pred is None:
            missing.append(p)
            continue
        rows.append((p["label"], pred, p))
    n_art = archive.count("articles")
    n_sight = archive.count("sightings")
    mentioned = {tuple(sorted((article_of[normalize_url(p["a"])], article_of[normalize_url(p["b"])])))
                 for p in pairs if normalize_url(p["a"]) in article_of and normalize_url(p["b"]) in article_of}
    unlabelled_links = sorted(links - mentioned)
    archive.close()
    tmp.cleanup()

    conf = Counter((lab, pred) for lab, pred, _ in rows)
    linked = lambda x: x in ("same", "near")  # noqa: E731
    tp = sum(1 for lab, pred, _ in rows if linked(lab) and linked(pred))
    fp = sum(1 for lab, pred, _ in rows if not linked(lab) and linked(pred))
    fn = sum(1 for lab, pred, _ in rows if linked(lab) and not linked(pred))
    precision, recall = prf(tp, fp, fn)
    false_merges = sum(1 for lab, pred, _ in rows if pred == "same" and lab != "same")
    same_n = sum(1 for lab, _, _ in rows if lab == "same")
    near_n = sum(1 for lab, _, _ in rows if lab == "near")
    out(f"stored {stored} article pages of the replica (t1, then t2): {n_art} articles, {n_sight} sightings")
    out(f"labelled pairs: {len(rows)} ({same_n} same, {near_n} near, {len(rows) - same_n - near_n} different)"
        + (f"; {len(missing)} not found" if missing else ""))
    out("confusion (label -> predicted): " + ", ".join(f"{a}->{b} {n}" for (a, b), n in sorted(conf.items())))
    out(f"duplicate linking: precision {precision:.3f}, recall {recall:.3f}")
    out(f"  false merges {false_merges}; false links of different stories {fp}")
    out(f"  recall of republished copies (same -> one article) {conf[('same', 'same')]}/{same_n}")
    out(f"  near-duplicate recall (near -> linked) {conf[('near', 'near')]}/{near_n}"
        + (f" (+{conf[('near', 'same')]} merged)" if conf[("near", "same")] else ""))
    out(f"  links between articles no pair mentions: {len(unlabelled_links)}")
    for lab, pred, p in rows:
        if lab != pred:
            out(f"  WRONG {lab} -> {pred}: {p['a']} {p['b']} ({p.get('note', '')[:70]})")

    # ---- the same pairs under simpler rules (pairwise, on the normalised texts)
    fps = {}

    def fp_of(url):
        if url not in fps:
            fps[url] = near.fingerprint(texts[normalize_url(url)]["body"])
        return fps[url]
    graded = [(lab, fp_of(p["a"]), fp_of(p["b"])) for lab, _, p in rows if lab != "same"]
    positives = [(a, b) for lab, a, b in graded if lab == "near"]
    negatives = [(a, b) for lab, a, b in graded if lab == "different"]
    out("near vs different pairs under other rules (P = precision, R = recall):")

    def score(name, rule):
        tp = sum(1 for a, b in positives if rule(a, b))
        fp = sum(1 for a, b in negatives if rule(a, b))
        p, r = prf(tp, fp, len(positives) - tp)
        out(f"  {name:<58} P {p:.2f} R {r:.2f} (false links {fp})")

    def jc(a, b):
        inter = len(a.shingles & b.shingles)
        return inter / len(a.shingles | b.shingles), inter / min(len(a.shingles), len(b.shingles))
    for t in (0.5, 0.7):
        score(f"Jaccard of {near.SHINGLE}-grams >= {t}, no guards", lambda a, b, t=t: jc(a, b)[0] >= t)
    score(f"containment >= {near.MIN_CONTAINMENT} and Jaccard >= {near.MIN_JACCARD}, no guards",
          lambda a, b: jc(a, b)[1] >= near.MIN_CONTAINMENT and jc(a, b)[0] >= near.MIN_JACCARD)
    sh = {id(f): simhash(f.text) for f in fps.values()}
    ham = lambda a, b: bin(sh[id(a)] ^ sh[id(b)]).count("1")  # noqa: E731
    for t in (3, 8, 16):
        score(f"SimHash 64-bit, Hamming <= {t}", lambda a, b, t=t: ham(a, b) <= t)
    score("chosen: MinHash/LSH candidates + verify (containment, dates, numbers)",
          lambda a, b: near.verify(a, b).near)
    out(f"  margins: near pairs containment >= {min(jc(a, b)[1] for a, b in positives):.2f}, Jaccard >= "
        f"{min(jc(a, b)[0] for a, b in positives):.2f}; SimHash distance of near pairs "
        f"{sorted(ham(a, b) for a, b in positives)}, of look-alikes (Jaccard >= 0.4) "
        f"{sorted(ham(a, b) for a, b in negatives if jc(a, b)[0] >= 0.4)}")
    for k in (3, 4, 5):
        def cj(a, b, k=k):
            sa, sb = shingles(a.text, k), shingles(b.text, k)
            return len(sa & sb) / min(len(sa), len(sb))
        out(f"  {k}-grams: near pairs containment >= {min(cj(a, b) for a, b in positives):.2f}; "
            f"different pairs containment <= {max(cj(a, b) for a, b in negatives):.2f}")
    return {"precision": precision, "recall": recall, "false_merges": false_merges}


# ---------------------------------------------------------------------------------------------- 2. synthetic
ORGS = ["兰州铝业", "中铝国际", "沈阳院", "中州铝业", "广西华银", "西南铝", "东轻", "中铝瑞闽", "包头铝业", "山东铝业",
        "青海分公司", "贵州分公司", "中铝物流", "中铝资本", "长沙院", "中铝高端制造", "云铝股份", "中铝稀土"]
TOPICS = ["安全生产工作会议", "党委理论学习中心组学习", "科技创新大会", "职工代表大会", "经营分析会", "市场开发工作会议",
          "警示教育大会", "青年干部座谈会", "设备管理现场会", "质量月启动仪式", "节能减排专题会", "人才工作会议"]
_NUM = re.compile(r"\d+")


def paragraph_pool() -> list[str]:
    seen, pool = set(), []
    for _, case in network_article_cases("t1"):
        rec = extracted(case)
        for p in (rec or {}).get("body", "").split("\n") if rec else ():
            p = p.strip()
            if len(p) >= 20 and p not in seen:
                seen.add(p)
                pool.append(p)
    return pool


_CLAUSE = re.compile(r"[^，。；]+[，。；]")


def clause_pool(paragraphs: list[str]) -> list[str]:
    return sorted({c for p in paragraphs for c in _CLAUSE.findall(p) if len(c) >= 6})


def new_paragraph(clauses: list[str], rng: random.Random) -> str:
    """A paragraph of 3-6 clauses drawn from the fixtures' text, figures renumbered: the network's
    vocabulary and boilerplate, but (like real stories) hardly ever the same paragraph twice."""
    text = "".join(renumber(c, rng) for c in rng.sample(clauses, rng.randrange(3, 7)))
    return text[:-1] + "。"


def renumber(text: str, rng: random.Random) -> str:
    return _NUM.sub(lambda m: str(rng.randrange(10 ** (len(m.group()) - 1) if len(m.group()) > 1 else 0,
                                                10 ** len(m.group()))), text)


RECENT = 5000
NEAR_KINDS = ("caption", "paragraph_added", "paragraph_dropped", "lead", "sentence_edited", "shortened", "headline+paragraph")


def near_edit(paras: list[str], kind: str, pool: list[str], rng: random.Random) -> list[str]:
    p = list(paras)
    if kind == "caption":
        p.insert(rng.randrange(1, len(p)), "图为" + rng.choice(["会议现场", "签约现场", "调研现场", "活动现场"]) + "。")
    elif kind in ("paragraph_added", "headline+paragraph"):
        p.insert(len(p) - 1, renumber(rng.choice(pool), rng))
    elif kind == "paragraph_dropped":
        del p[rng.randrange(1, len(p))]
    elif kind == "lead":
        p[0] = "近日，" + p[0].split("，", 1)[-1]
    elif kind == "sentence_edited":
        i = rng.randrange(1, len(p))
        cut = next((j for j in range(len(p[i]) // 2, len(p[i])) if not p[i][j - 1:j + 1].isdigit()), len(p[i]))
        p[i] = p[i][:cut] + "进一步" + p[i][cut:]
    elif kind == "shortened":
        p = p[: max(3, round(len(p) * 0.7))]
    return p


def synthetic(n: int, seed: int = 4):
    """Yield (key, record, truth) for n synthetic articles; truth = (kind, key of the original or None)."""
    rng = random.Random(seed)
    pool = paragraph_pool()
    clauses = clause_pool(pool)
    net = load_network()
    sites = [s for s in net.sites if s.channels]
    # Copies are made of recent stories (re-posts follow within days): a ring of the last RECENT
    # originals, so the generator's memory does not grow with n.
    bases: list[tuple[str, list[str], str, str]] = []
    made = 0
    for i in range(n):
        roll = rng.random()
        site = rng.choice(sites)
        ch = rng.choice(site.channels)
        doc_id = 200000 + i
        day = f"2026{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        url = f"https://{ch.host or site.host}/{ch.path}/{day[:6]}/t{day}_{doc_id}.html"
        if bases and roll < 0.10:                                 # exact re-post: other formatting and credits
            key, paras, title, _ = rng.choice(bases)
            body = "\n".join(["本网讯（通讯员 " + rng.choice(["张三", "李四", "王五"]) + "）" + paras[0]] + paras[1:])
            body = body.replace("，", ",") + "\n（" + rng.choice(["赵六", "孙七 周八"]) + "）"
            truth, title = ("same", key), title
        elif bases and roll < 0.22:                               # near-duplicate
            key, paras, title, _ = rng.choice(bases)
            kind = rng.choice(NEAR_KINDS)
            body = "\n".join(near_edit(paras, kind, pool, rng))
            truth, title = ("near:" + kind, key), (title + "（图）" if "headline" in kind else title)
        elif bases and roll < 0.30:                               # look-alike: the same text, other day and figures
            key, paras, title, _ = rng.choice(bases)
            body = renumber("\n".join(paras), rng)
            truth, title = ("different", key), renumber(title, rng)
        else:                                                     # a new story
            m, d = rng.randrange(1, 13), rng.randrange(1, 29)
            org, topic = rng.choice(ORGS), rng.choice(TOPICS)
            lead = f"{m}月{d}日，{org}召开{rng.randrange(2020, 2027)}年{topic}，总结工作，部署第{rng.randrange(1, 5)}阶段重点任务。"
            paras = [lead] + [new_paragraph(clauses, rng) for _ in range(rng.randrange(4, 9))]
            title = f"{org}召开{topic}"
            key = url
            if len(bases) < RECENT:
                bases.append((key, paras, title, url))
            else:
                bases[made % RECENT] = (key, paras, title, url)
            made += 1
            body = "\n".join(paras)
            truth = ("new", None)
        info = net.classify(url)
        rec = {"url": url, "canonical_url": info.canonical_url, "site": info.site.id, "channel": info.channel,
               "title": title, "source": site.name, "published_at": f"{day[:4]}-{day[4:6]}-{day[6:]}",
               "url_date": f"{day[:4]}-{day[4:6]}-{day[6:]}", "doc_id": doc_id, "body": body,
               "site_role": site.role}
        yield url, rec, truth


def run_synthetic(n: int) -> dict:
    """Store n synthetic articles in a fresh archive (this process); quality against the truth."""
    tmp = tempfile.TemporaryDirectory(prefix="dedup-bench-")
    path = Path(tmp.name) / f"synthetic-{n}.db"
    archive = Archive.open(path)
    items = []                        # (url, None, truth): the records themselves are not kept
    elapsed = cpu = 0.0
    for url, rec, truth in synthetic(n):
        raw = RawResponse(url, 200, [("Content-Type", "text/html")], rec["body"].encode("utf-8"), "2026-08-31T00:00:00+00:00")
        t0, c0 = time.perf_counter(), time.process_time()
        archive.upsert_article(rec, raw, run_id=None, now="t1")
        elapsed += time.perf_counter() - t0
        cpu += time.process_time() - c0
        items.append((url, None, truth))
    article_of = dict(archive.db.execute("select url, article_id from sightings").fetchall())
    links = {tuple(r) for r in archive.db.execute("select article_id_a, article_id_b from near_duplicates")}
    n_articles, n_links = archive.count("articles"), len(links)
    archive.close()
    size = path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "-*"))
    tmp.cleanup()

    def related(a, b):
        ia, ib = article_of[a], article_of[b]
        return "same" if ia == ib else ("near" if tuple(sorted((ia, ib))) in links else "different")
    kinds = Counter()
    ok = Counter()
    missed = Counter()
    story_of = {}                     # article id -> the synthetic story (base URL) it tells
    for url, _, (kind, orig) in items:
        if not kind.startswith("different"):
            story_of.setdefault(article_of[url], set()).add(orig or url)
        if orig is None:
            continue
        kinds[kind.split(":")[0]] += 1
        got = related(url, orig)
        if kind == "same":
            ok["same"] += got == "same"
        elif kind.startswith("near"):
            ok["near"] += got in ("near", "same")
            if got == "different":
                missed[kind.split(":")[1]] += 1
        else:
            ok["different"] += got == "different"
    # a link is false unless both articles tell the same synthetic story (two near copies of one
    # original are rightly linked to each other too)
    false_links = sum(1 for a, b in links if not story_of.get(a, set()) & story_of.get(b, set()))
    return {"n": n, "seconds": elapsed, "cpu_seconds": cpu, "articles": n_articles, "links": n_links, "kinds": dict(kinds),
            "missed": dict(missed),
            "ok": dict(ok), "false_links": false_links, "db_mb": size / 2 ** 20,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def synthetic_report(sizes: list[int], out) -> None:
    results = []
    for n in sizes:
        proc = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": "0"})
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        k, ok = r["kinds"], r["ok"]
        out(f"n={n}: {r['seconds']:.1f} s wall, {r['cpu_seconds']:.1f} s CPU ({1000 * r['cpu_seconds'] / n:.2f} ms/article), "
            f"peak RSS {r['maxrss_mb']:.0f} MB, "
            f"archive {r['db_mb']:.0f} MB; {r['articles']} articles, {r['links']} near-duplicate links")
        out(f"  exact re-posts merged {ok.get('same', 0)}/{k.get('same', 0)}; near-duplicates linked "
            f"{ok.get('near', 0)}/{k.get('near', 0)} (recall {ok.get('near', 0) / max(1, k.get('near', 0)):.3f}); "
            f"look-alikes kept apart {ok.get('different', 0)}/{k.get('different', 0)}; false links {r['false_links']}"
            + (f"; missed near-duplicates by edit: {r['missed']}" if r["missed"] else ""))
    if len(results) > 1:
        a, b = results[0], results[-1]
        out(f"growth: {b['n'] // a['n']}x articles -> {b['seconds'] / a['seconds']:.1f}x wall time, "
            f"{b['cpu_seconds'] / a['cpu_seconds']:.1f}x CPU time, "
            f"{b['maxrss_mb'] / a['maxrss_mb']:.1f}x peak memory (linear would be {b['n'] / a['n']:.0f}x time)")


def run_boilerplate(n: int) -> dict:
    """Store the n article pages of the generated network (this process); time the store only."""
    from harness.replica.generated import GeneratedNetwork
    gen = GeneratedNetwork(n)
    tmp = tempfile.TemporaryDirectory(prefix="dedup-bench-")
    path = Path(tmp.name) / f"boilerplate-{n}.db"
    archive = Archive.open(path)
    elapsed = cpu = 0.0
    stored = 0
    for url in gen.article_urls():
        case = gen.resolve(url)
        result = extract_bytes(url, case.body, dict(case.headers), case.status)
        if not result.is_article:
            continue
        raw = RawResponse(url, 200, list(dict(case.headers).items()), case.body, "2026-08-31T00:00:00+00:00")
        t0, c0 = time.perf_counter(), time.process_time()
        archive.upsert_article(result.to_dict(), raw, run_id=None, now="t1")
        elapsed += time.perf_counter() - t0
        cpu += time.process_time() - c0
        stored += 1
    links = archive.count("near_duplicates")
    stories = archive.db.execute("select count(distinct story_id) from articles").fetchone()[0]
    archive.close()
    tmp.cleanup()
    return {"n": stored, "seconds": elapsed, "cpu_seconds": cpu, "links": links, "stories": stories,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def boilerplate_report(sizes: list[int], out) -> None:
    results = []
    for n in sizes:
        proc = subprocess.run([sys.executable, __file__, "--boilerplate-child", str(n)], capture_output=True,
                              text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(r)
        out(f"n={r['n']}: {r['seconds']:.1f} s wall, {r['cpu_seconds']:.1f} s CPU "
            f"({1000 * r['cpu_seconds'] / r['n']:.2f} ms/article), peak RSS {r['maxrss_mb']:.0f} MB; "
            f"{r['links']} near-duplicate links, {r['stories']} stories")
    if len(results) > 1:
        a, b = results[0], results[-1]
        out(f"growth: {b['n'] / a['n']:.1f}x articles -> {b['cpu_seconds'] / a['cpu_seconds']:.1f}x CPU time "
            f"(per article x{(b['cpu_seconds'] / b['n']) / (a['cpu_seconds'] / a['n']):.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10000, 100000])
    ap.add_argument("--boilerplate", type=int, nargs="*", default=[2000, 10000],
                    help="sizes of the generated-network (boilerplate) archives; none to skip")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--boilerplate-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--no-synthetic", action="store_true")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_synthetic(args.child)))
        return
    if args.boilerplate_child:
        print(json.dumps(run_boilerplate(args.boilerplate_child)))
        return
    out = print
    out(f"method: {near.METHOD}; verify: containment >= {near.MIN_CONTAINMENT}, Jaccard >= {near.MIN_JACCARD}, "
        f"dates contained, numbers >= {near.MIN_NUMBER_CONTAINMENT}")
    p = lambda j: 1 - (1 - j ** near.ROWS) ** near.BANDS  # noqa: E731
    out("LSH candidate probability at Jaccard " + ", ".join(f"{j}: {p(j):.3f}" for j in (0.3, 0.5, 0.6, 0.7, 0.8)))
    out("== labelled pairs")
    labelled(out)
    if not args.no_synthetic and args.sizes:
        out("== synthetic archives")
        synthetic_report(args.sizes, out)
    if args.boilerplate:
        out("== boilerplate archives (the generated network's pages)")
        boilerplate_report(args.boilerplate, out)


if __name__ == "__main__":
    main()
