"""Broken markup that makes lxml drop the article is read again tolerantly (BeautifulSoup's
html.parser: archiver/pages/repair.py), for every page at an article URL that no layer could read.

Each case is the real seed page, broken the way a template or an include can break it.
"""
from __future__ import annotations

import pytest

from archiver.extract import extract_bytes
from archiver.pages.repair import MAX_REPAIR_CHARS, repaired_html
from tests.fixture_cases import all_cases

SEED = next(c for c in all_cases() if c.url.endswith("/tplb/202602/t20260210_163910.html"))
HTML = SEED.body.decode("utf-8")
INFO = HTML.index("来源")
BODY_START = HTML.index("<p", INFO)


def breakages():
    # the document closed early by an include: the article body stands after </html>
    yield "content_after_html_end", HTML[:BODY_START] + "</div></body></html>" + HTML[BODY_START:]
    # a template comment that is never closed, just before the article (later comments broken too)
    yield "unclosed_comment", HTML[:BODY_START] + "<!-- <div class=\"bdsharebuttonbox\"> " + HTML[BODY_START:].replace("-->", "- ->")


@pytest.mark.parametrize("name, html", list(breakages()))
def test_an_article_lxml_loses_is_read_whole_and_flagged(name, html):
    broken = extract_bytes(SEED.url, html.encode("utf-8"), SEED.headers)
    assert broken.is_article and broken.extraction_status == "complete", (name, broken.extraction_reason)
    assert broken.title == SEED.expected["title"]
    paragraphs = broken.body.split("\n")
    assert paragraphs[0] == SEED.expected["body_first"] and paragraphs[-1] == SEED.expected["body_last"]
    assert "markup_repaired" in broken.quality_flags
    assert broken.encoding == "utf-8"


def test_a_sound_page_is_never_reparsed():
    result = extract_bytes(SEED.url, SEED.body, SEED.headers)
    assert "markup_repaired" not in result.quality_flags


def test_the_repair_adds_nothing_when_lxml_lost_nothing_and_is_bounded():
    assert repaired_html("<html><body><p>一段完整的正文。</p></body></html>", lxml_text_chars=8) is None
    assert repaired_html("<p>" + "字" * MAX_REPAIR_CHARS + "</p>", lxml_text_chars=0) is None


def test_constructs_that_never_close_are_defused_before_html_parser_sees_them():
    from archiver.pages.repair import _defuse
    assert _defuse("<p>正文</p><!-- 不闭合<div>") == "<p>正文</p> 不闭合<div>"
    assert _defuse("<p>正文</p>尾部 </x </y") == "<p>正文</p>尾部 &lt;/x &lt;/y"
    assert _defuse("<!-- 注释 --><p>正文</p>") == "<!-- 注释 --><p>正文</p>"      # a sound page is unchanged


def test_markup_the_parser_rejects_is_not_repaired():
    assert repaired_html("<html><body>" + "<![x" * 100 + "<p>正文</p>", lxml_text_chars=0) is None
