"""Errors the ``archiver`` command reports as one line on stderr with an exit status of their own.

No traceback unless ``archiver --debug`` (or ``ARCHIVER_DEBUG=1``). The statuses (sysexits.h):

====  =========================================================================================
 1    the crawl ran but is unhealthy (``archiver.health``)
 2    usage: a bad option or argument (click)
 65   the archive is not an SQLite archive, is damaged beyond repair, or has a newer schema
 66   an input is missing or is a directory where a file must be
 70   an internal error (a bug): the one line says so; ``--debug`` shows the traceback
 73   the archive (or its lock, -wal, -shm files) cannot be created or written
 74   I/O error, disk full
 75   another crawl is writing the same archive (try again later)
====  =========================================================================================
"""
from __future__ import annotations

EXIT_SOFTWARE = 70


class ExitError(Exception):
    """An error with a one-line message and an exit status."""

    exit_status = 1

    def __init__(self, message: str, exit_status: int | None = None):
        super().__init__(message)
        if exit_status is not None:
            self.exit_status = exit_status
