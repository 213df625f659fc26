"""The Chinese full-text index ``articles_fts``: every SQL statement that writes it.

``articles_fts`` is a *contentless* FTS5 table (``content=''``) with the built-in tokenizer, keyed
by ``articles.id`` (its rowid), with two columns, ``body`` and ``title`` (body first: FTS5 spends
two bytes on every hit outside the first column, and most hits are in the body), each holding
:func:`archiver.search.zh.index_shadow` of the text (rule ``zh-bigram-3``, migration
``0009_search_bigram_edges``): each run of ideographs as its first ideograph, its bigrams and its
last ideograph, Latin words, digits and the punctuation barrier, then a separator and the column's
distinct ideographs. Contentless means the index keeps no second copy of the text; the price is
that removing a row needs the exact values it was indexed with.

**Triggers keep it in step.** After every insert into ``articles``, every update of its
``title``/``body`` and every delete (including the delete of an ``INSERT OR REPLACE``, since
:func:`register` turns on ``recursive_triggers``), the index changes in the same transaction,
whichever code wrote the row. The triggers call the SQL function ``zh_index3``, which
:func:`register` adds to every connection ``open_db`` makes. A connection without it (the
``sqlite3`` shell, a plain ``sqlite-utils``) can read the archive but any write to ``articles``
fails with "no such function: zh_index3" instead of leaving the index behind; register it first
(:func:`register`) or write through ``Archive``. (The function of rule 2 was ``zh_shadow``: the
new name makes an older archiver's write fail loudly rather than write rule-2 tokens.)

:func:`rebuild` (the migrations and ``archiver reindex``) indexes everything again.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable

from archiver.search.zh import RULE_VERSION, index_shadow

FTS_TABLE = "articles_fts"
# The second index of rule 2 (migration 0008), dropped by 0009: its triggers' names, to drop them.
OLD_BIGRAM_TABLE = "articles_fts_bigram"
OLD_BIGRAM_TRIGGERS = ("articles_fts_bigram_insert", "articles_fts_bigram_update", "articles_fts_bigram_delete")
CREATE_SQL = f"create virtual table {FTS_TABLE} using fts5(body, title, content='')"
_ADD = f"insert into {FTS_TABLE}(rowid, body, title) values (new.id, zh_index3(new.body), zh_index3(new.title));"
_REMOVE = (f"insert into {FTS_TABLE}({FTS_TABLE}, rowid, body, title) "
           f"values ('delete', old.id, zh_index3(old.body), zh_index3(old.title));")
TRIGGERS = {
    "articles_fts_insert": f"after insert on articles begin {_ADD} end",
    "articles_fts_update": ("after update of id, title, body on articles when old.id is not new.id "
                            f"or old.title is not new.title or old.body is not new.body begin {_REMOVE} {_ADD} end"),
    "articles_fts_delete": f"after delete on articles begin {_REMOVE} end",
}


def register(conn) -> None:
    """Make a connection able to write articles: the triggers' function, and REPLACE firing deletes."""
    conn.create_function("zh_index3", 1, index_shadow, deterministic=True)
    conn.execute("PRAGMA recursive_triggers = ON")


def create(db) -> None:
    db.execute(CREATE_SQL)
    create_triggers(db)


def create_triggers(db) -> None:
    for name, body in TRIGGERS.items():
        db.execute(f"create trigger if not exists {name} {body}")


def drop_triggers(db) -> None:
    for name in (*TRIGGERS, *OLD_BIGRAM_TRIGGERS):
        db.execute(f"drop trigger if exists {name}")


def exists(db) -> bool:
    return db.execute("select 1 from sqlite_master where name = ?", [FTS_TABLE]).fetchone() is not None


def is_current(db) -> bool:
    """Whether ``articles_fts`` has this rule's definition (and rule 2's second index is gone)."""
    row = db.execute("select sql from sqlite_master where name = ?", [FTS_TABLE]).fetchone()
    old = db.execute("select 1 from sqlite_master where name = ?", [OLD_BIGRAM_TABLE]).fetchone()
    return bool(row and " ".join(row[0].split()).lower() == " ".join(CREATE_SQL.split()).lower() and not old)


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
    create_triggers(db)
    db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}) values ('delete-all')")
    n = 0
    for rows in _rows(db, batch):
        db.conn.executemany(f"insert into {FTS_TABLE}(rowid, body, title) values (?, ?, ?)",
                            [(i, index_shadow(b), index_shadow(t)) for i, t, b in rows])
        n += len(rows)
        if progress:
            progress(n)
    db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}) values ('optimize')")
    return n


@contextlib.contextmanager
def bulk_load(db):
    """Load many articles without indexing each: triggers off inside, one rebuild at the end."""
    drop_triggers(db)
    try:
        yield
    finally:
        with db.atomic():
            rebuild(db, batch=5000)


def check(db) -> dict:
    """Whether the index covers exactly the articles (by id), with this rule and its triggers."""
    missing = [r[0] for r in db.execute(
        f"select id from articles where id not in (select id from {FTS_TABLE}_docsize) order by id limit 20")]
    extra = [r[0] for r in db.execute(
        f"select id from {FTS_TABLE}_docsize where id not in (select id from articles) order by id limit 20")]
    n_articles = db.execute("select count(*) from articles").fetchone()[0]
    n_index = db.execute(f"select count(*) from {FTS_TABLE}_docsize").fetchone()[0]
    row = db.execute("select how from search_help where key = 'index'").fetchone()
    same_rule = bool(row and RULE_VERSION in (row[0] or "")) and is_current(db)   # help written with this rule
    triggers = {r[0]: r[1] for r in db.execute("select name, sql from sqlite_master where type = 'trigger'")}
    missing_triggers = sorted(n for n in TRIGGERS if n not in triggers)
    stale_triggers = sorted(n for n in TRIGGERS if n in triggers and "zh_index3" not in triggers[n])
    return {"articles": n_articles, "indexed": n_index, "missing": missing, "extra": extra, "rule": RULE_VERSION,
            "same_rule": same_rule, "missing_triggers": missing_triggers + stale_triggers,
            "ok": (not missing and not extra and n_articles == n_index and same_rule and not missing_triggers
                   and not stale_triggers)}


def write_help(db) -> None:
    """(Re)write the ``search_help`` table from :func:`archiver.search.sql.help_rows`."""
    from archiver.search.sql import help_rows

    db.execute("delete from search_help")
    db["search_help"].insert_all(help_rows())
