"""The ``archiver`` command: a thin click layer over the library.

    archiver crawl [--replica] [--db PATH] [--site ID ...]   crawl the network into the archive
    archiver extract PAGE.html --url URL                     extract one saved page, print JSON
    archiver sites                                           the site registry
    archiver serve | search | report | export | reindex      for researchers (archiver/cli_research.py)
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = REPO_ROOT / "fixtures"
EXIT_UNHEALTHY = 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chinalco-archive")
def main():
    """Crawler and searchable news archive for the Chinalco website network (中铝网站群)."""


# --------------------------------------------------------------------------- crawl
def _parse_sets(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        if "=" not in v:
            raise click.BadParameter(f"expected KEY=VALUE, got {v!r}", param_hint="--set")
        k, _, val = v.partition("=")
        out[k.strip()] = val
    return out


def summary_text(stats: dict, report, db: str, elapsed: float) -> str:
    from archiver.db import Archive
    c = report.counts
    failures = {k.rsplit("/", 1)[-1]: v for k, v in stats.items() if k.startswith("archiver/failures/")}
    fail_detail = ", ".join(f"{k} {v}" for k, v in sorted(failures.items()))
    lines = [
        f"crawl run {stats.get('archiver/run_id', '?')} {stats.get('finish_reason', '?')} in {elapsed:.1f} s: "
        f"status {report.status}",
        f"  pages fetched   {c['pages']} (list pages {c['list_pages']}, article pages {c['article_pages']})",
        f"  articles        new {c['articles_new']}, changed {c['articles_changed']}, unchanged {c['articles_unchanged']}",
        f"  failures        {c['failures']}" + (f" ({fail_detail})" if fail_detail else ""),
        f"  link entries    {c['link_entries']} (files, WeChat posts, other hosts)",
    ]
    try:
        archive = Archive.open(db)
        n_articles = archive.count("articles")
        n_open = len(archive.open_failures(retryable_only=False))
        archive.close()
        lines.append(f"  archive         {db}: {n_articles} articles, {n_open} open failures")
    except Exception as e:  # the summary must not hide the crawl's own result
        lines.append(f"  archive         {db}: could not be read ({e})")
    for p in report.problems:
        lines.append(f"  problem         {p}")
    return "\n".join(lines)


def run_crawl(*, db: str, sites: tuple[str, ...] = (), replica: bool = False, fixtures: Path | None = None,
              state: str = "t1", loglevel: str = "WARNING", log_file: str | None = None,
              sets: dict[str, str] | None = None, quiet: bool = False):
    """Run one crawl in this process; returns (HealthReport, stats)."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "archiver.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from archiver.health import assess
    from archiver.sites import load_network

    network = load_network()
    for s in sites:
        network.site(s)        # KeyError listing the known ids
    settings = get_project_settings()
    settings.set("ARCHIVER_DB", db, priority="cmdline")
    settings.set("ARCHIVER_SITES", ",".join(sites), priority="cmdline")
    settings.set("LOG_LEVEL", loglevel, priority="cmdline")
    if log_file:
        settings.set("LOG_FILE", log_file, priority="cmdline")
    if quiet:
        settings.set("ARCHIVER_PROGRESS_INTERVAL", 0, priority="cmdline")
    server = None
    if replica:
        from archiver.replica.server import ReplicaServer
        server = ReplicaServer(fixtures or DEFAULT_FIXTURES, state=state)
        server.start()
        for var in ("no_proxy", "NO_PROXY"):
            os.environ.pop(var, None)
        os.environ["http_proxy"] = os.environ["https_proxy"] = server.proxy_url
        os.environ["HTTP_PROXY"] = os.environ["HTTPS_PROXY"] = server.proxy_url
        settings.setdict(settings.getdict("REPLICA_OVERRIDES"), priority="cmdline")
        if not quiet:
            click.echo(f"replica of the network on {server.proxy_url} (state {state}); crawling it through that proxy",
                       err=True)
    for k, v in (sets or {}).items():
        settings.set(k, v, priority="cmdline")
    t0 = time.monotonic()
    try:
        process = CrawlerProcess(settings)
        crawler = process.create_crawler("network")
        process.crawl(crawler)
        process.start()
    finally:
        if server is not None:
            server.stop()
    stats = crawler.stats.get_stats()
    report = assess(stats, settings, stats.get("finish_reason"))
    if not quiet:
        click.echo(summary_text(stats, report, db, time.monotonic() - t0))
    return report, stats


@main.command()
@click.option("--db", default="archive.db", show_default=True, envvar="ARCHIVER_DB", help="Archive file (SQLite).")
@click.option("--site", "sites", multiple=True, metavar="ID", help="Only this site (repeatable). See `archiver sites`.")
@click.option("--replica", is_flag=True, help="Crawl the bundled offline replica (fixtures/) instead of the real network.")
@click.option("--fixtures", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Fixture folder the replica serves (default: the repository's fixtures/).")
@click.option("--state", default="t1", show_default=True, help="Replica state to serve (see fixtures/README.md).")
@click.option("--loglevel", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--log-file", default=None, help="Write Scrapy's log here instead of stderr.")
@click.option("-s", "--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a Scrapy/archiver setting.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines and no summary.")
def crawl(db, sites, replica, fixtures, state, loglevel, log_file, sets, quiet):
    """Crawl the network's news channels into the archive.

    Exit status 0 when the run was healthy, 1 when it was not (no articles, too many failures,
    ended early), 2 on a usage error.
    """
    try:
        report, _ = run_crawl(db=db, sites=sites, replica=replica, fixtures=fixtures, state=state,
                              loglevel=loglevel.upper(), log_file=log_file, sets=_parse_sets(sets), quiet=quiet)
    except KeyError as e:
        raise click.UsageError(str(e.args[0])) from None
    sys.exit(0 if report.ok else EXIT_UNHEALTHY)


# --------------------------------------------------------------------------- extract
def _load_saved_page(path: Path, url: str | None, headers: dict) -> tuple[str, bytes, dict, int]:
    """A page file, or a fixture case folder (response.json gives url, status and headers)."""
    status = 200
    if path.is_dir() or path.name == "response.json":
        case = path if path.is_dir() else path.parent
        resp = json.loads((case / "response.json").read_text(encoding="utf-8"))
        body = (case / resp["body"]).read_bytes() if resp.get("body") else b""
        return url or resp["url"], body, {**resp.get("headers", {}), **headers}, resp.get("status", 200)
    if not url:
        raise click.UsageError("--url is required for a page file (the URL decides site, channel and links)")
    return url, path.read_bytes(), headers, status


@main.command()
@click.argument("page", type=click.Path(exists=True, path_type=Path))
@click.option("--url", help="The page's URL (required unless PAGE is a fixture case folder).")
@click.option("--header", "header_lines", multiple=True, metavar="'Name: value'",
              help="A response header, e.g. 'Content-Type: text/html; charset=gbk' (repeatable).")
@click.option("--status", type=int, default=None, help="HTTP status the page was served with.")
@click.option("--fields", default=None, help="Comma-separated keys to print (default: all).")
def extract(page, url, header_lines, status, fields):
    """Extract one saved page (no crawl, no network) and print it as one JSON object."""
    from archiver.extract import extract_bytes

    headers = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise click.BadParameter(f"expected 'Name: value', got {line!r}", param_hint="--header")
        headers[name.strip()] = value.strip()
    url, body, headers, saved_status = _load_saved_page(page, url, headers)
    result = extract_bytes(url, body, headers, status or saved_status).to_dict()
    if fields:
        keys = [k.strip() for k in fields.split(",") if k.strip()]
        unknown = [k for k in keys if k not in result]
        if unknown:
            raise click.UsageError(f"unknown field(s): {', '.join(unknown)}; known: {', '.join(result)}")
        result = {k: result[k] for k in keys}
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))


# --------------------------------------------------------------------------- sites
@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def sites(as_json):
    """List the sites and news channels the crawler knows (archiver/sites/network.toml)."""
    from archiver.sites import load_network

    network = load_network()
    rows = [{"id": s.id, "name": s.name, "host": s.host, "aliases": list(s.aliases), "role": s.role,
             "channels": [{"path": c.path, "label": c.label, "list_url": c.list_url(s)} for c in s.channels],
             "start_urls": s.start_urls()} for s in network.sites]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        click.echo(f"{r['id']:<24} {r['host']:<24} {r['name']}")
        for c in r["channels"]:
            click.echo(f"    {c['label']:<10} {c['list_url']}")
        if not r["channels"]:
            for u in r["start_urls"]:
                click.echo(f"    (start)    {u}")


# --------------------------------------------------------------------------- research (archiver/cli_research.py)
from archiver import cli_research  # noqa: E402

main.add_command(cli_research.serve)
main.add_command(cli_research.search)
main.add_command(cli_research.report)
main.add_command(cli_research.export)
main.add_command(cli_research.reindex)


if __name__ == "__main__":
    main()
