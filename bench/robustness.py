#!/usr/bin/env python3
"""Template-change robustness: every fixture article rewritten by each family of template changes
(bench/template_variants.py) and by each pair of families, extracted again, scored per field.

    .venv/bin/python bench/robustness.py                    # every family, then every pair
    .venv/bin/python bench/robustness.py --pairs-sample 10  # pairs on every 10th article only
    .venv/bin/python bench/robustness.py --no-pairs --markdown docs/robustness.md

Fields: title, date (day) and source exact against the fixture's expected.json; author likewise;
body as token F1 against the body extracted from the unmodified page (the families keep what a
reader sees, so the body must not change). "lost" counts articles no longer extracted as
articles. Targets (issue #10): title, date and source >= 0.99, body F1 >= 0.97, 0 lost, in every
family and pair. CI holds the floors in tests/test_template_robustness.py. Prints the worst rows
and exits 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import template_variants as tv  # noqa: E402
from tests.fixture_cases import all_cases  # noqa: E402

TARGETS = {"title": 0.99, "date": 0.99, "source": 0.99, "body_f1": 0.97}
COLUMNS = ("title", "date", "source", "author", "body_f1")


def misses_target(row: dict) -> bool:
    return row["lost"] > 0 or any(row[k] < v for k, v in TARGETS.items())


def table_lines(table: dict, markdown: bool) -> list[str]:
    head = ["family", "pages", "n/a", *COLUMNS, "lost"]
    lines = []
    if markdown:
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    else:
        lines.append(f"{'family':<36} {'pages':>5} {'n/a':>4} " + " ".join(f"{c:>7}" for c in COLUMNS) + "   lost")
    for combo, row in table.items():
        name = " + ".join(combo)
        cells = [f"{row[c]:.3f}" for c in COLUMNS]
        if markdown:
            lines.append(f"| {name} | {row['n']} | {row['skipped']} | " + " | ".join(cells) + f" | {row['lost']} |")
        else:
            mark = "  <-- below target" if misses_target(row) else ""
            lines.append(f"{name:<36} {row['n']:>5} {row['skipped']:>4} " + " ".join(f"{c:>7}" for c in cells)
                         + f" {row['lost']:>6}{mark}")
    return lines


def summary(table: dict) -> dict:
    rows = [r for r in table.values() if r["n"]]
    return {c: min(r[c] for r in rows) for c in COLUMNS} | {"lost": sum(r["lost"] for r in rows),
                                                            "pages": sum(r["n"] for r in rows)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-pairs", action="store_true", help="families one at a time only")
    ap.add_argument("--pairs-sample", type=int, default=1, metavar="K", help="pairs on every K-th article")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the tables as Markdown here")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    arts = tv.articles(all_cases())
    singles = tv.run(arts, [(f,) for f in tv.FAMILIES])
    print(f"{len(arts)} fixture articles, {len(tv.FAMILIES)} families ({time.perf_counter() - t0:.0f} s)\n")
    print("\n".join(table_lines(singles, False)))
    s = summary(singles)
    print("\nworst family: " + ", ".join(f"{c} {s[c]:.3f}" for c in COLUMNS) + f"; lost {s['lost']} of {s['pages']}")
    out_md = ["## Families", "", *table_lines(singles, True)]
    bad = [c for c, r in singles.items() if misses_target(r)]
    if not args.no_pairs:
        t1 = time.perf_counter()
        sample = arts[::max(1, args.pairs_sample)]
        pair_table = tv.run(sample, tv.pairs())
        ps = summary(pair_table)
        worst = sorted(pair_table.items(), key=lambda kv: min(kv[1][c] for c in TARGETS))[:15]
        print(f"\n{len(pair_table)} pairs of families on {len(sample)} articles ({time.perf_counter() - t1:.0f} s); "
              f"the 15 weakest:")
        print("\n".join(table_lines(dict(worst), False)))
        print("\nworst pair: " + ", ".join(f"{c} {ps[c]:.3f}" for c in COLUMNS) + f"; lost {ps['lost']} of {ps['pages']}")
        out_md += ["", f"## Pairs ({len(pair_table)} on {len(sample)} articles): the 15 weakest", "",
                   *table_lines(dict(worst), True),
                   "", "Worst pair: " + ", ".join(f"{c} {ps[c]:.3f}" for c in COLUMNS) + f"; lost {ps['lost']}"]
        bad += [c for c, r in pair_table.items() if misses_target(r)]
    if args.markdown:
        args.markdown.write_text("\n".join(out_md) + "\n", encoding="utf-8")
    for combo in bad:
        row = (singles.get(combo) or pair_table[combo])
        print(f"below target: {' + '.join(combo)}: {', '.join(row['misses'][:5])}")
    print(f"\n{'all families and pairs meet the targets' if not bad else f'{len(bad)} below target'} "
          f"(title, date, source >= 0.99; body F1 >= 0.97; 0 lost)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
