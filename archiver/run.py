"""What one run is, read once from the crawler's settings: the registry, the mode, the chosen
sites and whether discovery is on.

Every component of a crawl (the spider, the downloader middlewares, the item pipelines) asks
``RunContext.of(crawler)`` and gets the same object, so all of them classify URLs with the same
registry, including the member sites discovery adds while the run goes on. Nothing reads these
from the spider. The spider's arguments (``-a sites=…``, ``-a registry=…``, ``-a mode=…``, as
scrapyd passes them) are written into the settings before anything reads them
(:meth:`apply_spider_arguments`).

Settings: ``ARCHIVER_REGISTRY`` (a registry TOML; default the bundled one), ``ARCHIVER_SITES``
(comma-separated site ids; default every site), ``ARCHIVER_MODE`` (``full`` | ``incremental``),
``ARCHIVER_DISCOVERY``.
"""
from __future__ import annotations

from weakref import WeakKeyDictionary

from archiver.incremental import MODES
from archiver.sites import Network, Site, load_network

_CONTEXTS: WeakKeyDictionary = WeakKeyDictionary()
SPIDER_ARGUMENTS = {"sites": "ARCHIVER_SITES", "registry": "ARCHIVER_REGISTRY", "mode": "ARCHIVER_MODE"}


class RunContext:
    def __init__(self, settings):
        self.network: Network = load_network(settings.get("ARCHIVER_REGISTRY") or None)
        self.mode = (settings.get("ARCHIVER_MODE") or "incremental").strip().lower()
        if self.mode not in MODES + ("warc",):           # warc: archiver warc import (no fetching)
            raise ValueError(f"unknown crawl mode {self.mode!r}; expected one of {', '.join(MODES)}")
        self.site_ids = [s.strip() for s in str(settings.get("ARCHIVER_SITES") or "").split(",") if s.strip()]
        for site_id in self.site_ids:
            self.network.site(site_id)             # KeyError naming the known sites
        self.discovery = settings.getbool("ARCHIVER_DISCOVERY", True)
        # "" (one process), or a distributed crawl's "seed" (the coordinator), "worker" or "writer"
        self.role = (settings.get("ARCHIVER_REDIS_ROLE") or "").strip().lower() if settings.get("ARCHIVER_REDIS_URL") else ""
        if self.role not in ("", "seed", "worker", "writer"):
            raise ValueError(f"unknown ARCHIVER_REDIS_ROLE {self.role!r}; expected seed, worker or writer")

    @classmethod
    def of(cls, crawler) -> RunContext:
        """The context of this crawler's run (built on the first call, from the final settings)."""
        ctx = _CONTEXTS.get(crawler)
        if ctx is None:
            ctx = _CONTEXTS[crawler] = cls(crawler.settings)
        return ctx

    @staticmethod
    def apply_spider_arguments(crawler, **arguments) -> None:
        """Spider arguments that name a setting become that setting (before the settings freeze)."""
        for name, setting in SPIDER_ARGUMENTS.items():
            if arguments.get(name):
                crawler.settings.set(setting, arguments[name], priority="cmdline")

    @property
    def incremental(self) -> bool:
        return self.mode == "incremental"

    @property
    def selected_sites(self) -> list[Site]:
        """The registry's sites this run crawls (all of them when none was chosen)."""
        if not self.site_ids:
            return list(self.network.sites)
        return [self.network.site(i) for i in self.site_ids]

    def selected(self, site: Site | None) -> bool:
        """Does this run crawl ``site`` (a registered one, or a member site discovery found)?"""
        if site is None or (site.discovered and not self.discovery):
            return False
        return not self.site_ids or site.id in self.site_ids
