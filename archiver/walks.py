"""A channel's walk through its list pages: the pager read, then verified against the pages.

A pager is a claim (``createPageHTML(37, 0, …)``, 尾页 → ``index_36.html``, 共37页); what the
pages hold is the evidence. A walk reads one list page after the other and goes on only while
a page adds article URLs this walk has not seen, so a pager that points at itself, an
``index_N.html`` that never 404s or a claim of 10,000 pages costs one extra request, not the
budget. When the pager's last page is full (as many rows as the first page), the next
``index_N.html`` is tried anyway: a pager that under-counts loses no page. A walk that ended
before the pages its pager promised is reported (``warning``), with the channel's URL.

In an incremental run the walk also stops after ``margin`` pages with no unarchived rows
(:class:`archiver.incremental.ChannelWalk`), unless it resumes a walk a killed run left unfinished.

Pure: the spider feeds it what each page held and asks where to go next. Where the walks live
is a store: a dict in one process, Redis when workers share a crawl (a walk's next list page may
be read by any worker; archiver/distributed/shared.py). A list page read twice (a killed
worker's request, put back) gets the answer it got the first time, so a walk never ends early
because its own page came back.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from archiver.incremental import ChannelWalk

STOP_REASONS = {
    "last_page": "the pager's last page",
    "no_new_rows": "a page added no article URL not seen in this walk",
    "archived": "only archived rows (incremental)",
    "budget": "the list-page budget ran out",
    "missing_page": "a page the pager named is missing",
    "no_next": "no next page",
}


@dataclass
class PagerWalk:
    entry_url: str
    incremental: bool = False
    resume: bool = False
    margin: int = 1
    max_pages: int = 200
    seen: set[str] = field(default_factory=set)           # article URLs seen in this walk
    requested: set[str] = field(default_factory=set)      # list page URLs requested in this walk
    pages: int = 0
    promised: int | None = None                           # most pages a pager reading claimed
    first_rows: int | None = None
    stopped: str | None = None
    failed_page: str | None = None
    decided: dict[str, list] = field(default_factory=dict)  # list page URL -> [next (url, probe) or None, incomplete]
    _archived: ChannelWalk = field(default=None)           # type: ignore[assignment]

    def __post_init__(self):
        if self._archived is None:
            self._archived = ChannelWalk(margin=self.margin)
        self.requested.add(self.entry_url)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["seen"], d["requested"] = sorted(self.seen), sorted(self.requested)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> PagerWalk:
        d = dict(d)
        archived = ChannelWalk(**d.pop("_archived"))
        return cls(**{**d, "seen": set(d["seen"]), "requested": set(d["requested"]), "_archived": archived})

    def judge(self, articles: list[str], unarchived: int, promised: int | None) -> bool:
        """Record one list page (its article URLs, how many are not archived, the pages its pager
        claims); True when the walk should read the next page."""
        self.pages += 1
        if promised:
            self.promised = max(self.promised or 0, promised)
        if self.first_rows is None:
            self.first_rows = len(articles)
        new = [a for a in articles if a not in self.seen]
        self.seen.update(new)
        if self.pages > 1 and not new:
            self.stopped = "no_new_rows"
            return False
        if self.incremental and not self._archived.judge(unarchived) and not self.resume:
            self.stopped = "archived"
            return False
        return True

    def next_page(self, candidates: list[str], probe: str | None, *, last_page: bool, rows: int) -> tuple[str, bool] | None:
        """(URL, is_probe) of the next list page, or None when the walk ends here.

        ``candidates``: what the pager names as the next page (in order of trust); ``probe``: the
        ``index_{n+1}.html`` after this page; ``last_page``: the pager says this is the last page.
        """
        for url in candidates:
            if url and url not in self.requested:
                return self._take(url, False)
        if probe and probe not in self.requested and (not last_page or (self.first_rows and rows >= self.first_rows)):
            return self._take(probe, True)
        self.stopped = self.stopped or ("last_page" if last_page else "no_next")
        return None

    def _take(self, url: str, probe: bool) -> tuple[str, bool] | None:
        if len(self.requested) >= self.max_pages:
            self.stopped = "budget"
            return None
        self.requested.add(url)
        return url, probe

    def missing(self, url: str) -> None:
        """A page of this walk answered 404 (a probe past the end is not a missing page)."""
        self.stopped = "missing_page"
        self.failed_page = url

    @property
    def complete(self) -> bool:
        return self.stopped != "budget"

    @property
    def warning(self) -> str | None:
        """Set when the walk ended before the pages the pager promised (or ran out of budget)."""
        if self.stopped == "budget":
            return (f"pager of {self.entry_url} still had pages after {len(self.requested)} list pages "
                    f"(ARCHIVER_MAX_LIST_PAGES); the rest was not read")
        if self.promised and self.pages < self.promised and self.stopped in ("no_new_rows", "missing_page"):
            where = f" ({self.failed_page})" if self.failed_page else ""
            return (f"pager of {self.entry_url} promised {self.promised} pages, delivered {self.pages}: "
                    f"{STOP_REASONS[self.stopped]}{where}")
        return None


class Walks:
    """Every channel walk of one run, by key, and what a walk's end tells the operator.

    The spider hands each list page's reading to :meth:`advance` and gets the next page to read
    (or None). Stats: ``archiver/pager/<style>``, ``archiver/pager/stopped/<reason>``,
    ``archiver/pager/budget_exhausted``; a walk's warning is logged and kept in
    ``archiver/pager/warnings`` (the run summary and ``crawl_runs.problems``).
    """

    def __init__(self, stats, logger, *, incremental: bool, margin: int, max_pages: int, store=None):
        self.stats = stats
        self.logger = logger
        self.incremental = incremental
        self.margin = margin
        self.max_pages = max_pages
        self._walks = store if store is not None else LocalWalks()

    def get(self, key) -> PagerWalk | None:
        return self._walks.get(key) if key else None

    def advance(self, key: tuple, lst, url: str, canonical: list[str], unarchived: int, *, resume: bool,
                accept=lambda url: True) -> tuple[tuple[str, bool] | None, bool]:
        """Judge a list page (``lst``: its :class:`archiver.pages.lists.ListPage`) of walk ``key``.

        Returns ((next URL, is_probe) or None when the walk ends here, whether it ended before its
        end: the list-page budget ran out). ``accept(url)``: may the walk go to that page (the
        same site)?"""
        pager = lst.pager
        walk = self._walks.get(key)
        if walk is None:
            walk = PagerWalk(url, incremental=self.incremental, resume=resume, margin=self.margin,
                             max_pages=self.max_pages)
        elif url in walk.decided:                 # this page again (put back after a worker died)
            self.stats.inc_value("archiver/pager/page_read_again")
            nxt, incomplete = walk.decided[url]
            return (tuple(nxt) if nxt else None), incomplete
        self.stats.inc_value(f"archiver/pager/{pager.style}")
        nxt, incomplete = self._advance(walk, lst, canonical, unarchived, accept)
        walk.decided[url] = [list(nxt) if nxt else None, incomplete]
        self._walks.save(key, walk)
        return nxt, incomplete

    def _advance(self, walk: PagerWalk, lst, canonical: list[str], unarchived: int, accept):
        pager = lst.pager
        if not walk.judge(canonical, unarchived, pager.total):
            if walk.stopped == "archived":
                self.stats.inc_value("archiver/incremental/walk_stopped")
            self.ended(walk)
            return None, False
        nxt = walk.next_page(lst.next_candidates(), lst.probe_url(), last_page=pager.is_last,
                             rows=len(lst.article_links))
        if nxt is not None and accept(nxt[0]):
            return nxt, False
        incomplete = not walk.complete
        if incomplete:
            self.stats.inc_value("archiver/pager/budget_exhausted")
        self.ended(walk)
        return None, incomplete

    def empty_page(self, key) -> bool:
        """A page in the middle of walk ``key`` held no rows: the walk ends. False if no such walk."""
        walk = self.get(key)
        if walk is None:
            return False
        walk.judge([], 0, None)
        self.ended(walk)
        self._walks.save(key, walk)
        return True

    def missing_page(self, key, url: str) -> bool:
        """A page of walk ``key`` answered 404: the walk ends (a warning if the pager promised more)."""
        walk = self.get(key)
        if walk is None:
            return False
        walk.missing(url)
        self.ended(walk)
        self._walks.save(key, walk)
        return True

    def ended(self, walk: PagerWalk) -> None:
        self.stats.inc_value(f"archiver/pager/stopped/{walk.stopped or 'unknown'}")
        warning = walk.warning
        if warning:
            self.logger.warning(warning)
            warnings = self.stats.get_value("archiver/pager/warnings") or []
            self.stats.set_value("archiver/pager/warnings", warnings + [warning])


class LocalWalks:
    """The walks of one process (the store of :class:`Walks` without Redis)."""

    def __init__(self):
        self._walks: dict = {}

    def get(self, key) -> PagerWalk | None:
        return self._walks.get(key)

    def save(self, key, walk: PagerWalk) -> None:
        self._walks[key] = walk
