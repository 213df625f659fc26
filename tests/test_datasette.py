"""The archive in Datasette: search box and ?_search= in Chinese, canned queries, safe bodies,
facets, metadata, and what a plain Datasette (no plugin, no metadata) still offers."""
from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml
from datasette.app import Datasette
from datasette.plugins import pm

from archiver.cli_research import load_metadata
from archiver.db import open_db
from archiver.search.sql import SEARCH_COUNT_SQL, SEARCH_SQL
from archiver.search.zh import FTS_QUERY_CTE
from tests.research_corpus import build_archive

QUERIES = {  # every one occurs in the seed article (兰州铝业二届五次职工代表大会)
    "1 character": "铝",
    "2 characters": "兰铝",
    "3 characters": "职代会",
    "4+ characters": "职工代表大会",
    "mixed": "2025年",
    "several words": "兰州铝业 职代会",
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return build_archive(tmp_path_factory.mktemp("ds"))


def _ds(db: Path, metadata=None) -> Datasette:
    return Datasette([str(db)], metadata=metadata if metadata is not None else load_metadata(db.stem))


def get(ds: Datasette, path: str, **params):
    if params:
        path += ("&" if "?" in path else "?") + urllib.parse.urlencode(params)
    return asyncio.run(ds.client.get(path))


def ids(resp) -> list[int]:
    assert resp.status_code == 200, resp.text[:500]
    return [r["id"] for r in resp.json()]


def test_the_plugin_is_installed_with_the_project():
    assert any(getattr(p, "__name__", "") == "archiver.datasette_plugin" for p in pm.get_plugins())


@pytest.mark.parametrize("kind", list(QUERIES))
def test_search_box_and_api_accept_raw_chinese(archive, kind):
    ds = _ds(archive["db"])
    found = ids(get(ds, "/archive/articles.json", _search=QUERIES[kind], _shape="array", _col="title"))
    assert archive["seed_id"] in found


def test_search_box_finds_only_matches(archive):
    ds = _ds(archive["db"])
    assert ids(get(ds, "/archive/articles.json", _search="不存在的词语", _shape="array")) == []
    assert ids(get(ds, "/archive/articles.json", _search="职代会 不存在的词语", _shape="array")) == []
    both = ids(get(ds, "/archive/articles.json", _search="兰铝", _shape="array"))
    assert archive["hostile"] in both and archive["seed_id"] in both
    assert ids(get(ds, "/archive/articles.json", _search='"', _shape="array")) == []      # no syntax error
    assert archive["seed_id"] in ids(get(ds, "/archive/articles.json", _search_title="职工代表大会", _shape="array"))
    assert archive["seed_id"] not in ids(get(ds, "/archive/articles.json", _search_title="总经理助理", _shape="array"))
    assert archive["seed_id"] in ids(get(ds, "/archive/articles.json", _search_body="总经理助理", _shape="array"))
    html = get(ds, "/archive/articles").text
    assert 'name="_search"' in html                       # the box is shown


@pytest.mark.parametrize("q", ["铝", "铝 OR 兰 -职", "兰铝", "职工代表大会", "2025年", "铝 2025年", "兰州铝业 职代会 -不存在"])
def test_search_box_reads_the_canned_query_s_index_and_finds_exactly_the_substrings(archive, q):
    """?_search= matches articles_fts with escape_fts(q), the MATCH expression the canned query
    uses (the fast path), and finds exactly the articles holding the words."""
    import sqlite3

    from archiver.search.zh import fts_query, parse
    ds = _ds(archive["db"])
    resp = get(ds, "/archive/articles.json", _search=q, _size="max", _col="title")
    assert resp.status_code == 200, resp.text[:300]
    body = resp.json()
    assert "rowid from articles_fts where articles_fts match escape_fts(:search)" in body["query"]["sql"]
    p = parse(q)
    conn = sqlite3.connect(archive["db"])
    assert conn.execute(f"with recursive {FTS_QUERY_CTE} select expr from fts_query", {"q": q}).fetchone()[0] \
        == fts_query(q)
    want = set()
    for i, title, text in conn.execute("select id, coalesce(title, ''), coalesce(body, '') from articles"):
        has = lambda w: w in title or w in text
        if all(any(has(t.lit) for t in g) for g in p.groups) and not any(has(t.lit) for t in p.excluded):
            want.add(i)
    conn.close()
    assert want and {r[0] for r in body["rows"]} == want


def test_ranked_search_query(archive):
    ds = _ds(archive["db"])
    resp = get(ds, "/archive/search.json", q="职工代表大会", _shape="array")
    assert resp.status_code == 200, resp.text[:500]
    rows = resp.json()
    seed = next(r for r in rows if r["id"] == archive["seed_id"])
    assert "【职工代表大会】" in seed["excerpt"]
    hits = get(ds, "/archive/search.json", q="兰铝", _shape="array").json()
    assert "兰铝" in hits[0]["title"]                      # a headline hit comes first
    headline = [r["found_in"].startswith("标题") for r in hits]
    assert headline == sorted(headline, reverse=True)           # headline hits, then body hits
    assert all("兰铝" in r["title"] for r, h in zip(hits, headline) if h)
    assert get(ds, "/archive/search.json", q="", _shape="array").json() == []
    counts = get(ds, "/archive/search_count.json", q="兰铝", _shape="array").json()
    assert sum(r["articles"] for r in counts) == len(ids(get(ds, "/archive/articles.json", _search="兰铝",
                                                             _shape="array", _size="max")))


def test_every_canned_query_runs_on_this_archive(archive):
    ds = _ds(archive["db"])
    names = list(load_metadata("archive")["databases"]["archive"]["queries"])
    for name in names:
        resp = get(ds, f"/archive/{name}.json", _shape="objects")
        assert resp.status_code == 200, (name, resp.text[:300])
        assert resp.json()["ok"], name
    page = get(ds, "/archive/story_sightings").text
    if "sightings" not in open_db(archive["db"], readonly=True).table_names():
        assert "The same headline on several sites" in page and "This archive has no sightings yet" in page
    review = get(ds, "/archive/extractions_to_review.json", _shape="objects").json()["rows"]
    if "why" in (review[0] if review else {}):     # the fallback (no quality scores in this archive)
        assert any(r["id"] == archive["raw_html"] and "short body" in r["why"] for r in review)
    health = get(ds, "/archive/site_health.json", _shape="objects").json()["rows"]
    lzly = [r for r in health if r["site"] == "lzly_chinalco_com_cn"]
    assert lzly and lzly[0]["new"] >= 1


AGREED_SCHEMA = [  # (table, column or None, SQL that adds it): applied only where the archive lacks it
    ("sightings", None, """create table sightings (id integer primary key, article_id integer references articles(id),
        url text, canonical_url text, site text, channel text, title text, source text, published_at text,
        is_primary integer, first_seen text, last_seen text)"""),
    ("revisions", None, """create table revisions (id integer primary key, article_id integer, url text,
        superseded_at text, captured_at text,
        title text, source text, published_at text, body text, content_hash text)"""),
    ("near_duplicates", None, """create table near_duplicates (article_id_a integer, article_id_b integer,
        similarity real, method text, created_at text)"""),
    ("articles", "quality", "alter table articles add column quality text"),
    ("articles", "quality_score", "alter table articles add column quality_score real"),
    ("articles", "quality_flags", "alter table articles add column quality_flags text"),
    ("review_queue", None, """create view review_queue as select id, title, quality, quality_score, quality_flags
        from articles where quality <> 'good'"""),
    ("crawl_runs", "site_counts", "alter table crawl_runs add column site_counts text"),
]


def _apply_agreed_schema(conn):
    for table, column, sql in AGREED_SCHEMA:
        names = {r[0] for r in conn.execute("select name from sqlite_master")}
        if column is None and table in names:
            continue
        if column is not None and column in {r[1] for r in conn.execute(f"pragma table_info({table})")}:
            continue
        conn.execute(sql)


def test_canned_queries_run_on_the_schema_the_other_branches_agreed(archive, tmp_path):
    """With sightings, revisions, near_duplicates, review_queue and site_counts (issues 3, 4, 6)
    present, the plugin keeps the primary queries and each of them runs."""
    db = tmp_path / "archive.db"
    shutil.copy(archive["db"], db)
    conn = open_db(db).conn
    _apply_agreed_schema(conn)
    seed = archive["seed_id"]
    conn.execute("delete from sightings")             # (schema 0004 backfills one sighting per article)
    conn.execute("insert into sightings (article_id, url, canonical_url, site, channel, title, is_primary, first_seen, "
                 "last_seen) values (?, 'https://a/1', 'https://a/1', 'lzly_chinalco_com_cn', 'tplb', 't', 1, '2026', "
                 "'2026'), (?, 'https://b/1', 'https://b/1', 'chalco_com_cn', 'xwdt/gsyw', 't', 0, '2026', '2026')",
                 [seed, seed])
    conn.execute("insert into revisions (article_id, url, superseded_at, captured_at, title, body) "
                 "values (?, 'https://a/1', '2026-02', '2026-01', 'old', 'x')", [seed])
    conn.execute("insert into near_duplicates (article_id_a, article_id_b, similarity, method, created_at) "
                 "values (?, ?, 0.93, 'minhash', '2026')", [seed, archive["hostile"]])
    conn.execute("update articles set quality = 'low', quality_score = 0.4, quality_flags = '[\"short\"]' "
                 "where id = ?", [archive["raw_html"]])
    conn.execute("update crawl_runs set site_counts = ?",
                 [json.dumps({"lzly_chinalco_com_cn": {"articles_new": 1, "failures": 1}})])
    conn.commit()
    conn.close()
    ds = _ds(db)
    meta = load_metadata("archive")["databases"]["archive"]["queries"]
    for name in meta:
        resp = get(ds, f"/archive/{name}.json", _shape="objects")
        assert resp.status_code == 200, (name, resp.text[:300])
        body = resp.json()
        assert body["query"]["sql"] == meta[name]["sql"], f"{name}: the fallback was used on the full schema"
    story = get(ds, "/archive/story_sightings.json", _shape="objects").json()["rows"]
    assert {r["site"] for r in story} == {"lzly_chinalco_com_cn", "chalco_com_cn"}
    assert get(ds, "/archive/story_sightings.json", _shape="objects", article=str(seed)).json()["rows"]
    assert 0.93 in [r["similarity"] for r in get(ds, "/archive/similar_articles.json", _shape="objects").json()["rows"]]
    assert get(ds, "/archive/extractions_to_review.json", _shape="objects").json()["rows"][0]["id"] == archive["raw_html"]
    # no canned query has the name of a table or view, so none hides one
    names = {r[0] for r in open_db(db, readonly=True).conn.execute("select name from sqlite_master")}
    assert not set(meta) & names, set(meta) & names
    assert get(ds, "/archive/site_health.json", _shape="objects").json()["rows"][0]["site"] == "lzly_chinalco_com_cn"
    assert get(ds, "/archive/article_revisions.json", _shape="objects", article=str(seed)).json()["rows"]


def test_bodies_render_as_text_and_archived_html_is_sanitised(archive):
    ds = _ds(archive["db"])
    for article in (archive["raw_html"], archive["hostile"]):
        page = get(ds, f"/archive/articles/{article}?_fields=all").text      # Datasette's own row page
        bodies = page.split('class="zh-body"')[1:]
        assert len(bodies) == 2, "body and body_html are both rendered"
        for chunk in bodies:
            chunk = chunk.split("</div>")[0]
            assert "<script" not in chunk.lower() and "onerror" not in chunk.lower()
            assert "onclick" not in chunk.lower() and "javascript:" not in chunk.lower()
            assert "<iframe" not in chunk.lower() and "<svg" not in chunk.lower()
    page = get(ds, f"/archive/articles/{archive['hostile']}?_fields=all").text
    assert "&lt;script&gt;window.__pwned=" in page               # text that looks like markup stays text
    seed_page = get(ds, f"/archive/articles/{archive['seed_id']}?_fields=all").text
    assert "<p>2月7日,公司召开二届五次职工代表大会。" in seed_page       # one <p> per paragraph
    reading = get(ds, f"/archive/articles/{archive['hostile']}").text         # the article page
    assert "<script>window.__pwned" not in reading and 'onerror="window' not in reading
    assert "&lt;script&gt;window.__pwned=" in reading
    table = get(ds, "/archive/articles").text
    assert "<script>window.__pwned" not in table and 'onerror="window' not in table


def test_default_facets_sort_and_year_facet(archive):
    ds = _ds(archive["db"])
    data = get(ds, "/archive/articles.json", _shape="objects").json()
    facets = data["facet_results"]
    assert {"site_name", "channel_label", "source", "published_at"} <= set(facets)
    years = {r["value"]: r["count"] for r in facets["published_at"]["results"]}
    assert years.get("2026", 0) >= 3
    dates = [r["published_at"] for r in data["rows"] if r["published_at"]]
    assert dates == sorted(dates, reverse=True)
    only = get(ds, "/archive/articles.json", published_at__startswith="2026", _shape="array", _size="max").json()
    assert len(only) == years["2026"] and all(r["published_at"].startswith("2026") for r in only)


def test_exports_through_datasette(archive):
    ds = _ds(archive["db"])
    csv_text = get(ds, "/archive/articles.csv", _search="职代会", _stream="on", _col="title").text
    assert csv_text.splitlines()[0].startswith("id,title") and "职工代表大会" in csv_text
    j = get(ds, "/archive/search.json", q="兰铝", _shape="array").json()
    assert j and all("excerpt" in r for r in j)
    assert "兰铝" in get(ds, "/archive/search.csv", q="兰铝").text


def test_report_page_in_datasette(archive):
    ds = _ds(archive["db"])
    resp = get(ds, "/-/report")
    assert resp.status_code == 200
    assert "<svg" in resp.text and "<script" not in resp.text.lower()
    assert "/archive/articles?site=lzly_chinalco_com_cn" in resp.text
    assert "/-/report" in get(ds, "/").text                   # linked from the menu/description
    css = get(ds, "/-/chinalco-archive.css")
    assert css.headers["content-type"].startswith("text/css") and ".zh-body" in css.text
    assert 'href="/-/chinalco-archive.css"' in get(ds, "/archive/articles").text


def test_metadata_search_sql_is_the_code_s_sql():
    meta = yaml.safe_load((Path(__file__).parents[1] / "archiver" / "metadata.yml").read_text(encoding="utf-8"))
    q = meta["databases"]["archive"]["queries"]
    msg = "metadata.yml is out of date: paste archiver.search.sql.SEARCH_SQL / SEARCH_COUNT_SQL into it"
    assert q["search"]["sql"] == SEARCH_SQL, msg
    assert q["search_count"]["sql"] == SEARCH_COUNT_SQL, msg
    assert "fts_table" not in json.dumps(meta), "fts_table belongs to the plugin (it needs the plugin's escape_fts)"


def test_metadata_describes_every_table_and_article_column(archive):
    meta = load_metadata("archive")["databases"]["archive"]["tables"]
    conn = open_db(archive["db"], readonly=True).conn
    tables = [r[0] for r in conn.execute(
        "select name from sqlite_master where type in ('table', 'view') and name not like 'articles_fts%' "
        "and name not like 'sqlite_%'")]
    for t in tables:
        assert t in meta and (meta[t].get("description") or meta[t].get("description_html")), t
    cols = [r[1] for r in conn.execute("pragma table_info(articles)")]
    missing = [c for c in cols if c not in meta["articles"]["columns"]]
    assert not missing, f"describe these articles columns in metadata.yml: {missing}"
    for c, text in meta["articles"]["columns"].items():
        assert "·" in text, f"{c}: description should be Chinese · English"


def test_serve_refuses_an_archive_without_the_search_migration(tmp_path):
    from click.testing import CliRunner

    from archiver.cli import main

    db = tmp_path / "old.db"
    conn = open_db(db).conn
    conn.execute("delete from schema_migrations where name = '0005_search'")
    conn.commit()
    conn.close()
    result = CliRunner().invoke(main, ["serve", "--db", str(db)])
    assert result.exit_code != 0 and "archiver reindex" in result.output
    meta = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "x.db"), "--print-metadata"])
    assert meta.exit_code != 0 and "no archive" in meta.output


PLAIN = r"""
import asyncio, json, sys, urllib.parse
sys._called_from_test = True            # datasette then loads no plugin from entry points
from datasette.app import Datasette
from datasette.plugins import pm
assert not any(getattr(p, "__name__", "") == "archiver.datasette_plugin" for p in pm.get_plugins())
ds = Datasette([sys.argv[1]])
def get(path, **params):
    if params:
        path += "?" + urllib.parse.urlencode(params)
    return asyncio.run(ds.client.get(path))
help_rows = get("/archive/search_help.json", _shape="array").json()
search_sql = next(r["sql"] for r in help_rows if r["key"] == "search")
out = {
    "index": get("/archive").status_code,
    "table": get("/archive/articles").status_code,
    "box": 'name="_search"' in get("/archive/articles").text,
    "help": [r["key"] for r in help_rows],
    "pasted": [r["id"] for r in get("/archive.json", sql=search_sql, q="二届五次职工代表大会", _shape="array").json()],
    "contains": [r["id"] for r in get("/archive/articles.json", body__contains="二届五次职工代表大会",
                                      _shape="array").json()],
}
print(json.dumps(out))
"""


def test_plain_datasette_opens_the_archive_and_can_still_search(archive):
    proc = subprocess.run([sys.executable, "-c", PLAIN, str(archive["db"])], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["index"] == 200 and out["table"] == 200
    assert out["box"] is False                      # no box that would silently find nothing
    assert {"search", "contains", "index"} <= set(out["help"])
    assert archive["seed_id"] in out["pasted"]      # the SQL from search_help, pasted into the SQL editor
    assert sorted(out["contains"]) == sorted(out["pasted"])   # the column filter finds the same articles


# ----------------------------------------------------------------------------- the article page
def _archive_with_history(archive, tmp_path) -> Path:
    """The test archive plus a second sighting, a revision and a near-duplicate of the seed."""
    db = tmp_path / "archive.db"
    shutil.copy(archive["db"], db)
    conn = open_db(db).conn
    _apply_agreed_schema(conn)
    seed = archive["seed_id"]
    body = conn.execute("select body from articles where id = ?", [seed]).fetchone()[0]
    old = body.replace("二届五次职工代表大会", "二届四次职工代表大会", 1) + "\n这一段后来删掉了。"
    conn.execute("insert into sightings (article_id, url, canonical_url, site, channel, title, source, published_at, "
                 "is_primary, first_seen, last_seen) values (?, 'https://www.chalco.com.cn/xwdt/gsyw/t1.html', "
                 "'https://www.chalco.com.cn/xwdt/gsyw/t1.html', 'chalco_com_cn', 'xwdt/gsyw', '转载标题', '中铝股份', "
                 "'2026-02-09', 0, '2026-02-10', '2026-02-10')", [seed])
    conn.execute("insert into revisions (article_id, url, superseded_at, captured_at, title, source, published_at, body) "
                 "select id, url, '2026-02-20', '2026-02-08', '旧标题', source, published_at, ? from articles "
                 "where id = ?", [old, seed])
    conn.execute("insert into near_duplicates (article_id_a, article_id_b, similarity, method, created_at) "
                 "values (?, ?, 0.87, 'minhash', '2026')", [seed, archive["hostile"]])
    conn.commit()
    conn.close()
    return db


def test_article_page_is_made_for_reading(archive, tmp_path):
    db = _archive_with_history(archive, tmp_path)
    ds = _ds(db)
    resp = get(ds, f"/archive/articles/{archive['seed_id']}")
    assert resp.status_code == 200
    page = resp.text
    assert '<h1 class="zh-headline">奋楫争先开新局' in page
    assert "来源：走进兰铝" in page and '<time datetime="2026-02-07">2026-02-07</time>' in page and "(日 day)" in page
    assert "<p>2月7日,公司召开二届五次职工代表大会。" in page                  # paragraphs, first one first
    assert "兰州铝业有限公司</a> › <span>新闻动态</span> › <span>公司要闻</span>" in page   # site and breadcrumb
    assert 'href="https://lzly.chinalco.com.cn/' in page and "原文 Original page" in page
    # where else it ran, with its own 来源 and date
    assert "中铝股份" in page and "2026-02-09" in page and "转载标题" in page
    # how it changed: headline and body diff, character by character
    assert "<del>旧标题</del>" in page and "<del>四</del><ins>五</ins>" in page and "<del>这一段后来删掉了。</del>" in page
    # near-duplicates with their scores, linked
    assert "0.87" in page and f'href="/archive/articles/{archive["hostile"]}"' in page
    # extraction details collapsed; pictures listed, not loaded from the publisher
    assert '<details class="zh-extraction">' in page and "chinalco:heading-before-info" in page
    assert "W020260209399596239439.jpg" in page and "<img" not in page.split('class="zh-article"')[1]
    # the archived copy: a sandboxed frame that allows nothing
    frame = page.split("<iframe")[1].split(">")[0]
    assert 'sandbox=""' in frame and "data-src=\"/-/archived/archive/" in frame
    assert "Datasette" in get(ds, f"/archive/articles/{archive['seed_id']}?_fields=all").text   # every column
    assert "zh-headline" not in get(ds, f"/archive/articles/{archive['seed_id']}?_fields=all").text


def test_article_page_on_an_archive_without_dedup_tables(archive):
    page = get(_ds(archive["db"]), f"/archive/articles/{archive['raw_html']}").text
    assert '<h1 class="zh-headline">未净化正文测试</h1>' in page
    assert "<script>window.__pwned" not in page and "onclick" not in page


def test_archived_copy_is_served_with_no_script_and_no_network(archive):
    ds = _ds(archive["db"])
    page = get(ds, f"/archive/articles/{archive['hostile']}").text
    url = page.split('data-src="')[1].split('"')[0]
    resp = get(ds, url)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    for directive in ("default-src 'none'", "sandbox", "form-action 'none'", "img-src data:"):
        assert directive in csp
    assert "script-src" not in csp and "'unsafe-inline'" not in csp.replace("style-src 'unsafe-inline'", "")
    assert "<script>window.__pwned" in resp.text            # what the crawler saw, unchanged
    assert get(ds, "/-/archived/archive/999999").status_code == 404
    meta = load_metadata("archive")
    meta["databases"]["archive"]["tables"]["raw_pages"]["allow"] = False      # raw pages closed to everyone
    assert get(_ds(archive["db"], meta), url).status_code == 403


# ----------------------------------------------------------------------------- lists made for scanning
def test_articles_are_a_list_of_headlines_with_excerpts(archive):
    ds = _ds(archive["db"])
    page = get(ds, "/archive/articles", _search="职工代表大会").text
    assert 'class="zh-list"' in page and "zh-list-mode" in page
    seed = page.split(f'<a class="zh-title" href="/archive/articles/{archive["seed_id"]}">')[1].split("</li>")[0]
    assert seed.startswith("奋楫争先开新局")
    assert "2026-02-07" in seed and "来源：走进兰铝" in seed and "兰州铝业有限公司" in seed and "公司要闻" in seed
    assert "<mark>职工代表大会</mark>" in seed                         # the excerpt, hit marked
    assert "Searching for: <q>职工代表大会</q>" in page.replace("\n", " ").replace("    ", "")
    assert "<script>window.__pwned" not in get(ds, "/archive/articles", _search="兰铝").text
    # the table view: every column still selectable, wide and internal ones hidden by default
    url = page.split('class="zh-views">')[1].split('href="')[1].split('"')[0].replace("&amp;", "&")
    table = get(ds, url).text
    assert 'class="rows-and-columns"' in table and "zh-list-mode" not in table
    assert 'class="col-title' in table and 'class="col-body ' not in table and 'class="col-body_html' not in table
    assert "_nocol=body" in url and "_search=" in url


def test_search_syntax_is_explained_and_refusals_say_why(archive):
    ds = _ds(archive["db"])
    both = set(ids(get(ds, "/archive/articles.json", _search="职代会 OR 不存在的词语", _shape="array", _size="max")))
    assert archive["seed_id"] in both
    assert both == set(ids(get(ds, "/archive/articles.json", _search="职代会", _shape="array", _size="max")))
    without = ids(get(ds, "/archive/articles.json", _search="兰铝 -职代会", _shape="array", _size="max"))
    assert archive["seed_id"] not in without and archive["hostile"] in without
    assert ids(get(ds, "/archive/articles.json", _search="-铝", _shape="array")) == []
    page = get(ds, "/archive/articles", _search="-铝").text
    assert "只有排除词" in page and 'role="alert"' in page
    ranked = get(ds, "/archive/search.json", q="兰铝 NOT 职代会", _shape="array").json()
    assert ranked and archive["seed_id"] not in [r["id"] for r in ranked]
    assert "检索语法 How to search" in get(ds, "/archive/search", q="兰铝").text


def test_search_page_lists_ranked_results(archive):
    ds = _ds(archive["db"])
    page = get(ds, "/archive/search", q="职工代表大会").text
    assert '<form class="zh-search-form"' in page and 'value="职工代表大会"' in page
    assert f'<a class="zh-title" href="/archive/articles/{archive["seed_id"]}">' in page
    assert "<mark>职工代表大会</mark>" in page and "【" not in page.split('class="zh-list"')[1]
    assert "标题 headline" in page and "Order: articles with every word in the headline first" in page
    plain = get(ds, "/archive/search", q="职工代表大会", _fields="all").text   # Datasette's own query page
    assert 'class="rows-and-columns"' in plain
    assert f'<a href="/archive/articles/{archive["seed_id"]}">{archive["seed_id"]}</a>' in plain   # ids are links


def test_home_page_features_what_researchers_read_and_hides_internal_tables(archive):
    ds = _ds(archive["db"])
    for path in ("/", "/archive"):
        page = get(ds, path).text
        featured = page.split('class="zh-featured"')[1].split("</div>")[0]
        assert 'href="/archive/articles"' in featured and 'href="/archive/search"' in featured
        assert 'href="/archive/failures"' in featured
    home = get(ds, "/").text.split('class="zh-featured"')[1]
    for internal in ("dedup_lsh", "http_validators", "dedup_signatures", "raw_pages", "schema_migrations"):
        assert f"/archive/{internal}\"" not in home, internal


# ----------------------------------------------------------------------------- pictures
def test_the_time_axis_is_clipped_to_where_the_articles_are():
    from archiver.research.charts import clip_months, stacked_months

    months, outliers = clip_months({"2016-03": 1, **{f"2025-{m:02d}": 10 for m in range(1, 13)}})
    assert months[0] == "2025-01" and months[-1] == "2025-12" and outliers == [("2016-03", 1)]
    assert clip_months({"2025-01": 5, "2025-04": 5}) == (["2025-01", "2025-02", "2025-03", "2025-04"], [])
    chart = stacked_months([("2016-03", "a", 1)] + [(f"2025-{m:02d}", k, 5) for m in range(1, 13) for k in "ab"],
                           label="t")
    assert chart.outliers == [("2016-03", 1)] and len(chart.bars) == 24
    assert {b.colour for b in chart.bars if b.title.endswith("a: 5")} != {b.colour for b in chart.bars
                                                                           if b.title.endswith("b: 5")}


def test_pictures_sit_beside_the_lists(archive):
    ds = _ds(archive["db"])
    page = get(ds, "/archive/articles").text
    assert 'aria-label="每月文章数（按网站）Articles per month, by site"' in page
    assert 'aria-label="来源随时间 Sources over time' in page
    assert "Left off the time axis: 2016-" in page               # the 2016 article is noted, not drawn
    assert "<script" not in page.split('class="zh-charts"')[1].split("</aside>")[0]
    search = get(ds, "/archive/search", q="兰铝").text
    assert 'aria-label="检索结果按网站 Matches per site: 兰铝"' in search
    assert 'aria-label="检索结果按月 Matches per month: 兰铝"' in search
    assert "5 篇 articles match" in search or "篇 articles match" in search
    per_site = search.split('aria-label="检索结果按网站')[1].split("</svg>")[0]
    assert "/archive/articles?_search=%E5%85%B0%E9%93%9D&amp;site=lzly_chinalco_com_cn" in per_site
