"""The archive checks itself when it is opened (issue #11).

:func:`preflight` looks at the path before SQLite touches it (a directory, a file that is not an
SQLite database, a place that cannot be written); :func:`verify` compares an opened archive with
the schema this version's migrations build:

* the **schema version**: every migration recorded in ``schema_migrations`` must be one this
  version knows; an archive written by a newer version is refused, not guessed at;
* every expected **table** (and its columns), **index**, **trigger**, **view** and the full-text
  index **articles_fts** must be there.

What can be rebuilt from what is there is repaired, and each repair is reported as one line
(:attr:`sqlite_utils.Database.repairs` after :func:`archiver.db.open_db`):

* indexes, triggers and views: created again from this version's definitions;
* ``articles_fts`` (or any of its shadow tables): rebuilt from ``articles``; ``search_help``:
  written again;
* crawl state (``http_validators``, ``channel_walks``, ``network_sites``, ``network_channels``):
  created empty; the next run asks for those pages unconditionally and finds the channels again;
* the near-duplicate index (``dedup_signatures``, ``dedup_lsh``): created empty and filled again
  from the articles (``archiver dedup`` does the same).

A table that holds what only a crawl saw (``articles``, ``raw_pages``, ``sightings``,
``revisions``, ``near_duplicates``, ``failures``, ``link_entries``, ``crawl_runs``) cannot be
rebuilt: the archive is refused with one line naming what is missing. Every refusal is an
:class:`ArchiveError` whose ``exit_status`` the CLI exits with (sysexits.h numbers).
"""
from __future__ import annotations

import errno
import os
import sqlite3
from functools import lru_cache
from pathlib import Path

from archiver.clock import utc_now
from archiver.errors import ExitError

EXIT_DAMAGED = 65        # EX_DATAERR: not an SQLite archive, a part that cannot be rebuilt is missing, newer schema
EXIT_NO_INPUT = 66       # EX_NOINPUT: the path is a directory / does not exist where an archive must exist
EXIT_CANT_CREATE = 73    # EX_CANTCREAT: the archive (or its -wal/-shm/lock files) cannot be created or written
EXIT_IO = 74             # EX_IOERR: disk full, I/O error

SQLITE_MAGIC = b"SQLite format 3\x00"
FTS_TABLE = "articles_fts"
STATE_TABLES = frozenset({"http_validators", "channel_walks", "network_sites", "network_channels"})
DEDUP_TABLES = frozenset({"dedup_signatures", "dedup_lsh"})
REBUILT_TABLES = frozenset({"search_help"})


class ArchiveError(ExitError):
    """The archive cannot be used; ``str()`` is the one line the operator sees."""

    def __init__(self, path: str | Path, problem: str, exit_status: int = EXIT_DAMAGED):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}", exit_status)


def _writable_dir(d: Path) -> bool:
    return os.access(d, os.W_OK | os.X_OK)


def preflight(path: str | Path, *, create: bool = True) -> None:
    """Refuse a path that cannot be an archive, before SQLite (or the lock) touches it."""
    p = Path(path)
    if p.is_dir():
        raise ArchiveError(p, "is a directory, not an archive file (give a file path such as archive.db)",
                           EXIT_NO_INPUT)
    if not p.exists():
        if not create:
            raise ArchiveError(p, "no archive there", EXIT_NO_INPUT)
        parent = p.parent if str(p.parent) else Path(".")
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise ArchiveError(p, f"cannot create the archive: {parent} is not a directory", EXIT_CANT_CREATE)
        if not _writable_dir(parent):
            raise ArchiveError(p, f"cannot create the archive: directory {parent} is not writable", EXIT_CANT_CREATE)
        return
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as e:
        raise ArchiveError(p, f"cannot be read ({e.strerror})", EXIT_NO_INPUT) from None
    if head and head != SQLITE_MAGIC:
        what = "a text file" if _looks_like_text(p) else "its first bytes are not an SQLite header"
        raise ArchiveError(p, f"is not an SQLite archive ({what})", EXIT_DAMAGED)
    if not os.access(p, os.W_OK):
        raise ArchiveError(p, "is read-only (the crawl writes the archive)", EXIT_CANT_CREATE)
    if not _writable_dir(p.parent if str(p.parent) else Path(".")):
        raise ArchiveError(p, f"directory {p.parent} is not writable (SQLite keeps its -wal and -shm files "
                              f"and the crawl its lock next to the archive)", EXIT_CANT_CREATE)


def _looks_like_text(p: Path) -> bool:
    with open(p, "rb") as fh:
        chunk = fh.read(4096)
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in chunk


def sqlite_problem(path: str | Path, exc: BaseException) -> ArchiveError:
    """One line for an error SQLite (or the OS) raised while opening or writing the archive."""
    msg = str(exc)
    low = msg.lower()
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return ArchiveError(path, "no space left on the device", EXIT_IO)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return ArchiveError(path, f"cannot be written ({exc.strerror})", EXIT_CANT_CREATE)
        return ArchiveError(path, f"{exc.strerror or msg}", EXIT_IO)
    if "not a database" in low or "malformed" in low or "encrypted" in low:
        return ArchiveError(path, f"is not a sound SQLite archive ({msg})", EXIT_DAMAGED)
    if "full" in low:
        return ArchiveError(path, f"the archive cannot grow ({msg}); nothing was written", EXIT_IO)
    if "readonly" in low or "read-only" in low or "unable to open" in low:
        return ArchiveError(path, f"cannot be opened for writing ({msg})", EXIT_CANT_CREATE)
    if "i/o" in low:
        return ArchiveError(path, f"I/O error ({msg})", EXIT_IO)
    return ArchiveError(path, f"SQLite error ({msg})", EXIT_DAMAGED)


# --------------------------------------------------------------------------- the expected schema
def expected_schema() -> dict:
    """What this version's migrations build: {type: {name: sql}} and each table's columns."""
    from . import schema

    return _expected_schema(tuple(m.NAME for m in schema._discover()))


@lru_cache(maxsize=4)
def _expected_schema(names: tuple[str, ...]) -> dict:
    import sqlite_utils

    from . import schema

    db = sqlite_utils.Database(memory=True)
    schema.migrate(db)
    out: dict = {"table": {}, "index": {}, "trigger": {}, "view": {}, "columns": {}}
    for type_, name, sql in db.execute("select type, name, sql from sqlite_master where name not like 'sqlite_%'"):
        if type_ in out and sql:
            out[type_][name] = sql
    for name in out["table"]:
        out["columns"][name] = [r[1] for r in db.execute(f"pragma table_info([{name}])")]
    out["migrations"] = schema.applied_migrations(db)
    db.close()
    return out


def _present(db) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"table": set(), "index": set(), "trigger": set(), "view": set()}
    for type_, name in db.execute("select type, name from sqlite_master"):
        if type_ in out:
            out[type_].add(name)
    return out


def unknown_migrations(db) -> list[str]:
    known = set(expected_schema()["migrations"])
    if "schema_migrations" not in _present(db)["table"]:
        return []
    return sorted(r[0] for r in db.execute("select name from schema_migrations") if r[0] not in known)


def check_before_migrate(db, path) -> None:
    """Refuse what migrating would make worse: a newer schema, or tables of something else."""
    present = _present(db)
    if "schema_migrations" not in present["table"]:
        if present["table"]:
            names = ", ".join(sorted(present["table"])[:5])
            raise ArchiveError(path, f"is an SQLite database but not an archive (no schema_migrations table; "
                                     f"tables: {names})", EXIT_DAMAGED)
        return
    newer = unknown_migrations(db)
    if newer:
        raise ArchiveError(path, f"schema version {newer[-1]} is newer than this archiver knows "
                                 f"(it knows up to {expected_schema()['migrations'][-1]}): upgrade chinalco-archive",
                           EXIT_DAMAGED)


def verify(db, path, *, repair: bool = True) -> list[str]:
    """Check an opened, migrated archive; repair what can be rebuilt. Returns the repairs made
    (one line each); raises :class:`ArchiveError` for what cannot be repaired."""
    exp = expected_schema()
    present = _present(db)
    applied = [r[0] for r in db.execute("select name from schema_migrations")]
    missing_migrations = [m for m in exp["migrations"] if m not in applied]
    if missing_migrations:
        raise ArchiveError(path, f"schema migrations {', '.join(missing_migrations)} are not applied", EXIT_DAMAGED)

    fts_parts = _fts_parts(exp)
    tables = [t for t in exp["table"] if not any(t in parts for parts in fts_parts.values())]
    missing = [t for t in tables if t not in present["table"]]
    lost = [t for t in missing if t not in STATE_TABLES | DEDUP_TABLES | REBUILT_TABLES]
    if lost:
        raise ArchiveError(path, f"table{'s' if len(lost) > 1 else ''} {', '.join(lost)} "
                                 f"{'are' if len(lost) > 1 else 'is'} missing and cannot be rebuilt from the rest "
                                 f"of the archive: restore it from a backup", EXIT_DAMAGED)
    for t in tables:
        if t in missing:
            continue
        have = {r[1] for r in db.execute(f"pragma table_info([{t}])")}
        lacking = [c for c in exp["columns"][t] if c not in have]
        if lacking:
            raise ArchiveError(path, f"table {t} lacks column{'s' if len(lacking) > 1 else ''} "
                                     f"{', '.join(lacking)}", EXIT_DAMAGED)
    fts_broken = [fts for fts, parts in fts_parts.items() if any(t not in present["table"] for t in parts)]
    missing_idx = [n for n in exp["index"] if n not in present["index"]]
    missing_trg = [n for n in exp["trigger"] if n not in present["trigger"]]
    missing_views = [n for n in exp["view"] if n not in present["view"]]
    if not (missing or fts_broken or missing_idx or missing_trg or missing_views):
        return []
    what = ", ".join(missing + fts_broken + missing_idx + missing_trg + missing_views)
    if not repair:
        raise ArchiveError(path, f"incomplete archive (missing: {what})", EXIT_DAMAGED)
    return _repair(db, exp, missing, fts_broken, missing_idx, missing_trg, missing_views, fts_parts)


def _fts_parts(exp) -> dict[str, list[str]]:
    """Each full-text (FTS5) table of the schema with its shadow tables (``<name>_data`` …)."""
    fts = [n for n, sql in exp["table"].items() if sql.lstrip().upper().startswith("CREATE VIRTUAL TABLE")]
    parts = {f: [f] for f in fts}
    for t in exp["table"]:
        if t in parts:
            continue
        owners = [f for f in fts if t.startswith(f + "_")]
        if owners:
            parts[max(owners, key=len)].append(t)
    return parts


def _drop_fts(db, fts: str, parts: list[str]) -> None:
    """Drop a full-text table and its shadow tables, also when a shadow table is gone (then
    SQLite cannot construct the virtual table to drop it: its schema row is removed instead)."""
    try:
        db.execute(f"drop table if exists [{fts}]")
    except sqlite3.DatabaseError:
        version = db.execute("pragma schema_version").fetchone()[0]
        db.execute("pragma writable_schema = on")
        db.execute("delete from sqlite_master where type = 'table' and name = ?", [fts])
        db.execute(f"pragma schema_version = {version + 1}")
        db.execute("pragma writable_schema = off")
    for part in parts:
        if part != fts:
            db.execute(f"drop table if exists [{part}]")


def _repair(db, exp, missing, fts_broken, missing_idx, missing_trg, missing_views, fts_parts) -> list[str]:
    from . import search_index

    done: list[str] = []
    with db.atomic():
        for t in missing:
            db.execute(exp["table"][t])          # its indexes are among missing_idx
            if t in STATE_TABLES:
                done.append(f"recreated the crawl-state table {t} empty (the next run re-checks those pages)")
            elif t == "search_help":
                search_index.write_help(db)
                done.append("wrote the search_help table again")
        for name in missing_idx:
            db.execute(exp["index"][name])
        if missing_idx:
            done.append(f"recreated index{'es' if len(missing_idx) > 1 else ''} {', '.join(missing_idx)}")
        for name in missing_views:
            db.execute(exp["view"][name])
        if missing_views:
            done.append(f"recreated view{'s' if len(missing_views) > 1 else ''} {', '.join(missing_views)}")
        fts_trigger_names = {**search_index.TRIGGERS, **getattr(search_index, "BIGRAM_TRIGGERS", {})}
        fts_triggers = [n for n in missing_trg if n in fts_trigger_names]
        other_triggers = [n for n in missing_trg if n not in fts_trigger_names]
        for name in other_triggers:
            db.execute(exp["trigger"][name])
        if other_triggers:
            done.append(f"recreated trigger{'s' if len(other_triggers) > 1 else ''} {', '.join(other_triggers)}")
        if fts_broken or fts_triggers:
            # An index whose triggers were missing may have missed writes: rebuild it whole.
            for fts in fts_broken:
                _drop_fts(db, fts, fts_parts[fts])
                if fts == FTS_TABLE:
                    search_index.create(db)
                else:
                    db.execute(exp["table"][fts])
            n = search_index.rebuild(db)         # every full-text index, and their triggers
            why = (f"{', '.join(fts_broken)} missing or incomplete" if fts_broken
                   else f"lost trigger(s) {', '.join(fts_triggers)}")
            done.append(f"rebuilt the full-text index{'es' if len(fts_parts) > 1 else ''} "
                        f"{', '.join(fts_parts)} from {n} articles ({why})")
    dedup_missing = [t for t in missing if t in DEDUP_TABLES]
    if dedup_missing:

        from .dedup import DedupStore
        with db.atomic():
            db.execute("delete from dedup_lsh")           # the two halves of one index: rebuild both
            db.execute("delete from dedup_signatures")
            counts = DedupStore(db).reindex(now=utc_now())
        done.append(f"recreated {', '.join(dedup_missing)} and indexed {counts['indexed']} articles for "
                    f"near-duplicates again")
    return done
