"""Bad input: every kind of broken page gets a specific verdict, never a crash or a silent pass."""
from __future__ import annotations

import pytest

from archiver.extract import MAX_PAGE_BYTES, extract_bytes
from tests.fixture_cases import all_cases

URL = "https://lzly.chinalco.com.cn/xwdt/gsyw/202601/t20260108_162173.html"
SEED = next(c for c in all_cases() if c.url == "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html")


def extract(body: bytes, content_type="text/html; charset=utf-8", status=200, url=URL):
    return extract_bytes(url, body, {"Content-Type": content_type}, status)


@pytest.mark.parametrize("body", [b"", b"   \n\t ", b"\xef\xbb\xbf"])
def test_an_empty_page_is_empty(body):
    r = extract(body)
    assert (r.is_article, r.page_type) == (False, "empty")


def test_an_oversized_page_is_refused_with_its_size():
    r = extract(b"<p>" + b"x" * (MAX_PAGE_BYTES + 1) + b"</p>")
    assert r.page_type == "oversized" and str(MAX_PAGE_BYTES) in r.reason


def test_a_file_served_instead_of_html_is_not_an_article():
    r = extract(b"%PDF-1.4 ...", content_type="application/pdf")
    assert (r.is_article, r.page_type) == (False, "not_html")


@pytest.mark.parametrize("status", [404, 500])
def test_an_http_error_page_is_an_error(status):
    assert extract(b"<html><body><h1>Error</h1></body></html>", status=status).page_type == "error"


def test_gbk_bytes_declared_as_utf8_are_decoded_as_gbk_and_noted():
    text = SEED.body.decode("utf-8").replace('charset="utf-8"', "")
    r = extract(text.encode("gb18030"), content_type="text/html; charset=utf-8", url=SEED.url)
    assert r.is_article and r.source == "走进兰铝"
    assert r.encoding == "gb18030" and "declared" in r.encoding_note


def test_bytes_that_fit_no_encoding_are_mis_encoded():
    garbage = bytes(range(0x80, 0x100)) * 40
    r = extract(b"<html><body><p>" + garbage + b"</p></body></html>", content_type="text/html; charset=utf-8")
    assert r.page_type == "mis_encoded" and "undecodable" in r.reason


def test_truncated_html_still_extracts_what_is_there():
    cut = SEED.body[: len(SEED.body) // 2]
    r = extract(cut, url=SEED.url)
    assert r.is_article and r.title == SEED.expected["title"]
    assert r.body.split("\n")[0] == SEED.expected["body_first"]


def test_tag_soup_with_text_at_an_article_url_is_kept_degraded_not_lost():
    r = extract(b"<html><body><div><p>unclosed <b>tags <i>everywhere</body>")
    assert r.is_article and r.extraction_status == "degraded" and r.body == "unclosed tags everywhere"
    assert r.quality == "bad" and "degraded" in r.quality_flags and r.extraction_reason


@pytest.mark.parametrize("body", [
    b"<<<>>>&&&;;;</div></p></html>",
    b"\x00\x01\x02 binary noise \xff\xfe",
    b"<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1><hr>nginx</body></html>",
])
def test_malformed_pages_get_a_verdict_not_an_exception(body):
    r = extract(body)
    assert r.is_article is False and r.reason


def test_a_soft_404_is_not_an_article():
    body = "<html><head><title>页面不存在</title></head><body><p>对不起，您访问的页面不存在或已被删除。</p><a href='/'>返回首页</a></body></html>"
    r = extract(body.encode("utf-8"))
    assert (r.is_article, r.page_type) == (False, "soft404")


def test_a_short_article_mentioning_a_number_with_404_in_it_is_not_a_soft_404():
    body = ("<html><head><title>某铝厂月产电解铝约40436吨</title></head><body><h1>某铝厂月产电解铝约40436吨</h1>"
            "<div>来源：兰州铝业 时间：2026-03-01</div><p>本月共生产电解铝约40436吨，同比增长百分之三。</p></body></html>")
    r = extract(body.encode("utf-8"))
    assert r.page_type != "soft404"
