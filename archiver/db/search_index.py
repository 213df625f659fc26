"""The Chinese full-text index ``articles_fts``: every SQL statement that writes it.

``articles_fts`` is a *contentless* FTS5 table (``content=''``) with the built-in tokenizer,
keyed by ``articles.id`` (its rowid), with two columns, ``title`` and ``body``, holding the
per-character shadow text of :func:`archiver.search.zh.shadow`. Contentless means the index keeps
no second copy of the text; the price is that removing a row needs the exact values it was
indexed with, which are recomputed from the article row *before* it changes
(:func:`replace_article`, :func:`remove_article`).

Only :class:`archiver.db.Archive` (on every upsert and delete) and :func:`rebuild` (migration
``0005_search`` and ``archiver reindex``) call these functions.
"""
from __future__ import annotations

from typing import Callable, Iterable

from archiver.search.zh import RULE_VERSION, shadow

FTS_TABLE = "articles_fts"
# bm25 weights of the columns (title, body): a hit in the headline counts this many times a hit in
# the body. Stored in the index's own config, so `order by rank` anywhere uses it.
TITLE_WEIGHT = 5.0
BODY_WEIGHT = 1.0
CREATE_SQL = f"create virtual table {FTS_TABLE} using fts5(title, body, content='')"


def create(db) -> None:
    db.execute(CREATE_SQL)
    db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}, rank) values('rank', 'bm25({TITLE_WEIGHT}, {BODY_WEIGHT})')")


def exists(db) -> bool:
    return db.execute("select 1 from sqlite_master where name = ?", [FTS_TABLE]).fetchone() is not None


def add_article(db, article_id: int, title: str | None, body: str | None) -> None:
    db.execute(f"insert into {FTS_TABLE}(rowid, title, body) values (?, ?, ?)",
               [article_id, shadow(title), shadow(body)])


def remove_article(db, article_id: int, title: str | None, body: str | None) -> None:
    """Remove a row; ``title``/``body`` must be the values it was indexed with."""
    db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}, rowid, title, body) values ('delete', ?, ?, ?)",
               [article_id, shadow(title), shadow(body)])


def replace_article(db, article_id: int, old: tuple[str | None, str | None],
                    new: tuple[str | None, str | None]) -> None:
    if tuple(old) == tuple(new):
        return
    remove_article(db, article_id, *old)
    add_article(db, article_id, *new)


def _rows(db, batch: int) -> Iterable[list[tuple]]:
    last = 0
    while True:
        rows = db.execute("select id, title, body from articles where id > ? order by id limit ?",
                          [last, batch]).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def rebuild(db, *, batch: int = 2000, progress: Callable[[int], None] | None = None) -> int:
    """Empty the index and index every article again; returns the number indexed.

    Runs in the caller's transaction (the migration's, or ``archiver reindex``'s).
    """
    if not exists(db):
        create(db)
    db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}) values ('delete-all')")
    n = 0
    for rows in _rows(db, batch):
        db.conn.executemany(f"insert into {FTS_TABLE}(rowid, title, body) values (?, ?, ?)",
                       [(i, shadow(t), shadow(b)) for i, t, b in rows])
        n += len(rows)
        if progress:
            progress(n)
    db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}) values ('optimize')")
    return n


def check(db) -> dict:
    """Whether the index covers exactly the articles (by id): counts and the ids that differ."""
    missing = [r[0] for r in db.execute(
        f"select id from articles where id not in (select id from {FTS_TABLE}_docsize) order by id limit 20")]
    extra = [r[0] for r in db.execute(
        f"select id from {FTS_TABLE}_docsize where id not in (select id from articles) order by id limit 20")]
    n_articles = db.execute("select count(*) from articles").fetchone()[0]
    n_index = db.execute(f"select count(*) from {FTS_TABLE}_docsize").fetchone()[0]
    row = db.execute("select how from search_help where key = 'index'").fetchone()
    same_rule = bool(row and RULE_VERSION in (row[0] or ""))       # written by write_help with the rule it used
    return {"articles": n_articles, "indexed": n_index, "missing": missing, "extra": extra, "rule": RULE_VERSION,
            "same_rule": same_rule, "ok": not missing and not extra and n_articles == n_index and same_rule}


def write_help(db) -> None:
    """(Re)write the ``search_help`` table from :func:`archiver.search.sql.help_rows`."""
    from archiver.search.sql import help_rows

    db.execute("delete from search_help")
    db["search_help"].insert_all(help_rows())
