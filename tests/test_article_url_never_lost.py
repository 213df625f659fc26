"""A 200 HTML page at an article URL is archived unless it is positively something else (issue #10).

The layers degrade one after the other: the page object (anchored on the info line), page
metadata, the generic density layer, and a last resort (headline from <title> without the site's
name, the URL date, the visible text outside navigation and footer). A page read by the last
resort is archived as ``degraded`` with the reason, and lands in the review queue.
"""
from __future__ import annotations

import pytest

from archiver.extract import extract_bytes

URL = "https://www.chinalco.com.cn/xwzx/xwzx_qydt/202607/t20260701_172646.html"
TITLE = "中铝集团召开安全生产专题会议"
PARA = "7月1日，中铝集团召开安全生产专题会议，传达学习有关会议精神，部署下一阶段安全生产重点工作。"


def extract(html: str, url: str = URL):
    return extract_bytes(url, html.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


def article(info: str, body: str = f"<p>{PARA}</p>") -> str:
    return (f"<html><head><title>{TITLE}_中国铝业集团有限公司</title></head><body><div class='top'>中铝网站群</div>"
            f"<div class='xl_main'><h2>{TITLE}</h2>{info}{body}<div class='fj'>附件：</div></div>"
            f"<div class='footer'>版权所有 中国铝业集团有限公司 京ICP备16034488号-1</div></body></html>")


@pytest.mark.parametrize("info", [
    "<span>来源：中国铝业报</span><span>时间：2026-07-01</span><span>作者：</span>",
    "<span>来源：中国铝业报</span><span>时间：2026-07-01</span><span>作者：张三</span>",
    "<div class='info'><span>来源：中国铝业报</span><span>时间：2026-07-01</span><span>作者：</span></div>",
    "<p class='info'>来源：中国铝业报　时间：2026-07-01　作者：</p>",
    "<span>来源：中国铝业报</span><span>时间：2026-07-01</span><span>作者：</span><span>【打印】</span>",
    "<span>来源:中国铝业报</span>&nbsp;&nbsp;<span>时间:2026-07-01</span>&nbsp;&nbsp;<span>编辑:</span>",
], ids=["bare-spans-empty-author", "bare-spans-author", "wrapped-spans-empty", "one-p-empty", "widget-after",
        "ascii-colons-empty-editor"])
def test_a_one_paragraph_item_with_empty_labelled_fields_is_read_completely(info):
    r = extract(article(info))
    assert r.is_article and r.extraction_status == "complete"
    assert (r.title, r.published_at, r.source, r.body) == (TITLE, "2026-07-01", "中国铝业报", PARA)
    assert r.author in (None, "张三")


def test_without_an_info_line_the_generic_layer_reads_the_page():
    r = extract(article("", body="".join(f"<p>{PARA}第{i}段。</p>" for i in range(6))))
    assert r.is_article and r.title == TITLE and r.published_at == "2026-07-01"
    assert PARA in r.body and r.extraction["body"]["method"].startswith("generic")


def test_page_metadata_gives_the_date_when_the_page_shows_none():
    html = article("", body="".join(f"<p>{PARA}第{i}段。</p>" for i in range(6))).replace(
        "<head>", '<head><meta name="PubDate" content="2026-06-30 10:00">')
    r = extract(html)
    assert r.published_at.startswith("2026-06-30") and r.extraction["published_at"]["method"].startswith("meta")


def test_the_last_resort_keeps_an_unreadable_short_page_as_degraded():
    html = (f"<html><head><title>{TITLE}_中国铝业集团有限公司</title></head><body><div class='nav'><a href='/'>首页</a>"
            f"</div><div>短讯。</div><div class='footer'>版权所有 中国铝业集团有限公司</div></body></html>")
    r = extract(html)
    assert r.is_article and r.extraction_status == "degraded" and r.extraction_reason
    assert r.title == TITLE and r.published_at == "2026-07-01" and r.body == "短讯。"
    assert r.quality == "bad" and "degraded" in r.quality_flags
    assert r.extraction["body"]["method"] == "last-resort:visible-text"


def test_a_list_page_at_an_article_url_needs_positive_evidence():
    rows = "".join(f"<li><a href='/xwzx/xwzx_qydt/202606/t2026060{i}_17000{i}.html'>新闻{i}</a></li>"
                   for i in range(1, 7))
    r = extract(f"<html><head><title>企业动态</title></head><body><ul>{rows}</ul></body></html>")
    assert r.page_type == "list" and not r.is_article
    two = "".join(f"<li><a href='/xwzx/xwzx_qydt/202606/t2026060{i}_17000{i}.html'>相关{i}</a></li>" for i in (1, 2))
    r = extract(article("<span>时间：2026-07-01</span>", body=f"<p>{PARA}</p><ul>{two}</ul>"))
    assert r.is_article                              # two related links do not make a list page


def test_soft_404s_and_challenges_at_article_urls_are_not_articles():
    r = extract("<html><head><title>页面不存在</title></head><body><p>对不起，您访问的页面不存在或已被删除。</p></body></html>")
    assert (r.is_article, r.page_type) == (False, "soft404")
    r = extract("<html><body><script>document.cookie='a=b';location.reload();</script></body></html>")
    assert not r.is_article and r.page_type == "challenge"


def test_off_the_article_grammar_nothing_is_forced():
    r = extract("<html><body><div>短讯。</div></body></html>", url="https://www.chinalco.com.cn/gywm/gsjj/")
    assert not r.is_article
