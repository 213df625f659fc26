"""Pictures for the reading room: articles per month per site, matches of a search per site and per
month, sources over time. Drawn on the server as SVG (``templates/_zh_charts.html`` renders the
geometry computed here): no script, no network, readable in any browser and in a screenshot.

The time axis covers where the data is: months before the 1st and after the 99th percentile of the
articles (by date) are left off the axis and listed as outliers under the chart, so one article
dated 2016 does not squeeze ten years of empty months into the picture.
"""
from __future__ import annotations

import sqlite3
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#1f77b4", "#8c564b", "#17becf", "#bcbd22"]
OTHER_COLOUR = "#cccccc"
CLIP_SHARE = 0.01            # the share of articles each end of the time axis may leave off
MAX_SERIES = 8               # series drawn in their own colour; the rest are "other"
ARTICLE_MONTH = "substr(coalesce(published_at, url_date), 1, 7)"
DATED = "coalesce(published_at, url_date) glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]*'"


@dataclass
class Bar:
    x: float
    y: float
    w: float
    h: float
    colour: str
    title: str
    href: str | None = None


@dataclass
class Chart:
    """An SVG chart: bars, axis labels, a legend and the outliers left off the time axis."""
    label: str                       # aria-label and caption
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, float, str]] = field(default_factory=list)       # y gridlines: (y, x_label, text)
    xlabels: list[tuple[float, float, str, str]] = field(default_factory=list)  # (x, y, text, anchor)
    legend: list[tuple[str, str]] = field(default_factory=list)
    outliers: list[tuple[str, int]] = field(default_factory=list)
    note: str = ""
    left: int = 44
    right: int = 0


def months_between(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def clip_months(totals: dict[str, int], share: float = CLIP_SHARE) -> tuple[list[str], list[tuple[str, int]]]:
    """The months of the axis (every month from the first kept to the last kept) and the months left
    off (month, articles). At most ``share`` of the articles are left off at each end."""
    months = sorted(m for m, n in totals.items() if n)
    if not months:
        return [], []
    total = sum(totals[m] for m in months)
    budget = share * total
    lo, dropped = 0, 0
    while lo < len(months) - 1 and dropped + totals[months[lo]] <= budget:
        dropped += totals[months[lo]]
        lo += 1
    hi, dropped = len(months) - 1, 0
    while hi > lo and dropped + totals[months[hi]] <= budget:
        dropped += totals[months[hi]]
        hi -= 1
    outliers = [(m, totals[m]) for m in months[:lo] + months[hi + 1:]]
    return months_between(months[lo], months[hi]), outliers


def nice_max(n: int) -> int:
    """An axis maximum >= n whose quarters are round numbers (ticks at 0, 1/4, ... 4/4)."""
    quarter = max(1.0, n / 4)
    mag = 10 ** (len(str(int(quarter))) - 1)
    for step in (1, 2, 5, 10):
        if step * mag >= quarter:
            return 4 * step * mag
    return 40 * mag


def _series_colours(keys: list[str]) -> dict[str, str]:
    return {k: (PALETTE[i % len(PALETTE)] if k != "other" else OTHER_COLOUR) for i, k in enumerate(keys)}


def stacked_months(rows: list[tuple[str, str, int]], *, label: str, names: dict[str, str] | None = None,
                   href=None, width: int = 440, height: int = 150) -> Chart | None:
    """Bars per month, stacked by series. ``rows``: (month 'YYYY-MM', series key, count).
    ``href(month, key)`` links a bar segment (or None)."""
    names = names or {}
    per: dict[str, dict[str, int]] = defaultdict(dict)
    by_key: dict[str, int] = defaultdict(int)
    for month, key, n in rows:
        if not month or len(month) < 7 or not n:
            continue
        per[month][key] = per[month].get(key, 0) + n
        by_key[key] += n
    if not per:
        return None
    keys = sorted(by_key, key=lambda k: (-by_key[k], k))
    if len(keys) > MAX_SERIES:           # the smallest series become "other"
        keep = set(keys[:MAX_SERIES - 1])
        merged: dict[str, dict[str, int]] = defaultdict(dict)
        for m, d in per.items():
            for k, n in d.items():
                kk = k if k in keep else "other"
                merged[m][kk] = merged[m].get(kk, 0) + n
        per = merged
        keys = keys[:MAX_SERIES - 1] + ["other"]
    months, outliers = clip_months({m: sum(d.values()) for m, d in per.items()})
    colours = _series_colours(keys)
    chart = Chart(label=label, width=width, height=height + 34)
    left, top, right = chart.left, 8, 8
    plot_w = width - left - right
    bw = plot_w / len(months)
    ymax = nice_max(max(sum(per.get(m, {}).values()) for m in months))
    for i in range(5):
        chart.ticks.append((top + height - height * i / 4, left - 4, f"{int(ymax * i / 4):,}"))
    every = max(1, -(-len(months) // 8))
    for i, m in enumerate(months):
        x = left + i * bw
        y = top + height
        for k in keys:
            n = per.get(m, {}).get(k, 0)
            if not n:
                continue
            h = height * n / ymax
            y -= h
            chart.bars.append(Bar(round(x + 0.5, 1), round(y, 1), round(max(1.0, bw - 1), 1), round(h, 1), colours[k],
                                  f"{m} {names.get(k, k)}: {n:,}", href(m, k) if href and k != "other" else None))
        if i % every == 0:
            chart.xlabels.append((round(x + bw / 2, 1), top + height + 14, m, "middle"))
    chart.legend = [(names.get(k, k) if k != "other" else "其他 other", colours[k]) for k in keys]
    chart.outliers = outliers
    return chart


def hbars(rows: list[tuple[str, int, str | None]], *, label: str, width: int = 440, bar_h: int = 16) -> Chart | None:
    """Horizontal bars, one per row: (label, count, href)."""
    rows = [r for r in rows if r[1]]
    if not rows:
        return None
    label_w = 150
    chart = Chart(label=label, width=width, height=len(rows) * (bar_h + 4) + 4, left=label_w)
    peak = max(n for _, n, _ in rows)
    plot_w = width - label_w - 60
    for i, (name, n, href) in enumerate(rows):
        y = 2 + i * (bar_h + 4)
        w = max(1.0, plot_w * n / peak)
        chart.bars.append(Bar(label_w, y, round(w, 1), bar_h, PALETTE[0], f"{name}: {n:,}", href))
        chart.xlabels.append((label_w - 6, y + bar_h - 5, name, "end"))
        chart.xlabels.append((round(label_w + w + 4, 1), y + bar_h - 5, f"{n:,}", "start"))
    return chart


# ----------------------------------------------------------------------------- the data
def query_string(params: dict) -> str:
    """``params`` as a URL query, the ``None`` ones left out."""
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})


def archive_charts(conn: sqlite3.Connection, table_url: str) -> list[Chart]:
    """Articles per month per site, and the main sources over time, for the whole archive."""
    names = dict(conn.execute("select site, max(site_name) from articles group by site").fetchall())
    per_site = conn.execute(f"select {ARTICLE_MONTH} as m, site, count(*) from articles where {DATED} "
                            f"group by m, site").fetchall()
    charts = []
    c = stacked_months(per_site, label="每月文章数（按网站）Articles per month, by site", names=names,
                       href=lambda m, k: f"{table_url}?{query_string({'site': k, 'published_at__startswith': m})}")
    if c:
        charts.append(c)
    sources = conn.execute(f"select {ARTICLE_MONTH} as m, coalesce(nullif(trim(source), ''), '(无来源 none)'), "
                           f"count(*) from articles where {DATED} group by m, 2").fetchall()
    c = stacked_months(sources, label="来源随时间 Sources over time (articles per month, by 来源)",
                       href=lambda m, k: (f"{table_url}?{query_string({'source': k, 'published_at__startswith': m})}"
                                          if not k.startswith("(") else None))
    if c:
        charts.append(c)
    return charts


def search_charts(conn: sqlite3.Connection, expr: str, *, table_url: str, q: str, index: str = "articles_fts",
                  limit_ids: list[int] | None = None) -> tuple[int, list[Chart]]:
    """How many articles match an FTS5 expression of ``index``, and the pictures of them: matches per
    site and matches per month by site. With ``limit_ids``, only those articles (the newest matches)."""
    if limit_ids is not None:
        marks = ",".join("?" * len(limit_ids))
        src, params = f"(select id from articles where id in ({marks}))", list(limit_ids)
    else:
        src, params = f"(select rowid as id from {index} where {index} match ?)", [expr]
    rows = conn.execute(f"select {ARTICLE_MONTH} as m, a.site, max(a.site_name), count(*) from {src} h "
                        f"join articles a on a.id = h.id group by m, a.site", params).fetchall()
    total = sum(r[3] for r in rows)
    names = {r[1]: r[2] for r in rows}
    per_site: dict[str, int] = defaultdict(int)
    for _, site, _, n in rows:
        per_site[site] += n
    charts = []
    c = hbars([(names.get(s) or s, n, f"{table_url}?{query_string({'_search': q, 'site': s})}")
               for s, n in sorted(per_site.items(), key=lambda kv: -kv[1])],
              label=f"检索结果按网站 Matches per site: {q}")
    if c:
        charts.append(c)
    dated = [(m, s, n) for m, s, _, n in rows if m and m[:4].isdigit()]
    c = stacked_months(dated, label=f"检索结果按月 Matches per month: {q}", names=names,
                       href=lambda m, k: f"{table_url}?{query_string({'_search': q, 'site': k, 'published_at__startswith': m})}")
    if c:
        charts.append(c)
    return total, charts
