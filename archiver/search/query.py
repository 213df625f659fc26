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


def index_and_expr(parsed) -> tuple[str, str]:
    """The index the canned query reads for a parsed query, and its MATCH expression: the character
    index ``articles_fts`` when every word is a lone ideograph, else ``articles_fts_bigram``."""
    if parsed.expr:
        return "articles_fts", parsed.expr
    return "articles_fts_bigram", parsed.bexpr


def matching_ids(db, q: str, *, index: str | None = None) -> list[int]:
    """Every article id the index matches for ``q`` (unranked, ascending): the index the canned
    query reads, or ``index`` if given (``articles_fts_bigram`` answers any query: lone ideographs
    as prefix queries; ``articles_fts`` only queries of lone ideographs)."""
    p = parse(q)
    conn = _conn(db)
    if index is None:
        index, expr = index_and_expr(p)
    else:
        expr = p.query if index == "articles_fts_bigram" else p.expr
    if not expr:
        return []
    return [r[0] for r in conn.execute(f"select rowid from {index} where {index} match ? order by rowid", [expr])]
