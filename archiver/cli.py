"""The ``archiver`` command: a thin click layer over the library.

    archiver crawl [--full] [--replica[=SPEC]] [--db PATH] [--site ID ...]   crawl the network into the archive
    archiver extract PAGE.html --url URL                     extract one saved page, print JSON
    archiver sites                                           the site registry
    archiver dedup [--db PATH]                               deduplicate an archive stored before #4
    archiver serve | search | report | export | reindex      for researchers (archiver/cli_research.py)
    archiver runs | failures                                 for the operator (archiver/cli_ops.py)
    archiver warc export | import                            web archives (archiver/cli_warc.py)

A development checkout adds ``archiver fixtures`` and what ``--replica`` starts (the ``harness``
distribution, through the entry point groups ``archiver.commands`` and ``archiver.replica``).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

EXIT_UNHEALTHY = 1
# A second crawl of an archive that is being crawled: refused, exit 75 (EX_TEMPFAIL), see archiver/lock.py.


class ArchiverGroup(click.Group):
    """Every error of a command is one line on stderr and an exit status (archiver/errors.py);
    the traceback only with ``archiver --debug``."""

    def invoke(self, ctx):
        from archiver.errors import EXIT_SOFTWARE, ExitError

        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except ExitError as e:
            if ctx.meta.get("archiver.debug"):
                raise
            click.echo(f"archiver {ctx.invoked_subcommand or ''}: {e}".replace(" :", ":"), err=True)
            ctx.exit(e.exit_status)
        except KeyboardInterrupt:
            click.echo("archiver: interrupted", err=True)
            ctx.exit(130)
        except Exception as e:  # a bug: one line, the traceback with --debug
            if ctx.meta.get("archiver.debug"):
                raise
            click.echo(f"archiver {ctx.invoked_subcommand or ''}: internal error: {type(e).__name__}: {e} "
                       f"(run `archiver --debug ...` for the traceback)", err=True)
            ctx.exit(EXIT_SOFTWARE)


@click.group(cls=ArchiverGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chinalco-archive")
@click.option("--debug", is_flag=True, envvar="ARCHIVER_DEBUG",
              help="Show the traceback of an error (default: one line and an exit status, see docs/operations.md).")
@click.pass_context
def main(ctx, debug):
    """Crawler and searchable news archive for the Chinalco website network (中铝网站群)."""
    ctx.meta["archiver.debug"] = debug


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
        f"crawl run {stats.get('archiver/run_id', '?')} ({getattr(report, 'mode', '?')}) "
        f"{stats.get('finish_reason', '?')} in {elapsed:.1f} s: status {report.status}",
        f"  requests        {c.get('requests', 0)}: list pages {c['list_pages']} fetched, "
        f"{c.get('list_pages_revalidated', 0)} unchanged (304); article pages {c['article_pages']} fetched, "
        f"{c.get('article_pages_revalidated', 0)} unchanged (304); {c.get('retried', 0)} earlier failures retried",
        f"  articles        new {c['articles_new']}, changed {c['articles_changed']}, unchanged {c['articles_unchanged']}, "
        f"revalidated {c.get('articles_revalidated', 0)}, more URLs of known articles {c.get('articles_duplicate', 0)}"
        + (f"; {stats['archiver/incremental/fresh_rows']} archived rows still fresh, not requested"
           if stats.get("archiver/incremental/fresh_rows") else ""),
        f"  failures        {c['failures']}" + (f" ({fail_detail})" if fail_detail else ""),
        f"  link entries    {c['link_entries']} (files, WeChat posts, other hosts)",
    ]
    lines.append(discovery_line(getattr(report, "discovered", None) or {}, stats))
    for site, sc in (getattr(report, "sites", None) or {}).items():
        failed = f" ({sc['list_failures']} failed)" if sc["list_failures"] else ""
        lines.append(
            f"  {site:<24} {sc.get('status', '?'):<9} lists {sc['list_pages']} + {sc['list_pages_revalidated']} x304"
            f"{failed}; articles new {sc['articles_new']}, changed {sc['articles_changed']}, unchanged "
            f"{sc['articles_unchanged']} + {sc['articles_revalidated']} x304; failures {sc['failures']}")
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
    for w in getattr(report, "warnings", None) or []:
        lines.append(f"  warning         {w}")
    return "\n".join(lines)


def discovery_line(d: dict, stats: dict) -> str:
    """"discovered       2 channels and 1 site not in the registry (1 channel new) …"."""
    if not stats.get("archiver/discovery/enabled", 1):
        return "  discovery       off (--registry-only): registered channels only"
    ch, st = d.get("channels_not_in_registry", 0), d.get("sites_not_in_registry", 0)
    text = (f"  discovered      {ch} channel{'s' if ch != 1 else ''} and {st} site{'s' if st != 1 else ''} "
            f"not in the registry")
    new = [f"{d[k]} {k.split('_')[0][:-1] if d[k] == 1 else k.split('_')[0]} new this run"
           for k in ("channels_new", "sites_new") if d.get(k)]
    if new:
        text += f" ({', '.join(new)})"
    misses = d.get("channels_missing", 0) + d.get("channels_without_articles", 0)
    if misses:
        text += f"; {misses} linked channel pages missing or without articles"
    return text


def start_replica(spec: str):
    """Start what ``--replica SPEC`` names: the development harness's replica (entry point group
    ``archiver.replica``). Returns its session (``proxy_url``, ``label``, ``settings``, ``stop()``)."""
    from importlib.metadata import entry_points

    hooks = list(entry_points(group="archiver.replica"))
    if not hooks:
        raise click.UsageError("--replica needs the development harness of a checkout "
                               "(pip install -e ./harness; setup.sh installs it)")
    try:
        return hooks[0].load()(spec)
    except ValueError as e:
        raise click.UsageError(str(e)) from None


def run_crawl(*, db: str, sites: tuple[str, ...] = (), replica: str | None = None,
              loglevel: str = "WARNING", log_file: str | None = None,
              sets: dict[str, str] | None = None, quiet: bool = False, mode: str | None = None):
    """Run one crawl in this process; returns (HealthReport, stats).

    ``mode`` is ``full`` or ``incremental`` (default: the ``ARCHIVER_MODE`` setting).
    ``replica`` (a SPEC, ``""`` for the defaults) crawls the development replica instead of the
    real network (:func:`start_replica`).
    Raises :class:`archiver.lock.ArchiveLocked` when another crawl holds the archive.
    """
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from archiver import lock as archive_lock
    from archiver.health import HealthReport, assess
    from archiver.sites import load_network

    network = load_network((sets or {}).get("ARCHIVER_REGISTRY") or None)
    for s in sites:
        network.site(s)        # KeyError listing the known ids
    settings = Settings()
    settings.setmodule("archiver.settings", priority="project")
    settings.set("ARCHIVER_DB", db, priority="cmdline")
    settings.set("ARCHIVER_SITES", ",".join(sites), priority="cmdline")
    settings.set("LOG_LEVEL", loglevel, priority="cmdline")
    if mode:
        settings.set("ARCHIVER_MODE", mode, priority="cmdline")
    if log_file:
        settings.set("LOG_FILE", log_file, priority="cmdline")
    # The archive checks itself before anything starts: one line and an exit status when it cannot
    # be used (archiver/db/check.py), what it repaired on stderr (also under -q: it is news).
    from archiver.db import Archive
    from archiver.db.check import preflight
    preflight(db)
    # Refuse before starting anything if another crawl writes this archive (released on exit).
    lock = archive_lock.acquire(db)
    try:
        checked = Archive.open(db)
    except BaseException:
        lock.release()
        raise
    for line in checked.db.repairs:
        click.echo(f"archiver crawl: repaired {db}: {line}", err=True)
    # `checked` stays open (idle) until the store step has opened its own connection, then closes:
    # the crawl has exactly one connection to the archive, and no moment with none (closing the
    # last connection of a WAL archive checkpoints and removes the WAL, reopening recovers the WAL
    # index: moments in which a reader without a busy timeout sees "database is locked").
    session = None
    try:
        if replica is not None:
            session = start_replica(replica)
            settings.setdict(session.settings, priority="cmdline")
            settings.set("ARCHIVER_PROXY", session.proxy_url, priority="cmdline")
            if not quiet:
                click.echo(f"replica of the network on {session.proxy_url} ({session.label}); crawling it through "
                           "that proxy", err=True)
        if quiet:
            settings.set("ARCHIVER_PROGRESS_INTERVAL", 0, priority="cmdline")
        for k, v in (sets or {}).items():
            settings.set(k, v, priority="cmdline")
        from archiver.extensions.operator import placeholder_contact
        if not settings.getbool("ARCHIVER_REPLICA") and placeholder_contact(settings):
            click.echo("archiver crawl: warning: ARCHIVER_CONTACT is not set: the real network gets the placeholder "
                       "contact in the User-Agent (set it in the environment or with -s ARCHIVER_CONTACT=...)",
                       err=True)
        t0 = time.monotonic()
        try:
            process = CrawlerProcess(settings)
            crawler = process.create_crawler("network")
            from scrapy import signals as scrapy_signals
            crawler.signals.connect(lambda **_: checked.close(), signal=scrapy_signals.spider_opened, weak=False)
            process.crawl(crawler)
            process.start()
        finally:
            if session is not None:
                session.stop()
    finally:
        lock.release()
        checked.close()
    stats = crawler.stats.get_stats()
    saved = stats.get("archiver/health_report")      # the store step's verdict (with the archive's history)
    report = HealthReport.from_dict(saved) if saved else assess(stats, settings, stats.get("finish_reason"))
    tell_the_operator(stats, report, db=db, elapsed=time.monotonic() - t0, quiet=quiet, log_file=log_file)
    return report, stats


def tell_the_operator(stats: dict, report, *, db: str, elapsed: float, quiet: bool, log_file: str | None) -> None:
    """The summary on stdout (unless quiet), and the problems of an unhealthy run on stderr when
    the log (with these lines) went to --log-file."""
    if not quiet:
        click.echo(summary_text(stats, report, db, elapsed))
    if not report.ok and log_file:
        for p in report.problems:
            click.echo(f"archiver crawl: run {stats.get('archiver/run_id', '?')} {report.status}: {p}", err=True)


@main.command()
@click.option("--db", default="archive.db", show_default=True, envvar="ARCHIVER_DB", help="Archive file (SQLite).")
@click.option("--site", "sites", multiple=True, metavar="ID", help="Only this site (repeatable). See `archiver sites`.")
@click.option("--full", is_flag=True,
              help="Full re-crawl: every list page and article, unconditionally (default: incremental).")
@click.option("--revalidate", type=click.Choice(["due", "all", "none"]), default=None,
              help="Incremental runs: which archived articles on the list pages walked get a conditional "
                   "request: due (default: freshness run out), all, none. Setting ARCHIVER_REVALIDATE.")
@click.option("--replica", default=None, is_flag=False, flag_value="", metavar="[SPEC]",
              help="Crawl the offline replica of a development checkout instead of the real network. SPEC: "
                   "state=t2, fixtures=DIR, generated=N[,new=K], or url=URL of a running replica.")
@click.option("--loglevel", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--log-file", default=None, help="Write Scrapy's log here instead of stderr.")
@click.option("-s", "--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a Scrapy/archiver setting.")
@click.option("--registry", "registry", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Site registry TOML (default: the bundled archiver/sites/network.toml). Setting ARCHIVER_REGISTRY.")
@click.option("--registry-only", is_flag=True,
              help="No discovery: walk only the channels and start URLs the site registry lists "
                   "(setting ARCHIVER_DISCOVERY=False).")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress lines and no summary; problems still go to stderr (and the log).")
@click.option("--redis", "redis_url", default=None, metavar="URL",
              help="Crawl on many processes and machines: redis://HOST:PORT/N holds the shared frontier "
                   "(docs/distributed.md). `archiver worker --redis URL` joins from other machines.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(0, 64),
              help="With --redis: worker processes started on this machine.")
@click.option("--redis-prefix", "redis_prefix", default="archiver", show_default=True,
              help="With --redis: the crawl's keys in Redis (one crawl per prefix).")
def crawl(db, sites, full, revalidate, replica, loglevel, log_file, sets, quiet, registry, registry_only,
          redis_url, workers, redis_prefix):
    """Crawl the network's news channels into the archive.

    Discovery: besides the registry's channels, the crawl walks the channels and member sites it
    finds on homepages, menus, landing pages and article URLs (--registry-only: not).

    Incremental by default: channels whose first list page is unchanged (304) cost one request,
    only unarchived rows are fetched, archived ones are revalidated when their freshness has run
    out (--revalidate), earlier failures are retried with back-off. --full re-crawls everything.

    Exit status 0 when the run was healthy, 1 when it was not (no articles, a site whose list
    pages all failed or whose extraction failures jumped, too many failures, ended early),
    2 on a usage error, 75 when another crawl is writing the same archive (refused);
    65/66/73/74 when the archive cannot be used (one line on stderr; docs/operations.md).
    """
    from archiver.lock import EXIT_LOCKED, ArchiveLocked

    overrides = _parse_sets(sets)
    # Settings the command itself needs (to check and lock the archive, to validate sites) are
    # taken from -s too, so `-s ARCHIVER_DB=…` is the same as `--db …`.
    ctx = click.get_current_context()
    if "ARCHIVER_DB" in overrides:
        if ctx.get_parameter_source("db") not in (click.core.ParameterSource.DEFAULT, None) and \
                overrides["ARCHIVER_DB"] != db:
            raise click.UsageError("--db and -s ARCHIVER_DB name different archives")
        db = overrides.pop("ARCHIVER_DB")
    if "ARCHIVER_SITES" in overrides:
        sites = tuple(sites) + tuple(x.strip() for x in overrides.pop("ARCHIVER_SITES").split(",") if x.strip())
    if revalidate:
        overrides["ARCHIVER_REVALIDATE"] = revalidate
    if registry_only:
        overrides["ARCHIVER_DISCOVERY"] = "False"
    if registry:
        overrides["ARCHIVER_REGISTRY"] = str(Path(registry).resolve())
    try:
        if redis_url:
            from archiver.distributed.coordinator import run_distributed_crawl
            report, stats = run_distributed_crawl(
                redis_url=redis_url, workers=workers, prefix=redis_prefix, db=db, sites=sites, replica=replica,
                loglevel=loglevel.upper(), log_file=log_file, sets=overrides, quiet=quiet,
                mode="full" if full else None)
        else:
            report, stats = run_crawl(db=db, sites=sites, replica=replica, loglevel=loglevel.upper(),
                                      log_file=log_file, sets=overrides, quiet=quiet, mode="full" if full else None)
    except KeyError as e:
        raise click.UsageError(str(e.args[0])) from None
    except ArchiveLocked as e:
        click.echo(f"archiver crawl: refused: {e}", err=True)
        sys.exit(EXIT_LOCKED)
    if stats.get("finish_reason") == "archive_locked":        # lost a race with another process
        click.echo(f"archiver crawl: refused: {stats.get('archiver/refused')}", err=True)
        sys.exit(EXIT_LOCKED)
    sys.exit(0 if report.ok else EXIT_UNHEALTHY)


# --------------------------------------------------------------------------- extract
def _load_saved_page(path: Path, url: str | None, headers: dict) -> tuple[str, bytes, dict, int]:
    """A page file, or a fixture case folder (response.json gives url, status and headers)."""
    from archiver.errors import ExitError

    status = 200
    if path.is_dir() or path.name == "response.json":
        case = path if path.is_dir() else path.parent
        if not (case / "response.json").is_file():
            raise ExitError(f"{path}: is a directory but not a fixture case folder (no response.json); "
                            f"give a saved page file and --url", 66)
        try:
            resp = json.loads((case / "response.json").read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ExitError(f"{case / 'response.json'}: not valid JSON ({e})", 65) from None
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


# --------------------------------------------------------------------------- dedup (#4)
@main.command()
@click.option("--db", default="archive.db", show_default=True, envvar="ARCHIVER_DB", help="Archive file (SQLite).")
def dedup(db):
    """Deduplicate an archive stored by a version before deduplication.

    Merges articles whose bodies are exact duplicates into one article with several sightings,
    then links near-duplicates of every article not indexed yet. A crawl does both as it stores;
    running this again changes nothing.
    """

    from archiver.db import Archive

    if not Path(db).exists():
        raise click.UsageError(f"no archive at {db}")
    archive = Archive.open(db)
    for line in archive.db.repairs:
        click.echo(f"archiver dedup: repaired {db}: {line}", err=True)
    counts = archive.reindex_duplicates(now=utc_now())
    archive.close()
    click.echo(f"merged {counts['merged']} duplicate articles, indexed {counts['indexed']} articles, "
               f"linked {counts['links']} near-duplicate pairs")



# --------------------------------------------------------------------------- research (archiver/cli_research.py)
from archiver.clock import utc_now
from archiver import cli_research  # noqa: E402

main.add_command(cli_research.serve)
main.add_command(cli_research.search)
main.add_command(cli_research.report)
main.add_command(cli_research.export)
main.add_command(cli_research.reindex)

from archiver.cli_warc import warc as _warc  # noqa: E402  (issue #15: archiver warc export|import)
from archiver import cli_ops  # noqa: E402  (issue #11: archiver runs | failures)

main.add_command(cli_ops.runs)
main.add_command(cli_ops.failures)

main.add_command(_warc)

from archiver import cli_distributed  # noqa: E402

main.add_command(cli_distributed.worker)
main.add_command(cli_distributed.writer)



def _plugin_commands() -> None:
    """Command groups other distributions add (the development harness: ``archiver fixtures``)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="archiver.commands"):
        if ep.name not in main.commands:
            main.add_command(ep.load(), ep.name)


_plugin_commands()


if __name__ == "__main__":
    main()
