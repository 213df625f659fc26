"""Chinese field rules, on whole pages: info lines in every form, dates, copyright years, 来源 vs 作者, credits.

Each page is built inside its test (no parsing at import time) and goes through ``extract_bytes``,
the function the crawl calls. The URL is off the network registry, so the rules hold for
templates nobody has described, not only for the CMS family.
"""
import pytest

from archiver.extract import extract_bytes
from archiver.normalize.credits import credited_authors
from archiver.normalize.dates import find_date
from archiver.pages.dom import parse_html
from archiver.pages.metadata import PageMetadata

URL = "https://www.example.gov.cn/xwzx/202602/t20260210_1001.html"
TITLE = "兰州铝业召开二届五次职工代表大会"
BODY = "".join(f"<p>第{i}段：会议总结了2025年工作成果，系统部署了2026年重点工作，动员全体干部职工勇担使命、激发动能。</p>"
               for i in range(1, 5))


def article(info_html: str, *, body: str = BODY, head: str = "", footer: str = "") -> bytes:
    return (f'<html><head><meta charset="utf-8"><title>{TITLE}_网站</title>{head}</head><body>'
            f'<div class="top"><a href="/">首页</a> <a href="/xwzx/">新闻中心</a></div>'
            f'<div class="detail"><h1>{TITLE}</h1>{info_html}<div class="TRS_Editor">{body}</div></div>'
            f'<div class="foot">{footer or "版权所有 © 2003-2026 某某公司 京ICP备05024156号"}</div>'
            f'</body></html>').encode()


def fields(html: bytes, url: str = URL) -> dict:
    r = extract_bytes(url, html)
    assert r.is_article, r.reason
    return {"title": r.title, "source": r.source, "author": r.author, "published_at": r.published_at,
            "precision": r.published_precision, "editor": r.editor, "body": r.body, "credits": r.credits,
            "extraction": r.extraction}


@pytest.mark.parametrize("info_html", [
    '<div class="info">来源：走进兰铝 时间：2026-02-07</div>',                                   # one element
    '<div class="info"><span>来源:走进兰铝</span><span>时间:2026-02-07</span></div>',             # spans, ASCII colons
    '<div class="info">来源：走进兰铝\u3000\u3000发布时间：2026-02-07</div>',                     # U+3000 separators
    '<div class="info">来源：走进兰铝&nbsp;&nbsp;&nbsp;发布日期：2026/02/07</div>',               # &nbsp; and YYYY/MM/DD
    '<div class="info"><p>时间：2026年2月7日</p><p>来源：走进兰铝</p></div>',                    # separate lines
    '<table><tr><td>文章来源：走进兰铝</td><td>发布时间：2026年02月07日</td></tr></table>',        # table cells
    '<div class="info"><span>来源：</span><span>走进兰铝</span><span>时间：</span><span>2026-02-07</span></div>',
])
def test_info_line_forms_give_source_and_day(info_html):
    f = fields(article(info_html))
    assert (f["title"], f["source"], f["published_at"], f["precision"]) == (TITLE, "走进兰铝", "2026-02-07", "day")


@pytest.mark.parametrize("shown, value, precision", [
    ("2026-02-07 09:30", "2026-02-07T09:30:00+08:00", "minute"),
    ("2026年2月7日 9:30", "2026-02-07T09:30:00+08:00", "minute"),
    ("2026/02/07 09:30:15", "2026-02-07T09:30:15+08:00", "second"),
    ("2026年02月07日", "2026-02-07", "day"),
])
def test_dates_keep_the_precision_that_was_shown(shown, value, precision):
    f = fields(article(f'<div class="info">发布时间：{shown}　来源：兰州铝业</div>'))
    assert (f["published_at"], f["precision"]) == (value, precision)


def test_author_editor_and_source_are_kept_apart():
    f = fields(article('<div class="info">来源：中国铝业报　作者：黎佩佩　责任编辑：王五　时间：2025-10-22</div>'))
    assert (f["source"], f["author"]) == ("中国铝业报", "黎佩佩")
    f = fields(article('<div class="info">来源：中国铝业报 时间：2025-10-22</div>',
                       body=BODY + "<p>（责任编辑：王五）</p>"))
    assert f["author"] is None and f["editor"] == "王五"
    assert "责任编辑" not in f["body"]


def test_an_unlabelled_outlet_next_to_the_date_is_the_source_not_the_author():
    f = fields(article('<div class="info"><span>2019-09-05 11:10</span> <span>游民星空[整理]</span></div>'))
    assert f["source"] == "游民星空" and f["author"] is None


def test_a_meta_author_naming_an_outlet_is_the_source():
    f = fields(article("", head='<meta name="author" content="新京报">'))
    assert f["author"] is None
    assert f["source"] == "新京报"


@pytest.mark.parametrize("footer", [
    "版权所有 © 2003-2026 中国铝业股份有限公司",
    "Copyright © 2019 All Rights Reserved",
    "©2026 某某网 版权所有 电话：010-8229-8888",
])
def test_a_copyright_year_is_never_a_date(footer):
    f = fields(article("", footer=footer), url="https://www.example.org/news/story.html")
    assert f["published_at"] is None


def test_no_year_no_date():
    f = fields(article('<div class="info">09-30 22:46 来源：IT之家</div>'), url="https://www.example.org/news/story.html")
    assert f["published_at"] is None and f["source"] == "IT之家"


@pytest.mark.parametrize("lead, last, names", [
    ("本网讯（记者 张三 李四）9月7日，公司召开会议。", None, ["张三", "李四"]),
    ("新华社北京9月7日电（记者王五）国务院新闻办公室今天举行发布会。", None, ["王五"]),
    ("本网讯（见习记者 赵六 通讯员 钱七）近日，兰州铝业开展技能比武。", None, ["赵六"]),
    ("文/孙八 图/周九 这是一篇特稿。", None, ["孙八"]),
    ("本报记者罗科苏盈发自北京 23日下午，论坛举行。", None, ["罗科苏盈"]),
    ("会议召开。", "公司领导出席会议。（记者 马文博）", ["马文博"]),
    ("会议召开。", "公司领导班子成员出席会议并讲话，会议取得圆满成功。（吴十）", ["吴十"]),
])
def test_reporter_credits_are_recognised(lead, last, names):
    found = credited_authors(lead, last)
    assert found is not None and found[0] == names


@pytest.mark.parametrize("lead", ["本网讯 9月7日，公司召开会议。", "（原标题：会议召开）", "据中国铝业报报道，公司召开会议。"])
def test_no_credit_is_invented(lead):
    assert credited_authors(lead, "（完）") is None


def test_credits_are_stored_apart_from_the_author():
    body = "<p>本网讯（记者 张三）9月7日，兰州铝业召开二届五次职工代表大会，总结工作、部署任务。</p>" + BODY
    f = fields(article('<div class="info">来源：走进兰铝 时间：2026-02-07</div>', body=body))
    assert f["author"] is None
    assert f["credits"] == ["张三"]
    assert f["extraction"]["credits"] == {"method": "credit:body", "raw": "（记者 张三）"}


def test_metadata_dates_are_parsed_not_guessed():
    root = parse_html('<html><head><meta name="PubDate" content="2026-02-07 09:30">'
                      '<meta property="article:published_time" content="2020-03-20T15:00:52-05:00">'
                      '</head><body><p>x</p></body></html>')
    f = PageMetadata(root).published_field
    assert (f.method, f.value.value) == ("meta:pubdate", "2026-02-07T09:30:00+08:00")
    # an explicit offset is kept (the calendar day the publisher showed), never shifted silently
    assert find_date("2020-03-20T15:00:52-05:00").value == "2020-03-20T15:00:52-05:00"


def test_json_ld_and_script_variables():
    root = parse_html('<html><head><script type="application/ld+json">{"@type": "NewsArticle", '
                      '"headline": "标题", "datePublished": "2019-09-07", "author": [{"name": "A"}, {"name": "B"}]}'
                      '</script><script>var ct = "1581480000";</script></head><body></body></html>')
    meta = PageMetadata(root)
    assert meta.published_field.method == "jsonld:datePublished"
    assert meta.author_field.value == "A B"
    root = parse_html('<html><head><script>var ct = "1581480000";</script></head><body></body></html>')
    assert PageMetadata(root).published_field.value.value == "2020-02-12T12:00:00+08:00"
