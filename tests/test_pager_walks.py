"""Pagers are read in every style, then verified against what the pages hold (archiver/walks.py)."""
from __future__ import annotations

import pytest

from archiver.pages.base import PageInput, response_from_bytes
from archiver.pages.lists import ListPage
from archiver.walks import PagerWalk

BASE = "https://www.chalco.com.cn/xwdt/gsyw/"
ROWS = "".join(f'<li><a href="./202601/t2026010{i}_16000{i}.html">新闻{i}</a><span>2026-01-0{i}</span></li>'
               for i in range(1, 6))


def page(url: str, pager: str) -> ListPage:
    html = f'<html><body><div class="listBox"><ul>{ROWS}</ul></div><div class="page">{pager}</div></body></html>'
    return ListPage(PageInput(response_from_bytes(url, html.encode("utf-8"), {"Content-Type": "text/html"})))


@pytest.mark.parametrize("pager", [
    '<script>createPageHTML(3, 0, "index", "html");</script>',
    "<script>createPageHTML('page_div', 3, 0, 'index', 'html', 10);</script>",
    '<script>createPageHTML( "page_div" ,3,0 , "index","html",10 )</script>',
    "<script>createPageHTML('3','0','index','html');</script>",
    '<script><!-- createPageHTML(3, 0, "index", "html"); //--></script>',
    '<!-- createPageHTML(3, 0, "index", "html"); -->',
    '<div id="page_div" data-x="1">createPageHTML(3, 0, "index", "html")</div>',
])
def test_every_createpagehtml_form_is_read(pager):
    p = page(BASE + "index.html", pager).pager
    assert (p.style, p.total, p.current) == ("createPageHTML", 3, 0)
    assert p.next_url == BASE + "index_1.html" and p.page_urls[-1] == BASE + "index_2.html"


def test_static_links_next_and_last_are_read():
    p = page(BASE + "index_1.html", '<a href="index.html">上一页</a><span>2</span><a href="index_2.html">3</a>'
                                     '<a href="index_2.html">下一页</a><a href="index_5.html">尾页</a>')
    assert p.pager.style == "static" and p.pager.next_url == BASE + "index_2.html" and p.pager.total == 6
    assert p.next_candidates()[0] == BASE + "index_2.html"


def test_numbered_links_without_next_give_the_following_page():
    p = page(BASE + "index.html", '<span>1</span><a href="index_1.html">2</a><a href="index_2.html">3</a>')
    assert BASE + "index_1.html" in p.next_candidates()


def test_total_pages_text_without_links_marks_the_last_page():
    p = page(BASE + "index_2.html", "<span>共3页</span> <span>上一页</span>")
    assert p.pager.style == "static" and p.pager.total == 3 and p.pager.is_last


def test_no_pager_probes_the_next_index_page():
    p = page(BASE + "index.html", "")
    assert p.pager.style == "none" and not p.pager.is_last and p.probe_url() == BASE + "index_1.html"


def test_an_invalid_href_in_tag_soup_is_skipped_not_a_crash():
    p = page(BASE + "index.html", '<a href="http://[broken">x</a><a href="index_1.html">下一页</a>')
    assert p.pager.next_url == BASE + "index_1.html"


# ---------------------------------------------------------------- the walk
ARTS = [f"https://h/a{i}.html" for i in range(40)]


def test_a_walk_goes_on_while_pages_add_article_urls():
    w = PagerWalk(BASE + "index.html")
    assert w.judge(ARTS[:10], 10, 3)
    assert w.next_page([BASE + "index_1.html"], BASE + "index_1.html", last_page=False, rows=10) == (
        BASE + "index_1.html", False)
    assert w.judge(ARTS[10:20], 10, 3)


def test_a_page_that_adds_nothing_new_ends_the_walk_and_a_broken_promise_is_reported():
    w = PagerWalk(BASE + "index.html")
    w.judge(ARTS[:10], 10, 10000)                         # createPageHTML(10000, …)
    w.next_page([BASE + "index_1.html"], None, last_page=False, rows=10)
    assert not w.judge(ARTS[:10], 0, 10000)                # index_1.html shows the same rows
    assert w.stopped == "no_new_rows" and "promised 10000 pages, delivered 2" in w.warning


def test_a_pager_pointing_at_itself_is_not_followed_twice():
    w = PagerWalk(BASE + "index.html")
    w.judge(ARTS[:10], 10, None)
    assert w.next_page([BASE + "index.html"], None, last_page=False, rows=10) is None
    assert w.stopped == "no_next"


def test_a_full_last_page_is_checked_past_the_pager_claim():
    """createPageHTML says 2 pages, but the last one is as full as the first: try index_2.html."""
    w = PagerWalk(BASE + "index.html")
    w.judge(ARTS[:10], 10, 2)
    w.next_page([BASE + "index_1.html"], BASE + "index_1.html", last_page=False, rows=10)
    w.judge(ARTS[10:20], 10, 2)
    assert w.next_page([], BASE + "index_2.html", last_page=True, rows=10) == (BASE + "index_2.html", True)


def test_a_short_last_page_ends_the_walk_quietly():
    w = PagerWalk(BASE + "index.html")
    w.judge(ARTS[:10], 10, 2)
    w.next_page([BASE + "index_1.html"], None, last_page=False, rows=10)
    w.judge(ARTS[10:14], 4, 2)
    assert w.next_page([], BASE + "index_2.html", last_page=True, rows=4) is None
    assert w.stopped == "last_page" and w.warning is None


def test_the_list_page_budget_ends_a_walk_that_keeps_finding_new_rows_and_says_so():
    w = PagerWalk(BASE + "index.html", max_pages=3)
    for n in range(1, 4):
        w.judge(ARTS[n * 10:(n + 1) * 10], 10, None)
        nxt = w.next_page([f"{BASE}index_{n}.html"], None, last_page=False, rows=10)
    assert nxt is None and w.stopped == "budget" and not w.complete and "ARCHIVER_MAX_LIST_PAGES" in w.warning


def test_a_missing_page_the_pager_named_is_reported():
    w = PagerWalk(BASE + "index.html")
    w.judge(ARTS[:10], 10, 5)
    w.missing(BASE + "index_1.html")
    assert "promised 5 pages, delivered 1" in w.warning and "index_1.html" in w.warning


def test_incremental_walks_stop_after_the_margin_of_archived_pages():
    w = PagerWalk(BASE + "index.html", incremental=True, margin=1)
    assert w.judge(ARTS[:10], 3, None)          # new rows
    assert w.judge(ARTS[10:20], 0, None)        # margin
    assert not w.judge(ARTS[20:30], 0, None)
    assert w.stopped == "archived" and w.warning is None
