"""What a worker asks of the archive during an incremental crawl, answered from Redis.

A single-machine crawl asks :class:`archiver.db.crawlstate.ArchiveReader` four questions per
list row or channel (``known``, ``last_checked``, ``validators``, ``needs_resume``), each an
indexed SQLite lookup. Workers of a distributed crawl run on other machines and never open the
archive: the coordinator copies the answers into Redis once, at the start (:func:`export_knowledge`),
and each worker asks :class:`RedisKnowledge`, which gives the same answers with one round trip.

The answers are kept **per URL key**, a 12-byte :func:`~archiver.distributed.keys.digest` of the
URL, because the questions are asked with URLs. ``ArchiveReader`` looks a URL up in two roles:
as a canonical URL (``articles.canonical_url``, ``sightings.canonical_url``) and as a fetched URL
(``sightings.url``); ``last_checked`` also reads the validators row of either. So each URL key holds
what its URL contributes in each role, and a question with two URLs (canonical and fetched) reads
both keys with one ``HMGET`` and combines them exactly as the SQL does. The four structures
(:class:`~archiver.distributed.keys.Keys`):

* ``know_articles`` hash, ``digest(url)`` -> JSON ``[checked, a, su, sc]`` (trailing nulls left out):
  ``checked`` the validators row's ``checked_at`` for this URL; ``a`` the article whose canonical
  URL it is, ``su`` the sighting fetched at it, ``sc`` the first sighting (by id) naming it as
  canonical URL. Each role is ``[published_at, last_seen]`` (the article's ``published_at``, the
  row's ``last_seen``), ``0`` for a sighting whose article row is missing (known, never "checked":
  the SQL's join drops it), ``1`` for "the same as the role before it" (most URLs are all three),
  or null.
* ``know_failures`` set of ``digest(url)`` of failure rows.
* ``know_validators`` hash, ``digest(url)`` -> JSON ``[etag, last_modified]`` (rows with neither
  are left out: ``validators`` answers None for them).
* ``know_resume`` set of ``digest(url)`` of channel walks started and never completed.

The export streams each table in URL order through its index (one read transaction, so one
snapshot of an archive a crawl may still be writing), merges the streams by URL and writes in
pipelined batches: memory stays at one batch, whatever the size of the archive.
"""
from __future__ import annotations

import heapq
import itertools
import json
from pathlib import Path
from typing import Iterable, Iterator

from archiver.db.crawlstate import ArchiveReader

from .keys import Keys, digest

# role tags of the URL streams, in the order their roles sit in a know_articles value
ARTICLE, SIGHTING_URL, SIGHTING_CANONICAL, CHECKED = "a", "su", "sc", "v"
ROLES = (ARTICLE, SIGHTING_URL, SIGHTING_CANONICAL)
SAME_AS_BEFORE = 1      # a role equal to the one before it
NO_ARTICLE = 0          # a sighting whose article row is missing

_SQL = {
    ARTICLE: "select canonical_url, published_at, last_seen from articles "
             "where canonical_url is not null order by canonical_url",
    # left joins: a sighting without its article still makes its URL known (ArchiveReader.known
    # does not join), but gives no answer to last_checked (which does)
    SIGHTING_URL: "select s.url, a.published_at, s.last_seen, a.id is not null from sightings s "
                  "left join articles a on a.id = s.article_id order by s.url",
    SIGHTING_CANONICAL: "select s.canonical_url, a.published_at, s.last_seen, a.id is not null from sightings s "
                        "left join articles a on a.id = s.article_id order by s.canonical_url, s.id",
    CHECKED: "select url, checked_at, etag, last_modified from http_validators where url is not null order by url",
}


# ---------------------------------------------------------------------------- the value format
def encode_entry(checked: str | None, roles: dict[str, object]) -> bytes:
    """The ``know_articles`` value of one URL key (see the module docstring)."""
    out: list = [checked or None]
    before = None
    for tag in ROLES:
        role = roles.get(tag)
        out.append(SAME_AS_BEFORE if role is not None and role == before else role)
        before = role
    while out and out[-1] is None:
        out.pop()
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_entry(raw: bytes | None) -> tuple[str | None, dict[str, object]]:
    """(checked, {role: [published_at, last_seen] | NO_ARTICLE | None}) of a ``know_articles`` value."""
    if raw is None:
        return None, {}
    values = json.loads(raw)
    checked, rest = (values[0] if values else None), values[1:]
    roles: dict[str, object] = {}
    before = None
    for tag, value in itertools.zip_longest(ROLES, rest[:len(ROLES)]):
        role = before if value == SAME_AS_BEFORE else value
        roles[tag] = role
        before = role
    return checked, roles


def _answer(role) -> tuple | None:
    """The (published_at, last_seen) a role gives last_checked, or None."""
    return tuple(role) if isinstance(role, list) else None


# ---------------------------------------------------------------------------- reading the archive
def _ordered(rows: Iterable[tuple], tag: str) -> Iterator[tuple]:
    """``(url, tag, row)`` in URL order; raises if the database's order is not Python's (the merge
    would then split a URL's roles over two entries, and the later would overwrite the earlier)."""
    before = None
    for row in rows:
        url = row[0]
        if before is not None and url < before:
            raise RuntimeError(f"the archive returned {tag} URLs out of order ({before!r} before {url!r})")
        before = url
        yield url, tag, row


def _url_streams(conn, has_sightings: bool) -> list[Iterator[tuple]]:
    tags = [ARTICLE, CHECKED] + ([SIGHTING_URL, SIGHTING_CANONICAL] if has_sightings else [])
    return [_ordered(conn.execute(_SQL[tag]), tag) for tag in tags]


def _merged_by_url(streams: list[Iterator[tuple]]) -> Iterator[tuple[str, list[tuple]]]:
    """Each URL once, with its rows from every stream (a stream's own order kept)."""
    merged = heapq.merge(*streams, key=lambda item: item[0])
    for url, items in itertools.groupby(merged, key=lambda item: item[0]):
        yield url, [(tag, row) for _, tag, row in items]


def _entry_of(rows: list[tuple]) -> tuple[str | None, dict[str, object], tuple | None]:
    """(checked, roles, validators row) of one URL from its rows."""
    checked, roles, validators = None, {}, None
    for tag, row in rows:
        if tag == CHECKED:
            checked, validators = row[1], (row[2], row[3])
        elif tag == ARTICLE:
            roles[ARTICLE] = [row[1], row[2]]
        elif tag == SIGHTING_URL:
            roles[SIGHTING_URL] = [row[1], row[2]] if row[3] else NO_ARTICLE
        elif tag == SIGHTING_CANONICAL:
            # the SQL's "limit 1" takes the first sighting by id whose article exists
            if row[3] and not isinstance(roles.get(SIGHTING_CANONICAL), list):
                roles[SIGHTING_CANONICAL] = [row[1], row[2]]
            elif SIGHTING_CANONICAL not in roles:
                roles[SIGHTING_CANONICAL] = NO_ARTICLE
    return checked, roles, validators


def _resumable_walks(conn, tables: set[str]) -> Iterator[str]:
    """Channel walks started and never completed (ArchiveReader.needs_resume's test, row by row)."""
    if "channel_walks" not in tables:
        return
    for url, started, completed in conn.execute("select url, started_run_id, completed_run_id from channel_walks "
                                                "where url is not null"):
        if started is not None and (completed is None or completed < started):
            yield url


def _failures(conn) -> Iterator[str]:
    for (url,) in conn.execute("select url from failures where url is not null"):
        yield url


# ---------------------------------------------------------------------------- writing to Redis
class _BatchWriter:
    """Hash fields and set members collected into batches, each batch one pipelined round trip."""

    def __init__(self, client, batch: int):
        self.client, self.batch = client, max(1, batch)
        self.hashes: dict[str, dict[bytes, bytes]] = {}
        self.sets: dict[str, list[bytes]] = {}
        self.pending = 0

    def hset(self, key: str, field: bytes, value: bytes) -> None:
        self.hashes.setdefault(key, {})[field] = value
        self._added()

    def sadd(self, key: str, member: bytes) -> None:
        self.sets.setdefault(key, []).append(member)
        self._added()

    def _added(self) -> None:
        self.pending += 1
        if self.pending >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        pipe = self.client.pipeline(transaction=False)
        for key, mapping in self.hashes.items():
            pipe.hset(key, mapping=mapping)
        for key, members in self.sets.items():
            pipe.sadd(key, *members)
        pipe.execute()
        self.hashes, self.sets, self.pending = {}, {}, 0


def knowledge_keys(keys: Keys) -> list[str]:
    return [keys.know_articles, keys.know_failures, keys.know_validators, keys.know_resume]


def export_knowledge(archive_path: str | Path, client, keys: Keys, *, batch: int = 5000) -> dict[str, int]:
    """Replace what workers know of the archive (the four ``know_*`` structures under ``keys``)
    with what the archive at ``archive_path`` holds now; returns the counts for the log.

    A missing archive, or one without the incremental tables, exports nothing ("nothing known",
    as :class:`ArchiveReader` answers)."""
    client.delete(*knowledge_keys(keys))
    counts = {"articles": 0, "url_keys": 0, "failures": 0, "validators": 0, "resume": 0}
    reader = ArchiveReader(archive_path)
    if reader.db is None:
        return counts
    conn = reader.db.conn
    writer = _BatchWriter(client, batch)
    try:
        tables = set(reader.db.table_names())
        conn.execute("begin")          # one read transaction: every stream sees the same snapshot
        for url, rows in _merged_by_url(_url_streams(conn, reader.has_sightings)):
            checked, roles, validators = _entry_of(rows)
            field = digest(url)
            if roles or checked:
                writer.hset(keys.know_articles, field, encode_entry(checked, roles))
                counts["url_keys"] += 1
                counts["articles"] += ARTICLE in roles
            if validators is not None and validators != (None, None):
                writer.hset(keys.know_validators, field, json.dumps(list(validators), separators=(",", ":"),
                                                                    ensure_ascii=False).encode("utf-8"))
                counts["validators"] += 1
        for url in _failures(conn):
            writer.sadd(keys.know_failures, digest(url))
            counts["failures"] += 1
        for url in _resumable_walks(conn, tables):
            writer.sadd(keys.know_resume, digest(url))
            counts["resume"] += 1
        writer.flush()
    finally:
        if conn.in_transaction:
            conn.execute("rollback")
        reader.close()
    return counts


# ---------------------------------------------------------------------------- asking Redis
class RedisKnowledge:
    """:class:`ArchiveReader`'s four crawl-time questions, answered from what
    :func:`export_knowledge` put in Redis: the same answers, one round trip each."""

    def __init__(self, client, keys: Keys):
        self.client, self.keys = client, keys

    def close(self) -> None:
        """Nothing to release: the client belongs to the caller."""

    def _fields(self, canonical_url: str, url: str | None) -> list[bytes]:
        url = url or canonical_url
        return [digest(canonical_url)] if url == canonical_url else [digest(canonical_url), digest(url)]

    @staticmethod
    def _pair(raw: list) -> tuple[tuple, tuple]:
        """(canonical entry, fetched-URL entry), decoded; one entry stands for both when the URLs are one."""
        canonical = decode_entry(raw[0])
        return canonical, (decode_entry(raw[1]) if len(raw) > 1 else canonical)

    def known(self, canonical_url: str, url: str | None = None) -> str | None:
        fields = self._fields(canonical_url, url)
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self.keys.know_articles, fields)
        pipe.smismember(self.keys.know_failures, fields)
        entries, failed = pipe.execute()
        (_, c_roles), (_, u_roles) = self._pair(entries)
        if (c_roles.get(ARTICLE) is not None or c_roles.get(SIGHTING_CANONICAL) is not None
                or u_roles.get(SIGHTING_URL) is not None):
            return "article"
        return "failure" if any(failed) else None

    def last_checked(self, canonical_url: str, url: str | None = None) -> tuple[str | None, str | None] | None:
        (c_checked, c_roles), (u_checked, u_roles) = self._pair(
            self.client.hmget(self.keys.know_articles, self._fields(canonical_url, url)))
        # the article by its canonical URL, else the sighting fetched at url, else the first
        # sighting naming canonical_url (the order of ArchiveReader's query plan)
        art = (_answer(c_roles.get(ARTICLE)) or _answer(u_roles.get(SIGHTING_URL))
               or _answer(c_roles.get(SIGHTING_CANONICAL)))
        if art is None:
            return None
        checked = max((c for c in (u_checked, c_checked) if c), default=None)
        published_at, last_seen = art
        return checked or last_seen, published_at

    def validators(self, url: str) -> tuple[str | None, str | None] | None:
        raw = self.client.hget(self.keys.know_validators, digest(url))
        if raw is None:
            return None
        etag, last_modified = json.loads(raw)
        return etag, last_modified

    def needs_resume(self, url: str) -> bool:
        return bool(self.client.sismember(self.keys.know_resume, digest(url)))
