"""Every write to the archive goes through ``Archive``; each public method is one transaction.

Rules it keeps:
* an article row is one story, keyed by its primary sighting's canonical URL; every URL it was
  fetched at is a ``sightings`` row (``archiver.db.dedup``); storing an unchanged page again
  changes only ``last_seen`` / ``last_run_id`` (no new rows anywhere);
* the raw response is kept zlib-compressed in ``raw_pages`` (one row per URL and content hash),
  so an article can be re-extracted later without a crawl;
* a failure is one row per URL, counting attempts; storing the article later resolves it;
* the search index ``articles_fts`` follows every insert, update of title/body and delete of an
  article row in the same transaction, through triggers (``search_index``), whichever method writes.
"""
from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Iterable

import sqlite_utils

from .dedup import DedupStore
from .schema import open_db

ARTICLE_COLUMNS = (
    "canonical_url", "url", "site", "site_name", "channel", "channel_label", "breadcrumb", "title", "source",
    "author", "editor", "published_at", "published_precision", "published_raw", "url_date", "doc_id", "language",
    "body", "body_html", "images", "attachments", "extraction", "family", "list_title", "list_date",
    "quality", "quality_score", "quality_flags", "credits", "extraction_status", "extraction_reason",
)
JSON_COLUMNS = {"breadcrumb", "images", "attachments", "extraction", "quality_flags", "credits"}
# How sure the extraction is (archiver/quality.py): refreshed on every sighting, not a change of the article.
QUALITY_COLUMNS = ("quality", "quality_score", "quality_flags", "extraction_status", "extraction_reason")
# What counts as a change of an article (the fields a reader sees).
CONTENT_FIELDS = ("title", "source", "author", "published_at", "body")


class ArticleOutcome(str, Enum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"      # a new URL of an article already archived: stored as a sighting (#4)


@dataclass(frozen=True)
class RawResponse:
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    fetched_at: str
    encoding: str | None = None


def content_hash(record: dict) -> str:
    h = hashlib.sha256()
    for f in CONTENT_FIELDS:
        h.update((record.get(f) or "").encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


class Archive:
    def __init__(self, db: sqlite_utils.Database):
        from .search_index import register

        self.db = db
        register(db.conn)            # the search index's triggers need zh_index3 on this connection

    @classmethod
    def open(cls, path: str | Path) -> "Archive":
        return cls(open_db(path))

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ runs
    def start_run(self, *, started_at: str, mode: str, sites: Iterable[str], command: str = "",
                  pid: int | None = None, hostname: str | None = None) -> int:
        with self.db.atomic():
            table = self.db["crawl_runs"].insert({
                "started_at": started_at, "mode": mode, "sites": ",".join(sites), "status": "running",
                "command": command, "pid": pid, "hostname": hostname,
            })
            return table.last_pk

    def finish_run(self, run_id: int, *, finished_at: str, status: str, finish_reason: str,
                   counts: dict[str, int], stats: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
        # ``extra``: further crawl_runs columns (issue #6: site_counts, list_pages, … from migration 0006).
        with self.db.atomic():
            self.db["crawl_runs"].update(run_id, {
                **(extra or {}),
                "finished_at": finished_at, "status": status, "finish_reason": finish_reason,
                "pages": counts.get("pages", 0), "articles_new": counts.get("articles_new", 0),
                "articles_changed": counts.get("articles_changed", 0),
                "articles_unchanged": counts.get("articles_unchanged", 0),
                "articles_duplicate": counts.get("articles_duplicate", 0),
                "failures": counts.get("failures", 0), "link_entries": counts.get("link_entries", 0),
                "stats": json.dumps(stats, ensure_ascii=False, default=str, sort_keys=True),
            })

    def mark_interrupted_runs(self, *, now: str, keep: int | None = None) -> int:
        """Runs still marked running whose process died (SIGKILL, power loss) become 'interrupted'
        (``keep``: a run that goes on, a distributed crawl's, whose writer was restarted)."""
        with self.db.atomic():
            cur = self.db.execute(
                "update crawl_runs set status = 'interrupted', finished_at = coalesce(finished_at, ?) "
                "where status = 'running' and id != ?", [now, -1 if keep is None else keep])
            return cur.rowcount

    # ------------------------------------------------------------------ raw responses
    def _store_raw(self, raw: RawResponse) -> int:
        sha = hashlib.sha256(raw.body).hexdigest()
        row = self.db.execute("select id from raw_pages where url = ? and sha256 = ?", [raw.url, sha]).fetchone()
        if row:
            return row[0]
        return self.db["raw_pages"].insert({
            "url": raw.url, "status": raw.status, "headers": _json(raw.headers),
            "body": zlib.compress(raw.body, 6), "body_size": len(raw.body), "compression": "zlib",
            "sha256": sha, "encoding": raw.encoding, "fetched_at": raw.fetched_at,
        }).last_pk

    def raw_page(self, raw_id: int) -> RawResponse:
        row = self.db.execute(
            "select url, status, headers, body, compression, fetched_at, encoding from raw_pages where id = ?",
            [raw_id]).fetchone()
        if row is None:
            raise KeyError(f"no raw page {raw_id}")
        url, status, headers, body, compression, fetched_at, encoding = row
        if compression == "zlib":
            body = zlib.decompress(body)
        return RawResponse(url, status, [tuple(h) for h in json.loads(headers or "[]")], body, fetched_at, encoding)

    # ------------------------------------------------------------------ articles
    def upsert_article(self, record: dict[str, Any], raw: RawResponse, *, run_id: int | None,
                       now: str, aliases: list[str] = ()) -> tuple[ArticleOutcome, int]:
        """Store one extracted article and its raw response atomically.

        The page becomes a sighting of an article: a new one, or one already archived under this
        URL, an alias URL or the same normalised body (see ``archiver.db.dedup``). A changed page
        keeps its earlier version in ``revisions``. Unchanged pages (also 304 revalidations) only
        move ``last_seen``.
        """
        values = {k: (_json(record.get(k)) if k in JSON_COLUMNS else record.get(k)) for k in ARTICLE_COLUMNS}
        chash = content_hash(record)
        with self.db.atomic():
            raw_id = self._store_raw(raw)
            outcome, pk = DedupStore(self.db).store(
                values, record, content_hash=chash, raw_id=raw_id, run_id=run_id, now=now,
                # #3: an unchanged page still refreshes the extraction quality of the article it shows
                refresh={c: values[c] for c in QUALITY_COLUMNS})
            self._resolve_failure(values["url"], now)
            if values["canonical_url"] != values["url"]:
                self._resolve_failure(values["canonical_url"], now)
            if aliases:         # URLs that redirected here: sightings of the same article
                DedupStore(self.db).add_aliases(values["url"], list(aliases), run_id=run_id, now=now)
                for alias in aliases:
                    self._resolve_failure(alias, now)
        return ArticleOutcome(outcome), pk

    def article_for_url(self, url: str) -> dict | None:
        """The article a URL (any sighting of it, canonical or not) belongs to."""
        rows = list(self.db.query("select a.* from articles a join sightings s on s.article_id = a.id "
                                  "where s.url = ? or s.canonical_url = ? limit 1", [url, url]))
        return rows[0] if rows else None

    def reindex_duplicates(self, *, now: str) -> dict[str, int]:
        """Bring an archive stored before deduplication up to date (``archiver dedup``): merge
        articles whose bodies are exact duplicates, then index near-duplicates of every article
        that has no signature yet. Idempotent."""
        with self.db.atomic():
            return DedupStore(self.db).reindex(now=now)

    def reindex(self, *, progress=None) -> int:
        """Rebuild the search index from the articles table (``archiver reindex``)."""
        from . import search_index

        with self.db.atomic():
            search_index.write_help(self.db)
            return search_index.rebuild(self.db, progress=progress)

    def article(self, canonical_url: str) -> dict | None:
        rows = list(self.db.query("select * from articles where canonical_url = ?", [canonical_url]))
        return rows[0] if rows else None

    def review_queue(self, *, site: str | None = None, limit: int | None = None) -> list[dict]:
        """Articles whose quality is not good, newest first (the ``review_queue`` view)."""
        sql = "select * from review_queue"
        params: list = []
        if site:
            sql += " where site = ?"
            params.append(site)
        if limit:
            sql += f" limit {int(limit)}"
        return list(self.db.query(sql, params))

    def quality_counts(self) -> dict[str, dict[str, int]]:
        """site -> verdict -> number of articles."""
        out: dict[str, dict[str, int]] = {}
        for row in self.db.query("select site, coalesce(quality, 'unassessed') as q, count(*) as n "
                                 "from articles group by site, q"):
            out.setdefault(row["site"], {})[row["q"]] = row["n"]
        return out

    def count(self, table: str) -> int:
        return self.db[table].count

    # ------------------------------------------------------------------ failures
    def record_failure(self, url: str, *, kind: str, reason: str, now: str, run_id: int | None = None,
                       status: int | None = None, exception: str | None = None, site: str | None = None,
                       channel: str | None = None, referer: str | None = None, retryable: bool = True,
                       next_retry_at: str | None = None) -> int:
        """Record (or count again) a failed URL; returns its number of attempts."""
        with self.db.atomic():
            row = self.db.execute("select id, attempts from failures where url = ?", [url]).fetchone()
            values = {"kind": kind, "reason": reason, "status": status, "exception": exception,
                      "last_failed_at": now, "retryable": int(retryable), "next_retry_at": next_retry_at,
                      "resolved_at": None, "last_run_id": run_id}
            if site:
                values["site"] = site
            if channel:
                values["channel"] = channel
            if referer:
                values["referer"] = referer
            if row is None:
                self.db["failures"].insert({"url": url, "first_failed_at": now, "attempts": 1, **values})
                return 1
            self.db["failures"].update(row[0], {**values, "attempts": row[1] + 1})
            return row[1] + 1

    def _resolve_failure(self, url: str, now: str) -> None:
        self.db.execute("update failures set resolved_at = ? where url = ? and resolved_at is null", [now, url])

    def open_failures(self, *, retryable_only: bool = True) -> list[dict]:
        sql = "select * from failures where resolved_at is null"
        if retryable_only:
            sql += " and retryable = 1"
        return list(self.db.query(sql + " order by first_failed_at"))

    # ------------------------------------------------------------------ list link entries
    def record_link_entry(self, *, url: str, kind: str, title: str | None, list_url: str, list_date: str | None,
                          site: str | None, channel: str | None, now: str, run_id: int | None) -> bool:
        """Remember a list row that is not a network article (file, WeChat post, other host).

        Returns True when the entry is new.
        """
        with self.db.atomic():
            row = self.db.execute("select id from link_entries where url = ?", [url]).fetchone()
            if row:
                self.db.execute("update link_entries set last_seen = ?, last_run_id = ? where id = ?",
                                [now, run_id, row[0]])
                return False
            self.db["link_entries"].insert({
                "url": url, "kind": kind, "title": title, "list_url": list_url, "list_date": list_date,
                "site": site, "channel": channel, "first_seen": now, "last_seen": now, "last_run_id": run_id,
            })
            return True
