"""No input crashes the extractor or makes it slow (issue #11).

A few hundred seeded mutations of the fixture pages (bench/fuzz_cases.py: byte flips, truncation,
tag soup, nesting 5,000 deep, huge attributes, 200,000-character runs of every kind of whitespace
and of info-line labels, 10,000s of elements, invalid hrefs, empty documents) are extracted: none
raises, and none takes seconds (the super-linear paths took 14-78 s before they were removed).
The bound here is loose on purpose, so a loaded CI machine cannot make it flaky; the target
(< 0.5 s at 300 KB) is measured by bench/fuzz.py.
"""
from __future__ import annotations

import time

import pytest

from archiver.extract import extract_bytes
from bench import fuzz_cases as fc
from tests.fixture_cases import all_cases

CASES = 240
SECONDS_PER_PAGE = 3.0


@pytest.fixture(scope="module")
def results():
    pages = [(c.url, c.body, c.headers) for c in all_cases()
             if c.status == 200 and c.body and c.page_type in ("article", "list")]
    out = []
    for name, url, body, headers in fc.cases(pages, CASES, seed=11):
        started = time.perf_counter()
        try:
            r = extract_bytes(url, body, headers)
            error = None
        except Exception as e:        # the assertion below names it
            r, error = None, f"{type(e).__name__}: {e}"
        out.append((name, url, len(body), time.perf_counter() - started, r, error))
    return out


def test_no_mutated_page_raises(results):
    errors = [(name, url, error) for name, url, _, _, _, error in results if error]
    assert not errors, errors[:5]


def test_no_mutated_page_takes_seconds(results):
    slow = [(name, url, size, round(t, 2)) for name, url, size, t, _, _ in results if t > SECONDS_PER_PAGE]
    assert not slow, slow


def test_every_mutation_family_ran(results):
    assert {name for name, *_ in results} == set(fc.MUTATIONS) and len(results) == CASES


@pytest.mark.parametrize("body, page_type", [
    (b"   \n\t  ", "empty"), (b"<!-- nothing -->", "empty"), (b"<!DOCTYPE html>", "empty"), (b"\xef\xbb\xbf", "empty"),
])
def test_a_page_of_only_whitespace_or_a_comment_is_empty_not_a_crash(body, page_type):
    r = extract_bytes("https://www.chalco.com.cn/xwdt/gsyw/202602/t20260204_163644.html", body,
                      {"Content-Type": "text/html; charset=utf-8"})
    assert (r.is_article, r.page_type) == (False, page_type)


def test_an_invalid_ipv6_href_in_tag_soup_is_skipped():
    seed = next(c for c in all_cases() if c.url.endswith("t20260210_163910.html"))
    body = seed.body.replace(b"</h1>", b'</h1><a href="http://[broken">x</a><img src="https://[::1">', 1)
    r = extract_bytes(seed.url, body, seed.headers)
    assert r.is_article and r.title == seed.expected["title"]


def test_a_200000_character_title_is_cut_and_flagged():
    seed = next(c for c in all_cases() if c.url.endswith("t20260210_163910.html"))
    text = seed.body.decode("utf-8")
    body = text.replace(seed.expected["title"], "长" * 200_000).encode("utf-8")     # <title> and headline
    r = extract_bytes(seed.url, body, seed.headers)
    assert r.is_article and r.title == "长" * 300
    assert "title_truncated" in r.quality_flags and r.quality == "bad"
