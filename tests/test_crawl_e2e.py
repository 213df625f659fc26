"""End to end: `archiver crawl --replica` crawls the offline replica over real HTTP (through the
replica's proxy on 127.0.0.1) into an archive, twice: the default (incremental) crawl of an empty
archive, then a `--full` re-crawl. Incremental re-runs are specified in test_crawl_incremental.py.

One module-scoped pair of crawls; each test reads one property of the result.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixture_cases import all_cases

pytestmark = pytest.mark.e2e

SEED = "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html"
SEED_TEXT = (Path(__file__).resolve().parents[1] / "fixtures" / "lzly_chinalco_com_cn" / "article-tplb-163910"
             / "expected.json")


def run_crawl(db: Path, *extra: str, replica: str = "") -> subprocess.CompletedProcess:
    """``archiver crawl --replica[=replica]`` (the fixture replica; ``replica="state=t2"`` for another state)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    spec = [replica] if replica else []
    return subprocess.run([sys.executable, "-m", "archiver.cli", "crawl", "--replica", *spec, "--db", str(db), *extra],
                          capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    db = tmp_path_factory.mktemp("e2e") / "archive.db"
    first = run_crawl(db)

    def snapshot():
        con = sqlite3.connect(db)
        counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0]
                  for t in ("articles", "sightings", "revisions", "near_duplicates", "raw_pages", "failures",
                            "link_entries", "crawl_runs")}
        con.close()
        return counts

    after_first = snapshot()
    second = run_crawl(db, "--full")
    after_second = snapshot()
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    yield {"db": db, "first": first, "second": second, "after_first": after_first, "after_second": after_second,
           "con": con}
    con.close()


def test_the_crawl_succeeds_and_says_so(crawled):
    first = crawled["first"]
    assert first.returncode == 0, first.stdout + first.stderr
    assert "status ok" in first.stdout
    assert "articles        new" in first.stdout


def test_the_seed_article_comes_out_exactly(crawled):
    expected = json.loads(SEED_TEXT.read_text(encoding="utf-8"))
    # The seed is one sighting of its article (its 公司要闻 re-post is the other, see test_dedup_e2e.py).
    seen = crawled["con"].execute("select * from sightings where url = ?", [SEED]).fetchone()
    row = crawled["con"].execute("select * from articles where id = ?", [seen["article_id"]]).fetchone()
    assert row["title"] == seen["title"] == expected["title"]
    assert row["source"] == seen["source"] == "走进兰铝"
    assert row["published_at"] == seen["published_at"] == "2026-02-07"
    assert seen["url_date"] == "2026-02-10"          # kept apart from the displayed date
    paragraphs = (seen["body"] or row["body"]).split("\n")
    assert paragraphs[0] == expected["body_first"]
    assert paragraphs[-1] == expected["body_last"]
    assert seen["site"] == "lzly_chinalco_com_cn" and seen["channel"] == "tplb"


def test_the_archive_stores_real_urls_not_the_replica_address(crawled):
    con = crawled["con"]
    for table, col in (("articles", "url"), ("articles", "canonical_url"), ("sightings", "url"), ("raw_pages", "url"),
                       ("failures", "url"), ("link_entries", "url")):
        bad = con.execute(f"select count(*) from {table} where {col} like '%127.0.0.1%' or {col} like '%localhost%'").fetchone()[0]
        assert bad == 0, (table, col)
    assert con.execute("select count(*) from articles where url like 'https://%'").fetchone()[0] == \
        con.execute("select count(*) from articles").fetchone()[0]


def test_every_reachable_article_fixture_is_archived(crawled):
    """All network articles of the replica, except the two it must not get: the page under a
    robots.txt Disallow and the page slower than the download timeout."""
    con = crawled["con"]
    stored = {r[0] for r in con.execute("select canonical_url from sightings")} | \
        {r[0] for r in con.execute("select url from sightings")}
    network_articles = [c for c in all_cases() if c.page_type == "article" and not c.id.startswith("siblings/")
                        and not c.response.get("only_in")]
    missing = {c.url for c in network_articles if c.url not in stored and c.expected.get("canonical_url") not in stored}
    must_not_get = {c.url for c in network_articles if "/cms/" in c.url or c.response.get("delay", 0) >= 10}
    assert must_not_get and missing == must_not_get


def test_every_error_page_became_a_failure_row(crawled):
    con = crawled["con"]
    failed = {r["url"]: r for r in con.execute("select * from failures")}
    expected_failures = [c for c in all_cases() if c.expected.get("crawl_outcome") == "failure"
                         and not c.response.get("only_in")]
    assert expected_failures
    missing = [c.url for c in expected_failures if c.url not in failed]
    assert not missing
    for c in expected_failures:
        assert failed[c.url]["reason"], c.url


def test_the_slow_page_is_a_timeout_failure(crawled):
    slow = [c for c in all_cases() if c.response.get("delay", 0) >= 10]
    assert slow
    row = crawled["con"].execute("select kind from failures where url = ?", [slow[0].url]).fetchone()
    assert row["kind"] == "timeout"


def test_robots_txt_is_obeyed(crawled):
    row = crawled["con"].execute("select kind, retryable from failures where url like '%/cms/%'").fetchone()
    assert (row["kind"], row["retryable"]) == ("robots", 0)
    assert crawled["con"].execute("select count(*) from articles where url like '%/cms/%'").fetchone()[0] == 0


def test_nothing_went_to_the_internet(crawled):
    kinds = {r[0] for r in crawled["con"].execute("select kind from failures")}
    assert not kinds & {"dns", "connection"}


def test_a_second_crawl_of_an_unchanged_network_adds_no_rows(crawled):
    assert crawled["second"].returncode == 0, crawled["second"].stdout + crawled["second"].stderr
    a, b = crawled["after_first"], crawled["after_second"]
    for table in ("articles", "sightings", "raw_pages", "failures", "link_entries", "revisions", "near_duplicates"):
        assert a[table] == b[table], table
    assert b["crawl_runs"] == a["crawl_runs"] + 1          # the run itself is recorded
    last = crawled["con"].execute("select * from crawl_runs order by id desc limit 1").fetchone()
    assert (last["articles_new"], last["articles_changed"]) == (0, 0)
    assert last["articles_unchanged"] == a["sightings"]      # every page of every article seen again


def test_failures_count_their_attempts_across_runs(crawled):
    attempts = {r[0] for r in crawled["con"].execute("select attempts from failures where retryable = 1")}
    assert attempts == {2}


def test_each_run_is_recorded_with_its_counts(crawled):
    runs = crawled["con"].execute("select * from crawl_runs order by id").fetchall()
    assert [r["status"] for r in runs] == ["ok", "ok"]
    assert runs[0]["articles_new"] == crawled["after_first"]["articles"]
    assert runs[0]["finished_at"] and runs[0]["pages"] > 0


def test_the_archive_passes_integrity_check(crawled):
    assert crawled["con"].execute("pragma integrity_check").fetchone()[0] == "ok"
