"""The body-HTML allow-list (``archiver.pages.sanitize``): what archived HTML keeps and what it loses.

The hostile inputs are the stored-XSS cases the Datasette and browser tests store in an archive
(``tests/research_corpus.py``); here each is checked at the one call every renderer goes through.
"""
from __future__ import annotations

import lxml.html
import pytest

from archiver.pages.sanitize import sanitize_html
from tests.research_corpus import HOSTILE_PARAGRAPHS, HOSTILE_TITLE, RAW_BODY_HTML

HOSTILE = [RAW_BODY_HTML, HOSTILE_TITLE, *HOSTILE_PARAGRAPHS]


def _tree(fragment: str):
    return lxml.html.fragment_fromstring(fragment, create_parent="div")


@pytest.mark.parametrize("fragment", HOSTILE, ids=[f"hostile-{i}" for i in range(len(HOSTILE))])
def test_stored_xss_cases_lose_everything_that_could_run(fragment):
    root = _tree(sanitize_html(fragment))
    assert not root.xpath("//script|//iframe|//svg|//object|//embed|//style|//form")
    for el in root.iter():
        for attr, value in el.attrib.items():
            assert not attr.lower().startswith("on"), (el.tag, attr)
            assert attr != "style" and attr != "srcdoc", (el.tag, attr)
            assert "javascript:" not in value.lower(), (el.tag, attr, value)


def test_text_that_looks_like_markup_stays_text():
    out = sanitize_html(f"<p>{HOSTILE_PARAGRAPHS[-1]}</p>")
    assert "&lt;script&gt;window.__pwned='text'&lt;/script&gt;" in out
    assert _tree(out).text_content() == "正文中的文字 <script>window.__pwned='text'</script> 只是文字。"


def test_the_raw_body_keeps_its_paragraphs_and_text():
    root = _tree(sanitize_html(RAW_BODY_HTML))
    assert [p.text_content() for p in root.xpath("//p")] == ["未净化的正文兰铝", "点击"]
    assert root.xpath("//a")[0].text_content() == "链接" and "href" not in root.xpath("//a")[0].attrib


def test_a_clean_body_keeps_paragraphs_figures_captions_tables_and_links():
    body = ('<p>第一段<strong>加粗</strong></p>'
            '<figure><img src="https://lzly.chinalco.com.cn/a.jpg" alt="厂区"><figcaption>图为厂区</figcaption></figure>'
            '<table><tr><th colspan="2">指标</th></tr><tr><td>产量</td><td rowspan="1">100</td></tr></table>'
            '<p><a href="https://www.chinalco.com.cn/x.html" title="详情">详情</a></p>')
    root = _tree(sanitize_html(body))
    assert [p.text_content() for p in root.xpath("/div/p")] == ["第一段加粗", "详情"]
    img = root.xpath("//figure/img")[0]
    assert img.get("src") == "https://lzly.chinalco.com.cn/a.jpg" and img.get("alt") == "厂区"
    assert root.xpath("//figure/figcaption")[0].text == "图为厂区"
    assert root.xpath("//th")[0].get("colspan") == "2" and [td.text for td in root.xpath("//td")] == ["产量", "100"]
    a = root.xpath("//a")[0]
    assert (a.get("href"), a.get("title")) == ("https://www.chinalco.com.cn/x.html", "详情")


def test_images_load_lazily_without_referrer_and_links_carry_rel():
    root = _tree(sanitize_html('<img src="https://a.chinalco.com.cn/x.jpg" loading="eager">'
                               '<a href="https://a.chinalco.com.cn/" rel="opener" target="_blank">x</a>'))
    img, a = root.xpath("//img")[0], root.xpath("//a")[0]
    assert (img.get("loading"), img.get("referrerpolicy")) == ("lazy", "no-referrer")
    assert a.get("rel") == "noopener noreferrer nofollow" and a.get("target") is None


@pytest.mark.parametrize("url", ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<script>x</script>",
                                 "vbscript:x", "/relative/path.html", "//a.chinalco.com.cn/x.jpg", "ftp://a.cn/x"])
def test_only_absolute_http_urls_are_kept(url):
    root = _tree(sanitize_html(f'<a href="{url}">链接</a><img src="{url}">'))
    assert root.xpath("//a")[0].get("href") is None and root.xpath("//img")[0].get("src") is None
    assert root.xpath("//a")[0].text == "链接"


def test_styles_classes_ids_and_comments_are_dropped_unknown_tags_unwrapped():
    out = sanitize_html('<div class="TRS_Editor" id="x"><p style="color:red" class="c">正文</p><!-- 注释 -->'
                        '<font face="宋体">字体</font><style>p{}</style></div>')
    assert out == "<p>正文</p>字体"


def test_empty_and_missing_input():
    assert sanitize_html("") == "" and sanitize_html(None) == ""
