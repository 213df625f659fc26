"""Pipelines, one step each: extract, validate, dedupe, store."""
from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler

from archiver.db import Archive
from archiver.items import ArticleRecord, Failure, FetchedPage, LinkEntry
from pipelines.dedupe import DedupePipeline
from pipelines.extract import ExtractPipeline
from pipelines.store import StorePipeline
from pipelines.validate import ValidatePipeline
from spiders.network import NetworkSpider
from tests.fixture_cases import all_cases

SEED = "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html"


def crawler_for(tmp_path):
    crawler = get_crawler(NetworkSpider, settings_dict={"ARCHIVER_DB": str(tmp_path / "a.db")})
    crawler.spider = NetworkSpider.from_crawler(crawler)
    crawler.stats.open_spider()
    return crawler


def fetched(url: str) -> FetchedPage:
    c = next(c for c in all_cases() if c.url == url)
    return FetchedPage(url=c.url, status=c.status, headers=list(c.headers.items()), body=c.body,
                       fetched_at="2026-11-25T00:00:00+00:00", site="x", channel="y")


def test_extract_turns_an_article_page_into_a_record(tmp_path):
    rec = ExtractPipeline(crawler_for(tmp_path)).process_item(fetched(SEED))
    assert isinstance(rec, ArticleRecord)
    assert (rec.fields["source"], rec.fields["published_at"], rec.fields["url_date"]) == ("走进兰铝", "2026-02-07", "2026-02-10")


def test_extract_decodes_a_gbk_page_like_the_crawl_does(tmp_path):
    gbk = next(c for c in all_cases() if c.page_type == "article" and b"gbk" in c.body[:2000].lower())
    with pytest.raises(UnicodeDecodeError):
        gbk.body.decode("utf-8")
    rec = ExtractPipeline(crawler_for(tmp_path)).process_item(fetched(gbk.url))
    assert rec.fields["title"] == gbk.expected["title"]
    assert rec.fields["body"].split("\n")[0] == gbk.expected["body_first"]


def test_extract_records_a_challenge_page_as_a_retryable_failure(tmp_path):
    challenge = next(c for c in all_cases() if c.page_type == "challenge" and c.status == 200)
    out = ExtractPipeline(crawler_for(tmp_path)).process_item(fetched(challenge.url))
    assert isinstance(out, Failure) and out.kind == "challenge" and out.retryable


def test_an_extractor_crash_is_a_failure_not_a_lost_crawl(tmp_path, monkeypatch):
    import pipelines.extract as mod

    def boom(*a, **k):
        raise RuntimeError("page object bug")
    monkeypatch.setattr(mod, "extract_bytes", boom)
    crawler = crawler_for(tmp_path)
    out = ExtractPipeline(crawler).process_item(fetched(SEED))
    assert isinstance(out, Failure) and out.kind == "extraction" and "page object bug" in out.reason
    assert crawler.stats.get_value("archiver/extract/crashed") == 1


def test_validate_keeps_an_article_url_without_body_as_degraded_and_counts_missing_fields(tmp_path):
    """An article URL the crawl reached is never lost: what is missing makes it degraded (review queue)."""
    crawler = crawler_for(tmp_path)
    rec = ExtractPipeline(crawler).process_item(fetched(SEED))
    rec.fields["body"] = ""
    rec.fields["author"] = None
    out = ValidatePipeline(crawler).process_item(rec)
    assert out is rec and out.fields["extraction_status"] == "degraded"
    assert "body" in out.fields["extraction_reason"] and out.fields["quality"] == "bad"
    assert "degraded" in out.fields["quality_flags"]
    assert crawler.stats.get_value("archiver/field/body/missing") == 1
    assert crawler.stats.get_value("archiver/field/author/missing") == 1
    assert crawler.stats.get_value("archiver/validate/degraded") == 1


def test_validate_rejects_a_page_off_the_article_grammar_without_body(tmp_path):
    crawler = crawler_for(tmp_path)
    rec = ExtractPipeline(crawler).process_item(fetched(SEED))
    rec.fields["body"] = ""
    rec.fields["doc_id"] = None          # not a tYYYYMMDD_ID.html URL: no article URL to keep
    out = ValidatePipeline(crawler).process_item(rec)
    assert isinstance(out, Failure) and "body" in out.reason


def test_dedupe_keeps_an_alias_url_for_the_store_to_record_as_a_sighting(tmp_path):
    crawler = crawler_for(tmp_path)
    alias = next(c for c in all_cases() if c.url.startswith("https://www.chalco.com/xwdt/"))
    canonical = next(c for c in all_cases() if c.url == alias.url.replace("www.chalco.com/", "www.chalco.com.cn/"))
    ext, dd = ExtractPipeline(crawler), DedupePipeline(crawler)
    dd.process_item(ext.process_item(fetched(canonical.url)))
    item = dd.process_item(ext.process_item(fetched(alias.url)))
    assert isinstance(item, ArticleRecord) and item.url == alias.url
    assert item.fields["site_role"] == "listed"             # read by the primary-sighting rule
    assert crawler.stats.get_value("archiver/dedupe/alias_url") == 1
    assert crawler.stats.get_value("archiver/dedupe/same_body_in_run") == 1


def test_store_writes_articles_failures_and_link_entries_and_closes_the_run(tmp_path):
    crawler = crawler_for(tmp_path)
    store = StorePipeline.from_crawler(crawler)
    store.open_spider()
    store.process_item(ExtractPipeline(crawler).process_item(fetched(SEED)))
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
