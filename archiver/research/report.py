"""The archive report: one self-contained HTML page of pictures (inline SVG, no script, no
network), written by ``archiver report`` and served live by the Datasette plugin at ``/-/report``.

* a timeline of articles per month, all sites stacked, then one row per site on the same axis;
* crawl health per site over the latest runs (a grid: site x run, coloured by outcome);
* open failures per site by kind, and extraction quality per site when the archive has it.

Every picture has its numbers in a table below it. With ``datasette_base`` (the database's
URL in Datasette) bars and cells link to the matching rows.

The geometry is computed here as shapes (rect, text, line with their attributes); the page is the
Jinja2 template ``templates/archive_report.html``, which escapes every value.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from archiver.db import research
from archiver.research.charts import PALETTE, months_between, nice_max, query_string

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TEMPLATE = "archive_report.html"
HEALTH_COLOURS = {"ok": "#59a14f", "warn": "#edc948", "bad": "#e15759", "absent": "#eeeeee"}
FAILURE_COLOURS = {"http": "#e15759", "timeout": "#f28e2b", "challenge": "#b07aa1", "soft404": "#9c755f",
                   "empty_list": "#edc948", "malformed": "#76b7b2"}
QUALITY_COLOURS = {"good": "#59a14f", "low": "#edc948", "bad": "#e15759"}
OTHER_COLOUR = "#bab0ac"


# ----------------------------------------------------------------------------- what the template draws
@dataclass
class Shape:
    """One SVG element: ``tag`` with ``attrs``; ``text`` is a text element's content, ``title`` a
    rect's tooltip; with ``href`` the element is a link."""
    tag: str
    attrs: dict
    text: str = ""
    title: str = ""
    href: str | None = None


@dataclass
class Svg:
    label: str
    width: int | float
    height: int | float
    shapes: list[Shape] = field(default_factory=list)
    viewbox: bool = False

    def rect(self, x, y, w, h, fill, title, href=None, **attrs) -> None:
        self.shapes.append(Shape("rect", {"x": x, "y": y, "width": w, "height": h, **attrs, "fill": fill},
                                 title=title, href=href))

    def text(self, x, y, text, href=None, anchor=None, muted=False) -> None:
        self.shapes.append(Shape("text", {"x": x, "y": y, "text-anchor": anchor, "class": "muted" if muted else None},
                                 text=str(text), href=href))

    def line(self, x1, x2, y1, y2, stroke) -> None:
        self.shapes.append(Shape("line", {"x1": x1, "x2": x2, "y1": y1, "y2": y2, "stroke": stroke}))


@dataclass
class Table:
    header: list[str]
    rows: list[list]


@dataclass
class Panel:
    """A section's body: a message when there is nothing to draw, else pictures, legends,
    sub-headings and number tables in order (``parts``: (kind, value))."""
    message: str | None = None
    parts: list[tuple[str, object]] = field(default_factory=list)

    def add(self, kind: str, value) -> Panel:
        self.parts.append((kind, value))
        return self


class _Links:
    def __init__(self, base: str | None):
        self.base = base.rstrip("/") if base else None

    def __call__(self, path: str, **params) -> str | None:
        if not self.base:
            return None
        q = query_string(params)
        return f"{self.base}/{path}" + (f"?{q}" if q else "")


def _r(v: float) -> float:
    return round(v, 1)


# ----------------------------------------------------------------------------- timeline
def timeline(rows: list[dict], colours: dict[str, str], names: dict[str, str], link: _Links) -> Panel:
    if not rows:
        return Panel("No dated articles yet.")
    months = months_between(min(r["month"] for r in rows), max(r["month"] for r in rows))
    per = defaultdict(dict)
    for r in rows:
        per[r["month"]][r["site"]] = r["articles"]
    sites = sorted({r["site"] for r in rows}, key=lambda s: (-sum(per[m].get(s, 0) for m in months), s))
    width, left, top, height = 1000, 44, 10, 220
    bw = (width - left - 10) / len(months)
    ymax = nice_max(max(sum(per[m].values()) for m in months))
    svg = Svg("articles per month", width, height + 40, viewbox=True)
    for i in range(5):
        y = _r(top + height - height * i / 4)
        svg.line(left, width - 10, y, y, "#eee")
        svg.text(left - 4, _r(y + 4), int(ymax * i / 4), anchor="end", muted=True)
    label_every = max(1, round(len(months) / 12))
    for i, m in enumerate(months):
        x = left + i * bw
        y = top + height
        for s in sites:
            n = per[m].get(s, 0)
            if not n:
                continue
            h = height * n / ymax
            y -= h
            svg.rect(_r(x + 0.5), _r(y), _r(max(1.0, bw - 1)), _r(h), colours[s], f"{m} {names.get(s, s)}: {n}",
                     link("articles", site=s, published_at__startswith=m))
        if i % label_every == 0:
            svg.text(_r(x + bw / 2), top + height + 14, m, anchor="middle")
    # one row per site, same axis, each scaled to its own busiest month
    row_h, label_w = 26, 200
    rows_svg = Svg("articles per month per site", width, row_h * len(sites) + 6)
    bw2 = (width - label_w - 60) / len(months)
    for j, s in enumerate(sites):
        y0 = j * row_h
        peak = max(per[m].get(s, 0) for m in months) or 1
        rows_svg.text(0, y0 + row_h - 8, names.get(s, s), href=link("articles", site=s))
        for i, m in enumerate(months):
            n = per[m].get(s, 0)
            if not n:
                continue
            h = (row_h - 6) * n / peak
            rows_svg.rect(_r(label_w + i * bw2), _r(y0 + row_h - 2 - h), _r(max(1.0, bw2 - 0.5)), _r(h), colours[s],
                          f"{m} {names.get(s, s)}: {n}", link("articles", site=s, published_at__startswith=m))
        rows_svg.text(width - 4, y0 + row_h - 8, sum(per[m].get(s, 0) for m in months), anchor="end", muted=True)
    table = Table(["month", *(names.get(s, s) for s in sites), "all"],
                  [[m, *(per[m].get(s, "") for s in sites), sum(per[m].values())] for m in reversed(months)])
    return (Panel().add("svg", svg).add("legend", [(names.get(s, s), colours[s]) for s in sites])
            .add("h3", "Per site 各网站").add("svg", rows_svg).add("numbers", table))


# ----------------------------------------------------------------------------- crawl health
def _health(c: research.SiteRunCounts | None) -> str:
    if c is None:
        return "absent"
    if c.status:                                     # the run judged the site itself (schema 0006)
        state = {"ok": "ok", "warning": "warn"}.get(c.status, "bad")
        return "warn" if state == "ok" and c.failures else state
    if c.articles == 0:
        return "bad"
    if c.failures > c.articles:
        return "bad"
    if c.failures:
        return "warn"
    return "ok"


def _health_tip(r: dict, name: str, c: research.SiteRunCounts | None) -> str:
    if c is None:
        return f"run {r['id']} {name}: not crawled"
    return (f"run {r['id']} {name}: new {c.new}, changed {c.changed}, unchanged {c.unchanged}, "
            f"revalidated {c.revalidated}, failures {c.failures}"
            + (f" ({c.status}: {'; '.join(map(str, c.problems))})" if c.status and c.problems else ""))


def crawl_health(runs: list[dict], names: dict[str, str], link: _Links) -> Panel:
    if not runs:
        return Panel("No crawl runs recorded yet.")
    per_run = [research.site_counts_of_run(r) for r in runs]
    sites = sorted({s for counts in per_run for s in counts}, key=lambda s: names.get(s, s))
    if not sites:
        return Panel("The recorded runs have no per-site counts.")
    cell, label_w = 28, 200
    svg = Svg("crawl health per site", label_w + cell * len(runs) + 10, 40 + cell * len(sites))
    for i, r in enumerate(runs):
        x = label_w + i * cell
        colour = {"ok": HEALTH_COLOURS["ok"], "unhealthy": HEALTH_COLOURS["bad"]}.get(r["status"], HEALTH_COLOURS["warn"])
        href = link(f"crawl_runs/{r['id']}")
        svg.rect(x + 2, 4, cell - 4, 14, colour, f"run {r['id']} {r['started_at']} {r['mode']}: {r['status']}", href,
                 rx=3)
        svg.text(x + cell / 2, 30, r["id"], href=href, anchor="middle", muted=True)
    for j, s in enumerate(sites):
        y = 36 + j * cell
        svg.text(0, y + cell / 2 + 4, names.get(s, s))
        for i, (r, counts) in enumerate(zip(runs, per_run)):
            c = counts.get(s)
            state = _health(c)
            svg.rect(label_w + i * cell + 2, y + 2, cell - 4, cell - 4, HEALTH_COLOURS[state],
                     _health_tip(r, names.get(s, s), c), link("failures", site=s) if state in ("bad", "warn") else None,
                     rx=3)
    legend = [("articles, no failures 正常", HEALTH_COLOURS["ok"]), ("some failures 部分失败", HEALTH_COLOURS["warn"]),
              ("no articles or mostly failures 异常", HEALTH_COLOURS["bad"]),
              ("not crawled in that run 未抓取", HEALTH_COLOURS["absent"])]
    table = Table(["run", "started", "mode", "status", "site", "new", "changed", "unchanged", "revalidated", "failures",
                   "site status"],
                  [[r["id"], r["started_at"], r["mode"], r["status"], names.get(s, s), c.new, c.changed, c.unchanged,
                    c.revalidated, c.failures, c.status or ""]
                   for r, counts in zip(reversed(runs), reversed(per_run)) for s, c in sorted(counts.items())])
    return Panel().add("svg", svg).add("legend", legend).add("numbers", table)


def stacked_hbars(data: dict[str, dict[str, int]], colours: dict[str, str], names: dict[str, str], href,
                  label: str) -> Panel:
    """One bar per site, stacked by key; ``href(site, key)`` links a segment."""
    if not data:
        return Panel("None.")
    width, label_w, row_h = 1000, 200, 22
    vmax = max(sum(v.values()) for v in data.values()) or 1
    svg = Svg(label, width, row_h * len(data) + 4)
    for j, (site, counts) in enumerate(sorted(data.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))):
        y = j * row_h
        svg.text(0, y + 15, names.get(site, site))
        x = label_w
        for key, n in sorted(counts.items()):
            w = (width - label_w - 60) * n / vmax
            svg.rect(_r(x), y + 3, _r(w), row_h - 6, colours.get(key, OTHER_COLOUR),
                     f"{names.get(site, site)} {key}: {n}", href(site, key))
            x += w
        svg.text(_r(x + 4), y + 15, sum(counts.values()), muted=True)
    keys = sorted({k for v in data.values() for k in v})
    return Panel().add("svg", svg).add("legend", [(k, colours.get(k, OTHER_COLOUR)) for k in keys])


# ----------------------------------------------------------------------------- page
@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                       trim_blocks=True, lstrip_blocks=True, finalize=lambda v: "" if v is None else v)


def render_report(db, *, datasette_base: str | None = None, title_suffix: str = "",
                  generated_at: str | None = None) -> str:
    """The report as one HTML page (a string)."""
    link = _Links(datasette_base)
    sites = research.sites_summary(db)
    names = {s["site"]: s["site_name"] or s["site"] for s in sites}
    colours = {s["site"]: PALETTE[i % len(PALETTE)] for i, s in enumerate(sites)}
    runs = research.latest_runs(db)
    for r in runs:
        for s in research.site_counts_of_run(r):
            names.setdefault(s, s)
    failures: dict[str, dict[str, int]] = defaultdict(dict)
    for f in research.open_failures_by_site(db):
        failures[f["site"]][f["kind"]] = f["urls"]
    sections = [
        ("每月文章数 · Articles per month", timeline(research.articles_per_month(db), colours, names, link)),
        ("各网站抓取健康 · Crawl health per site (latest runs, oldest to newest)", crawl_health(runs, names, link)),
        ("未解决的失败 · Open failures per site, by kind",
         stacked_hbars(dict(failures), FAILURE_COLOURS, names, lambda s, k: link("failures", site=s, kind=k),
                       "open failures per site")),
    ]
    quality = research.quality_by_site(db)
    if quality is not None:
        q: dict[str, dict[str, int]] = defaultdict(dict)
        for row in quality:
            q[row["site"]][row["quality"]] = row["articles"]
        sections.append(("提取质量 · Extraction quality per site",
                         stacked_hbars(dict(q), QUALITY_COLOURS, names, lambda s, k: link("articles", site=s, quality=k),
                                       "extraction quality per site")))
    return _environment().get_template(TEMPLATE).render(
        title_suffix=title_suffix, totals=research.totals(db), datasette_base=datasette_base,
        generated_at=generated_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        sections=sections, sites=sites)
