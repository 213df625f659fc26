"""One article page's path: read where its response is (archiver/reading.py), counted
(pipelines/stats.py), stored (pipelines/store.py)."""
from __future__ import annotations

from datetime import date

import pytest
from scrapy.utils.test import get_crawler

from archiver.db import Archive
from archiver.items import ArticleRecord, Failure, FetchedPage, LinkEntry
from archiver.pages.base import response_from_bytes
from archiver.reading import ArticleReader
from archiver.sites import load_network
from pipelines.stats import ArticleStatsPipeline
from pipelines.store import StorePipeline
from spiders.network import NetworkSpider
from tests.fixture_cases import all_cases

SEED = "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html"


def crawler_for(tmp_path, **settings):
    crawler = get_crawler(NetworkSpider, settings_dict={"ARCHIVER_DB": str(tmp_path / "a.db"), **settings})
    crawler.spider = NetworkSpider.from_crawler(crawler)
    crawler.stats.open_spider()
    return crawler


def fetched(url: str, **context) -> FetchedPage:
    c = next(c for c in all_cases() if c.url == url)
    return FetchedPage(url=c.url, status=c.status, headers=list(c.headers.items()), body=c.body,
                       fetched_at="2026-11-25T00:00:00+00:00", site="x", channel="y", **context)


def read(crawler, page: FetchedPage, body: bytes | None = None):
    reader = ArticleReader(load_network(), crawler.stats, crawler.settings)
    return reader.read(response_from_bytes(page.url, page.body if body is None else body, page.headers, page.status),
                       page)


def test_reading_turns_an_article_page_into_a_record_with_its_raw_page(tmp_path):
    page = fetched(SEED)
    rec = read(crawler_for(tmp_path), page)
    assert isinstance(rec, ArticleRecord) and rec.page is page
    assert (rec.fields["source"], rec.fields["published_at"], rec.fields["url_date"]) == ("走进兰铝", "2026-02-07", "2026-02-10")
    assert rec.fields["site_role"] == "member"          # read by the primary-sighting rule


def test_reading_decodes_a_gbk_page_like_the_crawl_does(tmp_path):
    gbk = next(c for c in all_cases() if c.page_type == "article" and b"gbk" in c.body[:2000].lower())
    with pytest.raises(UnicodeDecodeError):
        gbk.body.decode("utf-8")
    rec = read(crawler_for(tmp_path), fetched(gbk.url))
    assert rec.fields["title"] == gbk.expected["title"]
    assert rec.fields["body"].split("\n")[0] == gbk.expected["body_first"]


def test_reading_records_a_challenge_page_as_a_retryable_failure(tmp_path):
    challenge = next(c for c in all_cases() if c.page_type == "challenge" and c.status == 200)
    out = read(crawler_for(tmp_path), fetched(challenge.url))
    assert isinstance(out, Failure) and out.kind == "challenge" and out.retryable and out.url == challenge.url


def test_an_extractor_crash_is_a_failure_not_a_lost_crawl(tmp_path, monkeypatch):
    import archiver.reading as mod

    def boom(*a, **k):
        raise RuntimeError("page object bug")
    monkeypatch.setattr(mod, "extract_page", boom)
    crawler = crawler_for(tmp_path)
    out = read(crawler, fetched(SEED))
    assert isinstance(out, Failure) and out.kind == "extraction" and "page object bug" in out.reason
    assert out.url == SEED and crawler.stats.get_value("archiver/extract/crashed") == 1


EMPTY_ARTICLE = (b'<html><head><title>\xe5\x85\xb0\xe9\x93\x9d</title></head><body><div class="nav">'
                 b'<a href="/">\xe9\xa6\x96\xe9\xa1\xb5</a></div></body></html>')


def test_an_article_url_without_a_body_is_kept_degraded_with_the_list_rows_headline(tmp_path):
    """An article URL the crawl reached is never lost: what is missing makes it degraded (review queue)."""
    crawler = crawler_for(tmp_path)
    out = read(crawler, fetched(SEED, list_title="兰州铝业召开二届五次职代会"), body=EMPTY_ARTICLE)
    assert isinstance(out, ArticleRecord) and out.fields["extraction_status"] == "degraded"
    assert out.fields["quality"] == "bad" and out.fields["quality_flags"][0] == "degraded"
    assert crawler.stats.get_value("archiver/extract/degraded") == 1


def test_a_page_off_the_article_grammar_without_a_body_is_a_failure_against_its_url(tmp_path):
    crawler = crawler_for(tmp_path)
    url = "https://lzly.chinalco.com.cn/gywm/qyjj/"
    page = FetchedPage(url=url, status=200, headers=[("Content-Type", "text/html; charset=utf-8")],
                       body=EMPTY_ARTICLE, fetched_at="2026-11-25T00:00:00+00:00", site="lzly_chinalco_com_cn")
    out = read(crawler, page)
    assert isinstance(out, Failure) and out.url == url


def test_quality_is_judged_once_with_the_fetch_time(tmp_path):
    crawler = crawler_for(tmp_path, ARCHIVER_QUALITY_EARLIEST_DATE="2000-01-01")
    seed = next(c for c in all_cases() if c.url == SEED)
    page = FetchedPage(url=SEED, status=200, headers=list(seed.headers.items()), body=seed.body,
                       fetched_at="2026-02-01T00:00:00+00:00")            # before the date the page shows
    rec = read(crawler, page)
    assert rec.fields["quality"] == "bad" and "date_in_future" in rec.fields["quality_flags"]
    assert ArticleReader(load_network(), crawler.stats, crawler.settings).earliest == date(2000, 1, 1)


def test_the_stats_step_counts_verdicts_missing_fields_methods_and_alias_urls(tmp_path):
    crawler = crawler_for(tmp_path)
    alias = next(c for c in all_cases() if c.url.startswith("https://www.chalco.com/xwdt/"))
    rec = read(crawler, fetched(alias.url))
    rec.fields["author"] = None
    assert ArticleStatsPipeline(crawler).process_item(rec) is rec            # counts, never changes or drops
    stats = crawler.stats.get_stats()
    verdict = rec.fields["quality"]
    assert stats[f"archiver/quality/{verdict}"] == 1
    assert stats[f"archiver/quality_by_site/{rec.fields['site']}/{verdict}"] == 1
    assert stats["archiver/field/author/missing"] == 1
    assert stats[f"archiver/extraction/title/{rec.fields['extraction']['title']['method']}"] == 1
    assert stats["archiver/dedupe/alias_url"] == 1
    assert rec.fields["site_role"] == "listed"


def test_store_writes_articles_failures_and_link_entries_and_closes_the_run(tmp_path):
    crawler = crawler_for(tmp_path)
    store = StorePipeline.from_crawler(crawler)
    store.open_spider()
    store.process_item(read(crawler, fetched(SEED)))
    store.process_item(Failure(url="https://x/404.html", kind="http", reason="HTTP 404", status=404))
    store.process_item(LinkEntry(url="https://mp.weixin.qq.com/s/x", kind="wechat", title="t", list_url="https://x/"))
    crawler.stats.set_value("archiver/list_pages", 1)       # what the spider counted while fetching
    crawler.stats.set_value("archiver/article_pages", 2)
    store.spider_closed(crawler.spider, "finished")
    a = Archive.open(tmp_path / "a.db")
    assert (a.count("articles"), a.count("failures"), a.count("link_entries")) == (1, 1, 1)
    run = list(a.db["crawl_runs"].rows)[0]
    assert (run["status"], run["finish_reason"], run["articles_new"], run["failures"]) == ("ok", "finished", 1, 1)


# --------------------------------------------------------------------------- batched commits
def committed(tmp_path, table: str) -> int:
    """What another process (a researcher's Datasette) sees: committed rows only."""
    import sqlite3
    con = sqlite3.connect(tmp_path / "a.db")
    try:
        return con.execute(f"select count(*) from {table}").fetchone()[0]
    finally:
        con.close()


def failure(n: int) -> Failure:
    return Failure(url=f"https://x/{n}.html", kind="http", reason="HTTP 500", status=500, site="chalco_com_cn")


def store_with(tmp_path, **settings) -> tuple:
    crawler = get_crawler(NetworkSpider, settings_dict={"ARCHIVER_DB": str(tmp_path / "a.db"), **settings})
    crawler.spider = NetworkSpider.from_crawler(crawler)
    crawler.stats.open_spider()
    store = StorePipeline.from_crawler(crawler)
    store.open_spider()
    return crawler, store


def test_the_store_commits_every_n_items_and_at_the_end(tmp_path):
    crawler, store = store_with(tmp_path, ARCHIVER_COMMIT_EVERY=2, ARCHIVER_COMMIT_INTERVAL=3600)
    store.process_item(failure(1))
    assert committed(tmp_path, "failures") == 0          # in the open batch
    store.process_item(failure(2))
    assert committed(tmp_path, "failures") == 2
    store.process_item(failure(3))
    assert committed(tmp_path, "failures") == 2
    store.spider_closed(crawler.spider, "finished")
    assert committed(tmp_path, "failures") == 3
    assert crawler.stats.get_value("archiver/store/commits") == 2


def test_an_idle_batch_is_committed_when_it_is_old_enough(tmp_path):
    import time
    crawler, store = store_with(tmp_path, ARCHIVER_COMMIT_EVERY=1000, ARCHIVER_COMMIT_INTERVAL=0.05)
    store.process_item(failure(1))
    assert committed(tmp_path, "failures") == 0
    time.sleep(0.06)
    store._tick()                                         # what the timer calls every interval
    assert committed(tmp_path, "failures") == 1
    store.spider_closed(crawler.spider, "finished")


def test_commit_every_1_is_a_commit_per_item(tmp_path):
    crawler, store = store_with(tmp_path, ARCHIVER_COMMIT_EVERY=1, ARCHIVER_COMMIT_INTERVAL=0)
    store.process_item(failure(1))
    assert committed(tmp_path, "failures") == 1
    store.spider_closed(crawler.spider, "finished")


def test_a_batch_sqlite_rolled_back_is_counted_and_the_run_does_not_save_channel_validators(tmp_path):
    from archiver.items import ChannelWalkStarted
    crawler, store = store_with(tmp_path, ARCHIVER_COMMIT_EVERY=1000, ARCHIVER_COMMIT_INTERVAL=3600)
    store.process_item(ChannelWalkStarted(url="https://www.chalco.com.cn/xwdt/gsyw/index.html", site="chalco_com_cn",
                                          channel="xwdt/gsyw", etag='"e"', last_modified=None))
    store.process_item(failure(1))
    store.archive.db.conn.rollback()                      # what SQLITE_FULL or an I/O error does to a transaction
    store.process_item(failure(2))
    store.spider_closed(crawler.spider, "finished")
    assert (crawler.stats.get_value("archiver/store/batches_lost"),
            crawler.stats.get_value("archiver/store/items_lost")) == (1, 2)
    assert committed(tmp_path, "failures") == 1           # failure 2, in a batch of its own
    a = Archive.open(tmp_path / "a.db")
    assert not list(a.db.execute("select * from http_validators where kind = 'list'").fetchall())
    run = list(a.db["crawl_runs"].rows)[0]
    assert run["status"] == "unhealthy" and "rolled back 2 stored item(s)" in run["problems"]
    a.close()
