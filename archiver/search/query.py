"""Searching an archive from Python (the CLI, exports, tests): the same SQL researchers run."""
from __future__ import annotations

import sqlite3

from .sql import SEARCH_COUNT_SQL, SEARCH_SQL
from .zh import parse


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


def matching_ids(db, q: str, *, index: str | None = None) -> list[int]:
    """Every article id the index matches for ``q`` (unranked, ascending): the index the canned
    query reads (the bigram one when every word is 2+ ideographs only), or ``index`` if given."""
    p = parse(q)
    conn = _conn(db)
    if index is None:
        has_bigram = conn.execute("select 1 from sqlite_master where name = 'articles_fts_bigram'").fetchone()
        index = "articles_fts_bigram" if p.bexpr and has_bigram else "articles_fts"
    expr = p.bexpr if index == "articles_fts_bigram" else p.expr
    if not expr:
        return []
    return [r[0] for r in conn.execute(f"select rowid from {index} where {index} match ? order by rowid", [expr])]
