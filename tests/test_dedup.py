"""Deduplication across the network (#4): one rule per test, on small cases.

Pages come from the fixtures (extracted as the crawl does) or are small edits of them.
"""
from __future__ import annotations

import pytest

from archiver.cli_research import load_metadata
from archiver.db import Archive, ArticleOutcome, open_db
from archiver.db.archive import RawResponse
from archiver.dedup import near
from archiver.dedup.primary import choose_primary
from archiver.dedup.text import body_key, dedup_text
from archiver.extract import extract_bytes
from archiver.sites import load_network
from tests.fixture_cases import all_cases

SEED = "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html"
SEED_REPOST = "https://lzly.chinalco.com.cn/xwdt/gsyw/202602/t20260209_163875.html"
CHALCO = "https://www.chalco.com.cn/xwdt/gsyw/202602/t20260226_164665.html"
GROUP_COPY = "https://www.chinalco.com.cn/xwzx/xwzx_gsyw/202602/t20260227_164712.html"
ALIAS = "https://www.chalco.com/xwdt/gsyw/202602/t20260204_163644.html"
ALIAS_CANONICAL = "https://www.chalco.com.cn/xwdt/gsyw/202602/t20260204_163644.html"
CORRECTED = "https://lzly.chinalco.com.cn/xwdt/gsyw/202601/t20260108_162173.html"
PRICE_1 = "https://www.chalco.com.cn/cpyfw/cpbj/2020bj/202602/t20260202_163538.html"
PRICE_2 = "https://www.chalco.com.cn/cpyfw/cpbj/2020bj/202602/t20260203_163592.html"
MEETING = "https://www.chalco.com.cn/xwdt/gsyw/202602/t20260204_163644.html"
TEMPLATE_A = "https://www.chinalco.com.cn/xwzx/xwzx_gsyw/202601/t20260115_162557.html"
TEMPLATE_B = "https://zlgj.chinalco.com.cn/xwzx/gsyw/202601/t20260130_163374.html"


def case(url):
    return next(c for c in all_cases() if c.url == url)


def page(url, body_file=None):
    """(record, raw) for a fixture URL, as the crawl's extract + dedupe steps make them."""
    c = case(url)
    body = (c.path / body_file).read_bytes() if body_file else c.body
    rec = extract_bytes(c.url, body, c.headers, c.status).to_dict()
    raw = RawResponse(c.url, c.status, list(c.headers.items()), body, "2026-08-31T00:00:00+00:00")
    return rec, raw


def edited(url, new_url, **changes):
    """A fixture article served at another URL with its fields changed (a synthetic re-post)."""
    rec, raw = page(url)
    net = load_network()
    info = net.classify(new_url)
    rec.update(url=new_url, canonical_url=info.canonical_url, site=info.site.id, channel=info.channel,
               doc_id=info.doc_id, url_date=info.url_date, **changes)
    return rec, RawResponse(new_url, 200, raw.headers, raw.body + new_url.encode(), raw.fetched_at)


@pytest.fixture
def archive(tmp_path):
    a = Archive.open(tmp_path / "archive.db")
    yield a
    a.close()


def store(archive, rec_raw, now="t1"):
    return archive.upsert_article(rec_raw[0], rec_raw[1], run_id=None, now=now)


def sightings(archive, article_id):
    return list(archive.db.query("select * from sightings where article_id = ? order by url", [article_id]))


# ------------------------------------------------------------------ URL canonicalisation
@pytest.mark.parametrize("url", [
    "http://www.chalco.com.cn/xwdt/gsyw/202602/t20260204_163644.html",                       # scheme
    "https://www.chalco.com/xwdt/gsyw/202602/t20260204_163644.html",                         # alias host
    "https://www.chalco.com.cn/xwdt/gsyw/202602/./t20260204_163644.html",                    # ./
    "https://www.chalco.com.cn/xwdt/mtjj/../gsyw/202602/t20260204_163644.html",              # ../
    "https://www.chalco.com.cn/xwdt//gsyw/202602/t20260204_163644.html",                     # repeated slash
    "https://www.chalco.com.cn/xwdt/gsyw/202602/t20260204_163644.html#content",              # fragment
    "https://www.chalco.com.cn/xwdt/gsyw/202602/t20260204_163644.html?utm_source=wx&from=singlemessage",  # tracking
])
def test_every_spelling_of_an_article_url_has_one_canonical_form(url):
    assert load_network().canonical_url(url) == ALIAS_CANONICAL


def test_index_html_and_the_directory_are_one_list_url():
    net = load_network()
    assert net.canonical_url("https://zlwebsite.chinalco.com.cn/pub/zljt/xwzx/xwzx_qydt/index.html") == \
        net.canonical_url("https://www.chinalco.com.cn/xwzx/xwzx_qydt/") == "https://www.chinalco.com.cn/xwzx/xwzx_qydt/"


def test_query_parameters_that_are_not_tracking_are_kept():
    assert load_network().canonical_url("https://www.chalco.com.cn/a/x.html?id=3&utm_medium=x") == \
        "https://www.chalco.com.cn/a/x.html?id=3"


# ------------------------------------------------------------------ normalisation for exact duplicates
BODY = "2月7日，公司召开二届五次职工代表大会。\n会议总结2025年工作成果。"


def test_full_width_and_half_width_punctuation_and_digits_are_one_text():
    assert dedup_text(BODY) == dedup_text("2月7日,公司召开二届五次职工代表大会。\n会议总结２０２５年工作成果。")


def test_whitespace_indentation_and_paragraph_breaks_do_not_count():
    assert dedup_text(BODY) == dedup_text("\u3000\u30002月7日， 公司召开二届五次职工代表大会。\n\n\xa0\xa0会议总结2025年工作成果。")


def test_a_lead_reporter_credit_is_not_part_of_the_text():
    assert dedup_text("本网讯（记者 张三 通讯员 李四）" + BODY) == dedup_text(BODY)
    assert dedup_text("本网讯 " + BODY) == dedup_text(BODY)


def test_a_trailing_credit_in_brackets_is_not_part_of_the_text():
    assert dedup_text(BODY + "（张三 李四）") == dedup_text(BODY)
    assert dedup_text(BODY + "\n(通讯员 王五)") == dedup_text(BODY)


def test_a_credit_paragraph_is_not_part_of_the_text_but_a_sentence_about_a_reporter_is():
    assert dedup_text(BODY + "\n记者：张三 李四\n责任编辑：赵六") == dedup_text(BODY)
    assert dedup_text(BODY + "\n记者近日从中国铝业获悉，产量稳步增长。") != dedup_text(BODY)


def test_an_info_line_left_in_the_body_is_not_part_of_the_text():
    assert dedup_text("来源：走进兰铝 时间：2026-02-07\n" + BODY) == dedup_text(BODY)


def test_a_number_in_brackets_at_the_end_is_text_not_a_credit():
    assert dedup_text(BODY + "（2026年）") != dedup_text(BODY)


def test_a_short_body_needs_the_same_title_to_be_the_same_article():
    assert body_key("公告全文详见附件。", "董事会决议公告") != body_key("公告全文详见附件。", "监事会决议公告")
    assert body_key(BODY * 3, "标题一") == body_key(BODY * 3, "标题二")


# ------------------------------------------------------------------ exact duplicates: one article, several sightings
def test_a_repost_with_a_new_id_is_one_article_with_two_sightings(archive):
    o1, a1 = store(archive, page(SEED))
    o2, a2 = store(archive, page(SEED_REPOST))
    assert (o1, o2) == (ArticleOutcome.NEW, ArticleOutcome.DUPLICATE)
    assert a1 == a2 and archive.count("articles") == 1
    seen = sightings(archive, a1)
    assert {s["url"] for s in seen} == {SEED, SEED_REPOST}
    assert {s["channel"] for s in seen} == {"tplb", "xwdt/gsyw"}


def test_a_copy_on_the_group_site_keeps_the_source_and_date_shown_there(archive):
    _, a = store(archive, page(GROUP_COPY))
    _, b = store(archive, page(CHALCO))
    assert a == b
    by_url = {s["url"]: s for s in sightings(archive, a)}
    assert (by_url[GROUP_COPY]["source"], by_url[GROUP_COPY]["published_at"]) == ("中铝股份", "2026-02-26")
    assert (by_url[CHALCO]["source"], by_url[CHALCO]["published_at"]) == ("党委宣传部", "2026-02-25")


def test_an_alias_host_url_is_a_sighting_of_the_same_page(archive):
    _, a = store(archive, page(ALIAS_CANONICAL))
    outcome, b = store(archive, page(ALIAS))
    assert (outcome, a) == (ArticleOutcome.DUPLICATE, b)
    seen = sightings(archive, a)
    assert {s["url"] for s in seen} == {ALIAS, ALIAS_CANONICAL}
    assert {s["canonical_url"] for s in seen} == {ALIAS_CANONICAL}
    assert archive.db.execute("select canonical_url from articles").fetchall() == [(ALIAS_CANONICAL,)]


def test_a_headline_tweak_over_the_same_body_is_the_same_article_with_its_own_title(archive):
    _, a = store(archive, page(CHALCO))
    _, b = store(archive, edited(CHALCO, "https://www.chinalco.com.cn/xwzx/tplb/202602/t20260228_164800.html",
                                 title="中国铝业领导到中州铝业调研"))
    assert a == b
    assert {s["title"] for s in sightings(archive, a)} == {"中国铝业主要领导到中州铝业调研", "中国铝业领导到中州铝业调研"}


# ------------------------------------------------------------------ the primary sighting
def test_the_originating_page_is_primary_whatever_the_crawl_order(tmp_path):
    rows = []
    for order in ([SEED, SEED_REPOST, GROUP_COPY, CHALCO], [CHALCO, SEED_REPOST, GROUP_COPY, SEED]):
        a = Archive.open(tmp_path / f"{order[0][-11:]}.db")
        for url in order:
            store(a, page(url))
        rows.append(sorted((r["canonical_url"], r["url_date"], r["source"], r["body"])
                           for r in a.db.query("select * from articles")))
        a.close()
    assert rows[0] == rows[1]
    assert {r[0] for r in rows[0]} == {SEED_REPOST, CHALCO}


def test_primary_rule_earliest_day_then_role_then_document_id_then_canonical_host():
    s = lambda **kw: {"published_at": "2026-02-07", "site_role": "member", "doc_id": 5, "url": "https://a/x",  # noqa: E731
                      "canonical_url": "https://a/x", **kw}
    assert choose_primary([s(published_at="2026-02-08", url="late"), s(url="early")])["url"] == "early"
    assert choose_primary([s(site_role="group", url="g"), s(site_role="listed", url="l")])["url"] == "l"
    assert choose_primary([s(site_role="group", url="g"), s(site_role="member", url="m")])["url"] == "m"
    assert choose_primary([s(doc_id=9, url="hi"), s(doc_id=3, url="lo")])["url"] == "lo"
    assert choose_primary([s(url="https://alias/x"), s()])["url"] == "https://a/x"


# ------------------------------------------------------------------ revisions
def test_a_corrected_page_keeps_the_earlier_text_as_a_revision(archive):
    before, _ = page(CORRECTED)
    store(archive, page(CORRECTED), now="t1")
    outcome, aid = store(archive, page(CORRECTED, "body_t2.html"), now="t2")
    assert outcome is ArticleOutcome.CHANGED
    rev = list(archive.db.query("select * from revisions where article_id = ?", [aid]))
    assert len(rev) == 1 and rev[0]["body"] == before["body"]
    assert (rev[0]["captured_at"], rev[0]["superseded_at"], rev[0]["url"]) == ("t1", "t2", CORRECTED)
    after = archive.article_for_url(CORRECTED)
    assert after["body"] != before["body"] and after["last_changed"] == "t2"
    assert store(archive, page(CORRECTED, "body_t2.html"), now="t3")[0] is ArticleOutcome.UNCHANGED
    assert archive.count("revisions") == 1


def test_a_change_on_a_secondary_page_is_its_revision_and_leaves_the_article_text(archive):
    store(archive, page(SEED_REPOST))
    store(archive, page(SEED))                           # secondary: the carousel re-post
    article_body = archive.article_for_url(SEED)["body"]
    changed = page(SEED)
    changed[0]["body"] = changed[0]["body"] + "\n（图片由兰州铝业提供）"
    changed = (changed[0], RawResponse(SEED, 200, [], changed[1].body + b"<!-- v2 -->", "t2"))
    outcome, aid = store(archive, changed, now="t2")
    assert outcome is ArticleOutcome.CHANGED
    rev = archive.db.execute("select body, url from revisions").fetchall()
    assert rev == [(article_body, SEED)]
    assert archive.article_for_url(SEED)["body"] == article_body
    assert archive.db.execute("select body from sightings where url = ?", [SEED]).fetchone()[0].endswith("提供）")


def test_an_unchanged_page_only_moves_last_seen_and_is_not_fingerprinted_again(archive, monkeypatch):
    """The path a 304 revalidation takes (#6): cheap, and last_seen moves on the sighting too."""
    store(archive, page(SEED_REPOST), now="t1")
    store(archive, page(SEED), now="t1")

    def boom(*a, **k):
        raise AssertionError("fingerprinted an unchanged page")
    monkeypatch.setattr(near, "fingerprint", boom)
    counts = {t: archive.count(t) for t in ("articles", "sightings", "revisions", "raw_pages", "dedup_lsh")}
    assert store(archive, page(SEED), now="t2")[0] is ArticleOutcome.UNCHANGED
    assert {t: archive.count(t) for t in counts} == counts
    s = archive.db.execute("select first_seen, last_seen from sightings where url = ?", [SEED]).fetchone()
    assert s == ("t1", "t2")
    assert archive.article_for_url(SEED)["last_seen"] == "t2"


def test_a_copy_of_an_earlier_version_still_finds_its_article(archive):
    old = page(CORRECTED)
    store(archive, old, now="t1")
    store(archive, page(CORRECTED, "body_t2.html"), now="t2")
    outcome, _ = store(archive, edited(CORRECTED, "https://lzly.chinalco.com.cn/tplb/202601/t20260109_162200.html"),
                       now="t3")
    assert outcome is ArticleOutcome.DUPLICATE and archive.count("articles") == 1


# ------------------------------------------------------------------ near-duplicates: linked, not merged
def _paragraphs(url):
    return page(url)[0]["body"].split("\n")


NEAR_EDITS = {
    "a caption added": lambda p: p + ["图为会议现场。"],
    "a paragraph added": lambda p: p[:3] + ["会议还通报了2025年度安全环保考核结果，对先进单位进行了表彰。"] + p[3:],
    "a different lead": lambda p: ["近日，中国铝业召开2026年安全环保健康工作会议，部署年度重点任务。"] + p[1:],
    "a paragraph dropped": lambda p: p[:-2] + p[-1:],
}


@pytest.mark.parametrize("edit", NEAR_EDITS)
def test_a_near_duplicate_is_linked_with_its_similarity_and_method(archive, edit):
    _, a = store(archive, page(MEETING))
    body = "\n".join(NEAR_EDITS[edit](_paragraphs(MEETING)))
    outcome, b = store(archive, edited(MEETING, "https://www.chinalco.com.cn/xwzx/xwzx_gsyw/202602/t20260205_163700.html",
                                       body=body, title="中国铝业召开安全环保健康工作会议"))
    assert outcome is ArticleOutcome.NEW and a != b                    # not merged
    link = archive.db.execute("select article_id_a, article_id_b, similarity, method from near_duplicates").fetchall()
    assert len(link) == 1 and link[0][:2] == (a, b)
    assert 0.5 <= link[0][2] < 1 and link[0][3] == near.METHOD
    assert archive.db.execute("select count(*), count(distinct story_id) from articles").fetchone() == (2, 1)
    assert archive.db.execute("select count(*) from stories").fetchone()[0] == 1


def test_price_bulletins_of_consecutive_days_are_not_linked(archive):
    store(archive, page(PRICE_1))
    store(archive, page(PRICE_2))
    assert archive.count("near_duplicates") == 0


def test_the_dates_guard_keeps_another_days_event_apart():
    body = page(PRICE_1)[0]["body"]
    verdict = near.verify(near.fingerprint(body), near.fingerprint(body.replace("2月2日", "2月3日")))
    assert not verdict.near and verdict.reason.startswith("dates differ") and verdict.containment > 0.9


def test_the_dates_guard_lets_a_repost_drop_the_date():
    body = page(MEETING)[0]["body"]
    assert near.verify(near.fingerprint(body), near.fingerprint(body.replace("2月3日，", "近日，"))).near


def test_the_numbers_guard_keeps_other_figures_apart():
    same_day_other_prices = page(PRICE_2)[0]["body"].replace("2月3日", "2月2日")
    verdict = near.verify(near.fingerprint(page(PRICE_1)[0]["body"]), near.fingerprint(same_day_other_prices))
    assert not verdict.near and verdict.reason.startswith("numbers differ") and verdict.containment > 0.8


def test_the_same_recurring_meeting_a_year_later_is_not_linked(archive):
    store(archive, page(MEETING))
    last_year = page(MEETING)[0]["body"].replace("2026", "2025").replace("2025年", "2024年", 1).replace("2月3日", "2月5日")
    store(archive, edited(MEETING, "https://www.chalco.com.cn/xwdt/gsyw/202502/t20250206_140000.html",
                          body=last_year, published_at="2025-02-05"))
    assert archive.count("articles") == 2 and archive.count("near_duplicates") == 0


def test_the_same_template_for_another_company_and_date_is_not_linked(archive):
    store(archive, page(TEMPLATE_A))
    store(archive, page(TEMPLATE_B))
    assert archive.count("near_duplicates") == 0


def test_the_index_is_persisted_so_the_next_crawl_continues_it(tmp_path):
    a = Archive.open(tmp_path / "a.db")
    store(a, page(MEETING))
    a.close()
    b = Archive.open(tmp_path / "a.db")
    body = "\n".join(NEAR_EDITS["a caption added"](_paragraphs(MEETING)))
    store(b, edited(MEETING, "https://www.chinalco.com.cn/xwzx/xwzx_gsyw/202602/t20260205_163700.html", body=body))
    assert b.count("near_duplicates") == 1
    b.close()


# ------------------------------------------------------------------ an archive from before deduplication
def test_an_older_archive_gets_sightings_and_its_duplicates_merged(tmp_path, monkeypatch):
    from archiver.db import schema
    current = schema._discover()
    monkeypatch.setattr(schema, "_discover", lambda: [m for m in current if m.NAME < "0004"])
    old = open_db(tmp_path / "a.db")
    for url in (SEED, SEED_REPOST, CHALCO):             # the old version stored every URL as an article
        rec, _ = page(url)
        old["articles"].insert({k: v for k, v in rec.items() if k in old["articles"].columns_dict
                                and not isinstance(v, (list, dict))} | {"first_seen": "t0", "last_seen": "t0"})
    old.close()
    monkeypatch.setattr(schema, "_discover", lambda: current)
    a = Archive.open(tmp_path / "a.db")
    assert a.count("sightings") == 3
    assert a.db.execute("select count(*) from sightings where is_primary = 1").fetchone()[0] == 3
    assert a.reindex_duplicates(now="t1") == {"merged": 1, "indexed": 2, "links": 0}
    assert a.count("articles") == 2 and a.count("sightings") == 3
    assert a.article_for_url(SEED)["canonical_url"] == SEED_REPOST
    assert a.reindex_duplicates(now="t2") == {"merged": 0, "indexed": 0, "links": 0}
    a.close()


# ------------------------------------------------------------------ Datasette
# The canned queries over the deduplication tables, shipped in metadata.yml; what each needs.
DEDUP_QUERIES = {"article_by_url": "url", "story_sightings": "article", "article_revisions": "article",
                 "article_near_duplicates": "article_id", "story_counts_by_month": None, "stories_mentioning": "phrase"}


def _canned_queries() -> dict:
    return load_metadata("archive")["databases"]["archive"]["queries"]


def test_every_dedup_canned_query_answers_on_an_archive(archive):
    for url in (SEED, SEED_REPOST, MEETING):
        store(archive, page(url))
    body = "\n".join(NEAR_EDITS["a caption added"](_paragraphs(MEETING)))
    near_url = "https://www.chinalco.com.cn/xwzx/xwzx_gsyw/202602/t20260205_163700.html"
    store(archive, edited(MEETING, near_url, body=body))
    aid = archive.article_for_url(MEETING)["id"]
    params = {"url": SEED, "article": str(aid), "article_id": aid, "phrase": "安全环保"}
    queries = _canned_queries()
    for name, param in DEDUP_QUERIES.items():
        q = queries[name]
        assert q["title"] and q["description"], name
        assert param is None or f":{param}" in q["sql"], name
        rows = archive.db.execute(q["sql"], params).fetchall()
        if name != "article_revisions":          # no page has changed in this archive
            assert rows, name
    seed = archive.article_for_url(SEED)["id"]
    assert {r[0] for r in archive.db.execute(queries["article_by_url"]["sql"], params)} == {seed}
    near_id = archive.article_for_url(near_url)["id"]
    assert [r[0] for r in archive.db.execute(queries["article_near_duplicates"]["sql"], params)] == [near_id]
    assert archive.db.execute(queries["stories_mentioning"]["sql"], params).fetchone() == (2, 3, 4)   # seed (2 pages) + meeting and its near-duplicate


def test_stories_count_near_duplicates_once_and_articles_count_exact_copies_once(archive):
    for url in (SEED, SEED_REPOST, PRICE_1, PRICE_2):
        store(archive, page(url))
    con = archive.db
    assert con.execute("select count(*) from sightings").fetchone()[0] == 4
    assert con.execute("select count(*) from articles").fetchone()[0] == 3
    assert con.execute("select count(*) from stories").fetchone()[0] == 3


def test_the_dedup_command_is_idempotent(tmp_path):
    from click.testing import CliRunner

    from archiver.cli import main
    db = tmp_path / "a.db"
    a = Archive.open(db)
    store(a, page(SEED))
    a.close()
    first = CliRunner().invoke(main, ["dedup", "--db", str(db)])
    assert first.exit_code == 0 and "merged 0" in first.output
    assert "indexed 0" in CliRunner().invoke(main, ["dedup", "--db", str(db)]).output
    assert CliRunner().invoke(main, ["dedup", "--db", str(tmp_path / "none.db")]).exit_code == 2


def test_fingerprint_text_is_the_exact_duplicate_text():
    body = "本网讯（记者 张三）2月3日， 公司召开会议。\n\u3000\u3000会议 强调 2026年。\n（李四）"
    assert near.fingerprint(body).text == dedup_text(body)


def test_datasette_serves_the_views_and_canned_queries(tmp_path):
    import asyncio

    from datasette.app import Datasette
    path = tmp_path / "archive.db"
    a = Archive.open(path)
    for url in (SEED, SEED_REPOST):
        store(a, page(url))
    aid = a.article_for_url(SEED)["id"]
    a.close()
    ds = Datasette([str(path)], metadata={"databases": {"archive": {"queries": _canned_queries()}}})

    async def get(p):
        r = await ds.client.get(p)
        assert r.status_code == 200, (p, r.text[:300])
        return r.json()
    sightings = asyncio.run(get(f"/archive/story_sightings.json?article={aid}&_shape=array"))
    assert {s["url"] for s in sightings} == {SEED, SEED_REPOST}
    assert {r["article_id"] for r in asyncio.run(get(f"/archive/article_by_url.json?url={SEED_REPOST}&_shape=array"))} == {aid}
    stories = asyncio.run(get("/archive/stories.json?_shape=array"))
    assert len(stories) == 1 and stories[0]["sightings"] == 2


def test_a_304_for_a_repost_url_moves_last_seen_on_its_sighting_and_article(archive, tmp_path):
    """#6 answers a conditional request that came back 304 with CrawlState.touch_article and asks
    ArchiveReader.known before fetching: both must know a re-post URL (a non-primary sighting)."""
    from archiver.db.crawlstate import ArchiveReader, CrawlState
    store(archive, page(SEED_REPOST), now="t1")
    store(archive, page(SEED), now="t1")                    # secondary sighting: not articles.canonical_url
    assert CrawlState(archive.db).touch_article(SEED, SEED, now="t2", run_id=None)
    assert archive.db.execute("select last_seen from sightings where url = ?", [SEED]).fetchone()[0] == "t2"
    assert archive.db.execute("select last_seen from sightings where url = ?", [SEED_REPOST]).fetchone()[0] == "t1"
    assert archive.article_for_url(SEED)["last_seen"] == "t2"
    reader = ArchiveReader(tmp_path / "archive.db")
    assert reader.known(SEED, SEED) == "article"
    reader.close()
