"""The policy of a recurring (incremental) crawl, as small pure pieces the spider uses.

* :class:`ChannelWalk`: how far to page through a channel's list. A list page is judged by how
  many of its article rows are not yet in the archive; the walk pages on while a page holds
  such rows, then reads ``margin`` more pages (list order is the editor's date, and re-posts
  can put an old-looking row above a new one), then stops.
* :func:`retry_delay` / :func:`next_retry_at`: exponential back-off for failures recorded by
  earlier runs: ``base * factor ** (attempts - 1)`` seconds, capped at ``cap``.
* :func:`conditional_headers`: If-None-Match / If-Modified-Since from stored validators.

Settings (``archiver/settings.py``, README "Scheduled and incremental crawls"):
``ARCHIVER_MODE``, ``ARCHIVER_INCREMENTAL_MARGIN``, ``ARCHIVER_REVALIDATE_KNOWN``,
``ARCHIVER_RETRY_BACKOFF_BASE``, ``ARCHIVER_RETRY_BACKOFF_FACTOR``, ``ARCHIVER_RETRY_BACKOFF_MAX``,
``ARCHIVER_RETRY_MAX_ATTEMPTS``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MODES = ("full", "incremental")


@dataclass
class ChannelWalk:
    """Paging decision for one channel in an incremental run."""
    margin: int = 1
    quiet: int = 0           # consecutive judged pages without unarchived rows
    pages: int = 0           # list pages judged so far

    def judge(self, unarchived_rows: int) -> bool:
        """Record one list page; True when the next page should be read."""
        self.pages += 1
        if unarchived_rows > 0:
            self.quiet = 0
            return True
        self.quiet += 1
        return self.quiet <= self.margin


def retry_delay(attempts: int, *, base: float, factor: float, cap: float) -> float:
    """Seconds to wait before retrying a URL that has failed ``attempts`` times."""
    if attempts <= 0:
        return 0.0
    try:
        delay = base * factor ** (attempts - 1)
    except OverflowError:
        delay = cap
    return float(min(delay, cap))


def next_retry_at(now: str, attempts: int, *, base: float, factor: float, cap: float) -> str:
    """ISO timestamp (same offset as ``now``) of the earliest retry."""
    t = datetime.fromisoformat(now) + timedelta(seconds=retry_delay(attempts, base=base, factor=factor, cap=cap))
    return t.isoformat(timespec="seconds")


def conditional_headers(validators: tuple[str | None, str | None] | None) -> dict[str, str]:
    if not validators:
        return {}
    etag, last_modified = validators
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers
