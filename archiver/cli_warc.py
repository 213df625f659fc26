"""``archiver warc``: the archive in the web-archiving standard (WARC, ISO 28500; issue #15).

    archiver warc export --db archive.db OUT.warc.gz [--site ID] [--since DATE]
    archiver warc import FILE.warc.gz ... --db archive.db

A thin layer over ``archiver.warc``; docs/warc.md says what goes in and what comes out.
"""
from __future__ import annotations

import sys
from datetime import date, datetime, timezone
from pathlib import Path

import click

EXIT_DAMAGED = 1        # an import that could not read part of its input
DB_OPTION = click.option("--db", default="archive.db", show_default=True, envvar="ARCHIVER_DB",
                         type=click.Path(dir_okay=False, path_type=Path), help="Archive file (SQLite).")


def since_time(value: str | None) -> str | None:
    """--since as the archive's time format: a day (YYYY-MM-DD) or an ISO 8601 time."""
    if not value:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat() + "T00:00:00+00:00"
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).isoformat(timespec="seconds")
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD or an ISO 8601 time, got {value!r}",
                                 param_hint="--since") from None


@click.group()
def warc():
    """Export the archive as WARC, import WARC captures (wget, Heritrix, Browsertrix, this tool)."""


@warc.command("export")
@DB_OPTION
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--site", default=None, metavar="ID", help="Only raw responses of this site (see `archiver sites`).")
@click.option("--since", default=None, metavar="DATE", help="Only responses fetched on or after this day/time (UTC).")
def export_cmd(db, out, site, since):
    """Write every raw response of the archive to OUT (WARC 1.1, gzip per record) and a CDXJ
    index beside it. The same archive always gives the same bytes."""
    from archiver.warc import WarcError, export_warc

    if not db.exists():
        raise click.UsageError(f"no archive at {db}")
    if not out.name.endswith(".warc.gz"):
        raise click.UsageError(f"{out}: the output file name must end in .warc.gz")
    try:
        result = export_warc(db, out, site=site, since=since_time(since))
    except KeyError as e:
        raise click.UsageError(str(e.args[0])) from None
    except WarcError as e:
        raise click.UsageError(str(e)) from None
    click.echo(result.summary())


@warc.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@DB_OPTION
@click.option("--loglevel", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--log-file", default=None, help="Write Scrapy's log here instead of stderr.")
def import_cmd(files, db, loglevel, log_file):
    """Import WARC files: every network article response goes through the crawl's extraction,
    deduplication and store steps, with its capture time as the fetch time; everything else is
    counted and skipped. Importing the same file again adds nothing.

    Exit status 0, 1 when part of a file could not be read (damaged or truncated; the rest is
    imported), 2 on a usage error, 75 when a crawl is writing the archive.
    """
    from archiver.lock import EXIT_LOCKED, ArchiveLocked
    from archiver.warc import WarcError, import_warcs

    try:
        result = import_warcs(list(files), db, loglevel=loglevel.upper(), log_file=log_file)
    except WarcError as e:
        raise click.UsageError(str(e)) from None
    except ArchiveLocked as e:
        click.echo(f"archiver warc import: refused: {e}", err=True)
        sys.exit(EXIT_LOCKED)
    if result.refused:
        click.echo(f"archiver warc import: refused: {result.refused}", err=True)
        sys.exit(EXIT_LOCKED)
    click.echo(result.summary())
    sys.exit(EXIT_DAMAGED if result.counts.damaged else 0)
