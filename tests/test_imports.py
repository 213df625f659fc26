"""The top-level ``spiders`` and ``pipelines`` packages are this repository's (not a namesake)."""
from pathlib import Path

import pipelines
import spiders

REPO = Path(__file__).resolve().parents[1]


def test_spiders_and_pipelines_import_from_this_repository():
    assert Path(spiders.__file__).resolve().parent == REPO / "spiders"
    assert Path(pipelines.__file__).resolve().parent == REPO / "pipelines"


def test_scrapy_finds_the_network_spider_through_the_project_settings(monkeypatch):
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "archiver.settings")
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    loader = SpiderLoader.from_settings(get_project_settings())
    assert "network" in loader.list()
