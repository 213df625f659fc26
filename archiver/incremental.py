"""The policy of a recurring (incremental) crawl: one object the spider asks, and the small pure
pieces it is made of.

* :class:`IncrementalPolicy`: what the spider asks of the archive and of the mode. Which
  request headers a channel's first page gets (validators: a ``304`` ends the channel), whether a
  walk resumes one a killed run left unfinished, what to do with an article row of a list page
  (fetch it, revalidate it, or leave it), which earlier failures are due for a retry, and what
  earlier runs discovered. It reads the archive through a read-only connection of its own
  (:class:`archiver.db.crawlstate.ArchiveReader`): a missing or not yet migrated archive answers
  "nothing known", so nothing depends on which component opens the archive first.

* :class:`ChannelWalk`: how far to page through a channel's list. A list page is judged by how
  many of its article rows are not yet in the archive; the walk pages on while a page holds
  such rows, then reads ``margin`` more pages (list order is the editor's date, and re-posts
  can put an old-looking row above a new one), then stops.
* :func:`retry_delay` / :func:`next_retry_at`: exponential back-off for failures recorded by
  earlier runs: ``base * factor ** (attempts - 1)`` seconds, capped at ``cap``.
* :class:`Revalidation`: which archived rows of a walked list page get a conditional request.
  An article is *due* once the time since it was last checked reaches its freshness lifetime:
  ``factor`` (10 %) of its age when it was last checked, clamped to ``[min_age, max_age]``: the
  heuristic of RFC 9111 §4.2.2 (Scrapy's ``RFC2616Policy`` uses the same 10 %), with the
  displayed publication date standing in for Last-Modified, because TRS regenerates old pages
  (and their Last-Modified) whenever a template changes. Editors correct a story in its first
  hours or days, so a day-old article is checked again within hours and a year-old one at most
  every ``max_age``; a run that follows the last one closely fetches what is new and nothing else.
* :func:`conditional_headers`: If-None-Match / If-Modified-Since from stored validators.

Settings (``archiver/settings.py``, README "Scheduled and incremental crawls"):
``ARCHIVER_MODE``, ``ARCHIVER_INCREMENTAL_MARGIN``, ``ARCHIVER_REVALIDATE``,
``ARCHIVER_REVALIDATE_FACTOR``, ``ARCHIVER_REVALIDATE_MIN_AGE``, ``ARCHIVER_REVALIDATE_MAX_AGE``,
``ARCHIVER_RETRY_BACKOFF_BASE``, ``ARCHIVER_RETRY_BACKOFF_FACTOR``, ``ARCHIVER_RETRY_BACKOFF_MAX``,
``ARCHIVER_RETRY_MAX_ATTEMPTS``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

from archiver.clock import utc_now

MODES = ("full", "incremental")
REVALIDATE_MODES = ("due", "all", "none")
CST = timezone(timedelta(hours=8))         # a date shown without a zone is Beijing time


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


def parse_instant(value: str | None, *, naive_tz: timezone = timezone.utc) -> datetime | None:
    """An aware datetime from an ISO 8601 string (``2026-02-07``, ``2026-02-07T09:30:00+08:00``,
    SQLite's ``2026-02-07 09:30:00``); a value without a zone is taken in ``naive_tz``.
    None for a missing or unreadable value."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=naive_tz)


@dataclass(frozen=True)
class Revalidation:
    """Which archived articles on a walked list page are revalidated (conditional request).

    ``mode``: ``due`` (the default: rows whose freshness lifetime has run out), ``all`` (every
    archived row of a walked page, the behaviour before freshness), ``none`` (never).
    """
    mode: str = "due"
    factor: float = 0.1
    min_age: float = 600.0               # seconds
    max_age: float = 30 * 86400.0        # seconds

    def __post_init__(self):
        if self.mode not in REVALIDATE_MODES:
            raise ValueError(f"unknown revalidation mode {self.mode!r}; expected one of {', '.join(REVALIDATE_MODES)}")
        if self.factor < 0 or self.min_age < 0 or self.max_age < self.min_age:
            raise ValueError(f"revalidation needs factor >= 0 and 0 <= min_age <= max_age, got {self}")

    def lifetime(self, checked_at: datetime, published_at: datetime | None) -> float:
        """Seconds an article checked at ``checked_at`` stays fresh."""
        age = (checked_at - published_at).total_seconds() if published_at is not None else 0.0
        return min(max(self.factor * max(age, 0.0), self.min_age), self.max_age)

    def due(self, now: datetime, checked_at: str | None, published_at: str | None) -> bool:
        """True when an archived article should be revalidated now.

        An article never checked (no record of when) is due; a check in the future (a clock
        moved back) counts as just now.
        """
        if self.mode != "due":
            return self.mode == "all"
        checked = parse_instant(checked_at)
        if checked is None:
            return True
        published = parse_instant(published_at, naive_tz=CST)
        return (now - checked).total_seconds() >= self.lifetime(checked, published)


class IncrementalPolicy:
    """The spider's one question-answerer for a run's incremental behaviour (see the module).

    In a ``full`` run it asks the archive nothing but what earlier runs discovered and failed on:
    every channel is walked to its end and every article fetched.
    """

    def __init__(self, settings, *, incremental: bool, stats=None, reader=None):
        self.incremental = incremental
        self.stats = stats
        self.margin = settings.getint("ARCHIVER_INCREMENTAL_MARGIN", 1)
        self.max_list_pages = settings.getint("ARCHIVER_MAX_LIST_PAGES", 200)
        self.retry_max_attempts = settings.getint("ARCHIVER_RETRY_MAX_ATTEMPTS", 10)
        self.revalidation = Revalidation(
            mode=(settings.get("ARCHIVER_REVALIDATE") or "due").strip().lower(),
            factor=settings.getfloat("ARCHIVER_REVALIDATE_FACTOR", 0.1),
            min_age=settings.getfloat("ARCHIVER_REVALIDATE_MIN_AGE", 600.0),
            max_age=settings.getfloat("ARCHIVER_REVALIDATE_MAX_AGE", 30 * 86400.0))
        self.db_path = settings.get("ARCHIVER_DB")
        # The archive's answers: a read-only ArchiveReader on the SQLite file, or (a distributed
        # worker) archiver/distributed/knowledge.py RedisKnowledge with the same questions.
        self.reader = reader

    def open(self) -> None:
        from archiver.db.crawlstate import ArchiveReader
        if self.db_path and self.reader is None:
            self.reader = ArchiveReader(self.db_path)

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    # ------------------------------------------------------------------ what earlier runs left
    def discovered(self) -> tuple[list[dict], list[dict]]:
        """(channels, sites) earlier runs walked, with their status at the last look."""
        if self.reader is None:
            return [], []
        return self.reader.discovered_channels(), self.reader.known_sites()

    def discovered_site_ids(self) -> list[str]:
        return self.reader.discovered_site_ids() if self.reader is not None else []

    def due_retries(self, site_ids: list[str]) -> Iterator[dict]:
        """Failures of earlier runs due for a retry (every open one in a full run)."""
        if self.reader is None:
            return iter(())
        return self.reader.due_failures(site_ids, now=utc_now(), max_attempts=self.retry_max_attempts,
                                        ignore_backoff=not self.incremental)

    # ------------------------------------------------------------------ channels
    def resumes(self, url: str) -> bool:
        """A walk of this channel that an earlier run started and never finished: read it all."""
        return self.incremental and self.reader is not None and self.reader.needs_resume(url)

    def entry_headers(self, url: str) -> dict[str, str]:
        """Conditional headers for a channel's first page or a homepage ("changed since the last
        complete walk?"); none in a full run or for a walk being resumed."""
        if not self.incremental or self.reader is None or self.reader.needs_resume(url):
            return {}
        return conditional_headers(self.reader.validators(url))

    # ------------------------------------------------------------------ article rows
    def article_row(self, canonical_url: str, url: str, *, resume: bool = False) -> str:
        decision = self._article_row(canonical_url, url, resume)
        if self.stats is not None and decision != "fetch":
            self.stats.inc_value("archiver/incremental/failed_rows" if decision == "failed"
                                 else "archiver/incremental/archived_rows")
            if decision == "fresh":
                self.stats.inc_value("archiver/incremental/fresh_rows")
        return decision

    def _article_row(self, canonical_url: str, url: str, resume: bool) -> str:
        """What to do with an article row of a walked list page: ``fetch`` (not archived),
        ``revalidate`` (archived, freshness run out), ``fresh`` (archived and fresh), ``archived``
        (archived, in a walk being resumed: not revalidated), ``failed`` (a recorded failure:
        retried on its own back-off). Counted in the crawl stats (``archiver/incremental/…_rows``)."""
        if not self.incremental or self.reader is None:
            return "fetch"
        known = self.reader.known(canonical_url, url)
        if known == "failure":
            return "failed"
        if known != "article":
            return "fetch"
        if resume:
            return "archived"
        if self.revalidation.mode != "due":
            due = self.revalidation.mode == "all"
        else:
            checked = self.reader.last_checked(canonical_url, url)
            due = self.revalidation.due(datetime.now(timezone.utc), *(checked or (None, None)))
        return "revalidate" if due else "fresh"

    def revalidation_headers(self, url: str, canonical_url: str) -> dict[str, str]:
        if self.reader is None:
            return {}
        return conditional_headers(self.reader.validators(url) or self.reader.validators(canonical_url))
