"""The search index follows every upsert and delete, and ``search`` finds and ranks exactly."""
import sqlite3

import pytest

from archiver.db import Archive, applied_migrations
from archiver.db import search_index
from archiver.search.query import count_by_site, matching_ids, search
from archiver.search.zh import parse
from tests.searchutil import put


def _truth(db, q: str) -> list[int]:
    words = q.split()
    return [r[0] for r in db.execute("select id, title, body from articles order by id")
            if all(w in (r[1] or "") or w in (r[2] or "") for w in words)]


def test_migration_creates_index_and_help(tmp_path):
    a = Archive.open(tmp_path / "a.db")
    assert "0005_search" in applied_migrations(a.db)
    names = set(a.db.table_names())
    assert {"articles_fts", "search_help"} <= names
    keys = {r["key"] for r in a.db.query("select key from search_help")}
    assert {"search", "search_count", "contains", "index"} <= keys


def test_migration_indexes_articles_already_in_an_old_archive(tmp_path):
    path = tmp_path / "old.db"
    a = Archive.open(path)
    put(a, 1, "兰州铝业召开职代会", "会议总结2025年工作。")
    # Simulate an archive written before 0005: drop the index and forget the migration.
    search_index.drop_triggers(a.db)
    a.db.execute("drop table articles_fts")
    a.db.execute("drop table search_help")
    a.db.execute("delete from schema_migrations where name = '0005_search'")
    a.db.conn.commit()
    a.close()
    b = Archive.open(path)
    assert matching_ids(b.db, "职代会") == [1]
    assert search_index.check(b.db)["ok"]


def test_upsert_change_and_delete_keep_the_index_in_step(tmp_path):
    a = Archive.open(tmp_path / "a.db")
    pk = put(a, 1, "兰州铝业召开二届五次职工代表大会", "会议总结2025年工作成果。")
    other = put(a, 2, "中铝集团安全生产月", "安全第一。")
    assert matching_ids(a.db, "职工代表大会") == [pk]
    assert matching_ids(a.db, "安全") == [other]
    # unchanged upsert: nothing new in the index
    put(a, 1, "兰州铝业召开二届五次职工代表大会", "会议总结2025年工作成果。")
    assert search_index.check(a.db) == {**search_index.check(a.db), "ok": True, "articles": 2, "indexed": 2}
    # changed body: old words leave the index, new ones arrive
    put(a, 1, "兰州铝业召开二届五次职工代表大会", "党建引领高质量发展。")
    assert matching_ids(a.db, "工作成果") == []
    assert matching_ids(a.db, "党建") == [pk]
    assert matching_ids(a.db, "职工代表大会") == [pk]
    # delete (foreign keys off: what else refers to an article is another module's business)
    a.db.execute("PRAGMA foreign_keys = OFF")
    a.db.execute("delete from articles where id = ?", [pk])
    assert matching_ids(a.db, "职工代表大会") == []
    assert matching_ids(a.db, "安全") == [other]
    assert search_index.check(a.db)["ok"]
    a.db.execute("insert into articles_fts(articles_fts, rank) values ('integrity-check', 0)")


def test_any_write_to_articles_keeps_the_index_in_step(tmp_path):
    """Triggers, not callers: direct SQL, sqlite-utils updates, INSERT OR REPLACE, deletes."""
    a = Archive.open(tmp_path / "a.db")
    pk = put(a, 1, "兰州铝业召开职代会", "会议部署工作。")
    a.db["articles"].update(pk, {"body": "党建引领发展。"})
    assert matching_ids(a.db, "党建") == [pk] and matching_ids(a.db, "部署") == []
    a.db.execute("update articles set title = '中铝集团新闻' where id = ?", [pk])
    assert matching_ids(a.db, "中铝集团") == [pk] and matching_ids(a.db, "职代会") == []
    a.db.execute("update articles set last_seen = 'x' where id = ?", [pk])          # not title/body: no work
    row = dict(next(a.db.query("select * from articles where id = ?", [pk])))
    a.db["articles"].insert({**row, "title": "替换后的标题"}, replace=True)         # REPLACE deletes, then inserts
    assert matching_ids(a.db, "替换后") == [pk] and matching_ids(a.db, "中铝集团") == []
    a.db.execute("PRAGMA foreign_keys = OFF")           # sightings etc. may refer to it (schema 0004)
    a.db.execute("delete from articles where id = ?", [pk])
    assert matching_ids(a.db, "替换后") == []
    assert search_index.check(a.db)["ok"]
    a.db.execute("insert into articles_fts(articles_fts, rank) values ('integrity-check', 0)")


def test_a_connection_without_the_function_reads_but_cannot_desync(tmp_path):
    path = tmp_path / "a.db"
    a = Archive.open(path)
    put(a, 1, "兰州铝业召开职代会", "会议部署工作。")
    a.close()
    conn = sqlite3.connect(path)                     # e.g. the sqlite3 shell: no zh_index3
    assert conn.execute("select title from articles").fetchone()[0] == "兰州铝业召开职代会"
    assert conn.execute("""select rowid from articles_fts where articles_fts match '"职代 代会"'""").fetchall() == [(1,)]
    assert conn.execute("""select rowid from articles_fts where articles_fts match '职'""").fetchall() == [(1,)]
    with pytest.raises(sqlite3.OperationalError, match="zh_index3"):
        conn.execute("update articles set title = '改' where id = 1")
    conn.close()


def test_bulk_load_indexes_once_at_the_end(tmp_path):
    a = Archive.open(tmp_path / "a.db")
    with search_index.bulk_load(a.db):
        for i in range(20):
            put(a, i, f"标题{i} 兰铝", "正文")
        assert matching_ids(a.db, "兰铝") == []      # not yet
    assert len(matching_ids(a.db, "兰铝")) == 20
    assert search_index.check(a.db)["ok"]


def test_reindex_rebuilds_the_same_index(tmp_path):
    a = Archive.open(tmp_path / "a.db")
    for i in range(30):
        put(a, i, f"标题{i}号 兰铝", f"正文第{i}段。电解铝 ESG 报告")
    before = {q: matching_ids(a.db, q) for q in ("兰铝", "电解铝", "ESG", "5号")}
    a.db.execute("insert into articles_fts(articles_fts) values ('delete-all')")
    assert not search_index.check(a.db)["ok"]
    assert a.reindex() == 30
    assert {q: matching_ids(a.db, q) for q in before} == before
    assert search_index.check(a.db)["ok"]


def test_search_ranks_headline_hits_first_and_shows_an_excerpt(tmp_path):
    a = Archive.open(tmp_path / "a.db")
    body_only = put(a, 1, "公司召开年度工作会议", "会上，" + "各单位汇报了工作。" * 5 + "兰铝将继续推进改革。")
    in_title = put(a, 2, "兰铝召开工作会议", "会议部署全年工作。" * 6)
    put(a, 3, "中铝集团安全生产", "安全第一。")
    rows = search(a.db, "兰铝")
    assert [r["id"] for r in rows] == [in_title, body_only]
    assert [r["found_in"][:2] for r in rows] == ["标题", "正文"]
    assert "【兰铝】将继续推进改革" in rows[1]["excerpt"]
    assert rows[1]["excerpt"].startswith("…")
    assert search(a.db, "") == []
    assert search(a.db, "   ") == []
    assert count_by_site(a.db, "兰铝")[0]["articles"] == 2


def test_search_multi_term_mixed_and_fullwidth(tmp_path):
    a = Archive.open(tmp_path / "a.db")
    p1 = put(a, 1, "兰州铝业召开职代会", "发布2026年ESG报告，6063铝合金产量增长。")
    p2 = put(a, 2, "兰州铝业新闻", "没有那个词。2025年")
    ids = lambda q: sorted(r["id"] for r in search(a.db, q))
    assert ids("兰州铝业 职代会") == [p1]
    assert ids("兰州铝业") == [p1, p2]
    assert ids("2026年") == [p1]
    assert ids("esg") == [p1]
    assert ids("ＥＳＧ报告") == [p1]
    assert ids("6063铝合金") == [p1]
    assert ids("职代会 不存在的词") == []


def test_the_index_finds_exactly_the_substrings_and_follows_changes(tmp_path):
    a = Archive.open(tmp_path / "a.db")
    put(a, 1, "兰州铝业召开职代会", "兰州铝业。职代会在兰州召开，铝业发展。")
    put(a, 2, "中铝新闻", "兰州 铝业不是兰州铝业？兰州铝。业")
    put(a, 3, "其他", "电解铝产能2026年，A股B")
    queries = ["兰州铝业", "兰州", "铝业", "州铝", "铝业发展", "职代会", "电解铝产能", "兰州铝业 职代会",
               "业兰", "铝", "州", "能", "铝 2026年", "2026年", "能2026", "A股B", "股", "铝。业", "铝 兰州",
               "年，A", "产能2026年，A股"]
    for q in queries:
        assert matching_ids(a.db, q) == _truth(a.db, q), q
    assert matching_ids(a.db, "兰州 OR 电解") == [1, 2, 3] and matching_ids(a.db, "兰州 -职代会") == [2]
    assert matching_ids(a.db, "兰州 OR 电解 2026年") == [3] and matching_ids(a.db, "铝 OR 股 职代会 -不") == [1]
    assert matching_ids(a.db, "铝 -职") == [2, 3] and matching_ids(a.db, "铝 OR 能") == [1, 2, 3]
    a.db.execute("update articles set body = '换了内容' where id = 2")
    assert matching_ids(a.db, "兰州铝业") == [1]
    assert matching_ids(a.db, "换") == [2] and matching_ids(a.db, "业") == [1]
    for t in ("sightings", "dedup_lsh", "dedup_signatures"):
        a.db.execute(f"delete from {t} where article_id = 1")
    a.db.execute("delete from articles where id = 1")
    assert matching_ids(a.db, "兰州铝业") == [] and matching_ids(a.db, "业") == []
    assert matching_ids(a.db, "换了内容") == [2]
    assert search_index.check(a.db)["ok"]
    a.db.execute("insert into articles_fts(articles_fts, rank) values ('integrity-check', 0)")
    a.db.execute("drop trigger articles_fts_update")
    assert search_index.check(a.db)["missing_triggers"] == ["articles_fts_update"]


# Rule 2 as migrations 0005 and 0008 left an archive (before 0009): per-character phrases in
# articles_fts (title first), bigrams of runs only in articles_fts_bigram, triggers calling
# zh_shadow and zh_bigrams.
_RULE2 = {
    "articles_fts": "create virtual table articles_fts using fts5(title, body, content='')",
    "articles_fts_bigram": "create virtual table articles_fts_bigram using fts5(title, body, content='', columnsize=0)",
}


def _rule2_bigrams(text):
    import re
    runs = re.findall(r"[\u4e00-\u9fff]{2,}", text or "")
    return " \ue000 ".join(" ".join(r[i:i + 2] for i in range(len(r) - 1)) for r in runs)


def _make_rule2_archive(path) -> None:
    """An archive as the archiver of migration 0008 wrote it (its index definitions and triggers)."""
    from archiver.search.zh import shadow

    a = Archive.open(path)
    for i, (t, b) in enumerate([("兰州铝业召开职代会", "会议总结2025年工作。铝业发展"), ("中铝新闻", "电解铝产能提升，ESG报告")]):
        put(a, i + 1, t, b)
    db = a.db
    search_index.drop_triggers(db)
    db.conn.create_function("zh_shadow", 1, shadow)
    db.conn.create_function("zh_bigrams", 1, _rule2_bigrams)
    for name, sql in _RULE2.items():
        db.execute(f"drop table if exists {name}")
        db.execute(sql)
        fn = "zh_shadow" if name == "articles_fts" else "zh_bigrams"
        db.execute(f"insert into {name}(rowid, title, body) select id, {fn}(title), {fn}(body) from articles")
        db.execute(f"create trigger {name}_insert after insert on articles begin insert into {name}(rowid, title, body) "
                   f"values (new.id, {fn}(new.title), {fn}(new.body)); end")
    db.execute("update search_help set how = replace(how, ?, 'zh-unigram-2') where key = 'index'",
               [search_index.RULE_VERSION])
    db.execute("delete from schema_migrations where name = '0009_search_bigram_edges'")
    db.conn.commit()
    a.close()


def test_migration_0009_converts_a_rule2_archive(tmp_path):
    path = tmp_path / "old.db"
    _make_rule2_archive(path)
    conn = sqlite3.connect(path)
    assert "title, body" in conn.execute("select sql from sqlite_master where name = 'articles_fts'").fetchone()[0]
    assert conn.execute("""select rowid from articles_fts where articles_fts match '"职 代 会"'""").fetchall() == [(1,)]
    conn.close()
    b = Archive.open(path)
    assert "0009_search_bigram_edges" in applied_migrations(b.db)
    assert b.db.repairs == []
    sql = {r[0]: r[1] for r in b.db.execute("select name, sql from sqlite_master where name like 'articles_fts%'")}
    assert sql["articles_fts"].endswith("fts5(body, title, content='')")
    assert "articles_fts_bigram" not in sql and not any("bigram" in n for n in sql)
    assert all("zh_index3" in sql[f"articles_fts_{t}"] for t in ("insert", "update", "delete"))
    for q, want in [("职代会", [1]), ("铝", [1, 2]), ("2025年", [1]), ("ESG报告", [2]), ("电解铝 ESG", [2]),
                    ("铝 2025年", [1]), ("业", [1])]:
        assert matching_ids(b.db, q) == want, q
    assert search_index.check(b.db)["ok"] and search_index.check(b.db)["same_rule"]
    put(b, 3, "新的文章", "职代会闭幕")                   # the converted archive keeps both indexes in step
    assert matching_ids(b.db, "职代会") == [1, 3] and matching_ids(b.db, "闭") == [3]
    assert [r["id"] for r in search(b.db, "职代会")] == [1, 3]
    b.close()


def test_check_reports_an_archive_indexed_with_rule2(tmp_path):
    path = tmp_path / "old.db"
    _make_rule2_archive(path)
    import sqlite_utils
    db = sqlite_utils.Database(path)                  # not migrated: what --check sees before 0009
    search_index.register(db.conn)
    result = search_index.check(db)
    assert not result["ok"] and not result["same_rule"]
    db.close()
