"""The Chinese full-text index ``articles_fts``: every SQL statement that writes it.

``articles_fts`` is a *contentless* FTS5 table (``content=''``) with the built-in tokenizer,
keyed by ``articles.id`` (its rowid), with two columns, ``title`` and ``body``, holding the
per-character shadow text of :func:`archiver.search.zh.shadow`. Contentless means the index keeps
no second copy of the text; the price is that removing a row needs the exact values it was
indexed with.

**Triggers keep it in step.** After every insert into ``articles``, every update of its
``title``/``body`` and every delete (including the delete of an ``INSERT OR REPLACE``, since
:func:`register` turns on ``recursive_triggers``), the index changes in the same transaction,
whichever code wrote the row. The triggers call the SQL function ``zh_shadow``, which
:func:`register` adds to every connection ``open_db`` makes. A connection without it (the
``sqlite3`` shell, a plain ``sqlite-utils``) can read the archive but any write to ``articles``
fails with "no such function: zh_shadow" instead of leaving the index behind; register it first
(``conn.create_function("zh_shadow", 1, archiver.search.zh.shadow)``) or write through ``Archive``.

:func:`rebuild` (migration ``0005_search`` and ``archiver reindex``) indexes everything again.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable

from archiver.search.zh import RULE_VERSION, bigram_shadow, shadow

FTS_TABLE = "articles_fts"
# The second index (migration 0008): bigrams of runs of ideographs, for terms of 2+ ideographs.
BIGRAM_TABLE = "articles_fts_bigram"
BIGRAM_RULE = "zh-bigram-1"
# bm25 weights of the columns (title, body): a hit in the headline counts this many times a hit in
# the body. Stored in the index's own config, so `order by rank` anywhere uses it.
TITLE_WEIGHT = 5.0
BODY_WEIGHT = 1.0
CREATE_SQL = f"create virtual table {FTS_TABLE} using fts5(title, body, content='')"
_ADD = f"insert into {FTS_TABLE}(rowid, title, body) values (new.id, zh_shadow(new.title), zh_shadow(new.body));"
_REMOVE = (f"insert into {FTS_TABLE}({FTS_TABLE}, rowid, title, body) "
           f"values ('delete', old.id, zh_shadow(old.title), zh_shadow(old.body));")
TRIGGERS = {
    "articles_fts_insert": f"after insert on articles begin {_ADD} end",
    "articles_fts_update": ("after update of id, title, body on articles when old.id is not new.id "
                            f"or old.title is not new.title or old.body is not new.body begin {_REMOVE} {_ADD} end"),
    "articles_fts_delete": f"after delete on articles begin {_REMOVE} end",
}


_BADD = (f"insert into {BIGRAM_TABLE}(rowid, title, body) "
         f"values (new.id, zh_bigrams(new.title), zh_bigrams(new.body));")
_BREMOVE = (f"insert into {BIGRAM_TABLE}({BIGRAM_TABLE}, rowid, title, body) "
            f"values ('delete', old.id, zh_bigrams(old.title), zh_bigrams(old.body));")
BIGRAM_CREATE_SQL = f"create virtual table {BIGRAM_TABLE} using fts5(title, body, content='', columnsize=0)"
BIGRAM_TRIGGERS = {
    "articles_fts_bigram_insert": f"after insert on articles begin {_BADD} end",
    "articles_fts_bigram_update": ("after update of id, title, body on articles when old.id is not new.id "
                                   f"or old.title is not new.title or old.body is not new.body begin {_BREMOVE} {_BADD} end"),
    "articles_fts_bigram_delete": f"after delete on articles begin {_BREMOVE} end",
}


def register(conn) -> None:
    """Make a connection able to write articles: the triggers' functions, and REPLACE firing deletes."""
    conn.create_function("zh_shadow", 1, shadow, deterministic=True)
    conn.create_function("zh_bigrams", 1, bigram_shadow, deterministic=True)
    conn.execute("PRAGMA recursive_triggers = ON")


def create(db) -> None:
    db.execute(CREATE_SQL)
    db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}, rank) values('rank', 'bm25({TITLE_WEIGHT}, {BODY_WEIGHT})')")
    create_triggers(db)


def create_bigram(db) -> None:
    """The bigram index and its triggers (migration 0008); :func:`rebuild` fills it."""
    db.execute(BIGRAM_CREATE_SQL)
    create_triggers(db)


def _triggers(db) -> dict[str, str]:
    return {**TRIGGERS, **(BIGRAM_TRIGGERS if has_bigram(db) else {})}


def create_triggers(db) -> None:
    for name, body in _triggers(db).items():
        db.execute(f"create trigger if not exists {name} {body}")


def drop_triggers(db) -> None:
    for name in (*TRIGGERS, *BIGRAM_TRIGGERS):
        db.execute(f"drop trigger if exists {name}")


def exists(db) -> bool:
    return db.execute("select 1 from sqlite_master where name = ?", [FTS_TABLE]).fetchone() is not None


def has_bigram(db) -> bool:
    return db.execute("select 1 from sqlite_master where name = ?", [BIGRAM_TABLE]).fetchone() is not None


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
    bigram = has_bigram(db)
    tables = [FTS_TABLE] + ([BIGRAM_TABLE] if bigram else [])
    for t in tables:
        db.execute(f"insert into {t}({t}) values ('delete-all')")
    n = 0
    for rows in _rows(db, batch):
        db.conn.executemany(f"insert into {FTS_TABLE}(rowid, title, body) values (?, ?, ?)",
                            [(i, shadow(t), shadow(b)) for i, t, b in rows])
        if bigram:
            db.conn.executemany(f"insert into {BIGRAM_TABLE}(rowid, title, body) values (?, ?, ?)",
                                [(i, bigram_shadow(t), bigram_shadow(b)) for i, t, b in rows])
        n += len(rows)
        if progress:
            progress(n)
    for t in tables:
        db.execute(f"insert into {t}({t}) values ('optimize')")
    return n


def rebuild_bigram(db, *, batch: int = 2000) -> int:
    """Index every article in the bigram index only (migration 0008 on an existing archive)."""
    db.execute(f"insert into {BIGRAM_TABLE}({BIGRAM_TABLE}) values ('delete-all')")
    n = 0
    for rows in _rows(db, batch):
        db.conn.executemany(f"insert into {BIGRAM_TABLE}(rowid, title, body) values (?, ?, ?)",
                            [(i, bigram_shadow(t), bigram_shadow(b)) for i, t, b in rows])
        n += len(rows)
    db.execute(f"insert into {BIGRAM_TABLE}({BIGRAM_TABLE}) values ('optimize')")
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
    same_rule = bool(row and RULE_VERSION in (row[0] or ""))       # written by write_help with the rule it used
    triggers = {r[0] for r in db.execute("select name from sqlite_master where type = 'trigger'")}
    missing_triggers = sorted(set(_triggers(db)) - triggers)
    return {"articles": n_articles, "indexed": n_index, "missing": missing, "extra": extra, "rule": RULE_VERSION,
            "same_rule": same_rule, "missing_triggers": missing_triggers,
            "ok": (not missing and not extra and n_articles == n_index and same_rule and not missing_triggers)}


def write_help(db) -> None:
    """(Re)write the ``search_help`` table from :func:`archiver.search.sql.help_rows`."""
    from archiver.search.sql import help_rows

    db.execute("delete from search_help")
    db["search_help"].insert_all(help_rows())
