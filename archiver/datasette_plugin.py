"""The project's Datasette plugin (entry point ``chinalco_archive``, installed with the project).

What it adds to any Datasette 0.65 that opens an archive (a database with ``articles_fts``):

* The reading room (Jinja templates in ``archiver/templates``, data from ``extra_template_vars``):
  an article as a page to read (``archive_article.html``: headline, date, 来源, paragraphs,
  sightings, revisions with a diff, near-duplicates, extraction details, the archived copy), the
  articles table and its search results as a list (``archive_list.html``), the canned query
  ``search`` as a search page (``archive_search.html``), featured tables on the home and database
  pages, and pictures beside the lists (``archiver.research.charts``, server-side SVG).
  ``?_fields=all`` on an article, ``?_col=``/``?_nocol=`` on the table give Datasette's own pages.
* ``/-/archived/<db>/<raw id>``: the archived response, served with a Content-Security-Policy that
  allows no script and no request (and ``sandbox``), shown in a ``sandbox=""`` frame.
* Chinese in the table search box and ``?_search=``: ``escape_fts()`` is replaced, on the archive's
  connections only, by the query rule of :mod:`archiver.search.zh` (兰铝 -> ``"兰铝"``; OR, -word,
  "quoted"), and the ``articles`` table is told its index (``fts_table: articles_fts``, ``fts_pk: id``):
  the one index the canned ``search`` reads, with the same MATCH expression (the fast path).
  Without this plugin that box would silently return nothing for two or more Chinese characters,
  so the index is announced here and not in ``metadata.yml``.
* ``zh_fts_query(q)`` as an SQL function, for hand-written SQL.
* Article bodies in Datasette's own table and row pages as readable text: ``body`` one paragraph
  per line, ``body_html`` through the allowlist sanitiser; article ids in query results as links.
* A ``year`` facet type (``{"year": "published_at"}`` in metadata, or ``?_facet_year=published_at``).
* Canned queries that need tables from later schema versions (sightings, review_queue, ...) are
  swapped for a fallback that works on this archive's schema (``plugins.chinalco_archive.fallbacks``
  in metadata.yml), so no canned query fails with "no such table".
* ``/-/report``: the archive report (articles per month per site, crawl health per site) as a
  page, live from the database; and a link to it in the menu.
"""
from __future__ import annotations

import html
import sqlite3
import time
import urllib.parse
from pathlib import Path

import markupsafe
from datasette import hookimpl
from datasette.facets import Facet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

from archiver.pages.sanitize import sanitize_html
from archiver.search.zh import fts_query

PLUGIN = "chinalco_archive"
FTS_TABLE = "articles_fts"
BODY_COLUMNS = {"body", "body_html"}
CSS_PATH = "/-/chinalco-archive.css"
STATIC = Path(__file__).with_name("static")
CSS = (STATIC / "archive.css").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- which databases
def _has_index(conn: sqlite3.Connection) -> bool:
    try:
        return conn.execute("select 1 from sqlite_master where name = ?", [FTS_TABLE]).fetchone() is not None
    except sqlite3.Error:
        return False


def _archive_databases(datasette) -> set[str]:
    """Names of the attached databases that are archives (cached per set of databases)."""
    names = tuple(sorted(datasette.databases))
    cache = getattr(datasette, "_chinalco_archive_dbs", None)
    if cache and cache[0] == names:
        return cache[1]
    found = set()
    for name, db in datasette.databases.items():
        if not getattr(db, "path", None):
            continue
        try:
            conn = sqlite3.connect(f"file:{db.path}?mode=ro", uri=True)
            try:
                if _has_index(conn):
                    found.add(name)
            finally:
                conn.close()
        except sqlite3.Error:
            continue
    datasette._chinalco_archive_dbs = (names, found)
    return found


# ----------------------------------------------------------------------------- search
def zh_escape_fts(query):
    expr = fts_query(query if isinstance(query, str) else str(query or ""))
    return expr or '""'           # an empty query matches nothing instead of raising a syntax error


@hookimpl(trylast=True)
def prepare_connection(conn, database, datasette):
    conn.create_function("zh_fts_query", 1, lambda q: fts_query(q or ""), deterministic=True)
    if _has_index(conn):
        # Only the archive's connections: other databases keep Datasette's own escape_fts.
        conn.create_function("escape_fts", 1, zh_escape_fts, deterministic=True)


@hookimpl
def get_metadata(datasette, key, database, table):
    dbs = _archive_databases(datasette)
    if not dbs:
        return {}
    return {"databases": {name: {"tables": {"articles": {"fts_table": FTS_TABLE, "fts_pk": "id"}}}
                          for name in dbs}}


# ----------------------------------------------------------------------------- bodies
def _paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())


# Columns of query results that hold an article id (``id`` only when the row has a title).
ARTICLE_ID_COLUMNS = {"article_id", "id_a", "id_b", "article_id_a", "article_id_b", "story_id", "other_id"}


def _article_link(row, value, column, database, datasette):
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    keys = set(row.keys()) if hasattr(row, "keys") else set()
    if column in ARTICLE_ID_COLUMNS or (column == "id" and keys & {"title", "story", "current_title"}):
        href = datasette.urls.row(database, "articles", value)
        return markupsafe.Markup(f'<a href="{markupsafe.escape(href)}">{value}</a>')
    return None


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if database not in _archive_databases(datasette):
        return None
    if table is None:                       # a query's results: article ids become links to the article
        link = _article_link(row, value, column, database, datasette)
        if link is not None:
            return link
    if column not in BODY_COLUMNS or not isinstance(value, str) or not value.strip():
        return None
    inner = sanitize_html(value) if column == "body_html" else _paragraphs(value)
    return markupsafe.Markup(f'<div class="zh-body" lang="zh">{inner}</div>')


@hookimpl
def extra_css_urls(datasette):
    return [{"url": datasette.urls.path(CSS_PATH)}] if _archive_databases(datasette) else []


# ----------------------------------------------------------------------------- templates
TEMPLATES = Path(__file__).with_name("templates")


@hookimpl
def prepare_jinja2_environment(env, datasette):
    """Put archiver/templates after a --template-dir and before Datasette's own templates.

    (Datasette finds a plugin's templates only next to a plugin *package*; this plugin is a module.)
    """
    from jinja2 import ChoiceLoader, FileSystemLoader

    from archiver.search.excerpt import excerpt, mark_brackets

    env.filters["zh_cells"] = lambda row: {c["column"]: c["raw"] for c in row}
    env.filters["zh_excerpt"] = lambda text, q=None: excerpt(text, q)
    env.filters["zh_mark"] = lambda text, q=None: mark_brackets(text, q)
    loader = env.loader
    first = loader.loaders[0] if isinstance(loader, ChoiceLoader) and loader.loaders else None
    if isinstance(first, FileSystemLoader):
        if str(TEMPLATES) not in first.searchpath:
            first.searchpath.insert(len(first.searchpath) - 1, str(TEMPLATES))
    else:
        env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES)), loader])


# ----------------------------------------------------------------------------- article page
ARCHIVED_PATH = "/-/archived/{database}/{raw_id}"


# Columns of `articles` too wide or too internal for the table view: hidden there by default (the
# reader can show each again from its column menu, or drop the ?_nocol= from the URL).
HIDDEN_COLUMNS = ("body", "body_html", "images", "attachments", "extraction", "breadcrumb", "content_hash",
                  "raw_page_id", "first_run_id", "last_run_id", "published_raw", "list_title", "list_date",
                  "doc_id", "family", "credits", "quality_flags", "url_date", "editor", "language", "canonical_url",
                  "channel", "site", "published_precision", "last_changed")
# The tables a researcher starts from, on the home and database pages.
FEATURED = (("articles", "文章 Articles", "every article, newest first; search box and facets"),
            ("search", "全文检索 Search", "ranked search with excerpts and the shape of the matches"),
            ("stories", "稿件 Stories", "one row per story, with the sites it ran on"),
            ("failures", "失败页面 Failures", "pages the crawler could not archive"))
SEARCH_ARGS = ("_search", "_search_title", "_search_body")


def _search_query(request) -> str:
    for key in SEARCH_ARGS:
        if request.args.get(key):
            return request.args.get(key)
    return ""


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    """Data for the project's templates: the article page (``zh_article``), the articles list
    (``zh_list``), the search page (``zh_search``) and the featured tables (``zh_featured``)."""
    if request is None:
        return {}

    async def inner():
        archives = _archive_databases(datasette)
        if view_name == "index" or (view_name == "database" and template.startswith("database")):
            return {"zh_featured": await _featured(datasette, [database] if database else sorted(archives))}
        if database not in archives:
            return {}
        if view_name == "row" and table == "articles":
            return await _article_vars(datasette, database, request)
        if view_name == "table" and table == "articles":
            from archiver.search.zh import parse

            q = _search_query(request)
            chosen = any(k in request.args for k in ("_col", "_nocol"))
            parsed = parse(q) if q else None
            charts = {}
            if not chosen:
                charts = (await _search_chart_vars(datasette, database, q, parsed) if q
                          else {"charts": await _archive_charts(datasette, database)})
            return {"zh_list": not chosen, "zh_query": q, "zh_parsed": parsed, "zh_charts": charts,
                    "zh_table_view_url": datasette.urls.path(path_with_added_args(
                        request, [("_nocol", c) for c in HIDDEN_COLUMNS]))}
        if (template or "").startswith("query") and request.path == datasette.urls.database(database) + "/search" \
                and request.args.get("_fields") != "all":
            return await _search_vars(datasette, database, request)
        return {}

    return inner


async def _featured(datasette, names) -> list[dict]:
    out = []
    for name in names:
        if name not in _archive_databases(datasette):
            continue
        db = datasette.get_database(name)
        have = set(await db.table_names()) | set(await db.view_names())
        links = [{"href": (datasette.urls.database(name) + "/search" if t == "search" else datasette.urls.table(name, t)),
                  "label": label, "about": about}
                 for t, label, about in FEATURED if t == "search" or t in have]
        out.append({"database": name, "links": links})
    return out


async def _article_vars(datasette, database, request) -> dict:
    if request.args.get("_fields") == "all":
        return {"zh_article": None}
    pks = (request.url_vars or {}).get("pks") or ""
    try:
        article_id = int(urllib.parse.unquote(pks))
    except ValueError:
        return {"zh_article": None}
    from archiver.research.article import page_data

    data = await datasette.get_database(database).execute_fn(lambda conn: page_data(conn, article_id))
    if data is None:
        return {"zh_article": None}
    raw = data.get("raw_page")
    url = (datasette.urls.path(ARCHIVED_PATH.format(database=urllib.parse.quote(database), raw_id=raw["id"]))
           if raw else None)
    return {"zh_article": data, "zh_archived_url": url}


async def _search_vars(datasette, database, request) -> dict:
    from archiver.search.sql import RANK_WINDOW
    from archiver.search.zh import parse

    q = request.args.get("q") or ""
    parsed = parse(q) if q else None
    info = {"total": None, "window": RANK_WINDOW, "charts": [], "note": ""}
    if q:
        info.update(await _search_chart_vars(datasette, database, q, parsed))
    return {"zh_search": info, "zh_query": q, "zh_parsed": parsed}


# How long the pictures of a search may take before they fall back to the newest matches only.
CHART_TIME_LIMIT_MS = 1000
# How long the pictures of the whole archive (computed once per change of the file) may take.
ARCHIVE_CHART_TIME_LIMIT_MS = 5000


def _with_deadline(conn, ms: int, fn):
    """``fn()``, or None when it takes longer than ``ms`` (the statement is interrupted)."""
    deadline = time.monotonic() + ms / 1000
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 20000)
    try:
        return fn()
    except sqlite3.OperationalError as e:
        if "interrupt" in str(e):
            return None
        raise
    finally:
        conn.set_progress_handler(None, 0)


async def _search_chart_vars(datasette, database, q, parsed) -> dict:
    """The number of matches and the pictures of them (all matches, or the newest RANK_WINDOW when
    counting all would take longer than CHART_TIME_LIMIT_MS)."""
    from archiver.research.charts import search_charts
    from archiver.search.sql import RANK_WINDOW

    if parsed is None or not parsed.expr:
        return {"total": 0 if parsed is not None else None, "charts": [], "note": ""}
    table_url = datasette.urls.table(database, "articles")

    def build(conn):
        index, expr = FTS_TABLE, parsed.expr
        done = _with_deadline(conn, CHART_TIME_LIMIT_MS,
                              lambda: search_charts(conn, expr, table_url=table_url, q=q, index=index))
        if done is not None:
            total, charts = done
            return {"total": total, "charts": charts, "note": ""}
        ids = [r[0] for r in conn.execute(f"select rowid from {index} where {index} match ? "
                                          "order by rowid desc limit ?", [expr, RANK_WINDOW])]
        _, charts = search_charts(conn, expr, table_url=table_url, q=q, limit_ids=ids)
        for c in charts:
            c.note = (f"只含最新的 {len(ids):,} 篇 Only the newest {len(ids):,} matches are drawn "
                      f"(counting all of them took over {CHART_TIME_LIMIT_MS / 1000:g} s).")
        return {"total": None, "charts": charts, "note": "many"}

    return await datasette.get_database(database).execute_fn(build)


_CHART_CACHE: dict = {}


async def _archive_charts(datasette, database) -> list:
    """Articles per month per site and sources over time, cached until the file changes."""
    from archiver.research.charts import archive_charts

    db = datasette.get_database(database)
    stamp = []
    for suffix in ("", "-wal"):
        try:
            st = Path(str(db.path) + suffix).stat()
            stamp.append((st.st_mtime_ns, st.st_size))
        except OSError:
            stamp.append(None)
    key = (database, str(db.path))
    hit = _CHART_CACHE.get(key)
    if hit and hit[0] == stamp:
        return hit[1]
    table_url = datasette.urls.table(database, "articles")
    # (a full pass over the articles: ~1 s per 100k rows; past the limit the list shows no pictures
    # until the file changes, rather than making every visit wait)
    charts = await db.execute_fn(
        lambda conn: _with_deadline(conn, ARCHIVE_CHART_TIME_LIMIT_MS, lambda: archive_charts(conn, table_url)))
    _CHART_CACHE[key] = (stamp, charts or [])
    return charts or []


async def _archived_view(datasette, request):
    """The raw archived response, served so that nothing in it can run or fetch anything."""
    from datasette.utils.asgi import Response

    from archiver.research.article import ARCHIVED_COPY_CSP, raw_page_body

    database = request.url_vars["database"]
    if database not in _archive_databases(datasette):
        return Response.text("not an archive", status=404)
    # the same permissions as reading the raw_pages table itself (Forbidden becomes a 403 page)
    await datasette.ensure_permissions(request.actor, [("view-table", (database, "raw_pages")),
                                                       ("view-database", database), "view-instance"])
    raw_id = int(request.url_vars["raw_id"])
    found = await datasette.get_database(database).execute_fn(lambda conn: raw_page_body(conn, raw_id))
    if found is None:
        return Response.text("no such archived page", status=404)
    body, charset = found
    return Response(body, status=200, content_type=f"text/html; charset={charset}",
                    headers={"Content-Security-Policy": ARCHIVED_COPY_CSP, "X-Content-Type-Options": "nosniff",
                             "Referrer-Policy": "no-referrer", "X-Frame-Options": "SAMEORIGIN",
                             "Cache-Control": "private, max-age=3600"})


# ----------------------------------------------------------------------------- year facet
class YearFacet(Facet):
    """Counts by the first four characters of a date column (``2026-02-07...`` -> ``2026``)."""

    type = "year"

    async def suggest(self):
        return []

    async def facet_results(self):
        results, timed_out = [], []
        args = dict(self.get_querystring_pairs())
        for source_and_config in self.get_configs():
            config = source_and_config["config"]
            column = config.get("column") or config["simple"]
            col = escape_sqlite(column)
            sql = (f"select substr({col}, 1, 4) as value, count(*) as count from ({self.sql}) "
                   f"where {col} glob '[0-9][0-9][0-9][0-9]*' group by value order by value desc "
                   f"limit {self.get_facet_size() + 1}")
            try:
                rows = await self.ds.execute(self.database, sql, self.params, truncate=False,
                                             custom_time_limit=self.ds.setting("facet_time_limit_ms"))
            except Exception:          # QueryInterrupted: report it as Datasette does for its facets
                timed_out.append(column)
                continue
            values = []
            key = f"{column}__startswith"
            for row in rows.rows[: self.get_facet_size()]:
                selected = args.get(key) == row["value"]
                path = (path_with_removed_args(self.request, {key: row["value"]}) if selected
                        else path_with_added_args(self.request, {key: row["value"]}))
                values.append({"value": row["value"], "label": row["value"], "count": row["count"],
                               "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(path)),
                               "selected": selected})
            results.append({"name": column, "type": self.type, "results": values,
                            "hideable": source_and_config["source"] != "metadata",
                            "toggle_url": self.ds.urls.path(path_with_removed_args(self.request,
                                                                                   {"_facet_year": column})),
                            "truncated": len(rows.rows) > self.get_facet_size()})
        return results, timed_out


@hookimpl
def register_facet_classes():
    return [YearFacet]


# ----------------------------------------------------------------------------- canned queries
async def _schema(db) -> set[str]:
    """'table' and 'table.column' names present in the database (tables and views)."""
    names = set(await db.table_names()) | set(await db.view_names())
    out = set(names)
    for t in names:
        for c in await db.table_columns(t):
            out.add(f"{t}.{c}")
    return out


def _missing(requires, schema: set[str]) -> list[str]:
    return [r for r in (requires or []) if r not in schema]


@hookimpl
def canned_queries(datasette, database):
    async def inner():
        if database not in _archive_databases(datasette):
            return {}
        config = datasette.plugin_config(PLUGIN, database=database) or {}
        requires = config.get("requires") or {}
        fallbacks = config.get("fallbacks") or {}
        if not requires:
            return {}
        schema = await _schema(datasette.get_database(database))
        queries = datasette.metadata("queries", database=database, fallback=False) or {}
        out = {}
        for name, needs in requires.items():
            missing = _missing(needs, schema)
            if not missing:
                continue
            for variant in fallbacks.get(name, []):
                if not _missing(variant.get("requires"), schema):
                    base = queries.get(name) if isinstance(queries.get(name), dict) else {}
                    note = (f"This archive has no {', '.join(missing)} yet (a later schema version adds it): "
                            f"showing the fallback. ")
                    out[name] = {**base, **{k: v for k, v in variant.items() if k != "requires"},
                                 "description": note + (variant.get("description") or base.get("description") or "")}
                    break
        return out

    return inner


# ----------------------------------------------------------------------------- report, css, menu
async def _report_view(datasette, request):
    from datasette.utils.asgi import Response

    from archiver.research.report import render_report

    dbs = sorted(_archive_databases(datasette))
    name = request.args.get("database") or (dbs[0] if dbs else None)
    if name not in dbs:
        return Response.html("<p>No archive database is open in this Datasette.</p>", status=404)
    db = datasette.get_database(name)

    def build(conn):
        return render_report(conn, datasette_base=datasette.urls.database(name),
                             title_suffix=f" — {name}")

    page = await db.execute_fn(build)
    return Response.html(page)


async def _css_view():
    from datasette.utils.asgi import Response

    return Response(CSS, content_type="text/css; charset=utf-8")


@hookimpl
def register_routes():
    return [(r"^/-/report$", _report_view), (r"^/-/chinalco-archive\.css$", _css_view),
            (r"^/-/archived/(?P<database>[^/]+)/(?P<raw_id>[0-9]+)$", _archived_view)]


@hookimpl
def menu_links(datasette):
    if not _archive_databases(datasette):
        return []
    return [{"href": datasette.urls.path("/-/report"), "label": "Archive report 档案报告"}]

