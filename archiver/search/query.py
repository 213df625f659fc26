"""Searching an archive from Python (the CLI, exports, tests): the same SQL researchers run."""
from __future__ import annotations

import sqlite3

from .sql import SEARCH_COUNT_SQL, SEARCH_SQL
from .zh import fts_query


def _conn(db) -> sqlite3.Connection:
    return getattr(db, "conn", db)          # a sqlite_utils.Database or a sqlite3 connection


def search(db, q: str) -> list[dict]:
    """The canned ``search`` query: up to RESULT_LIMIT articles, best first."""
    cur = _conn(db).execute(SEARCH_SQL, {"q": q})
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def count_by_site(db, q: str) -> list[dict]:
    cur = _conn(db).execute(SEARCH_COUNT_SQL, {"q": q})
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def matching_ids(db, q: str) -> list[int]:
    """Every article id the index matches for ``q`` (unranked, ascending)."""
    expr = fts_query(q)
    if not expr:
        return []
    return [r[0] for r in _conn(db).execute(
        "select rowid from articles_fts where articles_fts match ? order by rowid", [expr])]
