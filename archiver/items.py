"""Items passed from the spider through the pipelines to the store.

The spider reads each article page where its response is (archiver/reading.py) and yields an
``ArticleRecord`` (the final fields with the raw ``FetchedPage`` they came from) or a ``Failure``;
besides those, ``LinkEntry`` for list rows that are files or other hosts, ``ArticleRevalidated``
for a 304, and what the store keeps of the walk itself (``ChannelWalkStarted``,
``ChannelWalkIncomplete``, ``Found``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FetchedPage:
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    fetched_at: str
    site: str | None = None
    channel: str | None = None
    referer: str | None = None          # the list page that linked it
    list_title: str | None = None
    list_date: str | None = None
    redirected_from: list[str] = field(default_factory=list)   # URLs asked for before in-network redirects


@dataclass
class ArticleRecord:
    """An extracted article with the raw response it came from."""
    fields: dict[str, Any]
    page: FetchedPage

    @property
    def url(self) -> str:
        return self.fields["url"]

    @property
    def canonical_url(self) -> str:
        return self.fields["canonical_url"]


@dataclass
class Failure:
    """A URL that could not be archived, and why (stored for a later retry)."""
    url: str
    kind: str                # http | timeout | dns | connection | challenge | not_article | extraction | robots | ...
    reason: str
    status: int | None = None
    exception: str | None = None
    site: str | None = None
    channel: str | None = None
    referer: str | None = None
    retryable: bool = True


@dataclass
class LinkEntry:
    """A list row that is not a network article: a file, a WeChat post, another host."""
    url: str
    kind: str
    title: str | None
    list_url: str
    list_date: str | None = None
    site: str | None = None
    channel: str | None = None


# ---------------------------------------------------------------- incremental crawls (issue #6)
@dataclass
class ArticleRevalidated:
    """A conditional request for an archived article answered 304: it is unchanged."""
    url: str
    canonical_url: str
    site: str | None = None
    channel: str | None = None


@dataclass
class ChannelWalkStarted:
    """A run began walking a channel (its first list page answered 200).

    The store records the start at once; the validators are saved, and the walk marked complete,
    only when the run finishes. A walk started but never completed (a killed run) makes the next
    run read the whole pager again (a resume walk), so no unarchived row is left behind.
    """
    url: str
    site: str | None
    channel: str | None
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class ChannelWalkIncomplete:
    """A walk that ended before its channel's end (the list-page budget): its validators must not
    be saved, or the next run would take "unchanged" for "nothing more to read"."""
    site: str
    key: str                 # the channel, or the entry URL of a walk without one


# ---------------------------------------------------------------- discovery (issue #10)
@dataclass
class Found:
    """A site or channel the crawl walked, and how it was found (archiver/discovery.py).

    Yielded when its first page answers (200 or 304); the store keeps the first finding (how,
    where, when) and the last time it was seen.
    """
    kind: str                     # site | channel
    site: str
    url: str
    found_by: str                 # registry | navigation | link | archive
    found_on: str | None = None   # the page that linked it
    channel: str | None = None
    label: str | None = None
    host: str | None = None
    in_registry: bool = True
    articles: int | None = None   # article links on its first page (channels)
    status: str = "ok"            # ok | no_articles | missing | ignored | unchanged (a 304: keep the last)
