"""Read-only queries behind ``archiver report`` and ``archiver export`` (no writes here).

Every function takes a DB-API connection (``sqlite3.Connection``; a ``sqlite_utils.Database``
is unwrapped), so the same code runs in the CLI and inside Datasette (``execute_fn``).
Tables and columns that arrive with later schema versions (``crawl_runs.site_counts``,
``articles.quality``) are used when present and skipped when not.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Iterator

from archiver.search.zh import fts_query

ARTICLE_DATE = "coalesce(published_at, url_date)"


def _conn(db) -> sqlite3.Connection:
    return getattr(db, "conn", db)


def _rows(conn, sql: str, params=()) -> list[dict]:
    cur = conn.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def columns(db, table: str) -> set[str]:
    return {r[1] for r in _conn(db).execute(f"pragma table_info([{table}])")}


def tables(db) -> set[str]:
    return {r[0] for r in _conn(db).execute("select name from sqlite_master where type in ('table', 'view')")}


# ----------------------------------------------------------------------------- report data
def articles_per_month(db) -> list[dict]:
    return _rows(_conn(db), f"""
        select substr({ARTICLE_DATE}, 1, 7) as month, site, max(site_name) as site_name, count(*) as articles
        from articles where {ARTICLE_DATE} glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]*'
        group by month, site order by month, site""")


def sites_summary(db) -> list[dict]:
    return _rows(_conn(db), f"""
        select site, max(site_name) as site_name, count(*) as articles,
          sum({ARTICLE_DATE} is null) as undated,
          min({ARTICLE_DATE}) as earliest, max({ARTICLE_DATE}) as latest, max(last_seen) as last_seen
        from articles group by site order by articles desc""")


def latest_runs(db, limit: int = 20) -> list[dict]:
    conn = _conn(db)
    extra = ", site_counts" if "site_counts" in columns(conn, "crawl_runs") else ""
    rows = _rows(conn, f"""
        select id, started_at, finished_at, mode, status, sites, pages, articles_new, articles_changed,
          articles_unchanged, failures, stats{extra}
        from crawl_runs order by id desc limit ?""", [limit])
    return list(reversed(rows))


def open_failures_by_site(db) -> list[dict]:
    return _rows(_conn(db), """
        select coalesce(site, '?') as site, kind, count(*) as urls from failures
        where resolved_at is null group by site, kind order by site, urls desc""")


def quality_by_site(db) -> list[dict] | None:
    conn = _conn(db)
    if "quality" not in columns(conn, "articles"):
        return None
    return _rows(conn, """
        select site, coalesce(quality, 'unscored') as quality, count(*) as articles
        from articles group by site, quality order by site""")


def totals(db) -> dict:
    conn = _conn(db)
    row = _rows(conn, f"""select count(*) as articles, count(distinct site) as sites,
        min({ARTICLE_DATE}) as earliest, max({ARTICLE_DATE}) as latest from articles""")[0]
    row["runs"] = conn.execute("select count(*) from crawl_runs").fetchone()[0]
    row["open_failures"] = conn.execute("select count(*) from failures where resolved_at is null").fetchone()[0]
    return row


@dataclass
class SiteRunCounts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    revalidated: int = 0          # incremental runs: the page answered 304, the article is unchanged
    failures: int = 0
    status: str | None = None     # the run's own verdict on the site, when it recorded one
    problems: list = field(default_factory=list)

    @property
    def articles(self) -> int:
        return self.new + self.changed + self.unchanged + self.revalidated


_SITE_COUNT_KEYS = {"articles_new": "new", "new": "new", "articles_changed": "changed", "changed": "changed",
                    "articles_unchanged": "unchanged", "unchanged": "unchanged",
                    "articles_revalidated": "revalidated", "revalidated": "revalidated"}


def _from_site_counts(data: dict) -> dict[str, SiteRunCounts]:
    out: dict[str, SiteRunCounts] = {}
    for site, counts in data.items():
        c = out.setdefault(site, SiteRunCounts())
        if not isinstance(counts, dict):
            continue
        for key, value in counts.items():
            if key in _SITE_COUNT_KEYS and isinstance(value, (int, float)):
                setattr(c, _SITE_COUNT_KEYS[key], getattr(c, _SITE_COUNT_KEYS[key]) + int(value))
        if isinstance(counts.get("failures"), (int, float)):
            c.failures = int(counts["failures"])
        else:                      # no total: add up whatever failure counters there are
            c.failures = sum(int(v) for k, v in counts.items() if "fail" in k and isinstance(v, (int, float)))
        if isinstance(counts.get("status"), str):
            c.status = counts["status"]
        if isinstance(counts.get("problems"), list):
            c.problems = counts["problems"]
    return out


def site_counts_of_run(run: dict) -> dict[str, SiteRunCounts]:
    """Per-site counts of one crawl run: its ``site_counts`` column when it has one (schema 0006:
    ``{site: {articles_new, ..., failures, status, problems}}``), else its Scrapy stats."""
    raw = run.get("site_counts")
    if raw:
        try:
            data = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            data = None
        if isinstance(data, dict) and data:
            return _from_site_counts(data)
    out: dict[str, SiteRunCounts] = {}
    try:
        stats = json.loads(run.get("stats") or "{}")
    except ValueError:
        stats = {}
    for key, value in stats.items():
        if key.startswith("archiver/articles_by_site/"):
            site, _, outcome = key[len("archiver/articles_by_site/"):].partition("/")
            c = out.setdefault(site, SiteRunCounts())
            if outcome in ("new", "changed", "unchanged"):
                setattr(c, outcome, getattr(c, outcome) + int(value))
        elif key.startswith("archiver/failures_by_site/"):
            out.setdefault(key[len("archiver/failures_by_site/"):], SiteRunCounts()).failures += int(value)
    return out


# ----------------------------------------------------------------------------- export
EXPORT_COLUMNS = ("id", "canonical_url", "url", "site", "site_name", "channel", "channel_label", "title", "source",
                  "author", "published_at", "url_date", "language", "body", "images", "attachments", "first_seen",
                  "last_seen")
JSON_COLUMNS = {"breadcrumb", "images", "attachments", "extraction", "quality_flags"}


def export_articles(db, *, sites: tuple[str, ...] = (), since: str | None = None, until: str | None = None,
                    search: str | None = None, columns_: tuple[str, ...] | None = None,
                    limit: int | None = None) -> tuple[list[str], Iterator[tuple]]:
    """Column names and a row iterator for a subset of the articles, oldest first.

    ``since``/``until`` compare with the article date (published_at, else the URL date) as text,
    so ``2026``, ``2026-02`` and ``2026-02-07`` all work; ``until`` includes its whole period.
    ``search`` uses the Chinese index (every match, exact for Chinese; see archiver.search).
    """
    conn = _conn(db)
    available = columns(conn, "articles")
    cols = list(columns_ or [c for c in EXPORT_COLUMNS if c in available])
    unknown = [c for c in cols if c not in available]
    if unknown:
        raise ValueError(f"unknown column(s): {', '.join(unknown)}; the articles table has: {', '.join(sorted(available))}")
    where, params = [], []
    if sites:
        where.append(f"(site in ({', '.join('?' * len(sites))}) or site_name in ({', '.join('?' * len(sites))}))")
        params += list(sites) * 2
    if since:
        where.append(f"{ARTICLE_DATE} >= ?")
        params.append(since)
    if until:
        where.append(f"{ARTICLE_DATE} < ?")
        params.append(until + "\uffff")          # '2026-02' includes every day and time of February
    if search is not None:
        expr = fts_query(search)
        if not expr:
            raise ValueError("the search has no words")
        where.append("id in (select rowid from articles_fts where articles_fts match ?)")
        params.append(expr)
    sql = f"select {', '.join(f'[{c}]' for c in cols)} from articles"
    if where:
        sql += " where " + " and ".join(where)
    sql += f" order by {ARTICLE_DATE}, id"
    if limit:
        sql += " limit ?"
        params.append(int(limit))
    cur = conn.execute(sql, params)
    return cols, iter(cur)
