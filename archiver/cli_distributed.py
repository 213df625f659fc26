"""``archiver worker`` and ``archiver writer``: the processes of a distributed crawl
(archiver/distributed/, docs/distributed.md). ``archiver crawl --redis URL`` starts both on its
own machine; ``archiver worker`` joins from any other."""
from __future__ import annotations

import sys

import click

from archiver.distributed.keys import DEFAULT_PREFIX

redis_option = click.option("--redis", "redis_url", required=True, envvar="ARCHIVER_REDIS_URL", metavar="URL",
                            help="The crawl's Redis: redis://HOST:PORT/N (also ARCHIVER_REDIS_URL).")
prefix_option = click.option("--redis-prefix", "prefix", default=DEFAULT_PREFIX, show_default=True,
                             envvar="ARCHIVER_REDIS_PREFIX", help="The crawl's keys in Redis (one crawl per prefix).")
loglevel_option = click.option("--loglevel", default="WARNING", show_default=True,
                               type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
logfile_option = click.option("--log-file", default=None, help="Write the log here instead of stderr.")


@click.command()
@redis_option
@prefix_option
@click.option("--name", default=None, help="This worker's name in Redis (default: host-pid-random).")
@click.option("--wait", default=600.0, show_default=True, type=float,
              help="Seconds to wait for a crawl to start when none is running yet.")
@loglevel_option
@logfile_option
def worker(redis_url, prefix, name, wait, loglevel, log_file):
    """Join the distributed crawl in progress: fetch and extract pages from the shared frontier and
    send the items to the archive writer; leave when the crawl is over.

    Exit status 0 when the crawl ended (or none was running), 1 when this worker stopped early
    (Redis lost), 69 when Redis cannot be reached."""
    from archiver.distributed.coordinator import run_worker

    sys.exit(run_worker(redis_url, prefix=prefix, name=name, wait=wait, loglevel=loglevel.upper(), log_file=log_file))


@click.command()
@redis_option
@prefix_option
@click.option("--db", required=True, envvar="ARCHIVER_DB", help="The archive (SQLite) this writer owns.")
@click.option("--report", default=None, help="Write the closed run's report (JSON) here.")
@loglevel_option
@logfile_option
def writer(redis_url, prefix, db, report, loglevel, log_file):
    """Store the distributed crawl's items into the archive until the crawl is over, then close the
    run. `archiver crawl --redis` starts (and restarts) it; run it by hand only to finish a crawl
    whose coordinator is gone."""
    from archiver.distributed.coordinator import run_writer

    sys.exit(run_writer(redis_url, prefix=prefix, db=db, report=report, loglevel=loglevel.upper(), log_file=log_file))
