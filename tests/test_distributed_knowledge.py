"""What workers know of the archive, copied into Redis (archiver/distributed/knowledge.py).

The specification is :class:`ArchiveReader`: for every URL an archive holds (in every table the
four questions read), for unknown URLs, and for (canonical, fetched) pairs of them,
:class:`RedisKnowledge` after :func:`export_knowledge` answers exactly what the reader answers.
The archive is a real crawl of the bundled replica, with what a first crawl does not leave
(aliases, failures of archived URLs, validators of many ages, unfinished walks) added through
the archive's own write API; a second, hand-made archive holds the rows only a damaged or
hand-edited archive has (a sighting without its article, validators without either value).
"""
from __future__ import annotations

import itertools
import random
import sqlite3
from pathlib import Path

import pytest

from archiver.db.archive import Archive, RawResponse
from archiver.db.crawlstate import ArchiveReader, CrawlState
from archiver.db.dedup import DedupStore
from archiver.distributed.keys import Keys, digest
from archiver.distributed.knowledge import (RedisKnowledge, decode_entry, encode_entry, export_knowledge,
                                            knowledge_keys)
from tests.crawlutil import crawl_own_replica
from tests.fixture_cases import FIXTURES
from tests.redisutil import redis_server, start_redis  # noqa: F401

NOW = "2026-09-01T00:00:00+00:00"
KEYS = Keys("test")


# --------------------------------------------------------------------------- the archives
def article_record(url: str, canonical: str | None = None, body: str = "正文第一段。\n正文第二段，足够长的内容。",
                   published_at: str | None = "2026-08-25") -> dict:
    return {"canonical_url": canonical or url, "url": url, "site": "chalco_com_cn", "channel": "xwdt/gsyw",
            "title": "标题", "body": body, "published_at": published_at}


def raw(url: str, headers=(("ETag", '"v1"'),), now: str = NOW) -> RawResponse:
    return RawResponse(url, 200, list(headers), b"<html/>", now)


def enrich(path: Path) -> None:
    """What later runs leave in an archive, written as the crawl writes it."""
    archive = Archive.open(path)
    state = CrawlState(archive.db)
    db = archive.db
    articles = [r[0] for r in db.execute("select canonical_url from articles order by id").fetchall()]
    assert len(articles) >= 50, "the replica crawl archives the fixture articles"
    rng = random.Random(14)
    # validators checked at many moments, some on an alias or only on the canonical URL
    for i, url in enumerate(articles[::3]):
        state.save_validators(url, kind="article", etag=f'"e{i}"', now=f"2026-10-{1 + i % 28:02d}T00:00:00+00:00",
                              run_id=None)
    for i, url in enumerate(articles[1::7]):
        state.save_validators(url, kind="article", last_modified=f"Tue, {1 + i % 28:02d} Sep 2026 00:00:00 GMT",
                              etag=None, now=f"2025-01-{1 + i % 28:02d}T00:00:00+00:00", run_id=None)
    # re-seen articles (a 304 moves last_seen and checked_at)
    for url in articles[2::5]:
        state.touch_article(url, url, now="2026-11-11T11:11:11+00:00", run_id=None)
    # aliases: URLs that redirected to an article are sightings of it (as a crawl stores them)
    dedup = DedupStore(db)
    fetched = [r[0] for r in db.execute("select url from sightings order by id").fetchall()]
    for i, url in enumerate(fetched[:10]):
        alias = url.replace("https://", "http://") + f"?from={i}"
        with db.atomic():
            assert dedup.add_aliases(url, [alias], run_id=None, now=f"2026-12-0{1 + i % 9}T00:00:00+00:00") == 1
        if i % 2:
            state.save_validators(alias, kind="article", etag=f'"alias{i}"', now="2027-01-01T00:00:00+00:00",
                                  run_id=None)
    # a page fetched at one URL naming another as canonical (a re-post)
    for i in range(5):
        url = f"https://www.chalco.com.cn/repost/t2026090{i}_{i}.html"
        canonical = articles[20 + i]
        archive.upsert_article(article_record(url, canonical, body=f"转载文章{i}的正文，和原文不同。\n第二段{i}。"),
                               raw(url), run_id=None, now=f"2026-09-0{1 + i}T00:00:00+00:00")
    # failures: new URLs, archived URLs (resolved later), aliases
    for i in range(30):
        archive.record_failure(f"https://zlgj.chinalco.com.cn/xwzx/gsyw/202609/t2026090{i % 9}_{900 + i}.html",
                               kind="http", reason="HTTP 500", now=NOW, site="zlgj_chinalco_com_cn")
    for url in rng.sample(articles, 8):
        archive.record_failure(url, kind="http", reason="HTTP 503", now=NOW, site="s")
    # channel walks: started, completed, started again and killed
    for i in range(12):
        url = f"https://www.chalco.com.cn/xwdt/ch{i}/index.html"
        state.walk_started(url, site="chalco_com_cn", channel=f"ch{i}", now=NOW, run_id=1)
        if i % 3 == 0:
            state.walk_completed(url, now=NOW, run_id=1)
        if i % 4 == 0:
            state.walk_started(url, site="chalco_com_cn", channel=f"ch{i}", now=NOW, run_id=2)
    archive.close()


def odd_archive(path: Path) -> Path:
    """An archive with rows only damage or hand edits leave."""
    archive = Archive.open(path)
    a, b = "https://x.cn/a.html", "https://x.cn/b.html"
    archive.upsert_article(article_record(a), raw(a), run_id=None, now=NOW)
    archive.upsert_article(article_record(b, body="另一篇。\n不同的正文内容。", published_at=None), raw(b),
                           run_id=None, now=NOW)
    archive.close()
    con = sqlite3.connect(path)
    con.execute("pragma foreign_keys = off")
    cols = "article_id, url, canonical_url, is_primary, first_seen, last_seen"
    # a sighting whose article row is gone, and two more sightings naming one canonical URL
    con.execute(f"insert into sightings ({cols}) values (9999, 'https://x.cn/orphan.html', "
                "'https://x.cn/orphan-c.html', 0, ?, ?)", [NOW, NOW])
    aid = con.execute("select id from articles where canonical_url = ?", [b]).fetchone()[0]
    con.execute(f"insert into sightings ({cols}) values (9998, 'https://x.cn/o2.html', 'https://x.cn/shared.html', "
                "0, ?, ?)", [NOW, NOW])
    con.execute(f"insert into sightings ({cols}) values (?, 'https://x.cn/s1.html', 'https://x.cn/shared.html', "
                "0, ?, '2026-09-05T00:00:00+00:00')", [aid, NOW])
    con.execute(f"insert into sightings ({cols}) values (?, 'https://x.cn/s2.html', 'https://x.cn/shared.html', "
                "0, ?, '2026-09-09T00:00:00+00:00')", [aid, NOW])
    # validators with neither value, with an empty check time, on a URL nobody archived
    con.execute("insert into http_validators (url, kind, checked_at) values ('https://x.cn/s1.html', 'article', "
                "'2026-10-10T00:00:00+00:00')")
    con.execute("insert into http_validators (url, kind, etag, checked_at) values (?, 'article', '', '')", [b])
    con.execute("insert into http_validators (url, kind, etag, checked_at) values ('https://x.cn/list.html', "
                "'list', '\"l\"', '2026-10-11T00:00:00+00:00')")
    con.execute("insert into channel_walks (url, started_run_id) values ('https://x.cn/never.html', null)")
    con.commit()
    con.close()
    return path


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("knowledge") / "archive.db"
    run = crawl_own_replica(db, fixtures=FIXTURES, state="t1")
    assert db.exists(), run["proc"].stderr[-2000:]
    enrich(db)
    return db


@pytest.fixture(scope="module")
def redis_module():
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- parity
def archive_urls(path: Path) -> list[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    sql = ("select canonical_url from articles union select url from sightings union select canonical_url from "
           "sightings union select url from failures union select url from http_validators union "
           "select url from channel_walks")
    urls = sorted(u for (u,) in con.execute(sql) if u)
    con.close()
    return urls


def archive_pairs(path: Path) -> list[tuple[str, str]]:
    """(canonical, fetched) pairs the crawl asks with: each sighting's, and each article's canonical
    URL with every URL of that article."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    pairs = con.execute("select canonical_url, url from sightings union "
                        "select a.canonical_url, s.url from articles a join sightings s on s.article_id = a.id")
    out = sorted({(c, u) for c, u in pairs if c and u})
    con.close()
    return out


def assert_same_answers(path: Path, knowledge: RedisKnowledge, *, pairs: int = 3000) -> int:
    reader = ArchiveReader(path)
    urls = archive_urls(path)
    rng = random.Random(1414)
    unknown = [f"https://www.chalco.com.cn/xwdt/gsyw/202609/t20260901_{rng.randrange(10**6)}.html" for _ in range(20)]
    singles = urls + unknown
    combos = archive_pairs(path) + [tuple(rng.sample(singles, 2)) for _ in range(pairs)]
    combos += list(itertools.product(urls[:15], unknown[:3])) + list(itertools.product(unknown[:3], urls[:15]))
    asked = 0
    try:
        for url in singles:
            assert knowledge.known(url) == reader.known(url), url
            assert knowledge.known(url, url) == reader.known(url, url), url
            assert knowledge.last_checked(url) == reader.last_checked(url), url
            assert knowledge.validators(url) == reader.validators(url), url
            assert knowledge.needs_resume(url) == reader.needs_resume(url), url
            asked += 5
        for canonical, url in combos:
            assert knowledge.known(canonical, url) == reader.known(canonical, url), (canonical, url)
            assert knowledge.last_checked(canonical, url) == reader.last_checked(canonical, url), (canonical, url)
            asked += 2
    finally:
        reader.close()
    return asked


def answer_kinds(path: Path) -> dict[str, int]:
    """How many URLs get each kind of answer (so the parity test is known to cover them all)."""
    reader = ArchiveReader(path)
    kinds: dict[str, int] = {}
    for url in archive_urls(path):
        for name, value in (("known", reader.known(url)), ("checked", reader.last_checked(url) is not None),
                            ("validators", reader.validators(url) is not None), ("resume", reader.needs_resume(url))):
            kinds[f"{name}={value}"] = kinds.get(f"{name}={value}", 0) + 1
    reader.close()
    return kinds


@pytest.mark.e2e
def test_redis_answers_what_the_archive_answers(crawled, redis_module):
    client = redis_module.client()
    counts = export_knowledge(crawled, client, KEYS)
    con = sqlite3.connect(crawled)
    assert counts["articles"] == con.execute("select count(*) from articles").fetchone()[0]
    assert counts["failures"] == con.execute("select count(*) from failures").fetchone()[0]
    assert counts["validators"] == con.execute("select count(*) from http_validators where etag is not null "
                                               "or last_modified is not null").fetchone()[0]
    assert counts["resume"] == 9        # of 12 walks 4 completed in run 1 and one of them restarted in run 2
    con.close()
    kinds = answer_kinds(crawled)
    for kind in ("known=article", "known=failure", "known=None", "checked=True", "checked=False",
                 "validators=True", "validators=False", "resume=True", "resume=False"):
        assert kinds.get(kind), (kind, kinds)
    asked = assert_same_answers(crawled, RedisKnowledge(client, KEYS))
    assert asked > 5000


def test_rows_only_damage_leaves_get_the_same_answers(tmp_path, redis_server):
    path = odd_archive(tmp_path / "odd.db")
    client = redis_server.client()
    export_knowledge(path, client, KEYS)
    knowledge = RedisKnowledge(client, KEYS)
    reader = ArchiveReader(path)
    assert reader.known("https://x.cn/orphan.html") == "article" and reader.last_checked("https://x.cn/orphan.html") is None
    # the first sighting naming a canonical URL whose article exists; the one fetched at url first
    assert reader.last_checked("https://x.cn/shared.html") == ("2026-09-05T00:00:00+00:00", None)
    assert reader.last_checked("https://x.cn/shared.html", "https://x.cn/s2.html") == ("2026-09-09T00:00:00+00:00", None)
    assert reader.last_checked("https://x.cn/shared.html", "https://x.cn/s1.html") == ("2026-10-10T00:00:00+00:00", None)
    reader.close()
    assert assert_same_answers(path, knowledge, pairs=500) > 1000


@pytest.mark.e2e
def test_a_small_batch_writes_what_one_large_batch_writes(crawled, redis_module):
    client = redis_module.client()
    export_knowledge(crawled, client, KEYS)
    whole = {key: dump(client, key) for key in knowledge_keys(KEYS)}
    small = Keys("small")
    export_knowledge(crawled, client, small, batch=7)
    assert {key: dump(client, key) for key in knowledge_keys(small)} == dict(zip(knowledge_keys(small), whole.values()))


def dump(client, key: str):
    kind = client.type(key)
    return {b"hash": client.hgetall, b"set": client.smembers}.get(kind, lambda k: None)(key)


# --------------------------------------------------------------------------- nothing known, old keys
def test_a_missing_archive_exports_nothing_and_clears_what_was_known(tmp_path, redis_server):
    client = redis_server.client()
    for key in knowledge_keys(KEYS):
        client.sadd(key, b"stale") if key in (KEYS.know_failures, KEYS.know_resume) else client.hset(key, b"x", b"[]")
    counts = export_knowledge(tmp_path / "nope.db", client, KEYS)
    assert counts == {"articles": 0, "url_keys": 0, "failures": 0, "validators": 0, "resume": 0}
    assert not client.exists(*knowledge_keys(KEYS))
    assert not (tmp_path / "nope.db").exists()
    knowledge = RedisKnowledge(client, KEYS)
    assert knowledge.known("https://x/a.html") is None and knowledge.last_checked("https://x/a.html") is None
    assert knowledge.validators("https://x/a.html") is None and not knowledge.needs_resume("https://x/a.html")


def test_an_archive_without_the_incremental_tables_exports_nothing(tmp_path, redis_server):
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.execute("create table articles (id integer primary key, canonical_url text, published_at text, last_seen text)")
    con.execute("insert into articles (canonical_url, last_seen) values ('https://x/a.html', ?)", [NOW])
    con.commit()
    con.close()
    client = redis_server.client()
    assert export_knowledge(path, client, KEYS)["articles"] == 0
    assert ArchiveReader(path).known("https://x/a.html") is None
    assert RedisKnowledge(client, KEYS).known("https://x/a.html") is None


def test_an_export_replaces_the_previous_one(tmp_path, redis_server):
    client = redis_server.client()
    first, second = Archive.open(tmp_path / "one.db"), Archive.open(tmp_path / "two.db")
    first.upsert_article(article_record("https://x/a.html"), raw("https://x/a.html"), run_id=None, now=NOW)
    first.record_failure("https://x/f.html", kind="http", reason="r", now=NOW)
    CrawlState(first.db).save_validators("https://x/a.html", kind="article", etag='"1"', now=NOW, run_id=None)
    second.upsert_article(article_record("https://x/b.html"), raw("https://x/b.html"), run_id=None, now=NOW)
    first.close(), second.close()
    export_knowledge(tmp_path / "one.db", client, KEYS)
    knowledge = RedisKnowledge(client, KEYS)
    assert knowledge.known("https://x/a.html") == "article" and knowledge.known("https://x/f.html") == "failure"
    assert knowledge.validators("https://x/a.html") == ('"1"', None)
    export_knowledge(tmp_path / "two.db", client, KEYS)
    assert knowledge.known("https://x/a.html") is None and knowledge.known("https://x/f.html") is None
    assert knowledge.known("https://x/b.html") == "article"
    assert not client.exists(KEYS.know_failures)
    assert knowledge.validators("https://x/a.html") is None
    assert client.hlen(KEYS.know_articles) == 1 and not client.exists(KEYS.know_validators)


# --------------------------------------------------------------------------- format and size
def test_an_entry_round_trips_and_shares_equal_roles():
    same = ["2026-08-25", NOW]
    raw_value = encode_entry(NOW, {"a": same, "su": same, "sc": same})
    assert raw_value == b'["2026-09-01T00:00:00+00:00",["2026-08-25","2026-09-01T00:00:00+00:00"],1,1]'
    assert decode_entry(raw_value) == (NOW, {"a": same, "su": same, "sc": same})
    assert decode_entry(encode_entry(None, {"su": 0})) == (None, {"a": None, "su": 0, "sc": None})
    assert encode_entry(NOW, {}) == b'["2026-09-01T00:00:00+00:00"]'
    assert decode_entry(None) == (None, {})


def test_each_question_is_one_round_trip(tmp_path, redis_server):
    client = redis_server.client()
    archive = Archive.open(tmp_path / "a.db")
    archive.upsert_article(article_record("https://x/a.html"), raw("https://x/a.html"), run_id=None, now=NOW)
    archive.close()
    export_knowledge(tmp_path / "a.db", client, KEYS)
    knowledge = RedisKnowledge(client, KEYS)
    before = client.info("stats")["total_commands_processed"]
    knowledge.last_checked("https://x/a.html", "http://x/a.html")
    knowledge.validators("https://x/a.html")
    knowledge.needs_resume("https://x/a.html")
    after = client.info("stats")["total_commands_processed"]
    assert after - before == 4          # three questions and the first INFO
    assert digest("https://x/a.html") in client.hkeys(KEYS.know_articles)


@pytest.mark.e2e
def test_memory_per_article_is_measured(crawled, redis_module, capsys):
    client = redis_module.client()
    client.delete(*knowledge_keys(KEYS))
    before = client.info("memory")["used_memory"]
    counts = export_knowledge(crawled, client, KEYS)
    used = client.info("memory")["used_memory"] - before
    by_key = {key: client.memory_usage(key) or 0 for key in knowledge_keys(KEYS)}
    with capsys.disabled():
        print(f"\nknowledge of {counts['articles']} articles ({counts}): {used} bytes used_memory, "
              f"{used / counts['articles']:.0f} per article; by key {by_key}")
    assert used > 0 and sum(by_key.values()) > 0
