"""List pages: rows, link-type entries and the three pager styles."""
from __future__ import annotations

import pytest

from archiver.pages.base import PageInput, response_from_bytes
from archiver.pages.lists import ListPage
from tests.fixture_cases import cases_of

LIST_CASES = cases_of("list")


def list_page(url: str, html: str | bytes) -> ListPage:
    body = html.encode("utf-8") if isinstance(html, str) else html
    return ListPage(PageInput(response_from_bytes(url, body, {"Content-Type": "text/html; charset=utf-8"})))


def _case_page(case) -> ListPage:
    return ListPage(PageInput(response_from_bytes(case.url, case.body, case.headers, case.status)))


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in LIST_CASES if "articles" in c.expected])
def test_list_rows_are_the_articles_in_page_order(case):
    rows = [r.url for r in _case_page(case).rows if r.kind == "article"]
    assert rows == case.expected["articles"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in LIST_CASES if "link_entries" in c.expected])
def test_link_type_rows_are_recorded_not_followed(case):
    entries = [{"url": r.url, "kind": r.kind} for r in _case_page(case).link_entries]
    expected = [{"url": e["url"], "kind": e["kind"]} for e in case.expected["link_entries"]]
    assert entries == expected


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in LIST_CASES if "pager" in c.expected])
def test_pager_style_is_recognised(case):
    assert _case_page(case).pager.style == case.expected["pager"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in LIST_CASES if "next_page" in c.expected])
def test_next_list_page(case):
    page = _case_page(case)
    nxt = page.pager.next_url if page.pager.style != "none" else None
    if page.pager.style == "none" and case.expected["next_page"]:
        nxt = page.probe_url()
    assert nxt == case.expected["next_page"]


BASE = "https://www.chalco.com.cn/xwdt/gsyw/index.html"
ROWS = """<div class="listBox"><ul>
<li><span>2026-05-07</span> <a href="./202605/t20260507_168544.html" title="标题一">标题一</a></li>
<li><span>2026-05-06</span> <a href="./202605/t20260506_168498.html" title="标题二">标题二</a></li>
<li><span>2026-05-05</span> <a href="./202605/P020260505123456789012.pdf">年度报告</a></li>
<li><span>2026-05-04</span> <a href="https://mp.weixin.qq.com/s/AbC">微信文章</a></li>
<li><span>2026-05-03</span> <a href="https://lzly.chinalco.com.cn/xwdt/gsyw/202605/t20260503_168400.html">兰铝</a></li>
</ul></div>"""


def test_rows_carry_title_and_list_date():
    rows = list_page(BASE, ROWS).rows
    assert [(r.title, r.date, r.kind) for r in rows] == [
        ("标题一", "2026-05-07", "article"), ("标题二", "2026-05-06", "article"),
        ("年度报告", "2026-05-05", "file"), ("微信文章", "2026-05-04", "wechat"),
        ("兰铝", "2026-05-03", "network")]   # another site of the network: a link-type row
    assert rows[0].url == "https://www.chalco.com.cn/xwdt/gsyw/202605/t20260507_168544.html"


@pytest.mark.parametrize("script", [
    '<script>createPageHTML(4, 0, "index", "html");</script>',
    '<script language="JavaScript"><!--\ncreatePageHTML(4, 0, "index", "html");\n//--></script>',
    "<script>createPageHTML('page_div', 4, 0, 'index', 'html', 62);</script>",
])
def test_create_page_html_lists_every_page(script):
    pager = list_page(BASE, ROWS + script).pager
    assert pager.style == "createPageHTML"
    assert pager.total == 4
    assert pager.page_urls == [
        "https://www.chalco.com.cn/xwdt/gsyw/index.html", "https://www.chalco.com.cn/xwdt/gsyw/index_1.html",
        "https://www.chalco.com.cn/xwdt/gsyw/index_2.html", "https://www.chalco.com.cn/xwdt/gsyw/index_3.html"]
    assert pager.next_url == "https://www.chalco.com.cn/xwdt/gsyw/index_1.html"


def test_create_page_html_on_the_last_page_has_no_next():
    url = "https://www.chalco.com.cn/xwdt/gsyw/index_3.html"
    assert list_page(url, ROWS + '<script>createPageHTML(4, 3, "index", "html");</script>').pager.next_url is None


def test_static_pager_follows_next_and_last():
    pager_html = ('<p><a href="index.html">首页</a><a href="index.html">上一页</a><span>2</span>'
                  '<a href="index_2.html">3</a><a href="index_2.html">下一页</a><a href="index_5.html">尾页</a></p>')
    page = list_page("https://zlgj.chinalco.com.cn/xwzx/gsyw/index_1.html",
                     ROWS.replace("www.chalco.com.cn", "zlgj.chinalco.com.cn") + pager_html)
    assert page.pager.style == "static"
    assert page.pager.next_url == "https://zlgj.chinalco.com.cn/xwzx/gsyw/index_2.html"
    assert page.pager.total == 6
    assert "https://zlgj.chinalco.com.cn/xwzx/gsyw/index_5.html" in page.pager.page_urls


def test_no_pager_means_probing_the_next_index_page():
    page = list_page("https://lzly.chinalco.com.cn/xwdt/gsyw/index_1.html", ROWS)
    assert page.pager.style == "none"
    assert page.probe_url() == "https://lzly.chinalco.com.cn/xwdt/gsyw/index_2.html"
