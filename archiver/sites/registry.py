"""Load ``network.toml`` into typed objects and answer questions about URLs.

Nothing here branches on a site name: every site-specific fact lives in the TOML file.
"""
from __future__ import annotations

import importlib.resources
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from w3lib.url import url_query_cleaner

DEFAULT_REGISTRY = Path(__file__).with_name("network.toml")


class RegistryError(ValueError):
    """The site registry file is inconsistent."""


@dataclass(frozen=True)
class Channel:
    path: str                      # "xwdt/gsyw" (no leading/trailing slash)
    label: str
    language: str = "zh"
    pager: str | None = None       # optional hint: createPageHTML | static | probe
    host: str | None = None        # when the channel is only served on an alias host

    def list_url(self, site: "Site") -> str:
        return f"https://{self.host or site.host}/{self.path}/index.html"


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    host: str
    family: str = "chinalco"
    role: str = "member"
    name_en: str = ""
    aliases: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    extra_start_urls: tuple[str, ...] = ()
    crawl_delay: float | None = None
    encoding: str | None = None
    discovered: bool = False       # not in the registry: found by the crawl on a network domain

    @property
    def hosts(self) -> tuple[str, ...]:
        return (self.host,) + tuple(a.split("/", 1)[0] for a in self.aliases)

    def start_urls(self) -> list[str]:
        return [c.list_url(self) for c in self.channels] + list(self.extra_start_urls)

    def channel_for_path(self, path: str) -> Channel | None:
        """The registered channel whose path is the longest prefix of ``path``."""
        path = path.strip("/")
        best = None
        for ch in self.channels:
            if path == ch.path or path.startswith(ch.path + "/"):
                if best is None or len(ch.path) > len(best.path):
                    best = ch
        return best


@dataclass(frozen=True)
class UrlInfo:
    """What a URL is, in the network's terms."""
    url: str                       # absolute URL as found
    kind: str                      # article | list | file | wechat | network | excluded | offsite | invalid
    site: Site | None = None
    canonical_url: str | None = None
    channel: str | None = None     # channel path (article and list URLs)
    url_date: str | None = None    # YYYY-MM-DD from tYYYYMMDD
    doc_id: int | None = None
    list_page: int | None = None   # 0 for index.html, n for index_n.html

    @property
    def in_network(self) -> bool:
        return self.site is not None and self.kind in ("article", "list", "network", "file")


@dataclass
class Network:
    name: str
    sites: tuple[Site, ...]
    article_re: re.Pattern
    list_re: re.Pattern
    file_extensions: frozenset[str]
    excluded_hosts: frozenset[str]
    excluded_path_prefixes: tuple[str, ...]
    wechat_hosts: frozenset[str]
    # Discovery (README "How the crawler finds what the registry does not list"): any host under
    # these domains is a member site of the network unless a rule below excludes it.
    member_domains: tuple[str, ...] = ()
    excluded_host_re: re.Pattern | None = None      # procurement, recruiting, mail, API hosts by rule
    excluded_path_re: re.Pattern | None = None      # recruiting / tender channels on news hosts by rule
    discovered_family: str = "chinalco"
    _by_host: dict[str, list[tuple[str, Site]]] = field(default_factory=dict, repr=False)
    _discovered: dict[str, Site | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for site in self.sites:
            if site.id in seen:
                raise RegistryError(f"site id {site.id!r} is declared twice")
            seen[site.id] = site.id
            for entry in (site.host,) + site.aliases:
                host, _, prefix = entry.partition("/")
                prefix = "/" + prefix.strip("/") if prefix else ""
                self._by_host.setdefault(host.lower(), []).append((prefix, site))
        for host, entries in self._by_host.items():
            entries.sort(key=lambda e: len(e[0]), reverse=True)
            if len({p for p, _ in entries}) != len(entries):
                raise RegistryError(f"host {host!r} is claimed by two sites with the same path prefix")

    # ---------------------------------------------------------------- lookups
    def site(self, site_id: str) -> Site:
        for s in self.sites + self.discovered_sites:
            if s.id == site_id:
                return s
        known = ", ".join(s.id for s in self.sites)
        raise KeyError(f"unknown site {site_id!r}; known sites: {known}")

    @property
    def discovered_sites(self) -> tuple[Site, ...]:
        """Member sites met during this process's crawl that the registry does not list."""
        return tuple(s for s in self._discovered.values() if s is not None)

    def is_excluded_host(self, host: str) -> bool:
        host = host.lower()
        return host in self.excluded_hosts or bool(self.excluded_host_re and self.excluded_host_re.search(host))

    def member_site(self, host: str) -> Site | None:
        """The site of a host on a member domain that the registry does not list (created once,
        named by the id rule), or None when the host is not the network's or is excluded."""
        host = host.lower().rstrip(".")
        if host in self._discovered:
            return self._discovered[host]
        site = None
        if (any(host == d or host.endswith("." + d) for d in self.member_domains)
                and not self.is_excluded_host(host) and _HOST.match(host)):
            site = Site(id=host_site_id(host), name=host, host=host, family=self.discovered_family,
                        role="member", discovered=True)
        self._discovered[host] = site
        return site

    def _match(self, host: str, path: str) -> tuple[Site, str] | None:
        """(site, path with any alias prefix removed) for a host and path."""
        for prefix, site in self._by_host.get(host.lower(), ()):
            if not prefix:
                return site, path
            if path == prefix or path.startswith(prefix + "/"):
                return site, path[len(prefix):] or "/"
        # Not registered (or a registered host under another path prefix): a member domain's host?
        site = self.member_site(host) if host else None
        return (site, path) if site is not None else None

    def site_for_url(self, url: str) -> Site | None:
        parts = urlsplit(url)
        m = self._match(parts.hostname or "", parts.path or "/")
        return m[0] if m else None

    def canonical_url(self, url: str) -> str:
        """https, canonical host, alias path prefix removed, fragment dropped, dot segments and
        repeated slashes resolved, tracking parameters (``utm_*``, WeChat share ``from=…``) removed.

        Other query parameters are kept (static TRS pages have none that matter).
        """
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        path = _INDEX_FILE.sub("/", _SLASHES.sub("/", resolve_dot_segments(parts.path)))
        query = urlsplit(strip_tracking(url)).query
        m = self._match(host, path)
        if m:
            site, path = m
            return urlunsplit(("https", site.host, path, query, ""))
        scheme = parts.scheme.lower()
        if parts.port and (scheme, parts.port) not in (("https", 443), ("http", 80)):
            host = f"{host}:{parts.port}"
        return urlunsplit((scheme, host, path, query, ""))

    def classify(self, url: str) -> UrlInfo:
        """Decide what a link is: the crawler follows ``article`` and ``list`` URLs only."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return UrlInfo(url, "invalid")
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        if scheme not in ("http", "https") or not host:
            return UrlInfo(url, "invalid")
        if host in self.wechat_hosts:
            return UrlInfo(url, "wechat")
        if self.is_excluded_host(host):
            return UrlInfo(url, "excluded")
        m = self._match(host, resolve_dot_segments(parts.path))
        if not m:
            return UrlInfo(url, "offsite")
        site, path = m
        canonical = self.canonical_url(url)
        if any(path.startswith(p) for p in self.excluded_path_prefixes) or (
                self.excluded_path_re is not None and self.excluded_path_re.search(path)):
            return UrlInfo(url, "excluded", site, canonical)
        ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
        am = self.article_re.match(path)
        if am:
            ymd = am["date"]
            return UrlInfo(url, "article", site, canonical, channel=am["channel"].strip("/"),
                           url_date=f"{ymd[:4]}-{ymd[4:6]}-{ymd[6:]}", doc_id=int(am["doc_id"]))
        lm = self.list_re.match(path)
        if lm:
            return UrlInfo(url, "list", site, canonical, channel=lm["channel"].strip("/"),
                           list_page=int(lm["page"]) if lm["page"] else 0)
        if path.endswith("/") and path.strip("/"):       # a channel directory serves its index.html
            return UrlInfo(url, "list", site, canonical, channel=path.strip("/"), list_page=0)
        if ext in self.file_extensions:
            return UrlInfo(url, "file", site, canonical)
        return UrlInfo(url, "network", site, canonical)


_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")
_INDEX_FILE = re.compile(r"/index\.(?:s?html?|jsp|php|aspx?)$", re.I)
_SLASHES = re.compile(r"/{2,}")
# Query parameters that only say how a reader arrived (campaign tags, WeChat/app share links,
# click ids): never part of a page's identity (#4, URL canonicalisation).
TRACKING_PARAMS = re.compile(r"^(?:utm_\w+|spm|from|isappinstalled|scene|clicktime|enterid|share_\w+|"
                             r"fbclid|gclid|_t|timestamp)$", re.I)


def strip_tracking(url: str) -> str:
    """``url`` without its tracking parameters (and fragment); the other parameters kept as they
    are, in order, repeated ones too (w3lib's ``url_query_cleaner``)."""
    query = urlsplit(url).query
    tracking = {k for k, _ in parse_qsl(query, keep_blank_values=True) if TRACKING_PARAMS.match(k)}
    return url_query_cleaner(url, tracking, remove=True, unique=False)


_ID_DIR = re.compile(r"^(?:\d+|[A-Za-z]{1,2}\d{5,})$")


def host_site_id(host: str) -> str:
    """The naming rule for site ids: host lower-cased, without ``www.``, dots to underscores."""
    return (host or "").lower().removeprefix("www.").replace(".", "_")


def path_channel(path: str) -> str | None:
    """The channel of a URL on a host outside the registry: its directories, without date
    folders (``202603``, ``2022/6``) and document-id folders (``c34612857``)."""
    dirs = [d for d in resolve_dot_segments(path).split("/")[1:-1] if d]
    while dirs and dirs[-1].isdigit():
        dirs.pop()
    if len(dirs) > 1 and _ID_DIR.match(dirs[-1]):
        dirs.pop()
    return "/".join(dirs) or None


def resolve_dot_segments(path: str) -> str:
    """``/a/./b/../c.html`` -> ``/a/c.html`` (RFC 3986 §5.2.4, as urljoin applies it)."""
    if not path:
        return "/"
    if "/." not in path:
        return path
    return urlsplit(urljoin("http://x/", path)).path


def _channel(raw: dict) -> Channel:
    return Channel(path=raw["path"].strip("/"), label=raw.get("label", ""), language=raw.get("language", "zh"),
                   pager=raw.get("pager"), host=raw.get("host"))


def _site(raw: dict) -> Site:
    missing = [k for k in ("id", "name", "host") if k not in raw]
    if missing:
        raise RegistryError(f"site entry {raw!r} lacks {', '.join(missing)}")
    return Site(
        id=raw["id"], name=raw["name"], host=raw["host"].lower(), family=raw.get("family", "chinalco"),
        role=raw.get("role", "member"), name_en=raw.get("name_en", ""),
        aliases=tuple(a.lower().rstrip("/") for a in raw.get("aliases", ())),
        channels=tuple(_channel(c) for c in raw.get("channels", ())),
        extra_start_urls=tuple(raw.get("start_urls", ())), crawl_delay=raw.get("crawl_delay"),
        encoding=raw.get("encoding"),
    )


def parse_network(data: dict) -> Network:
    net = data.get("network", {})
    try:
        return Network(
            name=net.get("name", ""),
            sites=tuple(_site(s) for s in data.get("site", ())),
            article_re=re.compile(net["article_url_pattern"]),
            list_re=re.compile(net["list_page_pattern"]),
            file_extensions=frozenset(e.lower() for e in net.get("file_extensions", ())),
            excluded_hosts=frozenset(h.lower() for h in net.get("excluded_hosts", ())),
            excluded_path_prefixes=tuple(net.get("excluded_path_prefixes", ())),
            wechat_hosts=frozenset(h.lower() for h in net.get("wechat_hosts", ())),
            member_domains=tuple(d.lower().strip(".") for d in net.get("member_domains", ())),
            excluded_host_re=_compiled(net.get("excluded_host_patterns")),
            excluded_path_re=_compiled(net.get("excluded_path_patterns")),
            discovered_family=net.get("discovered_family", "chinalco"),
        )
    except KeyError as e:
        raise RegistryError(f"[network] lacks {e.args[0]}") from None


def _compiled(patterns) -> re.Pattern | None:
    """One regex from a list of alternatives (case-insensitive), or None for an empty list."""
    if not patterns:
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)
    except re.error as e:
        raise RegistryError(f"bad pattern in the registry: {e}") from None


@lru_cache(maxsize=8)
def load_network(path: str | Path | None = None) -> Network:
    if path:
        with Path(path).open("rb") as f:
            return parse_network(tomllib.load(f))
    # The bundled registry through importlib.resources: it is also read from inside a zipped egg
    # (scrapyd runs the project from the egg that scrapyd-deploy uploads; issue #6).
    data = importlib.resources.files(__package__).joinpath(DEFAULT_REGISTRY.name).read_bytes()
    return parse_network(tomllib.loads(data.decode("utf-8")))
