"""Channel list pages: their rows, their link-type entries and their pager.

Three pager styles exist on TRS sites and the network's is unknown (site-network.md §2.5), so
all three are read:

* ``createPageHTML(total, current, "index", "html")`` in a script (also wrapped in ``<!-- -->``,
  and the variant with a container id first): every page URL is known at once;
* static links: ``下一页`` / numbered ``index_N.html`` links / ``尾页``;
* none: the crawler probes ``index_{n+1}.html`` until a 404 or a page with no new rows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urljoin

from archiver.normalize.dates import find_date
from archiver.normalize.text import clean_line

from .base import PageInput
from .dom import is_element, safe_urljoin, visible_text

# createPageHTML([container,] total, current, prefix, ext[, records]): numbers bare or quoted,
# any spacing, in a script, a comment or the page text (site-network.md §2.5, G1/G2/G5).
CREATE_PAGE_HTML = re.compile(
    r"createPageHTML\s*\(\s*(?:['\"][\w-]*['\"]\s*,\s*)?['\"]?\s*(?P<total>\d{1,7})\s*['\"]?\s*,\s*"
    r"['\"]?\s*(?P<current>\d{1,7})\s*['\"]?\s*,\s*['\"](?P<prefix>[\w-]+)['\"]\s*,\s*['\"](?P<ext>\w+)['\"]"
)
MAX_NAV_LINKS = 3000          # links read per page for discovery (a bound on the work per page)
NEXT_TEXT = re.compile(r"^\s*(下一页|下页|后一页|下一頁|Next|&gt;|>|›|»)\s*$", re.I)
LAST_TEXT = re.compile(r"^\s*(尾页|末页|最后一页|Last)\s*$", re.I)
TOTAL_PAGES = re.compile(r"共\s*(?P<total>\d+)\s*页")
PAGER_WORDS = re.compile(r"上一页|下一页|尾页|末页|共\s*(?P<total>\d+)\s*页")
ROW_TAGS = ("li", "tr", "dd", "dt", "p", "div")


@dataclass
class Row:
    url: str
    title: str
    date: str | None
    kind: str            # article | file | wechat | offsite | network | excluded | list
    position: int


@dataclass
class Pager:
    style: str                                   # createPageHTML | static | none
    current: int                                 # 0-based page index of this page
    total: int | None = None
    next_url: str | None = None
    page_urls: list[str] = field(default_factory=list)

    @property
    def is_last(self) -> bool:
        """The pager says this page is the last one."""
        if self.style == "none":
            return False
        if self.total is not None:
            return self.current + 1 >= self.total
        return self.next_url is None


def list_page_url(base_url: str, n: int, prefix: str = "index", ext: str = "html") -> str:
    name = f"{prefix}.{ext}" if n == 0 else f"{prefix}_{n}.{ext}"
    return urljoin(base_url, name)


class ListPage:
    def __init__(self, page: PageInput):
        self.page = page
        self.root = page.root
        self.url = page.url
        self.network = page.network

    @cached_property
    def _anchors(self) -> list[tuple[object, str]]:
        out = []
        for a in self.root.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
                continue
            url = safe_urljoin(self.url, href)
            if url:
                out.append((a, url))
        return out

    @cached_property
    def _container(self):
        """The element whose rows hold the most article links (the list proper)."""
        counts: dict = {}
        for a, url in self._anchors:
            if self.network.classify(url).kind != "article":
                continue
            row = self._row_of(a)
            parent = row.getparent() if row is not None else None
            if parent is not None:
                counts[parent] = counts.get(parent, 0) + 1
        if not counts:
            return None
        return max(counts, key=lambda el: counts[el])

    @staticmethod
    def _row_of(a):
        node = a.getparent()
        while node is not None and is_element(node):
            if node.tag in ROW_TAGS:
                return node
            node = node.getparent()
        return a

    @cached_property
    def rows(self) -> list[Row]:
        """Rows of the list proper, in page order; each row's first link decides its kind."""
        container = self._container
        rows: list[Row] = []
        seen: set[str] = set()
        if container is None:
            return rows
        for child in container:
            if not is_element(child):
                continue
            links = [(a, safe_urljoin(self.url, a.get("href").strip())) for a in child.iter("a")
                     if (a.get("href") or "").strip() and not a.get("href").strip().startswith(("#", "javascript:"))]
            links = [(a, u) for a, u in links if u]
            if not links:
                continue
            a, url = links[0]
            info = self.network.classify(url)
            key = info.canonical_url or url
            if key in seen:
                continue
            seen.add(key)
            title = clean_line(a.get("title") or visible_text(a))
            row_text = visible_text(child)
            d = find_date(row_text.replace(title, " ")) if title else find_date(row_text)
            kind = info.kind
            if kind == "article" and info.site is not None and self._site is not None and info.site.id != self._site.id:
                kind = "network"     # a link-type row pointing at another site of the network
            rows.append(Row(url=url, title=title, date=d.day if d else None, kind=kind, position=len(rows)))
        return rows

    @cached_property
    def _site(self):
        return self.network.site_for_url(self.url)

    @cached_property
    def article_links(self) -> list[str]:
        """Every in-network article URL on the page (rows first, then any others such as
        sidebars and link-type rows to other sites of the network)."""
        urls = [r.url for r in self.rows if r.kind == "article"]
        seen = {self.network.canonical_url(u) for u in urls}
        for _, url in self._anchors:
            info = self.network.classify(url)
            if info.kind == "article" and info.canonical_url not in seen:
                seen.add(info.canonical_url)
                urls.append(url)
        return urls

    @cached_property
    def nav_links(self) -> list[tuple[str, str]]:
        """Every link of the page with its text, for discovery: anchors, image-map areas and the
        options of link selects (友情链接 / 成员企业 drop-downs); at most MAX_NAV_LINKS."""
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        for a, url in self._anchors:
            if url not in seen:
                seen.add(url)
                out.append((url, clean_line(a.get("title") or visible_text(a, limit=60))[:60]))
            if len(out) >= MAX_NAV_LINKS:
                return out
        for el in self.root.iter("option", "area"):
            value = (el.get("value") or el.get("href") or "").strip()
            if not value.lower().startswith(("http://", "https://", "/", "./", "../")):
                continue
            url = safe_urljoin(self.url, value)
            if url and url not in seen:
                seen.add(url)
                out.append((url, clean_line(visible_text(el, limit=60) or el.get("alt") or "")[:60]))
            if len(out) >= MAX_NAV_LINKS:
                break
        return out

    def next_candidates(self) -> list[str]:
        """What the pager names as the page after this one, most trusted first."""
        pager = self.pager
        out = [pager.next_url] if pager.next_url else []
        here = self.network.classify(self.url)
        current = here.list_page if here.list_page is not None else pager.current
        for url in pager.page_urls:
            info = self.network.classify(url)
            if info.list_page == current + 1 and url not in out:
                out.append(url)
        return out

    @property
    def link_entries(self) -> list[Row]:
        """Rows that are not network articles: files, WeChat posts, other hosts, other pages."""
        return [r for r in self.rows if r.kind in ("file", "wechat", "offsite", "network", "excluded")]

    @cached_property
    def pager(self) -> Pager:
        info = self.network.classify(self.url)
        current = info.list_page if info.list_page is not None else 0
        scripts = " ".join((s.text or "") for s in self.root.iter("script"))
        m = CREATE_PAGE_HTML.search(scripts) or CREATE_PAGE_HTML.search(self.page.text)
        if m:
            total = int(m["total"])
            cur = int(m["current"])
            urls = [list_page_url(self.url, n, m["prefix"], m["ext"]) for n in range(total)]
            nxt = urls[cur + 1] if cur + 1 < total else None
            return Pager("createPageHTML", cur, total, nxt, urls)
        next_url = None
        page_urls: list[str] = []
        last_n = None
        here = self.network.canonical_url(self.url)
        for a, url in self._anchors:
            text = clean_line(visible_text(a))
            linfo = self.network.classify(url)
            if linfo.kind != "list" or linfo.site != info.site:
                continue
            if linfo.canonical_url == here:          # 尾页 on the last page points at the page itself
                if LAST_TEXT.match(text) and linfo.channel == info.channel and linfo.list_page is not None:
                    last_n = linfo.list_page
                continue
            same_channel = linfo.channel == info.channel
            if NEXT_TEXT.match(text):
                next_url = next_url or url
            if same_channel:
                if linfo.list_page and url not in page_urls:
                    page_urls.append(url)
                if LAST_TEXT.match(text):
                    last_n = linfo.list_page
        if last_n and info.kind == "list":
            for n in range(1, last_n + 1):
                u = list_page_url(self.url, n)
                if u not in page_urls:
                    page_urls.append(u)
        total = (last_n + 1) if last_n is not None else None
        if total is None and (next_url or page_urls):
            total = self._pager_words(counted_only=True)          # 共N页 beside the links
        if next_url or page_urls:
            return Pager("static", current, total, next_url, page_urls)
        # Pager markup with nothing to follow: a single page, or the last page.
        words = self._pager_words()
        if words:
            return Pager("static", current, total or words, None, [])
        return Pager("none", current)

    def _pager_words(self, counted_only: bool = False) -> int | None:
        """Total pages when the page shows pager words (上一页/下一页/共N页), else None
        (``counted_only``: only a 共N页 count)."""
        body = self.root.find("body")
        for el in (body if body is not None else self.root).iter("div", "p", "span", "td", "ul"):
            text = visible_text(el, limit=200)
            if len(text) > 200:
                continue
            m = PAGER_WORDS.search(text)
            if m and counted_only:
                m = TOTAL_PAGES.search(text)
            if m:
                return int(m["total"]) if m["total"] else 1
        return None

    def probe_url(self) -> str | None:
        """The next ``index_N.html`` to try when the page has no pager at all."""
        info = self.network.classify(self.url)
        if info.kind != "list" or info.list_page is None:
            return None
        return list_page_url(self.url, info.list_page + 1)
