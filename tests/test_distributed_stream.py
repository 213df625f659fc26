"""Items on their way from the workers to the one writer (archiver/distributed/stream.py and
writer.py): encoded without loss, stored exactly once even when the writer dies between its
commit and its acknowledgement."""
from __future__ import annotations

import sqlite3

import pytest

from archiver.distributed import stream
from archiver.distributed.config import process_settings
from archiver.distributed.keys import Keys
from archiver.distributed.writer import ArchiveWriter
from archiver.items import (ArticleRecord, ArticleRevalidated, ChannelWalkIncomplete, ChannelWalkStarted, Failure,
                            Found, LinkEntry)
from tests.fixture_cases import all_cases
from tests.redisutil import redis_server  # noqa: F401  (fixture)
from tests.test_pipelines import crawler_for, fetched, read


def article_records(tmp_path, n: int = 30) -> list[ArticleRecord]:
    crawler = crawler_for(tmp_path)
    out = []
    for case in all_cases():
        if case.status == 200 and "/t20" in case.url:
            rec = read(crawler, fetched(case.url))
            if isinstance(rec, ArticleRecord):
                out.append(rec)
        if len(out) >= n:
            break
    return out


OTHER_ITEMS = [
    Failure("https://www.chalco.com.cn/a.html", "http", "HTTP 500", 500, None, "chalco_com_cn", "xwdt", None, True),
    LinkEntry("https://mp.weixin.qq.com/s/x", "wechat", "公众号文章", "https://www.chinalco.com.cn/xwzx/", "2026-02-07",
              "chinalco_com_cn", "xwzx"),
    ArticleRevalidated("https://x.chinalco.com.cn/a.html", "https://x.chinalco.com.cn/a.html", "x", None),
    ChannelWalkStarted("https://www.chinalco.com.cn/xwzx/", "chinalco_com_cn", "xwzx", '"e1"', "Sat, 07 Feb 2026"),
    ChannelWalkIncomplete("chinalco_com_cn", "xwzx"),
    Found("channel", "chinalco_com_cn", "https://www.chinalco.com.cn/xwzx/", "navigation", None, "xwzx", "新闻",
          None, False, 12, "ok"),
]


def test_every_item_the_spider_yields_comes_out_of_the_stream_as_it_went_in(tmp_path):
    records = article_records(tmp_path)
    assert len(records) >= 10
    for item in [*records, *OTHER_ITEMS]:
        entry = stream.encode(item)
        assert stream.decode(entry) == item
    gbk = [r for r in records if (r.fields.get("encoding") or "").lower() in ("gbk", "gb18030", "gb2312")]
    assert all(stream.decode(stream.encode(r)).page.body == r.page.body for r in gbk)


def test_the_raw_page_travels_compressed():
    rec = ArticleRecord(fields={"url": "https://a/b", "canonical_url": "https://a/b", "title": "铝"},
                        page=fetched(next(c.url for c in all_cases() if c.status == 200)))
    entry = stream.encode(rec)
    assert len(entry["b"]) < len(rec.page.body)


@pytest.mark.parametrize("entry", [{}, {"t": b"Nope", "d": b""}, {"t": b"Failure", "d": b"not zlib"}])
def test_an_unreadable_entry_is_a_clear_error(entry):
    with pytest.raises(stream.StreamError):
        stream.decode(entry)


# ---------------------------------------------------------------------------------- the writer
def writer_for(client, keys, db) -> ArchiveWriter:
    config = {"version": 1, "settings": {"ARCHIVER_DB": str(db), "ARCHIVER_MODE": "full"}, "registry": None}
    settings = process_settings(config, role="writer", redis_url="redis://unused", keys=keys)
    settings.set("ARCHIVER_DB", str(db), priority="cmdline")
    return ArchiveWriter(client, keys, settings, db_path=str(db), poll=0.05)


class NoAck:
    """A Redis pipeline that never runs: the writer dies after its commit, before XACK."""

    def __init__(self, *a, **k):
        pass

    def __getattr__(self, name):
        return lambda *a, **k: self


def test_a_writer_killed_between_commit_and_ack_stores_nothing_twice(tmp_path, redis_server, monkeypatch):
    client, keys = redis_server.client(), Keys("w")
    db = tmp_path / "a.db"
    records = article_records(tmp_path, n=12)
    failures = [Failure(f"https://www.chalco.com.cn/f{i}.html", "http", "HTTP 500", 500, site="chalco_com_cn")
                for i in range(5)]
    stream.ensure_group(client, keys)
    for item in [*records, *failures]:
        client.xadd(keys.items, stream.encode(item))
    client.hset(keys.state, "phase", "running")

    first = writer_for(client, keys, db)
    first.open()
    entries = first._read()
    assert len(entries) == len(records) + len(failures)
    monkeypatch.setattr(first.client, "pipeline", NoAck)
    first._store_batch(entries)                    # committed, never acknowledged
    first.store.archive.close()                    # the process is gone
    first.store.archive = None
    monkeypatch.undo()

    client.hset(keys.state, "phase", "drained")     # every worker is done
    second = writer_for(client, keys, db)
    out = second.run()                              # claims what the first took, finds it stored
    assert out["stats"]["archiver/writer/claimed"] == len(entries)
    assert out["stats"]["archiver/writer/already_stored"] == len(entries)
    assert out["stats"]["archiver/articles/new"] == len(records)          # counted once
    assert out["stats"]["archiver/failures_stored"] == len(failures)
    assert client.xlen(keys.items) == 0
    conn = sqlite3.connect(db)
    assert conn.execute("select count(*) from sightings").fetchone()[0] == len(records)
    assert conn.execute("select sum(attempts) from failures").fetchone()[0] == len(failures)     # not 2 each
    assert conn.execute("select count(*) from crawl_runs").fetchone()[0] == 1
    assert conn.execute("select count(*) from stream_applied").fetchone()[0] == 0
    conn.close()


def test_an_unreadable_entry_is_counted_and_acknowledged_not_retried_forever(tmp_path, redis_server):
    client, keys = redis_server.client(), Keys("u")
    stream.ensure_group(client, keys)
    client.xadd(keys.items, {"t": b"Failure", "d": b"garbage"})
    client.hset(keys.state, "phase", "drained")
    out = writer_for(client, keys, tmp_path / "a.db").run()
    assert out["stats"]["archiver/writer/unreadable"] == 1
    assert out["report"]["status"] != "ok"          # a store error makes the run unhealthy
    assert client.xlen(keys.items) == 0
