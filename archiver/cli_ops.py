"""Commands for the operator (issue #11): what the crawls did and what failed.

    archiver runs     [--db PATH] [--site ID] [--status S] [--since WHEN] [--limit N] [--json]
    archiver failures [--db PATH] [--site ID] [--kind K] [--since WHEN] [--all] [--limit N] [--json]

Both read the archive read-only (safe while a crawl writes it) and print a table, or JSON
(``--json``: one array) for scripts. ``--since`` takes 2026, 2026-02, 2026-02-07, an ISO
timestamp, or a span back from now (90m, 24h, 7d).
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import click

from archiver.db.check import EXIT_DAMAGED, ArchiveError, preflight
from archiver.timespec import since_timestamp

DB_OPTION = click.option("--db", default="archive.db", show_default=True, envvar="ARCHIVER_DB",
                         type=click.Path(path_type=Path), help="Archive file (SQLite).")
LIMIT_OPTION = click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N",
                            help="At most N rows (default: runs 20, failures 50).")


def _connect(db: Path) -> sqlite3.Connection:
    preflight(db, create=False)
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=15)
        con.row_factory = sqlite3.Row
        tables = {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}
    except sqlite3.Error as e:
        raise ArchiveError(db, f"cannot be read ({e})", EXIT_DAMAGED) from None
    for t in ("crawl_runs", "failures"):
        if t not in tables:
            raise ArchiveError(db, f"table {t} is missing (not an archive, or a damaged one)", EXIT_DAMAGED)
    return con


def _duration(started: str | None, finished: str | None) -> str:
    if not started or not finished:
        return ""
    try:
        s = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        return ""
    return f"{s:.0f}s" if s < 120 else (f"{s / 60:.0f}m" if s < 7200 else f"{s / 3600:.1f}h")


def _table(rows: list[dict], cols: list[tuple[str, str, int]]) -> None:
    """cols: (key, heading, max width; 0 = the rest of the line)."""
    if not rows:
        click.echo("(none)")
        return
    widths = {}
    for key, head, cap in cols:
        w = max([len(head)] + [len(str(r.get(key) if r.get(key) is not None else "")) for r in rows])
        widths[key] = min(w, cap) if cap else w
    click.echo("  ".join(head.ljust(widths[k]) for k, head, _ in cols).rstrip())
    for r in rows:
        cells = []
        for key, _, cap in cols:
            v = "" if r.get(key) is None else str(r.get(key))
            if cap and len(v) > cap:
                v = v[:cap - 1] + "…"
            cells.append(v.ljust(widths[key]))
        click.echo("  ".join(cells).rstrip())


# --------------------------------------------------------------------------- runs
@click.command()
@DB_OPTION
@click.option("--site", default=None, metavar="ID", help="Only runs that crawled this site.")
@click.option("--status", type=click.Choice(["ok", "unhealthy", "interrupted", "running"]), default=None,
              help="Only runs with this status.")
@click.option("--since", default=None, metavar="WHEN", help="Runs started since (2026-02, 2026-02-07, 24h, 7d …).")
@LIMIT_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def runs(db, site, status, since, limit, as_json):
    """The crawl runs, newest first: status, counts, problems.

    A run is `ok`, `unhealthy` (its problems say why), `interrupted` (killed, or stopped by a
    signal) or `running`. Exit status 0; 65/66 when the archive cannot be read.
    """
    since_ts = since_timestamp(since)
    con = _connect(db)
    cols = {r[1] for r in con.execute("pragma table_info(crawl_runs)")}
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if since_ts:
        where.append("started_at >= ?")
        params.append(since_ts)
    if site:
        clause = "(',' || coalesce(sites, '') || ',') like ?"
        if "site_counts" in cols:
            clause = f"({clause} or json_extract(site_counts, ?) is not null)"
            params += [f"%,{site},%", f'$."{site}"']
        else:
            params.append(f"%,{site},%")
        where.append(clause)
    sql = "select * from crawl_runs" + (" where " + " and ".join(where) if where else "") + " order by id desc limit ?"
    params.append(limit or 20)
    out = []
    for r in con.execute(sql, params):
        d = dict(r)
        d.pop("stats", None)
        for k in ("site_counts", "discovered"):
            if isinstance(d.get(k), str):
                try:
                    d[k] = json.loads(d[k])
                except ValueError:
                    pass
        d["problems"] = [p for p in (d.get("problems") or "").split("\n") if p]
        out.append(d)
    con.close()
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    rows = [{**d, "duration": _duration(d.get("started_at"), d.get("finished_at")),
             "started": (d.get("started_at") or "")[:19].replace("T", " "),
             "new": d.get("articles_new"), "changed": d.get("articles_changed"),
             "problem": (d["problems"][0] + (f" (+{len(d['problems']) - 1})" if len(d["problems"]) > 1 else ""))
             if d["problems"] else ""} for d in out]
    _table(rows, [("id", "run", 0), ("started", "started (UTC)", 0), ("duration", "took", 0), ("mode", "mode", 11),
                  ("status", "status", 11), ("pages", "pages", 0), ("new", "new", 0), ("changed", "changed", 0),
                  ("failures", "failures", 0), ("problem", "problems", 0)])


# --------------------------------------------------------------------------- failures
@click.command()
@DB_OPTION
@click.option("--site", default=None, metavar="ID", help="Only failures of this site.")
@click.option("--kind", default=None, metavar="KIND",
              help="Only this kind (the kind column: http, timeout, dns, robots, challenge, extraction …).")
@click.option("--since", default=None, metavar="WHEN", help="Last failed since (2026-02, 2026-02-07, 24h, 7d …).")
@click.option("--all", "include_resolved", is_flag=True, help="Also failures resolved since (default: open ones).")
@LIMIT_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def failures(db, site, kind, since, include_resolved, limit, as_json):
    """Pages that could not be archived, most recent first: kind, attempts, next retry, reason.

    Open failures are retried by later runs with back-off (see README, "Scheduled and
    incremental crawls"); a failure is resolved when its page is archived.
    """
    since_ts = since_timestamp(since)
    con = _connect(db)
    where, params = [], []
    if not include_resolved:
        where.append("resolved_at is null")
    if site:
        where.append("site = ?")
        params.append(site)
    if kind:
        kinds = {r[0] for r in con.execute("select distinct kind from failures")}
        if kind not in kinds:
            con.close()
            raise click.BadParameter(f"no failure of kind {kind!r} in this archive; its kinds: "
                                     f"{', '.join(sorted(kinds)) or '(none)'}", param_hint="--kind")
        where.append("kind = ?")
        params.append(kind)
    if since_ts:
        where.append("last_failed_at >= ?")
        params.append(since_ts)
    sql = ("select url, site, channel, kind, status, reason, attempts, retryable, first_failed_at, last_failed_at, "
           "next_retry_at, resolved_at, last_run_id, referer from failures"
           + (" where " + " and ".join(where) if where else "") + " order by last_failed_at desc, id desc limit ?")
    params.append(limit or 50)
    out = [dict(r) for r in con.execute(sql, params)]
    con.close()
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    rows = [{**d, "last": (d.get("last_failed_at") or "")[:16].replace("T", " "),
             "retry": "no" if not d.get("retryable") else (d.get("next_retry_at") or "")[:16].replace("T", " ") or "yes",
             "state": "resolved" if d.get("resolved_at") else "open"} for d in out]
    cols = [("last", "last failed (UTC)", 0), ("site", "site", 22), ("kind", "kind", 14), ("status", "http", 0),
            ("attempts", "tries", 0), ("retry", "next retry", 0)]
    if include_resolved:
        cols.append(("state", "state", 0))
    _table(rows, cols + [("url", "url", 90), ("reason", "reason", 0)])
