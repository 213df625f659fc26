"""The shared frontier's bookkeeping (archiver/distributed/frontier.py): a request is always in
the queue, in a live worker's hands, or done, and the crawl is over exactly when nothing is left.
Against a private redis-server."""
from __future__ import annotations

import time

import pytest
import scrapy

from archiver.distributed.frontier import PARENT, TOKEN, Frontier, OutputTracker
from archiver.distributed.keys import Keys
from tests.redisutil import redis_server  # noqa: F401  (fixture)


@pytest.fixture
def parts(redis_server):
    client = redis_server.client()
    keys = Keys("t")
    client.hset(keys.state, "phase", "running")
    return client, keys


def queue(client, keys, *items: tuple[bytes, int]) -> None:
    for data, priority in items:
        client.zadd(keys.requests, {data: -priority})


def test_a_pop_hands_the_best_request_to_the_worker_in_flight(parts):
    client, keys = parts
    queue(client, keys, (b"low", 0), (b"high", 1))
    w = Frontier(client, keys, worker="w1")
    token, data = w.pop()
    assert data == b"high"
    assert client.zcard(keys.requests) == 1
    assert w.held() == 1
    w.done(token)
    assert w.held() == 0


def test_a_dead_workers_requests_go_back_with_their_priority(parts):
    client, keys = parts
    queue(client, keys, (b"article", 1), (b"list", 0))
    dead = Frontier(client, keys, worker="dead", timeout=1)
    dead.beat()
    dead.pop()
    dead.pop()
    assert client.zcard(keys.requests) == 0
    client.hset(keys.workers, "dead", time.time() - 10)          # stopped beating 10 s ago
    alive = Frontier(client, keys, worker="alive", timeout=1)
    assert alive.recover_dead() == {"dead": 2}
    assert client.zrange(keys.requests, 0, -1, withscores=True) == [(b"article", -1.0), (b"list", 0.0)]
    assert not client.hexists(keys.workers, "dead")


def test_a_live_worker_is_left_alone(parts):
    client, keys = parts
    queue(client, keys, (b"a", 0))
    busy = Frontier(client, keys, worker="busy", timeout=60)
    busy.beat()
    busy.pop()
    assert Frontier(client, keys, worker="other", timeout=60).recover_dead() == {}
    assert busy.held() == 1


def test_the_crawl_is_drained_only_when_nothing_is_queued_or_held(parts):
    client, keys = parts
    w = Frontier(client, keys, worker="w")
    w.beat()
    client.hset(keys.state, "phase", "seeding")
    assert not w.drained()                          # the seeds are not all in yet
    client.hset(keys.state, "phase", "running")
    queue(client, keys, (b"a", 0))
    assert not w.drained()                          # queued
    token, _ = w.pop()
    assert not w.drained()                          # held by a worker
    w.done(token)
    assert w.drained()
    assert w.phase() == "drained"
    queue(client, keys, (b"late", 0))
    assert w.drained()                              # drained is final


def test_leaving_puts_back_what_the_worker_holds(parts):
    client, keys = parts
    queue(client, keys, (b"a", 0), (b"b", 0))
    w = Frontier(client, keys, worker="w")
    w.beat()
    w.pop()
    assert w.leave() == 1
    assert client.zcard(keys.requests) == 2


class FakeFrontier:
    def __init__(self):
        self.done_tokens = []

    def done(self, token):
        self.done_tokens.append(token)


def request(token=None) -> scrapy.Request:
    r = scrapy.Request("https://www.chinalco.com.cn/xwzx/")
    if token:
        r.meta[TOKEN] = token
    return r


def test_a_request_is_done_only_when_all_it_yielded_is_safe():
    frontier = FakeFrontier()
    tracker = OutputTracker(frontier)
    item, child = object(), request()
    out = list(tracker.track(request("7"), [item, child]))
    assert out == [item, child]
    assert child.meta[PARENT] == "7"
    assert frontier.done_tokens == []               # yielded, not yet through the pipelines
    tracker.item_settled(item)
    assert frontier.done_tokens == []               # the child request is not pushed yet
    tracker.settled("7")                            # the scheduler pushed the child
    assert frontier.done_tokens == ["7"]


def test_a_callback_that_yields_nothing_is_done_at_once():
    frontier = FakeFrontier()
    list(OutputTracker(frontier).track(request("3"), iter(())))
    assert frontier.done_tokens == ["3"]


def test_a_callback_that_raises_is_done_with_what_it_yielded_before():
    frontier = FakeFrontier()
    tracker = OutputTracker(frontier)
    item = object()

    def broken():
        yield item
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        list(tracker.track(request("5"), broken()))
    assert frontier.done_tokens == []
    tracker.item_settled(item)
    assert frontier.done_tokens == ["5"]


def test_an_item_the_stream_could_not_take_keeps_its_request_in_flight():
    from twisted.python.failure import Failure

    from archiver.distributed.stream import StreamUnavailable
    frontier = FakeFrontier()
    tracker = OutputTracker(frontier)
    item = object()
    list(tracker.track(request("9"), [item]))
    try:
        raise StreamUnavailable("gone")
    except StreamUnavailable:
        tracker.item_failed(item, failure=Failure())
    assert frontier.done_tokens == []               # fetched again by whoever recovers it


def test_a_retry_replaces_the_request_it_came_from():
    frontier = FakeFrontier()
    OutputTracker(frontier).replaced("11")
    assert frontier.done_tokens == ["11"]


def test_requests_outside_the_frontier_are_not_tracked():
    frontier = FakeFrontier()
    item = object()
    assert list(OutputTracker(frontier).track(request(None), [item])) == [item]
    assert frontier.done_tokens == []
