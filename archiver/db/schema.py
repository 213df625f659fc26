"""Opening the archive and bringing its schema up to date.

Migrations are modules in ``archiver.db.migrations`` named ``mNNNN_<what>.py``, each with a
``NAME`` and ``up(db)``; they run in name order, once each, inside a transaction, and are
recorded in ``schema_migrations``. An archive written by an older version opens with a newer one:
the missing migrations are applied on open.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import sqlite_utils

from archiver.clock import utc_now
from . import migrations as _migrations_pkg
from . import search_index

SCHEMA_TABLES = ("articles", "raw_pages", "crawl_runs", "failures", "link_entries", "schema_migrations")
BUSY_TIMEOUT_MS = 15000


def _discover():
    mods = []
    for info in pkgutil.iter_modules(_migrations_pkg.__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            mods.append(importlib.import_module(f"{_migrations_pkg.__name__}.{info.name}"))
    mods.sort(key=lambda m: m.__name__)
    names = [m.NAME for m in mods]
    if len(set(names)) != len(names):
        raise RuntimeError(f"duplicate migration names: {names}")
    return mods


def open_db(path: str | Path, *, readonly: bool = False, migrate_schema: bool = True) -> sqlite_utils.Database:
    """The archive at ``path``, in WAL mode with a busy timeout, schema migrated.

    WAL lets Datasette read while a crawl writes; with ``synchronous=NORMAL`` a killed process
    never corrupts the file and loses at most the transaction in flight.

    A writable open checks the archive (``archiver.db.check``): a path that cannot be an archive,
    a newer schema or a missing table that holds crawled data raise
    :class:`~archiver.db.check.ArchiveError` (one line, an exit status); what can be rebuilt is
    repaired and listed in ``db.repairs``.
    """
    if readonly:
        import sqlite3
        conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        db = sqlite_utils.Database(conn)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return db
    import sqlite3

    from . import check

    check.preflight(path)
    db = None
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(path)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        search_index.register(db.conn)           # the search index's triggers run on this connection
        db.repairs = []
        if migrate_schema:
            check.check_before_migrate(db, path)
            migrate(db)
            db.repairs = check.verify(db, path)
    except check.ArchiveError:
        if db is not None:
            db.close()
        raise
    except (sqlite3.Error, OSError) as e:
        if db is not None:
            db.close()
        raise check.sqlite_problem(path, e) from e
    return db


def applied_migrations(db: sqlite_utils.Database) -> list[str]:
    if "schema_migrations" not in db.table_names():
        return []
    return [r["name"] for r in db.query("select name from schema_migrations order by name")]


def pending_migrations(db: sqlite_utils.Database) -> list[str]:
    """The names of the migrations this archive has not had yet (all of them for a new file)."""
    done = set(applied_migrations(db))
    return [m.NAME for m in _discover() if m.NAME not in done]


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied now."""
    search_index.register(db.conn)
    if "schema_migrations" not in db.table_names():
        db["schema_migrations"].create({"name": str, "applied_at": str}, pk="name")
    done = set(applied_migrations(db))
    applied = []
    for mod in _discover():
        if mod.NAME in done:
            continue
        with db.atomic():
            mod.up(db)
            db["schema_migrations"].insert(
                {"name": mod.NAME, "applied_at": utc_now()})
        applied.append(mod.NAME)
    return applied
