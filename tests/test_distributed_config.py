"""A worker anywhere needs nothing but the Redis URL: the coordinator's settings and registry
travel through Redis (archiver/distributed/config.py), and each role gets what it needs."""
from __future__ import annotations

from pathlib import Path

from archiver.distributed.config import crawl_config, process_settings
from archiver.distributed.keys import Keys

REGISTRY = Path(__file__).resolve().parents[1] / "archiver" / "sites" / "network.toml"


def test_settings_and_the_registry_text_reach_every_process(tmp_path):
    custom = tmp_path / "mine.toml"
    custom.write_text(REGISTRY.read_text(encoding="utf-8") + "\n# a local edit\n", encoding="utf-8")
    config = crawl_config({"ARCHIVER_REGISTRY": str(custom), "ARCHIVER_MODE": "full", "DOWNLOAD_DELAY": "3"},
                          redis_url="redis://r:6379/0")
    assert "ARCHIVER_REGISTRY" not in config["settings"] and config["registry"].endswith("# a local edit\n")
    custom.unlink()                                   # the worker's machine has no such file
    s = process_settings(config, role="worker", redis_url="redis://r:6379/0", keys=Keys("p"), worker="w1")
    assert Path(s["ARCHIVER_REGISTRY"]).read_text(encoding="utf-8").endswith("# a local edit\n")
    assert (s["ARCHIVER_MODE"], s.getfloat("DOWNLOAD_DELAY")) == ("full", 3.0)
    assert (s["ARCHIVER_REDIS_ROLE"], s["ARCHIVER_REDIS_WORKER"], s["SCHEDULER_QUEUE_KEY"]) == ("worker", "w1",
                                                                                                "p:requests")


def test_a_worker_sends_items_to_the_stream_and_never_opens_the_archive():
    config = crawl_config({"ARCHIVER_DB": "/srv/data/archive.db"}, redis_url="redis://r/0")
    s = process_settings(config, role="worker", redis_url="redis://r/0", keys=Keys())
    pipelines = s.getdict("ITEM_PIPELINES")
    assert "archiver.distributed.stream.StreamPipeline" in pipelines
    assert "pipelines.store.StorePipeline" not in pipelines and s["ARCHIVER_DB"] == ""
    assert s.getdict("DOWNLOADER_MIDDLEWARES")["archiver.distributed.politeness.HostPolitenessMiddleware"] == 950
    assert s["SCHEDULER"] == "archiver.distributed.frontier.FrontierScheduler"


def test_the_seeding_process_stores_nothing():
    config = crawl_config({"ARCHIVER_WARC_DIR": "/srv/warc"}, redis_url="redis://r/0")
    s = process_settings(config, role="seed", redis_url="redis://r/0", keys=Keys())
    assert s.getdict("ITEM_PIPELINES") == {}
    assert s["ARCHIVER_REDIS_ROLE"] == "seed" and not s.get("ARCHIVER_WARC_DIR")
