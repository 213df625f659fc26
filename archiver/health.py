"""Is a crawl run healthy? Functions over the crawl stats, with documented thresholds.

The exit status of ``archiver crawl`` is what a scheduler (cron, a systemd timer, scrapyd's
caller) sees, so it must say "look at this run" exactly when something broke:

Run-wide (any of these makes the run ``unhealthy``):

* the crawl ended early (anything but ``finished``; a stop by signal is ``interrupted``);
* a **full** run stored or saw no article at all; an **incremental** run got no answer (200 or
  304) to any list page. An incremental run where every channel answered 304 is healthy;
* more than ``ARCHIVER_MAX_FAILURE_RATIO`` of the pages it tried failed;
* the extractor crashed (a bug).

Per site (``ARCHIVER_HEALTH_SITE_CHECKS``), for sites that already had articles in the archive
before the run ("established"; for other sites the same findings are warnings only, since
a site the archive never held cannot regress):

* every list page of the site failed;
* a **full** run yielded zero articles for the site;
* its extraction-failure rate (extraction failures / article pages fetched) rose by more than
  ``ARCHIVER_HEALTH_EXTRACTION_JUMP`` over its mean in the last ``ARCHIVER_HEALTH_HISTORY_RUNS``
  runs, or, without such history, exceeds ``ARCHIVER_HEALTH_MAX_EXTRACTION_FAILURE_RATE``; judged
  only when at least ``ARCHIVER_HEALTH_MIN_ARTICLE_PAGES`` article pages were fetched. (This rule
  applies to every site, established or not.)

The per-site numbers are ``crawl_runs.site_counts`` (see :func:`site_counts_from_stats`).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

# Per-site counters the spider and the store step keep as ``archiver/site/<site>/<name>``.
SITE_COUNTERS = (
    "list_pages", "list_pages_revalidated", "list_failures", "article_pages", "articles_revalidated",
    "articles_new", "articles_changed", "articles_unchanged", "failures", "extraction_failures", "retried",
)
# Failure kinds that mean "the page came, but no article could be read from it".
EXTRACTION_KINDS = frozenset({"extraction", "not_article", "malformed", "mis_encoded"})

DEFAULTS = {
    "ARCHIVER_MAX_FAILURE_RATIO": 0.5,
    "ARCHIVER_HEALTH_SITE_CHECKS": True,
    "ARCHIVER_HEALTH_EXTRACTION_JUMP": 0.2,
    "ARCHIVER_HEALTH_MAX_EXTRACTION_FAILURE_RATE": 0.5,
    "ARCHIVER_HEALTH_MIN_ARTICLE_PAGES": 10,
    "ARCHIVER_HEALTH_HISTORY_RUNS": 5,
}


def _setting(settings, name: str):
    default = DEFAULTS[name]
    if settings is None:
        return default
    if isinstance(default, bool):
        return settings.getbool(name, default)
    if isinstance(default, int):
        return settings.getint(name, default)
    return settings.getfloat(name, default)


@dataclass
class SiteHistory:
    """What the archive knew before this run: sites with articles, and earlier runs' site_counts."""
    established: set[str] = field(default_factory=set)
    previous: list[dict] = field(default_factory=list)      # newest first

    def extraction_rate(self, site: str, min_pages: int) -> float | None:
        rates = []
        for counts in self.previous:
            c = counts.get(site) or {}
            pages = c.get("article_pages", 0) or 0
            if pages >= min_pages:
                rates.append((c.get("extraction_failures", 0) or 0) / pages)
        return sum(rates) / len(rates) if rates else None


@dataclass
class HealthReport:
    status: str                      # ok | unhealthy | interrupted
    counts: dict[str, int]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sites: dict[str, dict] = field(default_factory=dict)
    mode: str = "full"
    discovered: dict[str, Any] = field(default_factory=dict)     # discovery_from_stats

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "HealthReport":
        return cls(**{k: d[k] for k in ("status", "counts", "problems", "warnings", "sites", "mode", "discovered")
                    if k in d})


def counts_from_stats(stats: Mapping[str, Any]) -> dict[str, int]:
    g = lambda k: int(stats.get(k, 0) or 0)  # noqa: E731
    return {
        "pages": g("downloader/response_count"),
        "requests": g("downloader/request_count"),
        "list_pages": g("archiver/list_pages"),
        "list_pages_revalidated": g("archiver/list_pages_revalidated"),
        "article_pages": g("archiver/article_pages"),
        "article_pages_revalidated": g("archiver/article_pages_revalidated"),
        "articles_new": g("archiver/articles/new"),
        "articles_changed": g("archiver/articles/changed"),
        "articles_unchanged": g("archiver/articles/unchanged"),
        "articles_revalidated": g("archiver/articles/revalidated"),
        "articles_duplicate": g("archiver/articles/duplicate"),   # new URL of an archived article (#4)
        "failures": g("archiver/failures_stored"),
        "retried": g("archiver/retries/scheduled"),
        "link_entries": g("archiver/link_entries_new") + g("archiver/link_entries_seen"),
    }


def discovery_from_stats(stats: Mapping[str, Any]) -> dict[str, Any]:
    """What the run found beyond the registry (archiver/discovery.py) and its pager warnings."""
    g = lambda k: int(stats.get(k, 0) or 0)  # noqa: E731
    refused = {k.rsplit("/", 1)[-1]: int(v) for k, v in stats.items()
               if k.startswith("archiver/discovery/refused/")}
    return {
        "sites_not_in_registry": g("archiver/discovery/sites_not_in_registry"),
        "channels_not_in_registry": g("archiver/discovery/channels_not_in_registry"),
        "sites_new": g("archiver/discovery/sites_new"),
        "channels_new": g("archiver/discovery/channels_new"),
        "channels_missing": g("archiver/discovery/channels_missing"),
        "channels_without_articles": g("archiver/discovery/channels_without_articles"),
        "refused": refused,
        "pager_warnings": list(stats.get("archiver/pager/warnings") or []),
    }


def site_counts_from_stats(stats: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """``{site: {counter: n}}`` for every site of the run (``archiver/sites``) or with a counter."""
    sites: dict[str, dict[str, int]] = {}
    for s in str(stats.get("archiver/sites") or "").split(","):
        if s:
            sites[s] = {c: 0 for c in SITE_COUNTERS}
    for key, value in stats.items():
        if not key.startswith("archiver/site/"):
            continue
        site, _, name = key[len("archiver/site/"):].rpartition("/")
        if site and name in SITE_COUNTERS:
            sites.setdefault(site, {c: 0 for c in SITE_COUNTERS})[name] = int(value or 0)
    return dict(sorted(sites.items()))


def extraction_failure(kind: str, url: str, network=None) -> bool:
    """A failure that says the extractor could not read an article page it was given."""
    if kind not in EXTRACTION_KINDS:
        return False
    if network is None:
        return True
    return network.classify(url).kind == "article"


def _site_findings(site: str, c: Mapping[str, int], mode: str, history: SiteHistory, settings) -> list[str]:
    out = []
    answered = c["list_pages"] + c["list_pages_revalidated"]
    if c["list_failures"] and not answered:
        out.append(f"every list page failed ({c['list_failures']})")
    articles = c["articles_new"] + c["articles_changed"] + c["articles_unchanged"] + c["articles_revalidated"]
    if mode == "full" and articles == 0 and not out:
        out.append("no article in a full run")
    return out


def _extraction_finding(site: str, c: Mapping[str, int], history: SiteHistory, settings) -> str | None:
    min_pages = _setting(settings, "ARCHIVER_HEALTH_MIN_ARTICLE_PAGES")
    pages = c["article_pages"]
    if pages < min_pages:
        return None
    rate = c["extraction_failures"] / pages
    baseline = history.extraction_rate(site, min_pages)
    if baseline is not None:
        jump = _setting(settings, "ARCHIVER_HEALTH_EXTRACTION_JUMP")
        if rate - baseline > jump:
            return (f"extraction failures {rate:.0%} of {pages} article pages, up from {baseline:.0%} "
                    f"(more than +{jump:.0%})")
        return None
    max_rate = _setting(settings, "ARCHIVER_HEALTH_MAX_EXTRACTION_FAILURE_RATE")
    if rate > max_rate:
        return f"extraction failures {rate:.0%} of {pages} article pages (more than {max_rate:.0%})"
    return None


def assess(stats: Mapping[str, Any], settings, finish_reason: str | None,
           history: SiteHistory | None = None) -> HealthReport:
    history = history or SiteHistory()
    mode = str(stats.get("archiver/mode") or "full")
    counts = counts_from_stats(stats)
    problems: list[str] = []
    warnings: list[str] = []
    if finish_reason and finish_reason != "finished":
        problems.append(f"crawl ended early ({finish_reason})")
    articles = (counts["articles_new"] + counts["articles_changed"] + counts["articles_unchanged"]
                + counts["articles_revalidated"] + counts["articles_duplicate"])
    if mode == "full" and articles == 0:
        problems.append("no article was stored or seen")
    if mode == "incremental" and counts["list_pages"] + counts["list_pages_revalidated"] == 0:
        problems.append("no list page answered (neither 200 nor 304)")
    tried = (counts["list_pages"] + counts["list_pages_revalidated"] + counts["article_pages"]
             + counts["article_pages_revalidated"] + counts["failures"])
    ratio_max = _setting(settings, "ARCHIVER_MAX_FAILURE_RATIO")
    if tried and counts["failures"] / tried > ratio_max:
        problems.append(f"{counts['failures']} of {tried} pages failed (more than {ratio_max:.0%})")
    if stats.get("archiver/store/batches_lost"):
        problems.append(f"the archive rolled back {stats.get('archiver/store/items_lost', 0)} stored item(s) "
                        f"({stats['archiver/store/batches_lost']} batch(es)); they are fetched again next run")
    if stats.get("archiver/store/errors"):
        problems.append(f"the store step failed on {stats['archiver/store/errors']} item(s), first: "
                        f"{stats.get('archiver/store/first_error', '?')}")
    if stats.get("archiver/refused") and finish_reason == "archive_unusable":
        problems.append(f"the archive cannot be used: {stats['archiver/refused']}")
    if stats.get("archiver/extract/crashed"):
        problems.append(f"the extractor crashed on {stats['archiver/extract/crashed']} page(s)")

    sites = site_counts_from_stats(stats)
    for site, c in sites.items():
        found: list[str] = []
        warn: list[str] = []
        if _setting(settings, "ARCHIVER_HEALTH_SITE_CHECKS"):
            findings = _site_findings(site, c, mode, history, settings)
            if site in history.established:
                found += findings
            else:
                warn += [f"{f} (no article of this site archived before: warning only)" for f in findings]
            extraction = _extraction_finding(site, c, history, settings)
            if extraction:
                found.append(extraction)
        c["status"] = "unhealthy" if found else ("warning" if warn else "ok")    # type: ignore[assignment]
        c["problems"] = found + warn                                             # type: ignore[assignment]
        problems += [f"{site}: {f}" for f in found]
        warnings += [f"{site}: {w}" for w in warn]

    if stats.get("archiver/extract/over_budget"):
        warnings.append(f"extraction took longer than ARCHIVER_EXTRACT_TIME_BUDGET on "
                        f"{stats['archiver/extract/over_budget']} page(s) (slowest "
                        f"{stats.get('archiver/extract/slowest_ms', 0)} ms)")
    discovered = discovery_from_stats(stats)
    warnings += [f"pager: {w}" for w in discovered["pager_warnings"]]
    if discovered["refused"]:
        detail = ", ".join(f"{k} {v}" for k, v in sorted(discovered["refused"].items()))
        warnings.append(f"discovery: links not followed because a budget ran out ({detail}); "
                        f"see ARCHIVER_DISCOVERY_* settings")

    if finish_reason in ("shutdown", "interrupted"):
        status = "interrupted"
    else:
        status = "ok" if not problems else "unhealthy"
    return HealthReport(status, counts, problems, warnings, sites, mode, discovered)


def run_columns(report: HealthReport) -> dict[str, Any]:
    """The crawl_runs columns added by migration 0006, from a report."""
    c = report.counts
    return {
        "site_counts": json.dumps(report.sites, ensure_ascii=False, sort_keys=True),
        "list_pages": c["list_pages"], "list_pages_revalidated": c["list_pages_revalidated"],
        "article_pages": c["article_pages"], "articles_revalidated": c["articles_revalidated"],
        "requests": c["requests"], "retried": c["retried"],
        "problems": "\n".join(report.problems + [f"warning: {w}" for w in report.warnings]) or None,
        "discovered": json.dumps(report.discovered, ensure_ascii=False, sort_keys=True) if report.discovered else None,
    }
