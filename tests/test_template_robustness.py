"""Template changes that keep what a reader sees keep what the extractor reads (issue #10).

Every fixture article is rewritten by each family of bench/template_variants.py (info line fields
split into span/td/li/p, label order, colons and separators, the info line as a table, the
headline in another tag, classes and ids renamed, wrappers, layout and nested tables, <br><br>
paragraphs, noise between paragraphs, share widgets, date formats, GBK with the charset only in
<meta>, a UTF-8 BOM, everything in one flat container, a one-paragraph item, an empty labelled
field) and by every pair of families on a sample of articles. Floors: title, date and source
>= 0.99 and body F1 >= 0.97 in every family and pair, and no article lost. The full table is
bench/robustness.py.
"""
from __future__ import annotations

import pytest

from bench import template_variants as tv
from tests.fixture_cases import all_cases

FLOORS = {"title": 0.99, "date": 0.99, "source": 0.99, "body_f1": 0.97}
PAIR_SAMPLE = 16          # pairs on every 16th article (all 120+ articles: bench/robustness.py)


@pytest.fixture(scope="module")
def articles():
    arts = tv.articles(all_cases())
    assert len(arts) >= 100, "the fixture articles are the corpus"
    return arts


@pytest.fixture(scope="module")
def singles(articles):
    return tv.run(articles, [(f,) for f in tv.FAMILIES])


def below_floor(row: dict) -> list[str]:
    return [f"{k} {row[k]:.3f}" for k, v in FLOORS.items() if row[k] < v] + (
        [f"{row['lost']} lost"] if row["lost"] else [])


@pytest.mark.parametrize("family", list(tv.FAMILIES))
def test_each_family_keeps_every_field(singles, family):
    row = singles[(family,)]
    assert row["n"] >= 100, f"{family} applied to only {row['n']} articles"
    assert not below_floor(row), f"{family}: {below_floor(row)} on {row['misses'][:5]}"


def test_every_pair_of_families_keeps_every_field(articles):
    table = tv.run(articles[::PAIR_SAMPLE], tv.pairs())
    failing = {" + ".join(c): below_floor(r) for c, r in table.items() if r["n"] and below_floor(r)}
    assert not failing, failing
    assert sum(r["n"] for r in table.values()) > 1000


def test_a_family_really_changes_the_page(articles):
    """The families are not no-ops: the rewritten bytes differ and the changed markup is there."""
    art = next(a for a in articles if "156684" in a.url)
    original = art.body.decode("utf-8")
    for family, marker in [("split_td", "<td>来源："), ("info_table", "<td>来源：</td><td>"),
                           ("headline_td_strong", "<strong>中铝集团召开"), ("br_paragraphs", "<br><br>"),
                           ("date_cn", "2025年10月22日"), ("empty_fields", "编辑：</span>")]:
        data, _, _ = tv.variant(art, (family,))
        text = data.decode("utf-8")
        assert marker in text and marker not in original, family
    data, headers, _ = tv.variant(art, ("gbk_meta",))
    assert "charset" not in headers["Content-Type"] and data.decode("gbk").count("中铝集团召开") >= 2
