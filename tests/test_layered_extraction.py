"""The layered extractor: which layer answers each field, and that it says so (method and raw)."""
import pytest

from harness import evaladapter
from archiver.extract import extract_bytes

NETWORK_URL = "https://www.chalco.com.cn/xwdt/gsyw/202602/t20260204_163644.html"
FOREIGN_URL = "https://news.example.org/2019/09/07/story.html"

PARAGRAPHS = "".join(
    f"<p>第{i}段：中国铝业持续推进科技创新，围绕电解铝节能降碳开展技术攻关，取得了一批重要成果，"
    f"为行业绿色低碳转型提供了有力支撑。</p>" for i in range(1, 6))
NAV = '<div class="nav"><a href="/">首页</a><a href="/xwdt/">新闻动态</a><a href="/gywm/">关于我们</a></div>'
FOOTER = '<div class="footer"><p>版权所有 中国铝业股份有限公司 京ICP备16034488号-1</p></div>'


def page(head: str = "", article: str = "", title: str = "标题页-中国铝业股份有限公司") -> bytes:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>{head}'
            f'</head><body>{NAV}{article}{FOOTER}</body></html>').encode()


def anchored_article(title="中国铝业召开科技创新大会", info="来源：党委宣传部 时间：2026-02-03"):
    return f'<div class="xl_main"><h1>{title}</h1><div class="info">{info}</div><div class="xl_con">{PARAGRAPHS}</div></div>'


def test_the_page_object_answers_first_on_its_own_template():
    r = extract_bytes(NETWORK_URL, page(article=anchored_article()))
    assert r.is_article
    assert r.extraction["title"] == {"method": "chinalco:heading-before-info", "raw": "中国铝业召开科技创新大会"}
    assert r.extraction["published_at"]["method"] == "chinalco:info-line"
    assert r.extraction["published_at"]["raw"] == "2026-02-03"
    assert r.extraction["source"]["method"] == "chinalco:info-line"
    assert r.extraction["body"]["method"] == "chinalco:after-info-line"
    assert (r.title, r.source, r.published_at) == ("中国铝业召开科技创新大会", "党委宣传部", "2026-02-03")
    assert r.quality == "good" and r.quality_flags == []


def test_trs_metas_answer_when_the_info_line_is_gone():
    head = ('<meta name="ArticleTitle" content="中国铝业召开科技创新大会">'
            '<meta name="PubDate" content="2026-02-03 09:30">'
            '<meta name="ContentSource" content="党委宣传部">')
    article = f'<div class="xl_main"><h1>中国铝业召开科技创新大会</h1><div class="xl_con">{PARAGRAPHS}</div></div>'
    r = extract_bytes(NETWORK_URL, page(head, article))
    assert r.extraction["title"]["method"] == "meta:articletitle"
    assert r.extraction["published_at"] == {"method": "meta:pubdate", "raw": "2026-02-03 09:30"}
    assert r.published_at == "2026-02-03T09:30:00+08:00" and r.published_precision == "minute"
    assert r.extraction["source"] == {"method": "meta:contentsource", "raw": "党委宣传部"}
    assert r.extraction["body"]["method"] == "generic:density"
    # on a network site, fields that had to come from a fallback layer make the article "low"
    assert {"title_from_fallback", "date_from_fallback", "body_from_fallback"} <= set(r.quality_flags)
    assert r.quality == "low"


def test_the_density_layer_answers_when_there_is_neither_info_line_nor_metas():
    article = (f'<div class="main"><h1>中国铝业召开科技创新大会</h1><p class="time">2026年2月3日 09:30</p>'
               f'<div class="article">{PARAGRAPHS}</div></div>')
    r = extract_bytes(FOREIGN_URL, page(article=article))
    assert r.extraction["title"]["method"] == "generic:headline"
    assert r.extraction["published_at"] == {"method": "generic:info-zone", "raw": "2026年2月3日 09:30"}
    assert r.extraction["body"]["method"] == "generic:density"
    assert r.body.startswith("第1段") and r.body.count("\n") == 4
    assert "版权所有" not in r.body and "首页" not in r.body


def test_the_url_date_comes_last():
    article = f'<div class="main"><h1>中国铝业召开科技创新大会</h1><div class="article">{PARAGRAPHS}</div></div>'
    r = extract_bytes(NETWORK_URL, page(article=article))
    assert r.extraction["published_at"] == {"method": "url", "raw": NETWORK_URL}
    assert r.published_at == "2026-02-04" and r.published_precision == "day"
    assert "date_from_url" in r.quality_flags


def test_title_tag_with_a_site_suffix_is_never_the_headline_when_the_page_shows_one():
    article = f'<div class="main"><h1>标题页</h1><div class="article">{PARAGRAPHS}</div></div>'
    r = extract_bytes(FOREIGN_URL, page(article=article))
    assert r.title == "标题页"
    assert r.extraction["title"]["method"] == "generic:headline"


def test_without_any_headline_the_title_tag_loses_its_suffix_and_is_flagged():
    article = f'<div class="main"><div class="article">{PARAGRAPHS}</div></div>'
    r = extract_bytes(NETWORK_URL, page(article=article))
    assert r.title == "标题页"
    assert r.extraction["title"] == {"method": "title-tag", "raw": "标题页-中国铝业股份有限公司"}
    assert "title_from_title_tag" in r.quality_flags


def test_anchors_that_caught_a_sidebar_are_overruled_and_flagged():
    # a redesign: the article lost its info line, a sidebar box still has one
    sidebar = '<div class="box"><h3>图片新闻</h3><div>来源：党委宣传部 时间：2026-02-03</div><p>更多</p></div>'
    article = f'<div class="wrap2"><h1>中国铝业召开科技创新大会</h1><div class="wrap3">{PARAGRAPHS}</div></div>'
    r = extract_bytes(NETWORK_URL, page(article=sidebar + article, title="中国铝业召开科技创新大会-中国铝业股份有限公司"))
    assert r.title == "中国铝业召开科技创新大会"          # <title> names the headline, not the sidebar heading
    assert r.extraction["title"]["method"] == "generic:headline"
    assert r.extraction["body"]["method"] == "generic:density"
    assert r.body.startswith("第1段")
    assert {"title_from_fallback", "body_from_fallback"} <= set(r.quality_flags)
    assert r.quality == "low"


@pytest.mark.parametrize("html", [
    "", "   ", "\x00\x01PNG", "just text, not html", "<html><head><script>var a=1;</script></head></html>",
    "<html><body>" + "<div>" * 3000 + "深层文本，" * 40 + "</div>" * 3000 + "</body></html>",
    "<body>" + "".join(f'<a href="/{i}">链接{i}</a>' for i in range(3000)) + "</body>",
    '<html><body><h1>标题</h1><p hidden>隐藏的文字，不应出现在正文里。</p></body></html>',
])
def test_no_page_crashes_the_extractor(html):
    out = evaladapter.extract(html, None)
    assert isinstance(out, dict)
    r = extract_bytes(FOREIGN_URL, html.encode("utf-8"))
    assert r.page_type
