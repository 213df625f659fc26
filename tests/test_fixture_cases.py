"""Every fixture case: extraction of the saved page equals what its expected.json says.

One test per case (the comparison of `archiver fixtures check`), listing every field that differs,
so a template change reports exactly which field of which page broke. Every expected.json except
the seed's is written by the fixture generator from how it made the page (fixtures/README.md):
these tests show the extractor and the generator agree; the tests beyond the fixtures
(template changes, hostile pages, a network variant: docs/development.md) show more.
"""
from __future__ import annotations

import re
from functools import lru_cache

import lxml.html
import pytest

from archiver.extract import extract_bytes
from harness.fixturetools import check_case
from tests.fixture_cases import FIXTURES, all_cases, cases_of

ARTICLE_CASES = cases_of("article")
NON_ARTICLE_CASES = [c for c in all_cases() if c.page_type and c.page_type not in ("article", "robots", "file")]

@lru_cache(maxsize=None)
def extracted(case_id: str):
    case = next(c for c in all_cases() if c.id == case_id)
    return extract_bytes(case.url, case.body, case.headers, case.status)


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


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in all_cases()])
def test_each_case_reads_as_a_person_reads_it(case):
    """Every field its expected.json gives, compared the way `archiver fixtures check` compares:
    for an article its type, title, 来源, 作者, dates, canonical URL, channel, breadcrumb, first and
    last paragraph and their count, what the body must and must not hold, images with captions,
    attachments, language; for a list page its rows, link entries and pager. One test per case;
    the failure lists every field that differs."""
    diffs = check_case(case.path)
    assert not diffs, f"{case.id}:\n  " + "\n  ".join(map(str, diffs))


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
