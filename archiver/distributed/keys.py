"""Every Redis key of a distributed crawl, under one prefix (setting ``ARCHIVER_REDIS_PREFIX``).

One crawl runs under a prefix at a time; two archives crawled at once from one Redis server use
two prefixes. Hashes of URLs stand for URLs in the large structures (:func:`digest`), which keeps
Redis memory per URL small and independent of the URL's length.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

DEFAULT_PREFIX = "archiver"


def digest(text: str) -> bytes:
    """12 bytes standing for a URL (or any key) in Redis sets and hashes."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()


@dataclass(frozen=True)
class Keys:
    prefix: str = DEFAULT_PREFIX

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # the frontier (scrapy-redis formats its keys with %(spider)s; ours are fixed per prefix)
    @property
    def requests(self) -> str:            # sorted set: the queue (scrapy-redis PriorityQueue)
        return self._k("requests")

    @property
    def dupefilter(self) -> str:          # set: request fingerprints seen in this crawl
        return self._k("dupefilter")

    def inflight(self, worker: str) -> str:   # hash: token -> the encoded request a worker holds
        return self._k("inflight", worker)

    @property
    def workers(self) -> str:             # hash: worker name -> last heartbeat (unix seconds)
        return self._k("workers")

    @property
    def sequence(self) -> str:            # counter: in-flight tokens
        return self._k("seq")

    # the crawl itself
    @property
    def state(self) -> str:               # hash: phase, run_id, coordinator, started
        return self._k("state")

    @property
    def config(self) -> str:              # string: the crawl's settings and registry (JSON)
        return self._k("config")

    def stats(self, who: str) -> str:     # string: one process's crawl stats (JSON)
        return self._k("stats", who)

    @property
    def stats_pattern(self) -> str:
        return self._k("stats", "*")

    @property
    def items(self) -> str:               # stream: finished items for the writer
        return self._k("items")

    writer_group = "writer"

    # what workers know of the archive (archiver/distributed/knowledge.py)
    @property
    def know_articles(self) -> str:       # hash: digest(url) -> JSON [checked_at, article, sighting by url, by canonical]
        return self._k("know", "articles")

    @property
    def know_failures(self) -> str:       # set: digest(url) of recorded failures
        return self._k("know", "failures")

    @property
    def know_validators(self) -> str:     # hash: digest(url) -> JSON [etag, last_modified]
        return self._k("know", "validators")

    @property
    def know_resume(self) -> str:         # set: digest(url) of channel walks a killed run left unfinished
        return self._k("know", "resume")

    # politeness shared by the workers (archiver/distributed/politeness.py)
    def host_leases(self, host: str) -> str:   # sorted set: lease token -> expiry (unix seconds)
        return self._k("host", host, "leases")

    def host_next(self, host: str) -> str:     # string: earliest start of the host's next request
        return self._k("host", host, "next")

    # channel walks (archiver/walks.py state, shared)
    def walk(self, key: str) -> str:
        return self._k("walk", digest(key).hex())

    def all_patterns(self) -> list[str]:
        """Patterns matching every key of a crawl under this prefix (cleared before a new crawl)."""
        return [self._k("*")]
