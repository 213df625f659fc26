"""The network spider: what it requests and records for each kind of response."""
from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest
from scrapy.http import HtmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure as TwistedFailure

from archiver.items import ArticleRecord, Failure, LinkEntry
from tests.spiderutil import make_spider
from tests.fixture_cases import FIXTURES, all_cases


def case(url: str):
    return next(c for c in all_cases() if c.url == url)


def list_response(url: str, meta: dict | None = None) -> HtmlResponse:
    c = case(url)
    req = Request(url, meta={"archiver": {"kind": "list", "site": None, "channel": None, "page": 0, "probe": False,
                                          "referer": None, **(meta or {})}})
    return HtmlResponse(url, status=c.status, headers=c.headers, body=c.body, request=req)


async def collect(agen):
    return [x async for x in agen]


def test_start_seeds_every_channel_of_every_site():
    spider = make_spider()
    import asyncio
    urls = [r.url for r in asyncio.run(collect(spider.start()))]
    for site in spider.network.sites:
        for u in site.start_urls():
            assert u in urls


def test_start_seeds_only_the_chosen_sites():
    import asyncio
    spider = make_spider(ARCHIVER_SITES="lzly_chinalco_com_cn")
    urls = [r.url for r in asyncio.run(collect(spider.start()))]
    assert urls and all(u.startswith("https://lzly.chinalco.com.cn/") for u in urls)


def test_an_unknown_site_is_a_clear_error():
    with pytest.raises(KeyError, match="known sites"):
        make_spider(ARCHIVER_SITES="nope")


def test_a_list_page_yields_its_articles_and_next_pages():
    spider = make_spider()
    resp = list_response("https://www.chalco.com.cn/xwdt/gsyw/index.html", {"site": "chalco_com_cn", "channel": "xwdt/gsyw"})
    out = list(spider.parse_list(resp))
    articles = [r for r in out if isinstance(r, Request) and r.callback == spider.parse_article]
    lists = [r.url for r in out if isinstance(r, Request) and r.callback == spider.parse_list]
    expected = case(resp.url).expected
    assert [r.url for r in articles][:len(expected["articles"])] == expected["articles"]
    assert articles[0].meta["archiver"]["list_title"]
    assert "https://www.chalco.com.cn/xwdt/gsyw/index_1.html" in lists
    assert all(r.errback == spider.on_error for r in out if isinstance(r, Request))


def test_link_type_rows_become_link_entries():
    spider = make_spider()
    resp = list_response("https://www.chalco.com.cn/xwdt/mtjj/index_1.html", {"site": "chalco_com_cn", "channel": "xwdt/mtjj"})
    entries = [x for x in spider.parse_list(resp) if isinstance(x, LinkEntry)]
    assert {e.kind for e in entries} == {e["kind"] for e in case(resp.url).expected["link_entries"]}
    assert all(e.list_url == resp.url for e in entries)


def test_a_list_page_without_pager_probes_the_next_index_page():
    spider = make_spider()
    resp = list_response("https://lzly.chinalco.com.cn/xwdt/gsyw/index.html",
                         {"site": "lzly_chinalco_com_cn", "channel": "xwdt/gsyw"})
    pages = [r for r in spider.parse_list(resp) if isinstance(r, Request) and r.callback == spider.parse_list
             and r.meta["archiver"]["walk"]]          # the channel's own next page, not discovered channels
    assert [r.url for r in pages] == ["https://lzly.chinalco.com.cn/xwdt/gsyw/index_1.html"]
    assert pages[0].meta["archiver"]["probe"] is True


def test_articles_of_sites_not_chosen_are_not_followed():
    spider = make_spider(ARCHIVER_SITES="chalco_com_cn")
    resp = list_response("https://www.chalco.com.cn/xwdt/mtjj/index_1.html", {"site": "chalco_com_cn", "channel": "xwdt/mtjj"})
    urls = [r.url for r in spider.parse_list(resp) if isinstance(r, Request)]
    assert all("chalco.com" in u for u in urls)


def test_an_article_response_is_read_where_it_is_and_keeps_its_raw_bytes():
    spider = make_spider()
    c = case("https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html")
    req = Request(c.url, meta={"archiver": {"kind": "article", "site": "lzly_chinalco_com_cn", "channel": "tplb",
                                            "referer": "https://lzly.chinalco.com.cn/tplb/index.html",
                                            "list_title": "奋楫争先", "list_date": "2026-02-07"}})
    (record,) = list(spider.parse_article(HtmlResponse(c.url, status=200, headers=c.headers, body=c.body, request=req)))
    assert isinstance(record, ArticleRecord)
    assert record.fields["title"] == c.expected["title"] and record.fields["list_date"] == "2026-02-07"
    page = record.page
    assert page.body == c.body and page.referer.endswith("/tplb/index.html") and page.list_date == "2026-02-07"


def _errback(spider, exc, meta=None, url="https://lzly.chinalco.com.cn/tplb/202601/t20260101_1.html"):
    request = Request(url, meta={"archiver": {"kind": "article", "site": "lzly_chinalco_com_cn", **(meta or {})}})
    failure = TwistedFailure(exc)
    failure.request = request
    return list(spider.on_error(failure))


def _http_error(status, url="https://lzly.chinalco.com.cn/tplb/202601/t20260101_1.html", body=b"x"):
    return HttpError(HtmlResponse(url, status=status, body=body, request=Request(url)), "err")


@pytest.mark.parametrize("status, kind", [(404, "http"), (500, "http"), (412, "challenge"), (521, "challenge")])
def test_http_errors_become_failures_with_their_status(status, kind):
    (f,) = _errback(make_spider(), _http_error(status))
    assert isinstance(f, Failure) and (f.kind, f.status) == (kind, status) and f.retryable


def test_a_404_while_probing_ends_pagination_without_a_failure():
    spider = make_spider()
    assert _errback(spider, _http_error(404), meta={"probe": True}) == []
    assert spider.crawler.stats.get_value("archiver/pager/probe_end") == 1


def test_robots_disallowed_is_recorded_and_not_retried():
    (f,) = _errback(make_spider(), IgnoreRequest("Forbidden by robots.txt"))
    assert (f.kind, f.retryable) == ("robots", False)


def test_a_timeout_is_recorded_for_retry():
    (f,) = _errback(make_spider(), DownloadTimeoutError("took longer than 4.0 seconds"))
    assert (f.kind, f.retryable) == ("timeout", True)


def test_a_challenge_list_page_is_a_failure_not_an_empty_channel():
    spider = make_spider()
    challenge = next(c for c in all_cases() if c.page_type == "challenge" and c.status == 200)
    req = Request(challenge.url, meta={"archiver": {"kind": "list", "site": "zlgj_chinalco_com_cn", "channel": None,
                                                    "page": 0, "probe": False, "referer": None}})
    out = list(spider.parse_list(HtmlResponse(challenge.url, status=200, headers=challenge.headers,
                                              body=challenge.body, request=req)))
    assert len(out) == 1 and out[0].kind == "challenge"


# The fixture cases the tests above read (by URL), and the one challenge page they take.
CASES_READ = ("https://www.chalco.com.cn/xwdt/gsyw/index.html", "https://www.chalco.com.cn/xwdt/mtjj/index_1.html",
              "https://lzly.chinalco.com.cn/xwdt/gsyw/index.html",
              "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html")


def test_the_fixture_cases_these_tests_read_are_present():
    """Each URL above is exactly one case under fixtures/ with a body and what a reader expects of it,
    and the corpus has a challenge page served with status 200."""
    for url in CASES_READ:
        matches = [c for c in all_cases() if c.url == url]
        assert len(matches) == 1, f"{url}: {len(matches)} fixture cases under {FIXTURES}"
        assert matches[0].body and matches[0].expected, url
    assert any(c.page_type == "challenge" and c.status == 200 and c.body for c in all_cases())
