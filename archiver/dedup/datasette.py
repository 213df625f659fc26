"""The canned queries of ``datasette.sql`` as a Datasette metadata ``queries`` mapping."""
from __future__ import annotations

from pathlib import Path

SQL_FILE = Path(__file__).with_name("datasette.sql")


def canned_queries(path: Path = SQL_FILE) -> dict[str, dict[str, str]]:
    queries: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- name:"):
            current = {"sql": ""}
            queries[line.split(":", 1)[1].strip()] = current
        elif current is None:
            continue
        elif line.startswith("-- title:") or line.startswith("-- description:"):
            key, _, value = line[3:].partition(":")
            current[key.strip()] = value.strip()
        elif not line.startswith("--"):
            current["sql"] += line + "\n"
    for q in queries.values():
        q["sql"] = q["sql"].strip()
    return queries
