"""Quality verdicts: what makes an article good, low or bad; where verdicts are stored and counted."""
import json

import pytest

from archiver.db import Archive
from archiver.db.archive import RawResponse
from archiver.quality import assess, navigation_like

BODY = "\n".join(["兰州铝业召开二届五次职工代表大会，总结2025年工作成果，部署2026年重点工作。"] * 4)
FETCHED = "2026-02-10T03:12:45+00:00"


def record(**overrides) -> dict:
    r = {"title": "兰州铝业召开二届五次职工代表大会", "published_at": "2026-02-07", "source": "走进兰铝",
         "body": BODY, "images": [], "attachments": [],
         "extraction": {"title": {"method": "chinalco:heading-before-info", "raw": "…"},
                        "published_at": {"method": "chinalco:info-line", "raw": "2026-02-07"}}}
    r.update(overrides)
    return r


def test_a_complete_article_is_good():
    v = assess(record(), now=FETCHED, expects_source=True)
    assert (v.quality, v.score, v.flags) == ("good", 1.0, [])


@pytest.mark.parametrize("overrides, flag, verdict", [
    ({"title": ""}, "title_missing", "bad"),
    ({"title": "公司要闻"}, "title_is_label", "bad"),
    ({"title": "这" * 210}, "title_implausible", "bad"),
    ({"published_at": "2026-03-01"}, "date_in_future", "bad"),          # after the fetch
    ({"published_at": "1970-01-01"}, "date_too_early", "bad"),
    ({"published_at": None}, "date_missing", "low"),
    ({"body": ""}, "body_missing", "bad"),
    ({"body": "会议召开。"}, "body_missing", "bad"),
    ({"body": "兰州铝业召开二届五次职工代表大会，总结工作成果，部署重点工作。"}, "body_short", "low"),
    ({"body": "\n".join(["首页", "新闻中心", "公司要闻", "党建工作", "企业文化", "联系我们"])}, "body_navigation", "bad"),
    ({"source": None}, "source_missing", "good"),                     # a small penalty alone
])
def test_each_problem_has_a_flag_and_a_verdict(overrides, flag, verdict):
    v = assess(record(**overrides), now=FETCHED, labels=("公司要闻", "兰州铝业"), expects_source=True)
    assert flag in v.flags
    assert v.quality == verdict


def test_a_date_only_from_the_url_and_a_title_from_the_title_tag_make_it_low():
    r = record(extraction={"title": {"method": "title-tag", "raw": "x"}, "published_at": {"method": "url", "raw": "u"}})
    v = assess(r, now=FETCHED)
    assert set(v.flags) == {"title_from_title_tag", "date_from_url"} and v.quality == "low"


def test_no_future_check_without_a_fetch_time_and_no_clock_is_read():
    assert "date_in_future" not in assess(record(published_at="2099-01-01")).flags


def test_layer_and_context_flags_survive_a_second_assessment():
    first = assess({**record(), "quality_flags": ["body_from_fallback"]}, labels=(), expects_source=True)
    again = assess({**record(), "quality_flags": first.flags}, now=FETCHED)
    assert "body_from_fallback" in again.flags and again.quality == "low"


def test_navigation_like_needs_mostly_short_unpunctuated_lines():
    assert navigation_like("\n".join(["首页", "新闻", "关于我们", "联系我们", "网站地图"]))
    assert not navigation_like(BODY)


# ----------------------------------------------------------------------------- archive
def test_migration_adds_quality_columns_and_the_review_queue(tmp_path):
    archive = Archive.open(tmp_path / "a.db")
    cols = archive.db["articles"].columns_dict
    assert {"quality", "quality_score", "quality_flags", "credits"} <= set(cols)
    assert "review_queue" in archive.db.view_names()
    raw = RawResponse("https://x.invalid/1", 200, [], b"<html></html>", FETCHED)
    for i, (quality, day) in enumerate([("good", "2026-02-01"), ("low", "2026-02-03"), ("bad", "2026-02-05")]):
        rec = {"canonical_url": f"https://lzly.chinalco.com.cn/a/{i}", "url": f"https://lzly.chinalco.com.cn/a/{i}",
               "site": "lzly_chinalco_com_cn", "title": f"t{i}", "published_at": day, "body": "b" * 40,
               "quality": quality, "quality_score": 0.5, "quality_flags": ["body_short"] if quality != "good" else []}
        archive.upsert_article(rec, raw, run_id=None, now=FETCHED)
    queue = archive.review_queue()
    assert [(r["title"], r["quality"]) for r in queue] == [("t2", "bad"), ("t1", "low")]     # newest first
    assert json.loads(queue[0]["flags"]) == ["body_short"]
    assert archive.quality_counts() == {"lzly_chinalco_com_cn": {"good": 1, "low": 1, "bad": 1}}
    archive.close()


def test_an_unchanged_article_gets_its_latest_verdict(tmp_path):
    archive = Archive.open(tmp_path / "a.db")
    raw = RawResponse("https://x.invalid/1", 200, [], b"<html></html>", FETCHED)
    rec = {"canonical_url": "https://x.invalid/1", "url": "https://x.invalid/1", "site": "s", "title": "t",
           "body": "b" * 40, "quality": "low", "quality_score": 0.7, "quality_flags": ["date_missing"]}
    archive.upsert_article(rec, raw, run_id=None, now=FETCHED)
    archive.upsert_article({**rec, "quality": "good", "quality_score": 1.0, "quality_flags": []}, raw, run_id=None,
                           now=FETCHED)
    assert archive.article("https://x.invalid/1")["quality"] == "good"
    archive.close()
