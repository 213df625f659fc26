"""Discovery: which channels and member sites a crawl walks beyond what the registry lists.

The registry (``archiver/sites/network.toml``) seeds, names and excludes; it does not limit. A
crawl starts from every registered channel and every site's homepage, and walks, like a
registered channel, every in-network list page it meets:

* **navigation**: a channel link on a homepage, a channel landing page (``/xwzx/``), a menu,
  a breadcrumb or a list page (``/xwzx/xwzx_qydt/``, ``…/index.html``, ``…/index_3.html`` → the
  channel's first page), and the homepage of a member site linked from 成员企业 / 友情链接
  (links or ``<select>`` options);
* **link**: the channel that an article URL names (``/<channel>/YYYYMM/tYYYYMMDD_ID.html`` is
  listed on ``/<channel>/index.html``), so a channel whose articles are linked from elsewhere is
  walked even when no menu names it.

Member sites are the hosts under the registry's ``member_domains``; excluded hosts and paths
(procurement, recruiting, mail, APIs) stay excluded by rule. Budgets bound the walk: at most
``max_channels`` channels per site and ``max_sites`` discovered sites, and channels found at most
``max_depth`` discovery hops from a seed (a registered channel or a homepage is depth 0).

Pure bookkeeping: no network, clock or database. The spider asks, the store records what
``Found`` items say (how each site and channel was found, on which page, when).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from archiver.items import Found
from archiver.sites import Network, Site
from archiver.sites.registry import UrlInfo

FOUND_BY = ("registry", "navigation", "link", "archive")


@dataclass(frozen=True)
class Entry:
    """A page to walk: a channel's first list page, or a site's homepage (``hub``)."""
    url: str
    site: str
    channel: str | None            # None for a homepage
    found_by: str                  # registry | navigation | link | archive
    found_on: str | None           # the page that linked it (None for registry seeds)
    depth: int
    label: str | None = None
    new_site: bool = False         # the first entry of a site the registry does not list

    @property
    def is_hub(self) -> bool:
        return self.channel is None


@dataclass
class Budget:
    max_channels: int = 100        # per site, registered ones included
    max_sites: int = 50            # discovered sites (not in the registry)
    max_depth: int = 4             # discovery hops from a seed

    @classmethod
    def from_settings(cls, settings) -> Budget:
        """``ARCHIVER_DISCOVERY_MAX_CHANNELS``, ``_MAX_SITES``, ``_MAX_DEPTH``."""
        return cls(settings.getint("ARCHIVER_DISCOVERY_MAX_CHANNELS", 100),
                   settings.getint("ARCHIVER_DISCOVERY_MAX_SITES", 50), settings.getint("ARCHIVER_DISCOVERY_MAX_DEPTH", 4))


def channel_url(info: UrlInfo) -> str:
    """The first list page of the channel a list or article URL belongs to."""
    parts = urlsplit(info.canonical_url or info.url)
    return f"{parts.scheme}://{parts.netloc}/{info.channel.strip('/')}/"


def homepage_url(site: Site) -> str:
    return f"https://{site.host}/"


@dataclass
class Discovery:
    network: Network
    enabled: bool = True
    budget: Budget = field(default_factory=Budget)
    site_ids: frozenset[str] | None = None          # only these sites (None: every in-network site)
    _channels: dict[tuple[str, str], Entry] = field(default_factory=dict)
    _hubs: dict[str, Entry] = field(default_factory=dict)
    _per_site: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)     # reason -> count (budget, depth, site)

    # ---------------------------------------------------------------- seeds
    def seeds(self, sites: list[Site], archived_channels: list[dict] = (), archived_sites: list[dict] = (),
              recheck: bool = False) -> list[Entry]:
        """What a run starts from: registered channels and start URLs; channels earlier runs
        discovered (``archived_channels``: site, channel, list_url, label, found_on, status); each
        site's homepage, and the homepages of member sites earlier runs discovered
        (``archived_sites``). A channel or homepage that was missing, empty or kept out by robots
        at the last look is known but not asked for again, unless ``recheck`` (a full run)."""
        out: list[Entry] = []
        for site in sites:
            for ch in site.channels:
                out += self._add_channel(Entry(ch.list_url(site), site.id, ch.path, "registry", None, 0, ch.label))
            for url in site.extra_start_urls:
                info = self.network.classify(url)
                if info.kind == "list" and info.channel:
                    out += self._add_channel(Entry(url, site.id, info.channel, "registry", None, 0))
                else:
                    out += self._add_hub(Entry(url, site.id, None, "registry", None, 0))
        if not self.enabled:
            return out
        for row in archived_channels:
            site = self._site(row["site"])
            if site is None or not row.get("channel") or not row.get("list_url"):
                continue
            if self.network.classify(row["list_url"]).kind != "list":
                continue
            entry = Entry(row["list_url"], site.id, row["channel"], "archive", row.get("found_on"), 0, row.get("label"))
            if row.get("status") in (None, "ok") or recheck:
                out += self._add_channel(entry)
            else:
                self._know_channel(entry)
        last_look = {r["site"]: r for r in archived_sites}
        hubs = [(site, "registry") for site in sites]
        for row in archived_sites:
            if not row.get("in_registry"):
                site = self._site(row["site"])
                if site is not None and site.discovered:
                    hubs.append((site, "archive"))
        for site, found_by in hubs:
            entry = Entry(homepage_url(site), site.id, None, found_by, None, 0, new_site=site.discovered)
            row = last_look.get(site.id)
            if row is not None and row.get("status") not in (None, "ok") and not recheck:
                self._hubs.setdefault(site.host, entry)
            else:
                out += self._add_hub(entry)
        return out

    # ---------------------------------------------------------------- from pages
    def from_links(self, links: list[tuple[str, str]], *, found_on: str, depth: int) -> list[Entry]:
        """New entries among a page's navigation links ((url, text) pairs)."""
        if not self.enabled:
            return []
        out: list[Entry] = []
        for url, text in links:
            info = self.network.classify(url)
            if info.site is None or not self._wanted(info.site):
                continue
            if info.kind == "list" and info.channel:
                out += self._channel_of(info, "navigation", found_on, depth + 1, text)
            elif info.kind == "network" and urlsplit(info.canonical_url or url).path in ("", "/"):
                out += self._add_hub(Entry(homepage_url(info.site), info.site.id, None, "navigation", found_on,
                                           depth + 1, text or None, new_site=info.site.discovered))
        return out

    def from_article(self, info: UrlInfo, *, found_on: str, depth: int) -> list[Entry]:
        """The channel an article URL names, if no walk of it is known yet."""
        if not self.enabled or info.site is None or not info.channel or not self._wanted(info.site):
            return []
        out = []
        if info.site.discovered and info.site.host not in self._hubs:
            out += self._add_hub(Entry(homepage_url(info.site), info.site.id, None, "link", found_on, depth + 1,
                                       new_site=True))
        return out + self._channel_of(info, "link", found_on, depth + 1, None)

    # ---------------------------------------------------------------- bookkeeping
    def _site(self, site_id: str) -> Site | None:
        try:
            site = self.network.site(site_id)
        except KeyError:
            host = site_id.replace("_", ".")
            site = self.network.member_site(host) or self.network.member_site("www." + host)
        return site if site is not None and self._wanted(site) else None

    def _wanted(self, site: Site) -> bool:
        if self.site_ids is not None:
            return site.id in self.site_ids
        return True

    def _refuse(self, reason: str) -> list[Entry]:
        self.refused[reason] = self.refused.get(reason, 0) + 1
        return []

    def _channel_of(self, info: UrlInfo, found_by: str, found_on: str, depth: int, label: str | None) -> list[Entry]:
        key = (info.site.id, info.channel.strip("/"))
        if key in self._channels:
            return []
        if depth > self.budget.max_depth:
            return self._refuse("depth")
        return self._add_channel(Entry(channel_url(info), info.site.id, key[1], found_by, found_on, depth,
                                       (label or "").strip()[:40] or None))

    def _add_channel(self, entry: Entry) -> list[Entry]:
        key = (entry.site, entry.channel.strip("/"))
        if key in self._channels:
            return []
        verdict = self._claim_channel(entry, key)
        if verdict == "refused":
            return self._refuse("channels_per_site")
        self._channels[key] = entry
        return [entry] if verdict == "new" else []

    def _claim_channel(self, entry: Entry, key: tuple[str, str]) -> str:
        """``new`` (walk it), ``known`` (someone walks it already) or ``refused`` (over the budget).
        One process decides alone; workers sharing a crawl decide in Redis (SharedDiscovery)."""
        if self._per_site.get(entry.site, 0) >= self.budget.max_channels and entry.found_by != "registry":
            return "refused"
        self._per_site[entry.site] = self._per_site.get(entry.site, 0) + 1
        return "new"

    def _know_channel(self, entry: Entry) -> None:
        """A channel known but not walked (missing or empty at the last look)."""
        self._channels.setdefault((entry.site, entry.channel.strip("/")), entry)

    def _add_hub(self, entry: Entry) -> list[Entry]:
        host = urlsplit(entry.url).hostname or ""
        if host in self._hubs:
            return []
        if entry.new_site and entry.depth > self.budget.max_depth:
            return self._refuse("depth")
        verdict = self._claim_hub(entry, host)
        if verdict == "refused":
            return self._refuse("sites")
        self._hubs[host] = entry
        return [entry] if verdict == "new" else []

    def _claim_hub(self, entry: Entry, host: str) -> str:
        if entry.new_site and sum(1 for e in self._hubs.values() if e.new_site) >= self.budget.max_sites:
            return "refused"
        return "new"

    def knows_channel(self, site: str, channel: str) -> bool:
        return (site, channel.strip("/")) in self._channels

    @property
    def channels(self) -> list[Entry]:
        return list(self._channels.values())

    @property
    def new_sites(self) -> list[Entry]:
        return [e for e in self._hubs.values() if e.new_site]

    @property
    def new_channels(self) -> list[Entry]:
        """Channels this run walks that the registry does not list."""
        return [e for e in self._channels.values() if e.found_by != "registry"]


# ---------------------------------------------------------------- what the store records
def found_item(network: Network, meta: dict, url: str, *, kind: str = "channel", articles: int | None = None,
               label: str | None = None, status: str = "ok") -> Found:
    """The ``Found`` item for an entry page whose answer came (``meta``: its request's
    ``archiver`` meta, with the ``found`` record of how it was found)."""
    f = meta["found"]
    site = network.site_for_url(url)
    channel = (meta.get("channel") or "").strip("/")
    registered = site is not None and site.channel_for_path(channel) is not None \
        and site.channel_for_path(channel).path == channel
    in_registry = not (site is not None and site.discovered) and (
        kind == "site" or f["found_by"] == "registry" or registered)
    return Found(kind=kind, site=meta["site"], url=url, found_by=f["found_by"], found_on=f["found_on"],
                 channel=meta.get("channel") if kind == "channel" else None, label=label or f["label"],
                 host=site.host if site else None, in_registry=in_registry, articles=articles, status=status)


def discovered_entry(meta: dict) -> bool:
    """The first page of a homepage or of a channel the registry does not list: a 404 there or
    a robots.txt refusal loses no article (a status, not a failure)."""
    found = meta.get("found") or {}
    return meta.get("kind") == "hub" or (bool(meta.get("entry")) and found.get("found_by") not in (None, "registry"))
