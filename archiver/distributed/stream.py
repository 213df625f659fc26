"""Items on the way from the workers to the writer: a Redis stream with a consumer group.

An entry is the item's class name (``t``), its fields as zlib-compressed JSON (``d``) and, for an
article, the raw page's bytes zlib-compressed apart (``b``); JSON, not pickle, so that what a
worker sends can never run code in the writer. :func:`encode` and :func:`decode` are exact
inverses for every item the spider yields (tests/test_distributed_stream.py).

:class:`StreamPipeline` is a worker's last pipeline step, where one process has the store: it
appends the item and returns it, so Scrapy's ``item_scraped`` signal means "in the stream".
"""
from __future__ import annotations

import json
import logging
import zlib
from dataclasses import asdict, fields, is_dataclass

from scrapy.exceptions import NotConfigured

from archiver import items as item_types

logger = logging.getLogger(__name__)

TYPES = {cls.__name__: cls for cls in (
    item_types.ArticleRecord, item_types.Failure, item_types.LinkEntry, item_types.ArticleRevalidated,
    item_types.ChannelWalkStarted, item_types.ChannelWalkIncomplete, item_types.Found)}


class StreamUnavailable(RuntimeError):
    """The stream could not take an item (Redis lost): the item's request stays in flight, so it
    is fetched again, never lost."""


class StreamError(ValueError):
    """An entry that is not an item of this version (recorded by the writer, never fatal)."""


def encode(item) -> dict[str, bytes]:
    name = type(item).__name__
    if name not in TYPES:
        raise TypeError(f"not an item the writer stores: {name}")
    if isinstance(item, item_types.ArticleRecord):
        page = {f.name: getattr(item.page, f.name) for f in fields(item.page) if f.name != "body"}
        data, body = {"fields": item.fields, "page": page}, item.page.body
    else:
        data, body = asdict(item), None
    out = {"t": name.encode(), "d": zlib.compress(json.dumps(data, ensure_ascii=False).encode("utf-8"), 6)}
    if body is not None:
        out["b"] = zlib.compress(body, 6)
    return out


def decode(entry: dict) -> object:
    entry = {(k.decode() if isinstance(k, bytes) else k): v for k, v in entry.items()}
    try:
        name = entry["t"].decode()
        cls = TYPES[name]
        data = json.loads(zlib.decompress(entry["d"]).decode("utf-8"))
    except (KeyError, ValueError, zlib.error, UnicodeDecodeError) as e:
        raise StreamError(f"unreadable stream entry ({type(e).__name__}: {e})") from None
    if cls is item_types.ArticleRecord:
        page = dict(data["page"])
        page["headers"] = [tuple(h) for h in page["headers"]]
        page["body"] = zlib.decompress(entry["b"]) if "b" in entry else b""
        return item_types.ArticleRecord(fields=data["fields"], page=item_types.FetchedPage(**page))
    return cls(**data)


def ensure_group(client, keys) -> None:
    """The stream and its writer group exist (idempotent)."""
    import redis
    try:
        client.xgroup_create(keys.items, keys.writer_group, id="0", mkstream=True)
    except redis.exceptions.ResponseError as e:
        if "BUSYGROUP" not in str(e):
            raise


class StreamPipeline:
    """A worker's store step: the item goes to the writer's stream (archiver/distributed/writer.py)."""

    def __init__(self, crawler):
        from archiver.distributed.shared import SharedState
        self.crawler = crawler
        self.shared = SharedState.of(crawler)
        self.worker = crawler.settings.get("ARCHIVER_REDIS_WORKER") or ""

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("ARCHIVER_REDIS_URL"):
            raise NotConfigured("ARCHIVER_REDIS_URL is not set")
        return cls(crawler)

    def process_item(self, item):
        if not is_dataclass(item) or type(item).__name__ not in TYPES:
            return item
        import redis

        from archiver.distributed.frontier import redis_lost
        entry = encode(item)
        entry["w"] = self.worker.encode()
        try:
            self.shared.client.xadd(self.shared.keys.items, entry)
        except redis.exceptions.RedisError as e:
            redis_lost(self.crawler, e)
            raise StreamUnavailable(f"the writer's stream cannot be reached: {e}") from None
        self.crawler.stats.inc_value("archiver/stream/sent")
        self.crawler.stats.inc_value("archiver/stream/bytes", sum(len(v) for v in entry.values()))
        return item
