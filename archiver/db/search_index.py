"""The two Chinese full-text indexes: every SQL statement that writes them.

Both are *contentless* FTS5 tables (``content=''``) with the built-in tokenizer, keyed by
``articles.id`` (their rowid), with the columns ``body`` and ``title`` (body first: FTS5 marks
every hit outside the first column with two extra bytes, and most hits are in the body).
Contentless means neither keeps a second copy of the text; the price is that removing a row needs
the exact values it was indexed with. Rule ``zh-bigram-3`` (migration ``0009_search_bigram_edges``):

* ``articles_fts_bigram`` (:func:`archiver.search.zh.bigram_shadow`): each run of ideographs as its
  first ideograph, its bigrams and its last ideograph; Latin words, digits and the punctuation
  barrier as in the character rule. ``detail=full`` (positions: phrases are substring tests),
  ``columnsize=0``. It answers every query that is not made of lone ideographs only.
* ``articles_fts`` (:func:`archiver.search.zh.char_shadow`): every distinct ideograph of the text,
  ``detail=column`` (which articles, which column; no positions). It answers queries of lone
  ideographs (``铝``, ``铝 OR 锌``). It keeps its docsize table: :func:`check` compares its rowids
  with the articles.

**Triggers keep them in step.** After every insert into ``articles``, every update of its
``title``/``body`` and every delete (including the delete of an ``INSERT OR REPLACE``, since
:func:`register` turns on ``recursive_triggers``), both indexes change in the same transaction,
whichever code wrote the row. The triggers call the SQL functions ``zh_chars3`` and ``zh_bigrams3``,
which :func:`register` adds to every connection ``open_db`` makes. A connection without them (the
``sqlite3`` shell, a plain ``sqlite-utils``, or an archiver older than rule 3) can read the archive
but any write to ``articles`` fails with "no such function" instead of leaving the indexes behind;
register them first (:func:`register`) or write through ``Archive``.

:func:`rebuild` (the migrations and ``archiver reindex``) indexes everything again.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable

from archiver.search.zh import RULE_VERSION, bigram_shadow, char_shadow

FTS_TABLE = "articles_fts"
BIGRAM_TABLE = "articles_fts_bigram"
BIGRAM_RULE = "zh-bigram-3"
CREATE_SQL = f"create virtual table {FTS_TABLE} using fts5(body, title, content='', detail=column)"
_ADD = f"insert into {FTS_TABLE}(rowid, body, title) values (new.id, zh_chars3(new.body), zh_chars3(new.title));"
_REMOVE = (f"insert into {FTS_TABLE}({FTS_TABLE}, rowid, body, title) "
           f"values ('delete', old.id, zh_chars3(old.body), zh_chars3(old.title));")
TRIGGERS = {
    "articles_fts_insert": f"after insert on articles begin {_ADD} end",
    "articles_fts_update": ("after update of id, title, body on articles when old.id is not new.id "
                            f"or old.title is not new.title or old.body is not new.body begin {_REMOVE} {_ADD} end"),
    "articles_fts_delete": f"after delete on articles begin {_REMOVE} end",
}


_BADD = (f"insert into {BIGRAM_TABLE}(rowid, body, title) "
         f"values (new.id, zh_bigrams3(new.body), zh_bigrams3(new.title));")
_BREMOVE = (f"insert into {BIGRAM_TABLE}({BIGRAM_TABLE}, rowid, body, title) "
            f"values ('delete', old.id, zh_bigrams3(old.body), zh_bigrams3(old.title));")
BIGRAM_CREATE_SQL = f"create virtual table {BIGRAM_TABLE} using fts5(body, title, content='', columnsize=0)"
BIGRAM_TRIGGERS = {
    "articles_fts_bigram_insert": f"after insert on articles begin {_BADD} end",
    "articles_fts_bigram_update": ("after update of id, title, body on articles when old.id is not new.id "
                                   f"or old.title is not new.title or old.body is not new.body begin {_BREMOVE} {_BADD} end"),
    "articles_fts_bigram_delete": f"after delete on articles begin {_BREMOVE} end",
}


def register(conn) -> None:
    """Make a connection able to write articles: the triggers' functions, and REPLACE firing deletes."""
    conn.create_function("zh_chars3", 1, char_shadow, deterministic=True)
    conn.create_function("zh_bigrams3", 1, bigram_shadow, deterministic=True)
    conn.execute("PRAGMA recursive_triggers = ON")


def create(db) -> None:
    db.execute(CREATE_SQL)
    create_triggers(db)


def create_bigram(db) -> None:
    """The bigram index and its triggers (migrations 0008, 0009); :func:`rebuild` fills it."""
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
        db.conn.executemany(f"insert into {FTS_TABLE}(rowid, body, title) values (?, ?, ?)",
                            [(i, char_shadow(b), char_shadow(t)) for i, t, b in rows])
        if bigram:
            db.conn.executemany(f"insert into {BIGRAM_TABLE}(rowid, body, title) values (?, ?, ?)",
                                [(i, bigram_shadow(b), bigram_shadow(t)) for i, t, b in rows])
        n += len(rows)
        if progress:
            progress(n)
    for t in tables:
        db.execute(f"insert into {t}({t}) values ('optimize')")
    return n


def rebuild_bigram(db, *, batch: int = 2000) -> int:
    """Index every article in the bigram index only (migration 0008 on an existing archive; 0009
    rebuilds both indexes afterwards, so on an old archive this is work done twice)."""
    db.execute(f"insert into {BIGRAM_TABLE}({BIGRAM_TABLE}) values ('delete-all')")
    n = 0
    for rows in _rows(db, batch):
        db.conn.executemany(f"insert into {BIGRAM_TABLE}(rowid, body, title) values (?, ?, ?)",
                            [(i, bigram_shadow(b), bigram_shadow(t)) for i, t, b in rows])
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
