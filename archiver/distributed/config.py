"""One crawl's settings, shared through Redis: every process of a distributed crawl (the
coordinator's seeding, each worker, the writer) runs with the settings the coordinator was given,
plus what its role needs. A worker on another machine needs nothing but the Redis URL: the
registry travels as its text, the settings as JSON.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from scrapy.settings import Settings

from archiver.distributed.keys import Keys

CONFIG_VERSION = 1
ROLES = ("seed", "worker", "writer")


def crawl_config(overrides: dict, *, redis_url: str) -> dict:
    """What the coordinator publishes: its command-line settings, and the registry's text."""
    overrides = dict(overrides)
    registry = overrides.pop("ARCHIVER_REGISTRY", "") or ""
    text = Path(registry).read_text(encoding="utf-8") if registry else None
    return {"version": CONFIG_VERSION, "settings": overrides, "registry": text, "redis_url": redis_url}


def publish(client, keys: Keys, config: dict) -> None:
    client.set(keys.config, json.dumps(config, ensure_ascii=False))


def read(client, keys: Keys) -> dict | None:
    raw = client.get(keys.config)
    if not raw:
        return None
    config = json.loads(raw)
    if config.get("version") != CONFIG_VERSION:
        from archiver.distributed.connect import RedisUnavailable
        raise RedisUnavailable(f"the crawl under {keys.prefix!r} was started by another version of chinalco-archive "
                               f"(configuration version {config.get('version')}, this one reads {CONFIG_VERSION})")
    return config


def process_settings(config: dict, *, role: str, redis_url: str, keys: Keys, worker: str = "") -> Settings:
    """Scrapy settings for one process of the crawl ``config`` describes."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    settings = Settings()
    settings.setmodule("archiver.settings", priority="project")
    for k, v in (config.get("settings") or {}).items():
        settings.set(k, v, priority="cmdline")
    if config.get("registry"):
        settings.set("ARCHIVER_REGISTRY", str(registry_file(config["registry"])), priority="cmdline")
    shared = {
        "ARCHIVER_REDIS_URL": redis_url, "ARCHIVER_REDIS_PREFIX": keys.prefix, "ARCHIVER_REDIS_ROLE": role,
        "ARCHIVER_REDIS_WORKER": worker,
        # scrapy-redis: its scheduler, queue and dupefilter on this crawl's keys
        "REDIS_URL": redis_url, "SCHEDULER": "archiver.distributed.frontier.FrontierScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_QUEUE_KEY": keys.requests, "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter,
        "SCHEDULER_PERSIST": True,
    }
    for k, v in shared.items():
        settings.set(k, v, priority="cmdline")
    if role == "seed":
        settings.set("ITEM_PIPELINES", {}, priority="cmdline")
        settings.set("ARCHIVER_WARC_DIR", "", priority="cmdline")      # it downloads nothing: no empty WARC
    elif role == "worker":
        settings.set("ITEM_PIPELINES", {"pipelines.stats.ArticleStatsPipeline": 300,
                                        "archiver.distributed.stream.StreamPipeline": 900}, priority="cmdline")
        middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
        middlewares["archiver.distributed.politeness.HostPolitenessMiddleware"] = 950
        settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="cmdline")
        settings.set("ARCHIVER_DB", "", priority="cmdline")          # workers never open the archive
        settings.set("ARCHIVER_PROGRESS_INTERVAL", 0, priority="cmdline")   # the coordinator reports progress
    return settings


def registry_file(text: str) -> Path:
    """The registry a coordinator sent, as a file this machine's loader reads: one file per distinct
    text (named by its hash), written once, so workers started crawl after crawl add nothing."""
    path = Path(tempfile.gettempdir()) / f"archiver-registry-{hashlib.sha256(text.encode()).hexdigest()[:16]}.toml"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return path
