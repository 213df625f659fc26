"""The archive's crawl state: what a recurring crawl asks before it downloads (issue #6).

Two sides, both SQL over the archive file, both kept here so that ``archive.py`` stays the
article store:

* :class:`ArchiveReader`, a **read-only** connection the spider uses while the crawl runs:
  "is this article archived?", "what validators do we hold for this URL?", "which failures are
  due for a retry?". Every question is one indexed lookup, so the crawl's memory does not grow
  with the archive.
* :class:`CrawlState`, the writer side used by the store step on the archive's own connection
  (so its writes can share the article's transaction): validators, retry schedule, revalidated
  articles, and the per-site history the health check compares against.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Iterable, Iterator

import sqlite_utils

from .schema import open_db


def validators_from_headers(headers: Iterable[tuple[str, str]]) -> tuple[str | None, str | None]:
    """(ETag, Last-Modified) from response headers, either may be None."""
    etag = last_modified = None
    for name, value in headers:
        low = name.lower()
        if low == "etag" and etag is None:
            etag = value
        elif low == "last-modified" and last_modified is None:
            last_modified = value
    return etag, last_modified


class ArchiveReader:
    """Read-only questions the spider asks during a crawl (one indexed lookup each).

    A missing archive (or one without the incremental tables yet) answers "nothing known".
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.db: sqlite_utils.Database | None = None
        self.has_sightings = False
        if self.path.exists():
            self.db = open_db(self.path, readonly=True)
            tables = set(self.db.table_names())
            if not {"articles", "failures", "http_validators"} <= tables:
                self.db.close()
                self.db = None
            self.has_sightings = "sightings" in tables      # #4 (migration 0004)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def _one(self, sql: str, params: list) -> tuple | None:
        assert self.db is not None
        return self.db.execute(sql, params).fetchone()

    def known(self, canonical_url: str, url: str | None = None) -> str | None:
        """'article' when archived, 'failure' when recorded as a failure (retried on its own
        schedule), None when the crawl has never handled it."""
        if self.db is None:
            return None
        if self._one("select 1 from articles where canonical_url = ?", [canonical_url]):
            return "article"
        # #4: a re-post or alias URL is a sighting of an article whose canonical URL is another one.
        if self.has_sightings and self._one("select 1 from sightings where canonical_url = ? or url = ?",
                                            [canonical_url, url or canonical_url]):
            return "article"
        for u in {canonical_url, url or canonical_url}:
            if self._one("select 1 from failures where url = ?", [u]):
                return "failure"
        return None

    def last_checked(self, canonical_url: str, url: str | None = None) -> tuple[str | None, str | None] | None:
        """(when the archived article at this URL was last checked, its published_at), or None
        when it is not archived. "Checked" is the last 200 or 304 for this URL (its validators
        row), else the article's ``last_seen``."""
        if self.db is None:
            return None
        url = url or canonical_url
        art = self._one("select published_at, last_seen from articles where canonical_url = ?", [canonical_url])
        if art is None and self.has_sightings:
            art = self._one("select a.published_at, s.last_seen from sightings s join articles a on a.id = s.article_id "
                            "where s.url = ? or s.canonical_url = ? limit 1", [url, canonical_url])
        if art is None:
            return None
        checked = None
        for u in dict.fromkeys((url, canonical_url)):
            row = self._one("select checked_at from http_validators where url = ?", [u])
            if row and row[0] and (checked is None or row[0] > checked):
                checked = row[0]
        return checked or art[1], art[0]

    def validators(self, url: str) -> tuple[str | None, str | None] | None:
        if self.db is None:
            return None
        row = self._one("select etag, last_modified from http_validators where url = ?", [url])
        if row is None or (row[0] is None and row[1] is None):
            return None
        return row[0], row[1]

    def needs_resume(self, url: str) -> bool:
        """The last walk of this channel was started but never completed (a killed run)."""
        if self.db is None or "channel_walks" not in self.db.table_names():
            return False
        row = self._one("select started_run_id, completed_run_id from channel_walks where url = ?", [url])
        return bool(row and row[0] is not None and (row[1] is None or row[1] < row[0]))

    def discovered_channels(self) -> list[dict]:
        """Channels earlier runs found beyond the registry, with what their first page was at
        the last look (``status``): the ones that held articles are walked again even when nothing
        links them any more, the missing ones are not asked for again (until a full run)."""
        if self.db is None or "network_channels" not in self.db.table_names():
            return []
        rows = self.db.execute("select site, channel, list_url, label, found_by, found_on, status "
                               "from network_channels where in_registry = 0 order by id").fetchall()
        cols = ("site", "channel", "list_url", "label", "found_by", "found_on", "status")
        return [dict(zip(cols, r)) for r in rows]

    def known_sites(self) -> list[dict]:
        """Sites earlier runs walked (homepages), with their status at the last look."""
        if self.db is None or "network_sites" not in self.db.table_names():
            return []
        rows = self.db.execute("select site, host, name, found_by, found_on, in_registry, status "
                               "from network_sites order by site").fetchall()
        cols = ("site", "host", "name", "found_by", "found_on", "in_registry", "status")
        return [dict(zip(cols, r)) for r in rows]

    def discovered_site_ids(self) -> list[str]:
        return [r["site"] for r in self.known_sites() if not r["in_registry"]]

    def due_failures(self, site_ids: Iterable[str], *, now: str, max_attempts: int,
                     ignore_backoff: bool = False) -> Iterator[dict]:
        """Open, retryable failures of these sites whose back-off has elapsed.

        ``ignore_backoff`` (a ``--full`` run) takes every open retryable failure.
        """
        if self.db is None:
            return iter(())
        sites = list(site_ids)
        if not sites:
            return iter(())
        marks = ",".join("?" for _ in sites)
        sql = (f"select url, site, channel, kind, attempts from failures "
               f"where resolved_at is null and retryable = 1 and site in ({marks})")
        params: list = list(sites)
        if not ignore_backoff:
            sql += " and (next_retry_at is null or next_retry_at <= ?) and attempts < ?"
            params += [now, max_attempts]
        rows = self.db.execute(sql + " order by id", params).fetchall()
        cols = ("url", "site", "channel", "kind", "attempts")
        return (dict(zip(cols, r)) for r in rows)


class CrawlState:
    """Writes of the incremental machinery, on the archive's own connection.

    Each method is its own transaction, or a savepoint inside the caller's ``db.atomic()``.
    """

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def record_found(self, item, *, now: str, run_id: int | None) -> bool:
        """Keep a site or channel the crawl walked (``archiver.items.Found``): how, where and when it
        was first found, when it was last seen. True when the archive did not know it yet."""
        if item.kind == "site":
            table, key, where = "network_sites", [item.site], "site = ?"
            row = {"site": item.site, "host": item.host, "name": item.label, "found_by": item.found_by,
                   "found_on": item.found_on, "in_registry": int(item.in_registry), "status": item.status}
        else:
            table, key, where = "network_channels", [item.site, item.channel], "site = ? and channel = ?"
            row = {"site": item.site, "channel": item.channel, "list_url": item.url, "label": item.label,
                   "found_by": item.found_by, "found_on": item.found_on, "in_registry": int(item.in_registry),
                   "articles": item.articles, "status": item.status}
        known = self.db.execute(f"select 1 from {table} where {where}", key).fetchone()
        if known:
            sets = ["last_seen = ?", "last_run_id = ?"]
            params: list = [now, run_id]
            if item.kind == "channel" and item.articles is not None:
                sets.append("articles = ?")
                params.append(item.articles)
            if item.status != "unchanged":
                sets.append("status = ?")
                params.append(item.status)
            if item.label:
                sets.append("label = coalesce(label, ?)" if item.kind == "channel" else "name = coalesce(name, ?)")
                params.append(item.label)
            self.db.execute(f"update {table} set {', '.join(sets)} where {where}", params + key)
            return False
        if row["status"] == "unchanged":
            row["status"] = "ok"
        self.db[table].insert({**row, "first_seen": now, "last_seen": now, "first_run_id": run_id,
                               "last_run_id": run_id})
        return True

    def save_validators(self, url: str, *, kind: str, headers: Iterable[tuple[str, str]] | None = None,
                        etag: str | None = None, last_modified: str | None = None, now: str,
                        run_id: int | None) -> bool:
        """Remember a page's validators; returns False (and stores nothing) when it sent none."""
        if headers is not None:
            etag, last_modified = validators_from_headers(headers)
        if etag is None and last_modified is None:
            return False
        with self.db.atomic():
            self.db.execute(
                "insert into http_validators (url, kind, etag, last_modified, checked_at, run_id) "
                "values (?, ?, ?, ?, ?, ?) on conflict(url) do update set kind = excluded.kind, "
                "etag = excluded.etag, last_modified = excluded.last_modified, checked_at = excluded.checked_at, "
                "run_id = excluded.run_id", [url, kind, etag, last_modified, now, run_id])
        return True

    def walk_started(self, url: str, *, site: str | None, channel: str | None, now: str, run_id: int | None) -> None:
        with self.db.atomic():
            self.db.execute(
                "insert into channel_walks (url, site, channel, started_run_id, started_at) values (?, ?, ?, ?, ?) "
                "on conflict(url) do update set site = excluded.site, channel = excluded.channel, "
                "started_run_id = excluded.started_run_id, started_at = excluded.started_at",
                [url, site, channel, run_id, now])

    def walk_completed(self, url: str, *, now: str, run_id: int | None) -> None:
        with self.db.atomic():
            self.db.execute("update channel_walks set completed_run_id = ?, completed_at = ? where url = ?",
                            [run_id, now, url])

    def touch_article(self, url: str, canonical_url: str, *, now: str, run_id: int | None) -> bool:
        """A conditional request answered 304: the archived article is still current.

        Updates ``last_seen`` / ``last_run_id`` only (like storing an unchanged article).
        Returns False when the article is not in the archive (nothing is written then).
        """
        with self.db.atomic():
            # #4: the URL may be any sighting of the article (a re-post, an alias): its sighting
            # and its article are seen again. Archives always have sightings (migration 0004).
            self.db.execute("update sightings set last_seen = ?, last_run_id = ? where url = ?", [now, run_id, url])
            cur = self.db.execute(
                "update articles set last_seen = ?, last_run_id = ? where canonical_url = ? or id in "
                "(select article_id from sightings where url = ? or canonical_url = ?)",
                [now, run_id, canonical_url, url, canonical_url])
            if cur.rowcount:
                self.db.execute("update http_validators set checked_at = ?, run_id = ? where url = ?",
                                [now, run_id, url])
                self.db.execute("update failures set resolved_at = ? where url in (?, ?) and resolved_at is null",
                                [now, url, canonical_url])
            return bool(cur.rowcount)

    def schedule_retry(self, url: str, next_retry_at: str | None) -> None:
        with self.db.atomic():
            self.db.execute("update failures set next_retry_at = ? where url = ?", [next_retry_at, url])

    # ------------------------------------------------------------------ history (health checks)
    def established_sites(self, site_ids: Iterable[str]) -> set[str]:
        """Sites that already have at least one archived article (before this run wrote any)."""
        return {s for s in site_ids
                if self.db.execute("select 1 from articles where site = ? limit 1", [s]).fetchone()}

    def recent_site_counts(self, *, before_run_id: int | None, limit: int) -> list[dict]:
        """``site_counts`` of the last ``limit`` finished runs before this one, newest first."""
        sql = "select site_counts from crawl_runs where site_counts is not null and status != 'running'"
        params: list = []
        if before_run_id is not None:
            sql += " and id < ?"
            params.append(before_run_id)
        rows = self.db.execute(sql + " order by id desc limit ?", params + [limit]).fetchall()
        out = []
        for (raw,) in rows:
            try:
                out.append(json.loads(raw))
            except (TypeError, ValueError):
                continue
        return out


def integrity_ok(path: str | Path) -> bool:
    """``PRAGMA integrity_check`` on a read-only connection."""
    con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        return con.execute("pragma integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
