"""What the workers of one crawl share besides the frontier (archiver/distributed/shared.py):
a channel walk goes on whichever worker reads its next page, and discovery decides each channel
and site once for the whole crawl, within one budget."""
from __future__ import annotations

import json
import logging

import pytest
from scrapy.statscollectors import MemoryStatsCollector

from archiver.discovery import Budget, Entry
from archiver.distributed.keys import Keys
from archiver.distributed.shared import RedisWalks, SharedDiscovery
from archiver.sites import load_network
from archiver.walks import PagerWalk, Walks
from tests.redisutil import redis_server  # noqa: F401  (fixture)
from tests.test_pager_walks import BASE, page

PAGER = '<script>createPageHTML(3, 0, "index", "html");</script>'


class _Crawler:
    from scrapy.settings import Settings
    settings = Settings()


def walks(store) -> Walks:
    return Walks(MemoryStatsCollector(_Crawler()), logging.getLogger("t"), incremental=False, margin=1,
                 max_pages=200, store=store)


def urls(n: int) -> list[str]:
    return [f"{BASE}2026/t{n}_{i}.html" for i in range(5)]


@pytest.fixture
def shared(redis_server):
    return redis_server.client(), Keys("s")


def test_a_walk_goes_on_in_another_worker(shared):
    client, keys = shared
    first, second = walks(RedisWalks(client, keys)), walks(RedisWalks(client, keys))
    key = ("chalco_com_cn", "xwdt/gsyw")
    nxt, _ = first.advance(key, page(BASE + "index.html", PAGER), BASE + "index.html", urls(0), 5, resume=False)
    assert nxt == (BASE + "index_1.html", False)
    nxt, _ = second.advance(key, page(BASE + "index_1.html", PAGER), BASE + "index_1.html", urls(1), 5, resume=False)
    assert nxt == (BASE + "index_2.html", False)
    walk = RedisWalks(client, keys).get(key)
    assert walk.pages == 2 and len(walk.seen) == 10


@pytest.mark.parametrize("store", ["local", "redis"])
def test_a_list_page_read_again_gets_the_same_answer(shared, store):
    """A killed worker's list page comes back: the walk must not end because its rows are 'seen'."""
    client, keys = shared
    w = walks(RedisWalks(client, keys) if store == "redis" else None)
    key = ("chalco_com_cn", "xwdt/gsyw")
    w.advance(key, page(BASE + "index.html", PAGER), BASE + "index.html", urls(0), 5, resume=False)
    once = w.advance(key, page(BASE + "index_1.html", PAGER), BASE + "index_1.html", urls(1), 5, resume=False)
    again = w.advance(key, page(BASE + "index_1.html", PAGER), BASE + "index_1.html", urls(1), 5, resume=False)
    assert once == again == ((BASE + "index_2.html", False), False)


def test_a_walk_survives_the_round_trip_through_json():
    walk = PagerWalk(BASE + "index.html", incremental=True, margin=2)
    walk.judge(urls(0), 1, 3)
    walk.next_page([BASE + "index_1.html"], None, last_page=False, rows=5)
    back = PagerWalk.from_dict(json.loads(json.dumps(walk.to_dict())))
    assert back == walk


def discovery(client, keys, **budget) -> SharedDiscovery:
    return SharedDiscovery(load_network(), client=client, keys=keys, budget=Budget(**budget))


def channel(site: str, path: str, found_by: str = "navigation") -> Entry:
    return Entry(f"https://www.chalco.com.cn/{path}/", site, path, found_by, "https://www.chalco.com.cn/", 1)


def test_a_channel_is_walked_by_one_worker_only(shared):
    client, keys = shared
    a, b = discovery(client, keys), discovery(client, keys)
    assert a._add_channel(channel("chalco_com_cn", "xwdt/new")) != []
    assert b._add_channel(channel("chalco_com_cn", "xwdt/new")) == []
    assert b.knows_channel("chalco_com_cn", "xwdt/new")


def test_the_channel_budget_holds_across_workers(shared):
    client, keys = shared
    workers = [discovery(client, keys, max_channels=3) for _ in range(3)]
    walked = sum(len(workers[i % 3]._add_channel(channel("chalco_com_cn", f"c{i}"))) for i in range(6))
    assert walked == 3
    assert sum(w.refused.get("channels_per_site", 0) for w in workers) == 3


def test_the_site_budget_holds_across_workers(shared):
    client, keys = shared
    workers = [discovery(client, keys, max_sites=2) for _ in range(2)]
    hubs = [Entry(f"https://m{i}.chinalco.com.cn/", f"m{i}", None, "link", None, 1, new_site=True) for i in range(4)]
    walked = sum(len(workers[i % 2]._add_hub(h)) for i, h in enumerate(hubs))
    assert walked == 2
