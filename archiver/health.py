"""Is a crawl run healthy? One function over the crawl stats, with documented thresholds.

A run is ``ok`` when it finished normally, stored or re-saw at least one article, and no more
than ``ARCHIVER_MAX_FAILURE_RATIO`` of the pages it tried failed. Otherwise it is ``unhealthy``
(or ``interrupted`` when it was stopped). ``archiver crawl`` exits non-zero unless ``ok``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass
class HealthReport:
    status: str                      # ok | unhealthy | interrupted
    counts: dict[str, int]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def counts_from_stats(stats: Mapping[str, Any]) -> dict[str, int]:
    g = lambda k: int(stats.get(k, 0) or 0)  # noqa: E731
    return {
        "pages": g("downloader/response_count"),
        "list_pages": g("archiver/list_pages"),
        "article_pages": g("archiver/article_pages"),
        "articles_new": g("archiver/articles/new"),
        "articles_changed": g("archiver/articles/changed"),
        "articles_unchanged": g("archiver/articles/unchanged"),
        "articles_duplicate": g("archiver/articles/duplicate"),   # new URL of an archived article (#4)
        "failures": g("archiver/failures_stored"),
        "link_entries": g("archiver/link_entries_new") + g("archiver/link_entries_seen"),
    }


def assess(stats: Mapping[str, Any], settings, finish_reason: str | None) -> HealthReport:
    counts = counts_from_stats(stats)
    problems: list[str] = []
    if finish_reason and finish_reason != "finished":
        problems.append(f"crawl ended early ({finish_reason})")
    articles = (counts["articles_new"] + counts["articles_changed"] + counts["articles_unchanged"]
                + counts["articles_duplicate"])
    if articles == 0:
        problems.append("no article was stored or seen")
    tried = counts["list_pages"] + counts["article_pages"] + counts["failures"]
    ratio_max = settings.getfloat("ARCHIVER_MAX_FAILURE_RATIO", 0.5) if settings is not None else 0.5
    if tried and counts["failures"] / tried > ratio_max:
        problems.append(f"{counts['failures']} of {tried} pages failed (more than {ratio_max:.0%})")
    if stats.get("archiver/extract/crashed"):
        problems.append(f"the extractor crashed on {stats['archiver/extract/crashed']} page(s)")
    if finish_reason in ("shutdown", "interrupted"):
        status = "interrupted"
    else:
        status = "ok" if not problems else "unhealthy"
    return HealthReport(status, counts, problems)
