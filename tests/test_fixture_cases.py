"""Every fixture case, every field: extraction of the saved page equals what a reader sees.

One test per field per case, so a template change reports exactly which field of which page
broke. The expected values come from fixtures/*/expected.json, written by reading the pages.
"""
from __future__ import annotations

import re
from functools import lru_cache

import lxml.html
import pytest

from archiver.extract import extract_bytes
from tests.fixture_cases import FIXTURES, all_cases, cases_of

ARTICLE_CASES = cases_of("article")
NON_ARTICLE_CASES = [c for c in all_cases() if c.page_type and c.page_type not in ("article", "robots", "file")]
LIST_CASES = cases_of("list")

EXACT_FIELDS = ("title", "source", "author", "published_at", "url_date", "doc_id", "canonical_url", "site",
                "channel", "breadcrumb")


@lru_cache(maxsize=None)
def extracted(case_id: str):
    case = next(c for c in all_cases() if c.id == case_id)
    return extract_bytes(case.url, case.body, case.headers, case.status)


def _params(cases, fields):
    return [pytest.param(c, f, id=f"{c.id}::{f}") for c in cases for f in fields if f in c.expected]


def declared_kinds() -> list[str]:
    """The page kinds fixtures/README.md declares (```kind` is one of `article`, `list`, ...``)."""
    line = re.search(r"^`kind` is one of (.+)\.$", (FIXTURES / "README.md").read_text(encoding="utf-8"), re.M)
    assert line, "fixtures/README.md no longer says which kinds a case can be"
    return re.findall(r"`([a-z0-9]+)`", line[1])


def test_the_corpus_covers_every_page_type():
    kinds = declared_kinds()
    assert len(kinds) >= 2, kinds
    by_type: dict[str, int] = {}
    for c in all_cases():
        folder_kind = c.path.name.split("-", 1)[0]
        assert c.page_type == folder_kind, f"{c.id}: expected.json says {c.page_type!r}, its folder {folder_kind!r}"
        assert c.page_type in kinds, f"{c.id}: page type {c.page_type!r} is not one fixtures/README.md declares"
        by_type[c.page_type] = by_type.get(c.page_type, 0) + 1
    uncovered = [k for k in kinds if not by_type.get(k)]
    assert not uncovered, f"no fixture case of the declared page types {uncovered}"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in ARTICLE_CASES])
def test_article_is_recognised_as_an_article(case):
    result = extracted(case.id)
    assert result.is_article, f"{case.id}: {result.page_type}: {result.reason}"


@pytest.mark.parametrize("case, field", _params(ARTICLE_CASES, EXACT_FIELDS))
def test_article_field(case, field):
    assert getattr(extracted(case.id), field) == case.expected[field]


@pytest.mark.parametrize("case, field", _params(ARTICLE_CASES, ("body_first", "body_last", "body_paragraphs")))
def test_article_body_paragraphs(case, field):
    paragraphs = (extracted(case.id).body or "").split("\n")
    actual = {"body_first": paragraphs[0], "body_last": paragraphs[-1], "body_paragraphs": len(paragraphs)}[field]
    assert actual == case.expected[field]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in ARTICLE_CASES if c.expected.get("body_includes")])
def test_article_body_includes(case):
    body = extracted(case.id).body or ""
    missing = [s for s in case.expected["body_includes"] if s not in body]
    assert not missing


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in ARTICLE_CASES if c.expected.get("body_excludes")])
def test_article_body_excludes_page_chrome(case):
    body = extracted(case.id).body or ""
    leaked = [s for s in case.expected["body_excludes"] if s in body]
    assert not leaked


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in ARTICLE_CASES if "images" in c.expected])
def test_article_images_with_captions(case):
    assert extracted(case.id).images == case.expected["images"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in ARTICLE_CASES if "attachments" in c.expected])
def test_article_attachments(case):
    assert extracted(case.id).attachments == case.expected["attachments"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in ARTICLE_CASES if "language" in c.expected])
def test_article_language(case):
    assert extracted(case.id).language == case.expected["language"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in NON_ARTICLE_CASES])
def test_non_article_pages_are_not_articles(case):
    result = extracted(case.id)
    assert not result.is_article
    assert result.reason, "a page that is not an article says why"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in all_cases()
                                  if c.page_type == "challenge"])
def test_challenge_pages_are_detected_as_challenges(case):
    assert extracted(case.id).page_type == "challenge"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in ARTICLE_CASES])
def test_cleaned_body_html_holds_the_body_and_no_script(case):
    html = extracted(case.id).body_html or ""
    assert html.strip(), f"{case.id}: an article's cleaned body_html is empty"
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    assert root.xpath("//p|//figure"), f"{case.id}: body_html has neither a paragraph nor a figure"
    assert not root.xpath("//script|//iframe|//object|//embed|//style")
    for el in root.iter():
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), f"event handler {name} kept"
            if name in ("href", "src"):
                assert value.startswith(("http://", "https://")), value
