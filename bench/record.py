"""Run a benchmark script and keep what it printed as a file under docs/benchmarks/.

    .venv/bin/python bench/record.py bench/bench.py [its options]
    .venv/bin/python bench/record.py bench/search.py --sizes 10000,100000

The output goes to the terminal as it comes and to ``docs/benchmarks/<script>.txt`` (the
script's name without ``.py``; ``--as NAME`` for another name), under a header saying when, on
which commit and machine, and with which command it was measured. Benchmark numbers live in
those files, written by the scripts themselves, not copied into prose that goes stale.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "benchmarks"


def main(argv: list[str]) -> int:
    name = None
    if len(argv) >= 2 and argv[0] == "--as":
        name, argv = argv[1], argv[2:]
    if not argv or not argv[0].endswith(".py"):
        print("usage: bench/record.py [--as NAME] bench/SCRIPT.py [options]", file=sys.stderr)
        return 2
    script = Path(argv[0])
    name = name or script.stem
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = (f"# {name}: measured {datetime.now(timezone.utc).isoformat(timespec='seconds')} on commit {commit}\n"
              f"# command: {' '.join([Path(sys.executable).name, *argv])}\n"
              f"# machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
              f"load average {load:.1f} at the start\n\n")
    proc = subprocess.Popen([sys.executable, *argv], cwd=REPO, stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line)
    status = proc.wait()
    if not lines:
        print(f"bench/record.py: {script} printed nothing (exit {status}); {OUT / (name + '.txt')} left as it was",
              file=sys.stderr)
        return status or 1
    if status != 0:       # a missed target is a result too: kept, and said in the header
        header += f"# exit status {status}: a target was missed or the script failed (see the end)\n\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.txt").write_text(header + "".join(lines), encoding="utf-8")
    print(f"written: {(OUT / (name + '.txt')).relative_to(REPO)}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
