#!/usr/bin/env python3
"""Our extractor, trafilatura and GNE side by side: one table, then ours / best other.

    .venv/bin/python bench/extraction.py                 # every set, every tool available
    .venv/bin/python bench/extraction.py --sets zh-gne-news fixtures --tools ours trafilatura
    .venv/bin/python bench/extraction.py --json bench/last-run.json

Sets: the four shared evaluation sets (``../shared/evaldata``, or ``$ARCHIVER_EVALDATA``; read in
place, scored by ``../shared/tools/eval_extract.py``) and ``fixtures`` (our own cases, scored by
``harness.evaluation.score_fixtures``: on fixtures the body column is "body checks", the share
of ``body_includes`` found times the share of ``body_excludes`` absent).

trafilatura and GNE are benchmark-only dependencies (``pip install -e '.[bench]'``); a tool that is
not installed is left out of the table with a note. Speeds are wall time of the extractor call as
eval_extract.py measures it, on whatever machine runs this; ``--repeat N`` keeps the best of N
runs, which matters on a shared machine. The ratio row compares tools measured in the same run.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import evaluation as ev  # noqa: E402

TOOLS = {"ours": "harness.evaladapter:extract", "trafilatura": "trafilatura", "gne": "gne"}
SETS = (*ev.CHINESE_SETS, *ev.ENGLISH_SETS, "fixtures")
COLUMNS = (("title_exact", "title exact"), ("date_exact", "date exact"), ("source_found", "source found"),
           ("author_exact", "author exact"), ("body_f1", "body F1"), ("pages_per_s", "pages/s"))


def tool_available(tool: str) -> bool:
    if tool == "ours":
        return True
    try:
        __import__("trafilatura" if tool == "trafilatura" else "gne")
        return True
    except ImportError:
        return False


def fixture_extractor(tool: str):
    if tool == "ours":
        return ev.load_extractor(TOOLS["ours"])
    scorer = ev.load_scorer()
    if scorer is None:
        raise FileNotFoundError("eval_extract.py is needed to run trafilatura/GNE on the fixtures")
    run, _label = scorer.load_extractor(tool)
    return run


def measure(set_name: str, tool: str, fixtures: Path = ev.FIXTURES, repeat: int = 1) -> dict:
    """Scores of one tool on one set; with ``repeat`` > 1 the speed is the best of the runs
    (the scores do not change between runs; the other load on a shared machine does)."""
    best = None
    for _ in range(max(1, repeat)):
        if set_name == "fixtures":
            r = ev.score_fixtures(fixture_extractor(tool), fixtures)
        else:
            r = ev.score_evalset(TOOLS[tool], set_name)
        if best is None or (r.get("pages_per_s") or 0) > (best.get("pages_per_s") or 0):
            best = r
    return best


def fmt(v, key: str) -> str:
    if v is None:
        return "–"
    return f"{v:.0f}" if key == "pages_per_s" else f"{v:.3f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    ap.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    ap.add_argument("--fixtures", type=Path, default=ev.FIXTURES, help="fixture root (default: fixtures/)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per set and tool; speed = best run (default 1)")
    ap.add_argument("--json", help="write all numbers here")
    a = ap.parse_args(argv)

    tools = [t for t in a.tools if tool_available(t)]
    for t in a.tools:
        if t not in tools:
            print(f"note: {t} is not installed (pip install -e '.[bench]'); left out", file=sys.stderr)
    sets = [s for s in a.sets if s == "fixtures" or ev.evaldata_dir() is not None]
    if len(sets) < len(a.sets):
        print("note: ../shared/evaldata not found (set ARCHIVER_EVALDATA); only fixtures measured", file=sys.stderr)

    results: dict[str, dict[str, dict]] = {}
    for s in sets:
        for t in tools:
            print(f"measuring {t} on {s} …", file=sys.stderr)
            results.setdefault(s, {})[t] = measure(s, t, a.fixtures, a.repeat)

    print("| set | tool | pages | errors | " + " | ".join(h for _, h in COLUMNS) + " |")
    print("|---|---|---|---|" + "---|" * len(COLUMNS))
    for s in sets:
        for t in tools:
            r = results[s][t]
            cells = [fmt(r.get(k), k) if r.get(f"{k}_n", 1) else "–" for k, _ in COLUMNS]
            print(f"| {s} | {t} | {r.get('pages')} | {r.get('errors')} | " + " | ".join(cells) + " |")

    if "ours" in tools and len(tools) > 1:
        print()
        print("ours / best other (pages/s: ours / trafilatura)")
        print("| set | " + " | ".join(h for _, h in COLUMNS) + " |")
        print("|---|" + "---|" * len(COLUMNS))
        for s in sets:
            ours = results[s]["ours"]
            cells = []
            for k, _ in COLUMNS:
                if k == "pages_per_s":
                    other = results[s].get("trafilatura", {}).get(k)
                else:
                    others = [results[s][t].get(k) for t in tools if t != "ours" and results[s][t].get(k) is not None]
                    other = max(others) if others else None
                mine = ours.get(k)
                if mine is None or other is None or not ours.get(f"{k}_n", 1):
                    cells.append("–")
                elif other == 0:
                    cells.append("∞" if mine else "–")
                else:
                    cells.append(f"{mine / other:.2f}")
            print(f"| {s} | " + " | ".join(cells) + " |")

    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
