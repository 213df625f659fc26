"""End to end: recurring crawls of the replica as it was at two moments (fixtures t1 → t2).

The replica runs in this process, so every request the crawler makes is in its log; the crawl
runs as the real CLI in a subprocess (`archiver crawl --replica url=...`), each against a replica of its
own that stops when it ends, so no response still in flight (the slow case: 20 s, the client gives
up after 4) is counted in the next run's log. Runs, on one archive:

1. t1, incremental over an empty archive (the first scheduled run);
2. t1 again: nothing changed, so every channel costs one conditional request answered 304;
3. t2 (fixtures/README.md "State t2"): new articles on page 1 of chalco 公司要闻 (createPageHTML)
   and lzly 公司要闻 (probe-paged), a revised article, a deleted one, a channel whose list 404s;
   the archive's article checks are first moved 40 days back, as if the run came a month later,
   so the archived rows on the changed list pages are due for revalidation;
4. t2 again after one recorded failure's back-off has elapsed: only that failure is retried.

Beside it, a copy of the archive as it was after run 2 crawls t2 straight away ("fresh"): every
archived row was checked moments ago, so only the new articles are requested at article level.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.crawlutil import crawl_own_replica
from tests.fixture_cases import FIXTURES, all_cases

pytestmark = pytest.mark.e2e

REVISED = "https://lzly.chinalco.com.cn/xwdt/gsyw/202601/t20260108_162173.html"
DELETED = "https://www.chinalco.com.cn/xwzx/xwzx_gsyw/202607/t20260723_174151.html"
DQ_LIST = "https://dq.chinalco.com.cn/rlzy_410/cpyc/index.html"
RETRIED = "https://zlgj.chinalco.com.cn/xwzx/gsyw/202608/t20260807_175176.html"     # a 500 in both states


def is_article(url: str) -> bool:
    return "/t20" in urlsplit(url).path and urlsplit(url).path.endswith(".html")


def new_in_t2() -> set[str]:
    return {c.url for c in all_cases() if c.response.get("only_in") == ["t2"] and c.page_type == "article"}


def copy_archive(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def age_article_checks(db: Path, days: int) -> None:
    """Move every article's last check ``days`` back: the next run comes that much later."""
    con = sqlite3.connect(db)
    rows = con.execute("select url, checked_at from http_validators where kind = 'article'").fetchall()
    assert rows, "the replica sends validators with its article pages"
    con.executemany("update http_validators set checked_at = ? where url = ?",
                    [((datetime.fromisoformat(t) - timedelta(days=days)).isoformat(), u) for u, t in rows])
    con.commit()
    con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("incremental")
    db, fresh_db = folder / "archive.db", folder / "fresh.db"
    # Each crawl talks to a replica of its own (the fixtures in that state), so each log holds
    # exactly that crawl's requests.
    first = crawl_own_replica(db, fixtures=FIXTURES, state="t1")
    second = crawl_own_replica(db, fixtures=FIXTURES, state="t1")
    copy_archive(db, fresh_db)
    fresh = crawl_own_replica(fresh_db, fixtures=FIXTURES, state="t2")
    age_article_checks(db, days=40)
    third = crawl_own_replica(db, fixtures=FIXTURES, state="t2")
    con = sqlite3.connect(db)
    con.execute("update failures set next_retry_at = '2000-01-01T00:00:00+00:00' where url = ?", [RETRIED])
    con.commit()
    con.close()
    fourth = crawl_own_replica(db, fixtures=FIXTURES, state="t2")
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    fresh_con = sqlite3.connect(fresh_db)
    fresh_con.row_factory = sqlite3.Row
    yield {"db": db, "runs": [first, second, third, fourth], "con": con, "fresh": fresh, "fresh_con": fresh_con}
    con.close()
    fresh_con.close()


def run_row(con, n: int):
    return con.execute("select * from crawl_runs where id = ?", [n]).fetchone()


def test_the_first_incremental_run_of_an_empty_archive_archives_everything(runs):
    first = runs["runs"][0]["proc"]
    assert first.returncode == 0, first.stdout + first.stderr
    row = run_row(runs["con"], 1)
    assert row["mode"] == "incremental" and row["status"] == "ok"
    assert row["articles_new"] == runs["con"].execute("select count(*) from articles where first_run_id = 1").fetchone()[0]
    assert row["articles_new"] > 100


def test_an_unchanged_network_costs_one_304_per_channel_and_per_homepage(runs):
    """Channels and homepages answer 304; discovered channels that were missing are not asked again."""
    second = runs["runs"][1]
    assert second["proc"].returncode == 0, second["proc"].stdout + second["proc"].stderr
    log = second["log"]
    not_robots = [(url, status) for _, url, status in log if not url.endswith("/robots.txt")]
    assert not_robots and all(status == 304 for _, status in not_robots), not_robots
    assert not [url for url, _ in not_robots if is_article(url)]
    row = run_row(runs["con"], 2)
    assert (row["list_pages"], row["article_pages"], row["articles_new"]) == (0, 0, 0)
    homepages = [url for url, _ in not_robots if url.split("/", 3)[3:] in ([], [""])]
    assert homepages and row["list_pages_revalidated"] + len(homepages) == len(not_robots)
    assert row["status"] == "ok" and "304" in second["proc"].stdout


def test_a_run_right_after_the_last_one_requests_only_the_new_articles(runs):
    log = runs["fresh"]["log"]
    article_requests = [(url, status) for _, url, status in log if is_article(url)]
    assert {url for url, status in article_requests if status == 200} == new_in_t2()
    assert len(article_requests) == len(new_in_t2())      # no revalidations: every archived row is fresh
    assert REVISED not in {url for url, _ in article_requests}
    row = runs["fresh_con"].execute("select * from crawl_runs where id = 3").fetchone()
    assert (row["articles_new"], row["articles_changed"], row["articles_revalidated"]) == (len(new_in_t2()), 0, 0)
    assert "archived rows still fresh, not requested" in runs["fresh"]["proc"].stdout


def test_a_month_later_the_run_fetches_the_new_and_the_revised_articles_and_nothing_else(runs):
    log = runs["runs"][2]["log"]
    fetched = {url for _, url, status in log if status == 200 and is_article(url)}
    assert fetched == new_in_t2() | {REVISED}
    revalidated = [url for _, url, status in log if status == 304 and is_article(url)]
    assert revalidated                                    # archived rows of changed list pages, now due
    assert DELETED not in {url for _, url, _ in log}      # nothing links it any more
    con = runs["con"]
    stored_new = {r[0] for r in con.execute("select url from articles where first_run_id = 3")}
    assert stored_new == new_in_t2()
    row = run_row(con, 3)
    assert (row["articles_new"], row["articles_changed"]) == (len(new_in_t2()), 1)
    assert row["articles_revalidated"] == len(revalidated)


def test_new_rows_deep_in_a_pager_are_reached_page_by_page(runs):
    """chalco 公司要闻 shifts by 3 rows and grows a fifth page; lzly (no pager) grows index_3."""
    lists = [url for _, url, status in runs["runs"][2]["log"] if status == 200 and not is_article(url)]
    assert "https://www.chalco.com.cn/xwdt/gsyw/index.html" in lists
    assert "https://www.chalco.com.cn/xwdt/gsyw/index_4.html" not in lists      # stopped after the margin
    assert len([u for u in lists if u.startswith("https://www.chalco.com.cn/xwdt/gsyw/")]) <= 3


def test_the_revised_article_is_updated_in_place(runs):
    row = runs["con"].execute("select body, last_run_id from articles where url = ?", [REVISED]).fetchone()
    assert "13个基层党组织书记" in row["body"] and "电解糟" not in row["body"]
    assert row["last_run_id"] == 3


def test_the_deleted_article_stays_in_the_archive(runs):
    assert runs["con"].execute("select count(*) from articles where url = ?", [DELETED]).fetchone()[0] == 1


def test_a_channel_whose_list_404s_makes_the_run_unhealthy(runs):
    third = runs["runs"][2]["proc"]
    assert third.returncode == 1, third.stdout + third.stderr
    assert "dq_chinalco_com_cn: every list page failed" in third.stdout
    row = run_row(runs["con"], 3)
    assert row["status"] == "unhealthy" and "dq_chinalco_com_cn" in row["problems"]
    sites = json.loads(row["site_counts"])
    assert sites["dq_chinalco_com_cn"]["status"] == "unhealthy"
    assert sites["chalco_com_cn"]["status"] == "ok" and sites["chalco_com_cn"]["articles_new"] == 4
    failure = runs["con"].execute("select kind, status, retryable from failures where url = ?", [DQ_LIST]).fetchone()
    assert tuple(failure) == ("http", 404, 1)


def test_failures_are_retried_when_their_back_off_has_elapsed(runs):
    fourth = runs["runs"][3]
    article_requests = {url for _, url, _ in fourth["log"] if is_article(url)}
    assert article_requests == {RETRIED}                  # only the due failure, nothing else
    row = runs["con"].execute("select attempts, next_retry_at, last_run_id from failures where url = ?",
                              [RETRIED]).fetchone()
    assert row["attempts"] == 2 and row["last_run_id"] == 4
    assert row["next_retry_at"] > "2026"                  # pushed back again (1 h after 2 attempts)
    assert run_row(runs["con"], 4)["retried"] == 1


def test_every_run_is_a_row_with_per_site_counts(runs):
    rows = runs["con"].execute("select id, mode, status, site_counts, finished_at from crawl_runs order by id").fetchall()
    assert [r["id"] for r in rows] == [1, 2, 3, 4]
    for r in rows:
        assert r["mode"] == "incremental" and r["finished_at"]
        counts = json.loads(r["site_counts"])
        assert {"chalco_com_cn", "lzly_chinalco_com_cn", "dq_chinalco_com_cn"} <= set(counts)
        assert {"list_pages", "list_pages_revalidated", "article_pages", "articles_revalidated", "articles_new",
                "articles_changed", "articles_unchanged", "failures", "status"} <= set(counts["chalco_com_cn"])
