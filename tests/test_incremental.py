"""Incremental-crawl policy and state: paging margin, retry back-off, validators, the archive's
crawl state, per-site health, and the spider's incremental decisions on saved pages."""
from __future__ import annotations

import asyncio
import json

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response

from archiver.db import Archive
from archiver.db.archive import RawResponse
from archiver.db.crawlstate import ArchiveReader, CrawlState, validators_from_headers
from archiver.health import SiteHistory, assess, site_counts_from_stats
from datetime import datetime, timedelta, timezone

from archiver.incremental import ChannelWalk, Revalidation, conditional_headers, next_retry_at, retry_delay
from archiver.items import ArticleRevalidated, ChannelWalkStarted, Failure
from spiders.network import NetworkSpider
from tests.spiderutil import make_spider as spider_with
from tests.fixture_cases import all_cases

NOW = "2026-09-01T00:00:00+00:00"
CHALCO_LIST = "https://www.chalco.com.cn/xwdt/gsyw/index.html"


# --------------------------------------------------------------------------- policy
def test_a_walk_pages_on_while_rows_are_new_then_reads_the_margin():
    walk = ChannelWalk(margin=1)
    assert walk.judge(3) is True        # new rows: next page
    assert walk.judge(0) is True        # first page without new rows: the margin page follows
    assert walk.judge(0) is False       # margin used up: stop


def test_new_rows_on_a_margin_page_reset_the_margin():
    walk = ChannelWalk(margin=1)
    assert [walk.judge(n) for n in (2, 0, 1, 0, 0)] == [True, True, True, True, False]


def test_margin_zero_stops_at_the_first_page_without_new_rows():
    walk = ChannelWalk(margin=0)
    assert [walk.judge(n) for n in (5, 0)] == [True, False]


def test_retry_back_off_doubles_and_is_capped():
    delays = [retry_delay(n, base=1800, factor=2, cap=86400) for n in range(1, 9)]
    assert delays[:4] == [1800, 3600, 7200, 14400]
    assert max(delays) == 86400 and delays[-1] == 86400
    assert retry_delay(10**6, base=1800, factor=2, cap=86400) == 86400
    assert next_retry_at(NOW, 2, base=1800, factor=2, cap=86400) == "2026-09-01T01:00:00+00:00"


def test_conditional_headers_use_both_validators():
    assert conditional_headers(('"abc"', "Wed, 26 Aug 2026 05:41:00 GMT")) == {
        "If-None-Match": '"abc"', "If-Modified-Since": "Wed, 26 Aug 2026 05:41:00 GMT"}
    assert conditional_headers((None, "x")) == {"If-Modified-Since": "x"}
    assert conditional_headers(None) == {}
    assert validators_from_headers([("etag", "e"), ("Last-Modified", "l"), ("ETag", "other")]) == ("e", "l")


# --------------------------------------------------------------------------- revalidation (freshness)
def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def test_an_archived_article_stays_fresh_for_a_tenth_of_its_age_at_the_last_check():
    policy = Revalidation()
    checked = "2026-09-11T00:00:00+00:00"                 # ten days after publication
    published = "2026-09-01T00:00:00+00:00"
    assert not policy.due(at(checked) + timedelta(hours=23, minutes=59), checked, published)
    assert policy.due(at(checked) + timedelta(days=1), checked, published)


def test_a_brand_new_article_is_rechecked_after_min_age_and_an_old_one_at_least_every_max_age():
    policy = Revalidation(min_age=600, max_age=30 * 86400)
    checked = "2026-09-01T08:05:00+00:00"
    assert policy.lifetime(at(checked), at("2026-09-01T08:00:00+00:00")) == 600            # 5 min old: the floor
    assert policy.lifetime(at(checked), at("2024-09-01T08:00:00+00:00")) == 30 * 86400     # 2 years old: the cap
    assert not policy.due(at(checked) + timedelta(minutes=9), checked, "2026-09-01T08:00:00+00:00")
    assert policy.due(at(checked) + timedelta(minutes=10), checked, "2026-09-01T08:00:00+00:00")


def test_a_date_shown_without_a_time_is_beijing_midnight():
    policy = Revalidation(min_age=0)
    # 2026-02-07 is 2026-02-06T16:00Z; checked 10 days later at 16:00Z: fresh for exactly one day
    # (read as UTC midnight it would be 9 days 16 h old, due 48 minutes earlier)
    assert not policy.due(at("2026-02-17T15:59:00+00:00"), "2026-02-16T16:00:00+00:00", "2026-02-07")
    assert policy.due(at("2026-02-17T16:00:00+00:00"), "2026-02-16T16:00:00+00:00", "2026-02-07")


def test_an_article_with_no_record_of_its_last_check_is_due():
    now = datetime(2026, 9, 1, tzinfo=timezone.utc)
    assert Revalidation().due(now, None, "2026-08-31")
    assert Revalidation().due(now, "not a time", "2026-08-31")


def test_without_a_publication_date_the_floor_applies():
    checked = "2026-09-01T00:00:00+00:00"
    assert Revalidation(min_age=600).due(at(checked) + timedelta(minutes=10), checked, None)
    assert not Revalidation(min_age=600).due(at(checked) + timedelta(minutes=5), checked, "garbage")


def test_a_check_recorded_in_the_future_counts_as_just_now():
    checked = "2026-09-02T00:00:00+00:00"
    assert not Revalidation().due(at("2026-09-01T00:00:00+00:00"), checked, "2026-01-01")


def test_revalidation_modes_all_and_none_ignore_freshness():
    now, checked = at("2026-09-01T00:00:01+00:00"), "2026-09-01T00:00:00+00:00"
    assert Revalidation(mode="all").due(now, checked, "2026-08-31")
    assert not Revalidation(mode="none").due(now + timedelta(days=999), checked, "2020-01-01")


def test_a_revalidation_policy_that_cannot_work_is_refused():
    with pytest.raises(ValueError, match="unknown revalidation mode 'sometimes'"):
        Revalidation(mode="sometimes")
    with pytest.raises(ValueError, match="min_age <= max_age"):
        Revalidation(min_age=10, max_age=5)


# --------------------------------------------------------------------------- archive state
def article_record(url: str, title: str = "标题", body: str = "正文第一段。\n正文第二段，足够长的内容。") -> dict:
    return {"canonical_url": url, "url": url, "site": "chalco_com_cn", "channel": "xwdt/gsyw", "title": title,
            "body": body, "published_at": "2026-08-25"}


def raw(url: str, etag: str = '"v1"') -> RawResponse:
    return RawResponse(url, 200, [("ETag", etag), ("Last-Modified", "Wed, 26 Aug 2026 05:41:00 GMT")], b"<html/>", NOW)


@pytest.fixture
def archive(tmp_path):
    a = Archive.open(tmp_path / "archive.db")
    yield a
    a.close()


def test_the_reader_knows_archived_articles_and_recorded_failures(archive, tmp_path):
    archive.upsert_article(article_record("https://www.chalco.com.cn/a.html"), raw("https://www.chalco.com.cn/a.html"),
                           run_id=None, now=NOW)
    archive.record_failure("https://www.chalco.com.cn/b.html", kind="http", reason="HTTP 500", now=NOW, site="chalco_com_cn")
    reader = ArchiveReader(tmp_path / "archive.db")
    assert reader.known("https://www.chalco.com.cn/a.html") == "article"
    assert reader.known("https://www.chalco.com.cn/b.html") == "failure"
    assert reader.known("https://www.chalco.com.cn/c.html") is None
    reader.close()


def test_the_reader_says_when_an_archived_article_was_last_checked(archive, tmp_path):
    a, b = "https://www.chalco.com.cn/a.html", "https://www.chalco.com.cn/b.html"
    archive.upsert_article(article_record(a), raw(a), run_id=None, now=NOW)
    archive.upsert_article(article_record(b, body="另一篇文章的正文。\n第二段内容不同。"), raw(b), run_id=None, now=NOW)
    CrawlState(archive.db).save_validators(a, kind="article", etag='"1"', now="2026-09-03T00:00:00+00:00", run_id=None)
    reader = ArchiveReader(tmp_path / "archive.db")
    assert reader.last_checked(a) == ("2026-09-03T00:00:00+00:00", "2026-08-25")     # its last 200/304
    assert reader.last_checked(b) == (NOW, "2026-08-25")        # no validators: when it was last seen
    assert reader.last_checked("https://www.chalco.com.cn/c.html") is None
    reader.close()


def test_a_missing_archive_knows_nothing(tmp_path):
    reader = ArchiveReader(tmp_path / "nope.db")
    assert reader.known("https://x/a.html") is None and reader.validators("https://x/a.html") is None
    assert reader.last_checked("https://x/a.html") is None
    assert list(reader.due_failures(["s"], now=NOW, max_attempts=5)) == []


def test_the_reader_is_read_only(archive, tmp_path):
    reader = ArchiveReader(tmp_path / "archive.db")
    with pytest.raises(Exception, match="readonly"):
        reader.db.execute("insert into failures (url, kind, reason, first_failed_at, last_failed_at, attempts) "
                          "values ('u', 'k', 'r', 'n', 'n', 1)")
    reader.close()


def test_validators_are_saved_and_read_back(archive, tmp_path):
    state = CrawlState(archive.db)
    assert state.save_validators("https://x/a.html", kind="article", headers=[("ETag", '"1"')], now=NOW, run_id=None)
    assert not state.save_validators("https://x/b.html", kind="article", headers=[("Server", "nginx")], now=NOW,
                                     run_id=None)
    state.save_validators("https://x/a.html", kind="article", etag='"2"', last_modified="lm", now=NOW, run_id=None)
    reader = ArchiveReader(tmp_path / "archive.db")
    assert reader.validators("https://x/a.html") == ('"2"', "lm")
    assert reader.validators("https://x/b.html") is None
    reader.close()


def test_due_failures_respect_back_off_attempts_and_retryable(archive, tmp_path):
    state = CrawlState(archive.db)
    for url, retryable in (("https://x/due.html", True), ("https://x/later.html", True), ("https://x/robots.html", False),
                           ("https://x/tired.html", True)):
        archive.record_failure(url, kind="http", reason="r", now=NOW, site="s", retryable=retryable)
    state.schedule_retry("https://x/due.html", "2026-08-31T00:00:00+00:00")
    state.schedule_retry("https://x/later.html", "2026-09-02T00:00:00+00:00")
    for _ in range(4):
        archive.record_failure("https://x/tired.html", kind="http", reason="r", now=NOW, site="s")
    reader = ArchiveReader(tmp_path / "archive.db")
    due = {f["url"] for f in reader.due_failures(["s"], now=NOW, max_attempts=5)}
    assert due == {"https://x/due.html"}             # tired.html has 5 attempts: given up until --full
    everything = {f["url"] for f in reader.due_failures(["s"], now=NOW, max_attempts=5, ignore_backoff=True)}
    assert everything == {"https://x/due.html", "https://x/later.html", "https://x/tired.html"}
    assert list(reader.due_failures(["other"], now=NOW, max_attempts=5)) == []
    reader.close()


def test_a_revalidated_article_is_touched_not_rewritten(archive):
    url = "https://www.chalco.com.cn/a.html"
    archive.upsert_article(article_record(url), raw(url), run_id=None, now=NOW)
    before = archive.article(url)
    state = CrawlState(archive.db)
    assert state.touch_article(url, url, now="2026-09-02T00:00:00+00:00", run_id=None)
    after = archive.article(url)
    assert after["last_seen"] == "2026-09-02T00:00:00+00:00"
    assert {k: v for k, v in after.items() if k not in ("last_seen",)} == \
        {k: v for k, v in before.items() if k not in ("last_seen",)}
    assert not state.touch_article("https://x/none.html", "https://x/none.html", now=NOW, run_id=None)


def test_migration_0006_backfills_article_validators_from_raw_pages(tmp_path):
    """An archive written before 0006 gets validators from the raw responses it already keeps."""
    import sqlite_utils

    from archiver.db import schema
    from archiver.db.migrations import m0006_runs

    db = sqlite_utils.Database(tmp_path / "old.db")
    schema.migrate(db)                       # everything, then pretend 0006 never ran
    db.execute("drop table http_validators")
    db.execute("delete from schema_migrations where name = ?", [m0006_runs.NAME])
    a = Archive(db)
    url = "https://www.chalco.com.cn/a.html"
    a.upsert_article(article_record(url), raw(url, etag='"old"'), run_id=None, now=NOW)
    assert schema.migrate(db) == [m0006_runs.NAME]
    assert db.execute("select etag from http_validators where url = ?", [url]).fetchone()[0] == '"old"'
    assert {"site_counts", "list_pages_revalidated", "articles_revalidated"} <= set(db["crawl_runs"].columns_dict)


# --------------------------------------------------------------------------- health
def stats_for(mode: str, **site_counters) -> dict:
    stats = {"archiver/mode": mode, "archiver/sites": ",".join(site_counters)}
    for site, counters in site_counters.items():
        for name, n in counters.items():
            stats[f"archiver/site/{site}/{name}"] = n
            if name in ("list_pages", "list_pages_revalidated", "article_pages"):
                stats[f"archiver/{name}"] = stats.get(f"archiver/{name}", 0) + n
            if name.startswith("articles_"):
                key = f"archiver/articles/{name.split('_', 1)[1]}"
                stats[key] = stats.get(key, 0) + n
    return stats


def test_an_incremental_run_where_every_channel_answered_304_is_healthy():
    stats = stats_for("incremental", a={"list_pages_revalidated": 3}, b={"list_pages_revalidated": 1})
    report = assess(stats, None, "finished", SiteHistory(established={"a", "b"}))
    assert report.ok, report.problems


def test_a_full_run_without_articles_for_an_established_site_is_unhealthy():
    stats = stats_for("full", a={"list_pages": 3, "articles_new": 5, "article_pages": 5}, b={"list_pages": 2})
    report = assess(stats, None, "finished", SiteHistory(established={"a", "b"}))
    assert report.status == "unhealthy"
    assert report.problems == ["b: no article in a full run"]
    assert report.sites["b"]["status"] == "unhealthy" and report.sites["a"]["status"] == "ok"


def test_a_site_whose_list_pages_all_failed_is_unhealthy_in_any_mode():
    stats = stats_for("incremental", a={"list_pages_revalidated": 2}, dq={"list_failures": 1})
    report = assess(stats, None, "finished", SiteHistory(established={"a", "dq"}))
    assert report.status == "unhealthy" and report.problems == ["dq: every list page failed (1)"]


def test_a_site_the_archive_never_held_only_warns():
    stats = stats_for("full", a={"list_pages": 1, "articles_new": 3, "article_pages": 3}, new={"list_failures": 2})
    report = assess(stats, None, "finished", SiteHistory(established={"a"}))
    assert report.ok and report.warnings and "new:" in report.warnings[0]
    assert report.sites["new"]["status"] == "warning"


def test_an_extraction_failure_rate_jump_is_unhealthy():
    history = SiteHistory(established={"a"}, previous=[{"a": {"article_pages": 40, "extraction_failures": 2}},
                                                       {"a": {"article_pages": 40, "extraction_failures": 0}}])
    fine = stats_for("full", a={"list_pages": 2, "article_pages": 40, "extraction_failures": 4, "articles_new": 36})
    assert assess(fine, None, "finished", history).ok               # 10 % vs 2.5 %: within +20 points
    jump = stats_for("full", a={"list_pages": 2, "article_pages": 40, "extraction_failures": 20, "articles_new": 20})
    report = assess(jump, None, "finished", history)
    assert report.status == "unhealthy" and "up from 2%" in report.problems[0]
    few = stats_for("full", a={"list_pages": 2, "article_pages": 5, "extraction_failures": 5, "articles_unchanged": 1})
    assert assess(few, None, "finished", history).ok                # too few pages to judge


def test_site_counts_cover_every_site_of_the_run():
    counts = site_counts_from_stats({"archiver/sites": "a,b", "archiver/site/a/list_pages": 2,
                                     "archiver/site/a/unknown_counter": 9})
    assert set(counts) == {"a", "b"} and counts["a"]["list_pages"] == 2 and counts["b"]["list_pages"] == 0
    assert "unknown_counter" not in counts["a"]


# --------------------------------------------------------------------------- the spider's decisions
class FakeReader:
    def __init__(self, archived=(), failed=(), validators=None, checked=None):
        self.archived, self.failed, self._validators = set(archived), set(failed), validators or {}
        self.checked = checked or {}           # url -> (checked_at, published_at); missing: never checked

    def last_checked(self, canonical_url, url=None):
        return self.checked.get(canonical_url) if canonical_url in self.archived else None

    def known(self, canonical_url, url=None):
        if canonical_url in self.archived:
            return "article"
        return "failure" if canonical_url in self.failed else None

    def validators(self, url):
        return self._validators.get(url)

    def needs_resume(self, url):
        return url in self.resume

    resume: set = set()

    def discovered_channels(self):
        return []

    def discovered_site_ids(self):
        return []

    def known_sites(self):
        return []

    def due_failures(self, *a, **k):
        return iter(())

    def close(self):
        pass


def make_spider(mode="incremental", reader=None, **settings) -> NetworkSpider:
    # The incremental policy alone: discovery (tests/test_discovery.py) adds requests of its own.
    return spider_with(reader=reader, ARCHIVER_MODE=mode, ARCHIVER_DISCOVERY=False, **settings)


def case(url: str):
    return next(c for c in all_cases() if c.url == url)


def list_response(url: str, *, status: int | None = None, entry=False, walk=None) -> Response:
    c = case(url)
    meta = {"archiver": {"kind": "list", "site": "chalco_com_cn", "channel": "xwdt/gsyw", "page": 0, "probe": False,
                         "referer": None, "entry": entry, "walk": walk}}
    req = Request(url, meta=meta)
    if status == 304:
        return Response(url, status=304, headers=c.headers, request=req)
    return HtmlResponse(url, status=c.status, headers=c.headers, body=c.body, request=req)


def test_an_incremental_list_page_fetches_new_rows_and_revalidates_archived_ones():
    rows = case(CHALCO_LIST).expected["articles"]
    reader = FakeReader(archived=rows[2:], validators={rows[3]: ('"e3"', None)})
    spider = make_spider(reader=reader)
    out = list(spider.parse_list(list_response(CHALCO_LIST, entry=True)))
    arts = [r for r in out if isinstance(r, Request) and r.callback == spider.parse_article]
    fetch = [r.url for r in arts if "If-None-Match" not in r.headers]
    reval = {r.url: r for r in arts if "If-None-Match" in r.headers}
    assert fetch[:2] == rows[:2]
    assert set(reval) == {rows[3]} and reval[rows[3]].headers["If-None-Match"] == b'"e3"'
    assert reval[rows[3]].meta["handle_httpstatus_list"] == [304]
    lists = [r.url for r in out if isinstance(r, Request) and r.callback == spider.parse_list
             and r.meta["archiver"]["walk"]]          # the channel's next page (not discovered channels)
    assert lists == ["https://www.chalco.com.cn/xwdt/gsyw/index_1.html"]    # one page at a time
    assert [type(x) for x in out if isinstance(x, ChannelWalkStarted)] == [ChannelWalkStarted]


def test_archived_rows_checked_a_moment_ago_are_not_requested_again():
    rows = case(CHALCO_LIST).expected["articles"]
    just_now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    long_ago = (datetime.now(timezone.utc) - timedelta(days=40)).isoformat(timespec="seconds")
    checked = {u: (just_now, "2026-01-05") for u in rows[2:]}
    checked[rows[4]] = (long_ago, "2026-01-05")
    reader = FakeReader(archived=rows[2:], validators={rows[4]: ('"e4"', None)}, checked=checked)
    spider = make_spider(reader=reader)
    out = list(spider.parse_list(list_response(CHALCO_LIST, entry=True)))
    arts = [r for r in out if isinstance(r, Request) and r.callback == spider.parse_article]
    assert [r.url for r in arts if "If-None-Match" not in r.headers] == rows[:2]        # the new rows
    assert [r.url for r in arts if "If-None-Match" in r.headers] == [rows[4]]           # the one due
    assert spider.crawler.stats.get_value("archiver/incremental/fresh_rows") == len(rows) - 3
    everything = make_spider(reader=reader, ARCHIVER_REVALIDATE="all")
    arts = [r for r in everything.parse_list(list_response(CHALCO_LIST, entry=True))
            if isinstance(r, Request) and r.callback == everything.parse_article]
    assert len(arts) == len(rows)


def test_an_unknown_revalidation_mode_stops_the_crawl_before_it_starts():
    with pytest.raises(ValueError, match="unknown revalidation mode"):
        make_spider(ARCHIVER_REVALIDATE="sometimes")


def test_the_walk_stops_after_the_margin():
    rows = case(CHALCO_LIST).expected["articles"] + \
        case("https://www.chalco.com.cn/xwdt/gsyw/index_1.html").expected["articles"]
    spider = make_spider(reader=FakeReader(archived=rows), ARCHIVER_REVALIDATE="none")
    first = list(spider.parse_list(list_response(CHALCO_LIST, walk=("w",))))
    assert [r.url for r in first if isinstance(r, Request)] == ["https://www.chalco.com.cn/xwdt/gsyw/index_1.html"]
    second = list(spider.parse_list(list_response("https://www.chalco.com.cn/xwdt/gsyw/index_1.html", walk=("w",))))
    assert not [r for r in second if isinstance(r, Request)]
    assert spider.crawler.stats.get_value("archiver/incremental/walk_stopped") == 1


def test_a_resume_walk_reads_every_page_and_fetches_only_unarchived_rows():
    """After a killed run the archived rows are not a prefix of the channel: read the whole pager."""
    rows = case(CHALCO_LIST).expected["articles"] + \
        case("https://www.chalco.com.cn/xwdt/gsyw/index_1.html").expected["articles"]
    reader = FakeReader(archived=rows, validators={CHALCO_LIST: ('"e"', None)})
    reader.resume = {CHALCO_LIST}
    spider = make_spider(reader=reader, ARCHIVER_SITES="chalco_com_cn")

    async def collect(agen):
        return [x async for x in agen]
    spider.db_path = None
    entry = next(r for r in asyncio.run(collect(spider.start())) if r.url == CHALCO_LIST)
    assert entry.meta["archiver"]["resume"] and "If-None-Match" not in entry.headers
    resp = list_response(CHALCO_LIST, entry=True, walk=("w",))
    resp.meta["archiver"]["resume"] = True
    first = [r for r in spider.parse_list(resp) if isinstance(r, Request)]
    assert [r.url for r in first] == ["https://www.chalco.com.cn/xwdt/gsyw/index_1.html"]   # no revalidation
    assert first[0].meta["archiver"]["resume"]
    resp = list_response("https://www.chalco.com.cn/xwdt/gsyw/index_1.html", walk=("w",))
    resp.meta["archiver"]["resume"] = True
    second = [r.url for r in spider.parse_list(resp) if isinstance(r, Request)]
    assert second == ["https://www.chalco.com.cn/xwdt/gsyw/index_2.html"]      # past the margin


def test_channel_walks_started_but_not_completed_need_a_resume(archive, tmp_path):
    state = CrawlState(archive.db)
    state.walk_started("https://x/a/index.html", site="s", channel="a", now=NOW, run_id=1)
    state.walk_started("https://x/b/index.html", site="s", channel="b", now=NOW, run_id=1)
    state.walk_completed("https://x/b/index.html", now=NOW, run_id=1)
    reader = ArchiveReader(tmp_path / "archive.db")
    assert reader.needs_resume("https://x/a/index.html") and not reader.needs_resume("https://x/b/index.html")
    assert not reader.needs_resume("https://x/never/index.html")
    reader.close()
    state.walk_started("https://x/b/index.html", site="s", channel="b", now=NOW, run_id=2)     # killed again
    reader = ArchiveReader(tmp_path / "archive.db")
    assert reader.needs_resume("https://x/b/index.html")
    reader.close()


def test_rows_recorded_as_failures_wait_for_their_retry():
    rows = case(CHALCO_LIST).expected["articles"]
    spider = make_spider(reader=FakeReader(failed=rows))
    out = list(spider.parse_list(list_response(CHALCO_LIST)))
    assert not [r for r in out if isinstance(r, Request) and r.callback == spider.parse_article]


def test_a_full_run_walks_every_page_of_the_pager_and_requests_every_row():
    """Full runs read the pager one page after the other (verified: archiver/walks.py) to its end."""
    rows = case(CHALCO_LIST).expected["articles"]
    spider = make_spider(mode="full", reader=FakeReader(archived=rows))
    url, walked, articles = CHALCO_LIST, [], []
    while url:
        walked.append(url)
        out = list(spider.parse_list(list_response(url, walk=("w",))))
        articles += [r.url for r in out if isinstance(r, Request) and r.callback == spider.parse_article]
        assert not any("If-None-Match" in r.headers for r in out if isinstance(r, Request))
        nxt = [r.url for r in out if isinstance(r, Request) and r.callback == spider.parse_list]
        assert len(nxt) <= 1                                   # one page at a time
        url = nxt[0] if nxt and nxt[0] not in walked else None
        if url and not any(c.url == url for c in all_cases()):
            break                                              # a probe past the last page (404 in the replica)
    # createPageHTML(4, …): four pages; the last one holds fewer rows, so nothing is probed after it
    assert walked == [CHALCO_LIST] + [f"https://www.chalco.com.cn/xwdt/gsyw/index_{n}.html" for n in range(1, 4)]
    expected = [a for u in walked for a in case(u).expected["articles"]]
    assert articles[:len(rows)] == rows and set(expected) <= set(articles)


def test_a_304_list_page_ends_the_channel():
    spider = make_spider(reader=FakeReader())
    assert list(spider.parse_list(list_response(CHALCO_LIST, status=304, entry=True))) == []
    assert spider.crawler.stats.get_value("archiver/list_pages_revalidated") == 1
    assert spider.crawler.stats.get_value("archiver/site/chalco_com_cn/list_pages_revalidated") == 1


def test_a_304_article_is_a_revalidation_not_a_fetch():
    spider = make_spider()
    url = case(CHALCO_LIST).expected["articles"][0]
    req = Request(url, meta={"archiver": {"kind": "article", "site": "chalco_com_cn", "channel": "xwdt/gsyw",
                                          "canonical_url": url}})
    out = list(spider.parse_article(Response(url, status=304, request=req)))
    assert out == [ArticleRevalidated(url=url, canonical_url=url, site="chalco_com_cn", channel="xwdt/gsyw")]
    assert spider.crawler.stats.get_value("archiver/article_pages") is None
    ok = list(spider.parse_article(HtmlResponse(url, body=b"<html></html>", request=req)))
    assert isinstance(ok[0], Failure) and ok[0].kind == "empty"       # a 200 is a fetch, whatever it holds
    assert spider.crawler.stats.get_value("archiver/article_pages") == 1


def test_entry_pages_are_conditional_only_in_incremental_mode():
    reader = FakeReader(validators={CHALCO_LIST: ('"e"', "lm")})
    inc = make_spider(reader=reader, ARCHIVER_SITES="chalco_com_cn")
    full = make_spider(mode="full", reader=reader, ARCHIVER_SITES="chalco_com_cn")

    async def collect(agen):
        return [x async for x in agen]
    inc.db_path = full.db_path = None            # keep the fake reader
    r_inc = next(r for r in asyncio.run(collect(inc.start())) if r.url == CHALCO_LIST)
    r_full = next(r for r in asyncio.run(collect(full.start())) if r.url == CHALCO_LIST)
    assert r_inc.headers["If-None-Match"] == b'"e"' and r_inc.headers["If-Modified-Since"] == b"lm"
    assert "If-None-Match" not in r_full.headers


def test_an_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="incremental"):
        make_spider(mode="sometimes")


def test_run_columns_are_json_for_datasette():
    from archiver.health import run_columns
    report = assess(stats_for("incremental", a={"list_pages_revalidated": 1}), None, "finished")
    cols = run_columns(report)
    assert json.loads(cols["site_counts"])["a"]["list_pages_revalidated"] == 1
    assert cols["list_pages_revalidated"] == 1 and cols["problems"] is None
