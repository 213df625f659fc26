"""Commands for researchers: browse, search, picture and export the archive.

    archiver serve   [--db PATH] [--port 8001]             open the archive in Datasette (read-only, 127.0.0.1)
    archiver search  QUERY [--db PATH]                      ranked Chinese full-text search in the terminal
    archiver report  [--db PATH] [--out report.html]        pictures: articles per month, crawl health per site
    archiver export  [--db PATH] [--site ID] [--since D] [--until D] [--search Q] [--format csv|jsonl]
    archiver reindex [--db PATH] [--check]                  rebuild (or check) the search index
"""
from __future__ import annotations

import csv
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

import click

DB_OPTION = click.option("--db", default="archive.db", show_default=True, envvar="ARCHIVER_DB",
                         type=click.Path(dir_okay=False, path_type=Path), help="Archive file (SQLite).")
HOST = "127.0.0.1"                 # never anything else: the archive is served to this machine only
SERVE_SETTINGS = {"sql_time_limit_ms": "5000", "facet_time_limit_ms": "1000"}


def _existing(db: Path) -> Path:
    if not db.exists():
        raise click.UsageError(f"no archive at {db} (crawl first: archiver crawl --db {db})")
    return db


def _readonly(db: Path):
    from archiver.db import open_db

    return open_db(_existing(db), readonly=True)


def _pending_migrations(db: Path) -> list[str]:
    from archiver.db.check import sqlite_problem
    from archiver.db.schema import pending_migrations

    conn = _readonly(db)
    try:
        return pending_migrations(conn)
    except sqlite3.Error as e:
        raise sqlite_problem(db, e) from e
    finally:
        conn.close()


def load_metadata(db_name: str) -> dict:
    """The packaged metadata.yml with its database key renamed to ``db_name``."""
    from importlib.resources import files

    import yaml

    meta = yaml.safe_load(files("archiver").joinpath("metadata.yml").read_text(encoding="utf-8"))
    dbs = meta.get("databases") or {}
    if "archive" in dbs and db_name != "archive":
        dbs[db_name] = dbs.pop("archive")
    return meta


def datasette_args(db: Path, *, port: int, metadata_path: Path, settings: dict[str, str]) -> list[str]:
    args = ["serve", str(db), "--host", HOST, "--port", str(port), "--metadata", str(metadata_path)]
    for k, v in {**SERVE_SETTINGS, **settings}.items():
        args += ["--setting", k, str(v)]
    return args


# ----------------------------------------------------------------------------- serve
@click.command()
@DB_OPTION
@click.option("--port", default=8001, show_default=True, type=int, help="Port on 127.0.0.1 (0: any free port).")
@click.option("--setting", "settings", multiple=True, nargs=2, metavar="NAME VALUE",
              help="A Datasette setting, e.g. --setting default_page_size 50 (repeatable).")
@click.option("--print-metadata", is_flag=True, help="Print the metadata Datasette would get, and exit.")
def serve(db, port, settings, print_metadata):
    """Open the archive in Datasette, read-only, on http://127.0.0.1:PORT/.

    Tables and columns are described in Chinese and English; the articles table has facets by
    site, channel, source and year and its search box takes Chinese; canned queries cover ranked
    search, articles per month, top sources, sightings, crawl health and extractions to review;
    /-/report draws the pictures. The file is opened read-only (a crawl may write meanwhile).
    """
    db = _existing(db)
    pending = _pending_migrations(db)
    if pending:
        raise click.UsageError(f"{db} was written by an older version (missing {', '.join(pending)}); "
                               f"bring it up to date first: archiver reindex --db {db}")
    meta = load_metadata(db.stem)
    if print_metadata:
        click.echo(json.dumps(meta, ensure_ascii=False, indent=2))
        return
    from datasette.cli import cli as datasette_cli
    from datasette.plugins import pm

    if not any(getattr(p, "__name__", "") == "archiver.datasette_plugin" for p in pm.get_plugins()):
        raise click.ClickException("the chinalco_archive Datasette plugin is not installed: run ./setup.sh")
    with tempfile.TemporaryDirectory(prefix="archiver-serve-") as tmp:
        meta_path = Path(tmp) / "metadata.json"
        meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        click.echo(f"serving {db} read-only on http://{HOST}:{port}/{db.stem} (Ctrl-C stops)", err=True)
        datasette_cli.main(args=datasette_args(db, port=port, metadata_path=meta_path, settings=dict(settings)),
                           prog_name="datasette", standalone_mode=False)


# ----------------------------------------------------------------------------- search
@click.command()
@click.argument("query")
@DB_OPTION
@click.option("--count", "count_only", is_flag=True, help="Only how many articles match, per site.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of text.")
def search(query, db, count_only, as_json):
    """Search the archive (Chinese of any length, mixed, several words; OR, -word, "quoted").

    The same SQL as the canned query `search` in Datasette: the newest matches, those with every
    word in the headline first, with an excerpt around the first word (marked 【】).
    """
    from archiver.search.query import count_by_site, search as run_search

    conn = _readonly(db)
    rows = count_by_site(conn, query) if count_only else run_search(conn, query)
    for r in rows:
        if as_json:
            click.echo(json.dumps(r, ensure_ascii=False))
        elif count_only:
            click.echo(f"{r['articles']:>7}  {r['site_name'] or r['site']}  ({r['earliest']} … {r['latest']})")
        else:
            click.echo(f"{r['id']:>7}  {r['published_at'] or '':<10}  {r['site_name'] or ''}  {r['title']}\n"
                       f"         {r['excerpt']}")
    if not rows and not as_json:
        click.echo("no match", err=True)


# ----------------------------------------------------------------------------- report
@click.command()
@DB_OPTION
@click.option("--out", default="report.html", show_default=True, type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write ('-' for stdout).")
@click.option("--datasette-url", default=None, metavar="URL",
              help="The database's URL in a running Datasette (e.g. http://127.0.0.1:8001/archive): "
                   "bars and cells then link to the matching rows.")
def report(db, out, datasette_url):
    """Write the archive report: articles per month (all sites and per site), crawl health per
    site over the latest runs, open failures per site. One HTML file with inline SVG, no script;
    `archiver serve` shows the same page live at /-/report."""
    from archiver.research.report import render_report

    conn = _readonly(db)
    page = render_report(conn, datasette_base=datasette_url, title_suffix=f" — {db.name}")
    if str(out) == "-":
        click.echo(page)
    else:
        out.write_text(page, encoding="utf-8")
        click.echo(f"wrote {out} ({len(page) // 1024} KB)", err=True)


# ----------------------------------------------------------------------------- export
def _known_sites(conn, sites) -> None:
    """An unknown --site is a usage error (it would export nothing), naming the known ones."""
    if not sites:
        return
    known = {r[0] for r in conn.execute("select distinct site from articles")}
    names = {r[0] for r in conn.execute("select distinct site_name from articles where site_name is not null")}
    unknown = [s for s in sites if s not in known and s not in names]
    if unknown:
        raise click.BadParameter(f"no article of {', '.join(map(repr, unknown))} in this archive; its sites: "
                                 f"{', '.join(sorted(known)) or '(none)'}", param_hint="--site")


@click.command()
@DB_OPTION
@click.option("--site", "sites", multiple=True, metavar="ID", help="Only this site (id or name; repeatable).")
@click.option("--since", default=None, metavar="DATE", help="Articles dated on or after (2026, 2026-02, 2026-02-07).")
@click.option("--until", default=None, metavar="DATE", help="Articles dated up to and including (2026, 2026-02, ...).")
@click.option("--search", "query", default=None, metavar="WORDS", help="Only articles matching this search.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--columns", default=None, metavar="A,B,...", help="Columns to export (default: the useful ones).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many articles (1 or more).")
@click.option("--out", default="-", show_default=True, help="File to write ('-' for stdout).")
def export(db, sites, since, until, query, fmt, columns, limit, out):
    """Export a subset of the articles as CSV (UTF-8 with BOM, opens in Excel) or JSON lines.

    \b
    archiver export --site lzly_chinalco_com_cn --since 2026-01 --out lzly-2026.csv
    archiver export --search "兰州铝业 职代会" --format jsonl --out zdh.jsonl
    """
    from archiver.db.research import JSON_COLUMNS, export_articles

    from archiver.timespec import date_prefix

    since, until = date_prefix(since, "--since"), date_prefix(until, "--until")      # issue #11: checked
    conn = _readonly(db)
    _known_sites(conn, sites)
    cols = tuple(c.strip() for c in columns.split(",") if c.strip()) if columns else None
    try:
        names, rows = export_articles(conn, sites=sites, since=since, until=until, search=query, columns_=cols,
                                      limit=limit)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    stream = sys.stdout if out == "-" else open(out, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8",
                                                  newline="")
    n = 0
    try:
        if fmt == "csv":
            writer = csv.writer(stream)
            writer.writerow(names)
            for row in rows:
                writer.writerow(row)
                n += 1
        else:
            for row in rows:
                obj = dict(zip(names, row))
                for c in JSON_COLUMNS & obj.keys():
                    if isinstance(obj[c], str):
                        try:
                            obj[c] = json.loads(obj[c])
                        except ValueError:
                            pass
                stream.write(json.dumps(obj, ensure_ascii=False) + "\n")
                n += 1
    finally:
        if stream is not sys.stdout:
            stream.close()
    click.echo(f"exported {n} articles" + (f" to {out}" if out != "-" else ""), err=True)


# ----------------------------------------------------------------------------- reindex
@click.command()
@DB_OPTION
@click.option("--check", is_flag=True, help="Only check that the index covers exactly the articles (exit 1 if not).")
def reindex(db, check):
    """Rebuild the Chinese search index (articles_fts) from the articles table.

    Also brings an older archive's schema up to date. The index is kept in step on every crawl;
    rebuild after changing articles outside the archiver, or after a change of the indexing rule.
    """
    from archiver.db import Archive
    from archiver.db import search_index

    archive = Archive.open(_existing(db))
    try:
        if check:
            result = search_index.check(archive.db)
            click.echo(json.dumps(result, ensure_ascii=False))
            sys.exit(0 if result["ok"] else 1)
        n = archive.reindex(progress=lambda k: click.echo(f"  {k} articles indexed", err=True) if k % 50000 == 0
                            else None)
        click.echo(f"indexed {n} articles ({json.dumps(search_index.check(archive.db), ensure_ascii=False)})")
    finally:
        archive.close()


COMMANDS = (serve, search, report, export, reindex)
