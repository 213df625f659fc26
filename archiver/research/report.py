"""The archive report: one self-contained HTML page of pictures (inline SVG, no script, no
network), written by ``archiver report`` and served live by the Datasette plugin at ``/-/report``.

* a timeline of articles per month, all sites stacked, then one row per site on the same axis;
* crawl health per site over the latest runs (a grid: site x run, coloured by outcome);
* open failures per site by kind, and extraction quality per site when the archive has it.

Every picture has its numbers in a table below it. With ``datasette_base`` (the database's
URL in Datasette) bars and cells link to the matching rows.
"""
from __future__ import annotations

import datetime as dt
import html
import urllib.parse
from collections import defaultdict

from archiver.db import research

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#1f77b4", "#8c564b", "#17becf", "#bcbd22"]
HEALTH_COLOURS = {"ok": "#59a14f", "warn": "#edc948", "bad": "#e15759", "absent": "#eeeeee"}
FAILURE_COLOURS = {"http": "#e15759", "timeout": "#f28e2b", "challenge": "#b07aa1", "soft404": "#9c755f",
                   "empty_list": "#edc948", "malformed": "#76b7b2"}
CSS = """
body { font-family: system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif; margin: 1.5em auto; max-width: 1100px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.summary span { display: inline-block; margin-right: 1.5em; }
svg text { font-size: 11px; fill: #333; } svg .muted { fill: #888; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: right; } th { background: #f5f5f5; }
td:first-child, th:first-child { text-align: left; }
details { margin: 0.5em 0 1em 0; } .legend span { display: inline-block; margin-right: 1em; font-size: 0.85em; }
.legend i { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.3em; vertical-align: -0.1em; }
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _months(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


class _Links:
    def __init__(self, base: str | None):
        self.base = base.rstrip("/") if base else None

    def __call__(self, path: str, **params) -> str | None:
        if not self.base:
            return None
        q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.base}/{path}" + (f"?{q}" if q else "")


def _wrap(svg: str, href: str | None) -> str:
    return f'<a href="{_e(href)}">{svg}</a>' if href else svg


def _legend(items: list[tuple[str, str]]) -> str:
    return '<div class="legend">' + "".join(f'<span><i style="background:{c}"></i>{_e(label)}</span>'
                                           for label, c in items) + "</div>"


def _nice_max(n: int) -> int:
    """An axis maximum >= n whose quarters are round numbers (ticks at 0, 1/4, ... 4/4)."""
    quarter = max(1.0, n / 4)
    mag = 10 ** (len(str(int(quarter))) - 1)
    for step in (1, 2, 5, 10):
        if step * mag >= quarter:
            return 4 * step * mag
    return 40 * mag


# ----------------------------------------------------------------------------- timeline
def timeline(rows: list[dict], colours: dict[str, str], names: dict[str, str], link: _Links) -> str:
    if not rows:
        return "<p>No dated articles yet.</p>"
    months = _months(min(r["month"] for r in rows), max(r["month"] for r in rows))
    per = defaultdict(dict)
    for r in rows:
        per[r["month"]][r["site"]] = r["articles"]
    sites = sorted({r["site"] for r in rows}, key=lambda s: -sum(per[m].get(s, 0) for m in months))
    width, left, top, height = 1000, 44, 10, 220
    bw = (width - left - 10) / len(months)
    ymax = _nice_max(max(sum(per[m].values()) for m in months))
    parts = [f'<svg role="img" aria-label="articles per month" width="{width}" height="{height + 40}" '
             f'viewBox="0 0 {width} {height + 40}" xmlns="http://www.w3.org/2000/svg">']
    for i in range(5):
        v = ymax * i / 4
        y = top + height - height * i / 4
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="muted">{int(v)}</text>')
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
            rect = (f'<rect x="{x + 0.5:.1f}" y="{y:.1f}" width="{max(1.0, bw - 1):.1f}" height="{h:.1f}" '
                    f'fill="{colours[s]}"><title>{_e(m)} {_e(names.get(s, s))}: {n}</title></rect>')
            parts.append(_wrap(rect, link("articles", site=s, published_at__startswith=m)))
        if i % label_every == 0:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{top + height + 14}" text-anchor="middle">{_e(m)}</text>')
    parts.append("</svg>")
    legend = _legend([(names.get(s, s), colours[s]) for s in sites])
    # one row per site, same axis, each scaled to its own busiest month
    row_h, label_w = 26, 200
    sm = [f'<svg role="img" aria-label="articles per month per site" width="{width}" height="{row_h * len(sites) + 6}" '
          f'xmlns="http://www.w3.org/2000/svg">']
    bw2 = (width - label_w - 60) / len(months)
    for j, s in enumerate(sites):
        y0 = j * row_h
        peak = max(per[m].get(s, 0) for m in months) or 1
        total = sum(per[m].get(s, 0) for m in months)
        sm.append(_wrap(f'<text x="0" y="{y0 + row_h - 8}">{_e(names.get(s, s))}</text>', link("articles", site=s)))
        for i, m in enumerate(months):
            n = per[m].get(s, 0)
            if not n:
                continue
            h = (row_h - 6) * n / peak
            rect = (f'<rect x="{label_w + i * bw2:.1f}" y="{y0 + row_h - 2 - h:.1f}" width="{max(1.0, bw2 - 0.5):.1f}" '
                    f'height="{h:.1f}" fill="{colours[s]}"><title>{_e(m)} {_e(names.get(s, s))}: {n}</title></rect>')
            sm.append(_wrap(rect, link("articles", site=s, published_at__startswith=m)))
        sm.append(f'<text x="{width - 4}" y="{y0 + row_h - 8}" text-anchor="end" class="muted">{total}</text>')
    sm.append("</svg>")
    table = ["<details><summary>Numbers 数据</summary><table><tr><th>month</th>"
             + "".join(f"<th>{_e(names.get(s, s))}</th>" for s in sites) + "<th>all</th></tr>"]
    for m in reversed(months):
        table.append(f"<tr><td>{_e(m)}</td>" + "".join(f"<td>{per[m].get(s, '')}</td>" for s in sites)
                     + f"<td>{sum(per[m].values())}</td></tr>")
    table.append("</table></details>")
    return "".join(parts) + legend + "<h3>Per site 各网站</h3>" + "".join(sm) + "".join(table)


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


def crawl_health(runs: list[dict], names: dict[str, str], link: _Links) -> str:
    if not runs:
        return "<p>No crawl runs recorded yet.</p>"
    per_run = [research.site_counts_of_run(r) for r in runs]
    sites = sorted({s for counts in per_run for s in counts}, key=lambda s: names.get(s, s))
    if not sites:
        return "<p>The recorded runs have no per-site counts.</p>"
    cell, label_w = 28, 200
    width = label_w + cell * len(runs) + 10
    height = 40 + cell * len(sites)
    parts = [f'<svg role="img" aria-label="crawl health per site" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, r in enumerate(runs):
        x = label_w + i * cell
        colour = {"ok": HEALTH_COLOURS["ok"], "unhealthy": HEALTH_COLOURS["bad"]}.get(r["status"], HEALTH_COLOURS["warn"])
        badge = (f'<rect x="{x + 2}" y="4" width="{cell - 4}" height="14" rx="3" fill="{colour}">'
                 f'<title>run {r["id"]} {_e(r["started_at"])} {_e(r["mode"])}: {_e(r["status"])}</title></rect>'
                 f'<text x="{x + cell / 2}" y="30" text-anchor="middle" class="muted">{r["id"]}</text>')
        parts.append(_wrap(badge, link(f"crawl_runs/{r['id']}")))
    for j, s in enumerate(sites):
        y = 36 + j * cell
        parts.append(f'<text x="0" y="{y + cell / 2 + 4}">{_e(names.get(s, s))}</text>')
        for i, (r, counts) in enumerate(zip(runs, per_run)):
            c = counts.get(s)
            state = _health(c)
            tip = (f"run {r['id']} {names.get(s, s)}: not crawled" if c is None else
                   f"run {r['id']} {names.get(s, s)}: new {c.new}, changed {c.changed}, unchanged {c.unchanged}, "
                   f"revalidated {c.revalidated}, failures {c.failures}"
                   + (f" ({c.status}: {'; '.join(map(str, c.problems))})" if c.status and c.problems else ""))
            rect = (f'<rect x="{label_w + i * cell + 2}" y="{y + 2}" width="{cell - 4}" height="{cell - 4}" rx="3" '
                    f'fill="{HEALTH_COLOURS[state]}"><title>{_e(tip)}</title></rect>')
            parts.append(_wrap(rect, link("failures", site=s) if state in ("bad", "warn") else None))
    parts.append("</svg>")
    legend = _legend([("articles, no failures 正常", HEALTH_COLOURS["ok"]),
                      ("some failures 部分失败", HEALTH_COLOURS["warn"]),
                      ("no articles or mostly failures 异常", HEALTH_COLOURS["bad"]),
                      ("not crawled in that run 未抓取", HEALTH_COLOURS["absent"])])
    table = ["<details><summary>Numbers 数据</summary><table><tr><th>run</th><th>started</th><th>mode</th>"
             "<th>status</th><th>site</th><th>new</th><th>changed</th><th>unchanged</th><th>revalidated</th>"
             "<th>failures</th><th>site status</th></tr>"]
    for r, counts in zip(reversed(runs), reversed(per_run)):
        for s in sorted(counts):
            c = counts[s]
            table.append(f"<tr><td>{r['id']}</td><td>{_e(r['started_at'])}</td><td>{_e(r['mode'])}</td>"
                         f"<td>{_e(r['status'])}</td><td>{_e(names.get(s, s))}</td><td>{c.new}</td><td>{c.changed}</td>"
                         f"<td>{c.unchanged}</td><td>{c.revalidated}</td><td>{c.failures}</td>"
                         f"<td>{_e(c.status or '')}</td></tr>")
    table.append("</table></details>")
    return "".join(parts) + legend + "".join(table)


def _stacked_hbars(data: dict[str, dict[str, int]], colours: dict[str, str], names: dict[str, str], link,
                   link_key: str, aria: str) -> str:
    if not data:
        return "<p>None.</p>"
    width, label_w, row_h = 1000, 200, 22
    vmax = max(sum(v.values()) for v in data.values()) or 1
    parts = [f'<svg role="img" aria-label="{_e(aria)}" width="{width}" height="{row_h * len(data) + 4}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for j, (site, parts_) in enumerate(sorted(data.items(), key=lambda kv: -sum(kv[1].values()))):
        y = j * row_h
        parts.append(f'<text x="0" y="{y + 15}">{_e(names.get(site, site))}</text>')
        x = label_w
        for key, n in sorted(parts_.items()):
            w = (width - label_w - 60) * n / vmax
            rect = (f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                    f'fill="{colours.get(key, "#bab0ac")}"><title>{_e(names.get(site, site))} {_e(key)}: {n}</title></rect>')
            parts.append(_wrap(rect, link(link_key, site=site, **({"kind": key} if link_key == "failures" else
                                                                    {"quality": key}))))
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 15}" class="muted">{sum(parts_.values())}</text>')
    parts.append("</svg>")
    keys = sorted({k for v in data.values() for k in v})
    return "".join(parts) + _legend([(k, colours.get(k, "#bab0ac")) for k in keys])


# ----------------------------------------------------------------------------- page
def render_report(db, *, datasette_base: str | None = None, title_suffix: str = "",
                  generated_at: str | None = None) -> str:
    """The report as one HTML page (a string)."""
    link = _Links(datasette_base)
    sites = research.sites_summary(db)
    names = {s["site"]: s["site_name"] or s["site"] for s in sites}
    colours = {s["site"]: PALETTE[i % len(PALETTE)] for i, s in enumerate(sites)}
    t = research.totals(db)
    runs = research.latest_runs(db)
    for r in runs:
        for s in research.site_counts_of_run(r):
            names.setdefault(s, s)
    failures: dict[str, dict[str, int]] = defaultdict(dict)
    for f in research.open_failures_by_site(db):
        failures[f["site"]][f["kind"]] = f["urls"]
    quality = research.quality_by_site(db)
    generated_at = generated_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    out = [f'<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">'
           f"<title>档案报告 Archive report{_e(title_suffix)}</title><style>{CSS}</style></head><body>",
           f"<h1>中铝网站群新闻档案 · Archive report{_e(title_suffix)}</h1>",
           f'<p class="summary"><span><b>{t["articles"]}</b> articles 篇</span><span><b>{t["sites"]}</b> sites 个网站</span>'
           f'<span>{_e(t["earliest"] or "–")} … {_e(t["latest"] or "–")}</span><span><b>{t["runs"]}</b> crawl runs 次抓取</span>'
           f'<span><b>{t["open_failures"]}</b> open failures 未解决失败</span></p>',
           f'<p class="summary muted">Generated {_e(generated_at)}'
           + (f' · <a href="{_e(datasette_base)}">open the archive in Datasette</a>' if datasette_base else "") + "</p>",
           "<h2>每月文章数 · Articles per month</h2>",
           timeline(research.articles_per_month(db), colours, names, link),
           "<h2>各网站抓取健康 · Crawl health per site (latest runs, oldest to newest)</h2>",
           crawl_health(runs, names, link),
           "<h2>未解决的失败 · Open failures per site, by kind</h2>",
           _stacked_hbars(dict(failures), FAILURE_COLOURS, names, link, "failures", "open failures per site")]
    if quality is not None:
        q: dict[str, dict[str, int]] = defaultdict(dict)
        for row in quality:
            q[row["site"]][row["quality"]] = row["articles"]
        out += ["<h2>提取质量 · Extraction quality per site</h2>",
                _stacked_hbars(dict(q), {"good": "#59a14f", "low": "#edc948", "bad": "#e15759"}, names, link,
                               "articles", "extraction quality per site")]
    site_rows = "".join(
        f"<tr><td>{_e(s['site_name'])}</td><td>{_e(s['site'])}</td><td>{s['articles']}</td><td>{s['undated']}</td>"
        f"<td>{_e(s['earliest'])}</td><td>{_e(s['latest'])}</td><td>{_e(s['last_seen'])}</td></tr>" for s in sites)
    out += ["<h2>网站 · Sites</h2><table><tr><th>site</th><th>id</th><th>articles</th><th>undated</th><th>earliest</th>"
            f"<th>latest</th><th>last seen</th></tr>{site_rows}</table>", "</body></html>"]
    return "".join(out)
