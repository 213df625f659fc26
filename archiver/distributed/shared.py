"""What the processes of one distributed crawl share besides the frontier: channel walks,
discovery's decisions, and the archive's knowledge (archiver/distributed/knowledge.py).

In one process these live in memory (archiver/walks.py ``LocalWalks``, archiver/discovery.py
``Discovery``). With several workers any of them may read a walk's next list page or meet a
channel first, so the walk's state and "is this channel walked already, is the budget spent?"
live in Redis, decided in one atomic step each.
"""
from __future__ import annotations

import json
from weakref import WeakKeyDictionary

from archiver.discovery import Discovery, Entry
from archiver.distributed.keys import Keys
from archiver.walks import PagerWalk

_SHARED: WeakKeyDictionary = WeakKeyDictionary()
WALK_TTL = 7 * 86400              # a walk's state outlives any crawl that could still read it


class SharedState:
    """The Redis client and keys of the crawl a seed or worker process belongs to."""

    def __init__(self, settings):
        from archiver.distributed.connect import connect
        self.role = settings.get("ARCHIVER_REDIS_ROLE") or "worker"
        self.keys = Keys(settings.get("ARCHIVER_REDIS_PREFIX") or "archiver")
        self.client = connect(settings.get("ARCHIVER_REDIS_URL"))

    @classmethod
    def of(cls, crawler) -> SharedState:
        shared = _SHARED.get(crawler)
        if shared is None:
            shared = _SHARED[crawler] = cls(crawler.settings)
        return shared

    def walk_store(self) -> RedisWalks:
        return RedisWalks(self.client, self.keys)

    def knowledge(self):
        from archiver.distributed.knowledge import RedisKnowledge
        return RedisKnowledge(self.client, self.keys)

    def discovery(self, network, **kwargs) -> SharedDiscovery:
        return SharedDiscovery(network, client=self.client, keys=self.keys, **kwargs)


class RedisWalks:
    """The walks of a crawl shared by its workers (the store of archiver/walks.py ``Walks``)."""

    def __init__(self, client, keys: Keys):
        self.client = client
        self.keys = keys

    @staticmethod
    def _name(key) -> str:
        return json.dumps(list(key) if isinstance(key, (tuple, list)) else key, ensure_ascii=False)

    def get(self, key) -> PagerWalk | None:
        raw = self.client.get(self.keys.walk(self._name(key)))
        return PagerWalk.from_dict(json.loads(raw)) if raw else None

    def save(self, key, walk: PagerWalk) -> None:
        self.client.set(self.keys.walk(self._name(key)), json.dumps(walk.to_dict(), ensure_ascii=False), ex=WALK_TTL)


# KEYS: the set of claimed items, the counter set (budgeted items). ARGV: member, budget (-1: none).
CLAIM = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
local budget = tonumber(ARGV[2])
if budget >= 0 and redis.call('SCARD', KEYS[2]) >= budget then return -1 end
redis.call('SADD', KEYS[1], ARGV[1])
if budget >= 0 then redis.call('SADD', KEYS[2], ARGV[1]) end
return 1
"""
VERDICTS = {1: "new", 0: "known", -1: "refused"}


class SharedDiscovery(Discovery):
    """Discovery whose "walk it?" decisions are taken once for the whole crawl, in Redis."""

    def __init__(self, network, *, client, keys: Keys, **kwargs):
        super().__init__(network, **kwargs)
        self._client = client
        self._keys = keys
        self._claim = client.register_script(CLAIM)

    def _k(self, *parts: str) -> str:
        return ":".join((self._keys.prefix, "discovery", *parts))

    def _claim_channel(self, entry: Entry, key: tuple[str, str]) -> str:
        budget = -1 if entry.found_by == "registry" else self.budget.max_channels
        # registered channels count against the budget too: every claim goes into the site's count
        r = self._claim(keys=[self._k("channels"), self._k("per_site", entry.site)],
                        args=[json.dumps(list(key), ensure_ascii=False), budget])
        if r == 1 and budget < 0:
            self._client.sadd(self._k("per_site", entry.site), json.dumps(list(key), ensure_ascii=False))
        return VERDICTS[int(r)]

    def _know_channel(self, entry: Entry) -> None:
        super()._know_channel(entry)
        self._client.sadd(self._k("channels"), json.dumps([entry.site, entry.channel.strip("/")], ensure_ascii=False))

    def _claim_hub(self, entry: Entry, host: str) -> str:
        budget = self.budget.max_sites if entry.new_site else -1
        return VERDICTS[int(self._claim(keys=[self._k("hubs"), self._k("new_sites")], args=[host, budget]))]

    def knows_channel(self, site: str, channel: str) -> bool:
        return super().knows_channel(site, channel) or bool(
            self._client.sismember(self._k("channels"), json.dumps([site, channel.strip("/")], ensure_ascii=False)))
