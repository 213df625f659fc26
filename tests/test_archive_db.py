"""The archive file: schema migrations, WAL, idempotent upserts, failures, raw responses."""
from __future__ import annotations

import sqlite3

import pytest

from archiver.db import Archive, ArticleOutcome, applied_migrations, migrate, open_db
from archiver.db.archive import RawResponse
from archiver.db.schema import _discover


@pytest.fixture
def archive(tmp_path):
    a = Archive.open(tmp_path / "archive.db")
    yield a
    a.close()


def record(**over):
    rec = {"canonical_url": "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html",
           "url": "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html", "site": "lzly_chinalco_com_cn",
           "title": "兰州铝业召开二届五次职工代表大会", "source": "走进兰铝", "published_at": "2026-02-07",
           "body": "2月7日,公司召开二届五次职工代表大会。", "images": [], "breadcrumb": ["首页", "图片轮播"]}
    rec.update(over)
    return rec


RAW = RawResponse("https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html", 200,
                  [("Content-Type", "text/html")], "<html>兰铝</html>".encode("gb18030"), "2026-02-10T03:00:00+00:00")


def test_a_new_archive_has_every_migration_applied(archive):
    assert applied_migrations(archive.db) == sorted(m.NAME for m in _discover())
    for table in ("articles", "raw_pages", "crawl_runs", "failures", "link_entries"):
        assert table in archive.db.table_names()


def test_opening_again_applies_nothing_new(tmp_path):
    open_db(tmp_path / "a.db").close()
    db = open_db(tmp_path / "a.db", migrate_schema=False)
    assert migrate(db) == []


def test_an_archive_from_an_older_version_is_migrated_on_open(tmp_path, monkeypatch):
    open_db(tmp_path / "a.db").close()                 # written by "this" version

    class NewerMigration:                              # what a later version ships
        __name__ = "archiver.db.migrations.m9999_newer"
        NAME = "9999_newer"

        @staticmethod
        def up(db):
            db["articles"].add_column("newer_column", str)

    from archiver.db import schema
    current = schema._discover()
    monkeypatch.setattr(schema, "_discover", lambda: current + [NewerMigration])
    db = open_db(tmp_path / "a.db")
    assert "newer_column" in db["articles"].columns_dict
    assert applied_migrations(db)[-1] == "9999_newer"
    assert migrate(db) == []


def test_the_archive_is_in_wal_mode(archive):
    assert archive.db.journal_mode == "wal"


def test_storing_the_same_article_twice_adds_no_rows(archive):
    assert archive.upsert_article(record(), RAW, run_id=None, now="t1")[0] is ArticleOutcome.NEW
    counts = {t: archive.count(t) for t in ("articles", "raw_pages")}
    assert archive.upsert_article(record(), RAW, run_id=None, now="t2")[0] is ArticleOutcome.UNCHANGED
    assert {t: archive.count(t) for t in ("articles", "raw_pages")} == counts
    assert archive.article(record()["canonical_url"])["last_seen"] == "t2"


def test_a_changed_article_is_updated_in_place(archive):
    archive.upsert_article(record(), RAW, run_id=None, now="t1")
    outcome, _ = archive.upsert_article(record(body="更正后的正文。"), RAW, run_id=None, now="t2")
    assert outcome is ArticleOutcome.CHANGED
    row = archive.article(record()["canonical_url"])
    assert (row["body"], row["first_seen"], row["last_changed"]) == ("更正后的正文。", "t1", "t2")
    assert archive.count("articles") == 1


def test_json_fields_are_stored_as_json(archive):
    archive.upsert_article(record(), RAW, run_id=None, now="t1")
    assert archive.article(record()["canonical_url"])["breadcrumb"] == '["首页", "图片轮播"]'


def test_the_raw_response_is_kept_compressed_and_comes_back_byte_for_byte(archive):
    _, pk = archive.upsert_article(record(), RAW, run_id=None, now="t1")
    raw_id = archive.article(record()["canonical_url"])["raw_page_id"]
    stored = archive.db.execute("select body, body_size from raw_pages where id = ?", [raw_id]).fetchone()
    assert stored[0] != RAW.body and stored[1] == len(RAW.body)
    assert archive.raw_page(raw_id).body == RAW.body


def test_a_failure_counts_attempts_and_is_resolved_by_success(archive):
    url = RAW.url
    assert archive.record_failure(url, kind="timeout", reason="took too long", now="t1") == 1
    assert archive.record_failure(url, kind="timeout", reason="took too long", now="t2") == 2
    assert archive.count("failures") == 1
    assert [f["url"] for f in archive.open_failures()] == [url]
    archive.upsert_article(record(), RAW, run_id=None, now="t3")
    assert archive.open_failures() == []
    assert archive.db.execute("select resolved_at from failures").fetchone()[0] == "t3"


def test_non_retryable_failures_are_not_offered_for_retry(archive):
    archive.record_failure("https://www.chalco.com.cn/cms/x.html", kind="robots", reason="Forbidden by robots.txt",
                           now="t1", retryable=False)
    assert archive.open_failures() == []
    assert len(archive.open_failures(retryable_only=False)) == 1


def test_link_entries_are_unique_by_url(archive):
    kw = dict(url="https://mp.weixin.qq.com/s/x", kind="wechat", title="微信", list_url="https://x/index.html",
              list_date=None, site="chalco_com_cn", channel="xwdt/mtjj", run_id=None)
    assert archive.record_link_entry(now="t1", **kw) is True
    assert archive.record_link_entry(now="t2", **kw) is False
    assert archive.count("link_entries") == 1


def test_runs_left_running_by_a_killed_process_are_marked_interrupted(archive):
    run = archive.start_run(started_at="t0", mode="full", sites=["x"])
    assert archive.mark_interrupted_runs(now="t1") == 1
    assert archive.db["crawl_runs"].get(run)["status"] == "interrupted"


def test_a_reader_can_open_the_archive_while_a_writer_holds_a_transaction(tmp_path):
    path = tmp_path / "a.db"
    writer = Archive.open(path)
    writer.upsert_article(record(), RAW, run_id=None, now="t1")
    writer.db.execute("BEGIN IMMEDIATE")
    writer.db.execute("update articles set title = 'x'")
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
    assert reader.execute("select title from articles").fetchone()[0] == record()["title"]
    writer.db.execute("ROLLBACK")
    reader.close()
    writer.close()
