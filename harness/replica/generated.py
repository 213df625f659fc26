"""A generated network for scale tests: tens of thousands of articles, made on request.

:class:`GeneratedNetwork` is a ``resolver`` for :class:`~harness.replica.server.ReplicaServer`
(``ReplicaServer(None, resolver=GeneratedNetwork(10000).resolve)``). Nothing is stored: every list
page and article page is rendered when it is requested, deterministically, with the fixture
templates (``fixtures/tools/templates.py``: the chalco, group, zlgj, member and cinf page chrome)
and generated text. The same URL always gets the same bytes and validators, so conditional
requests answer 304 exactly as on the real network.

Layout:

* ``articles`` documents are spread round-robin over every channel of the site registry, newest
  first, one document ID counter for the whole network (IDs fall and dates go back as the index
  grows, like the real network's single TRS document table). cinf has no channel in the registry;
  its homepage lists its own ``CINF_ARTICLES`` newest documents (extra to ``articles``).
* ``new`` more documents are "published since": dated after the snapshot, with higher IDs, put on
  top of the channels round-robin; every page of a channel that got one shifts (new bytes, new
  ``ETag``/``Last-Modified``), the other channels keep theirs.
* ``faults=k`` makes every article whose ID is a multiple of k answer 500 (listed, never served):
  failures for crash and retry tests.
* Pagers follow each template's style: createPageHTML (chalco, group), static links (zlgj), none
  (member sites: the crawler probes ``index_N.html`` until a 404).

``python -m harness.replica --generated 10000 [--new 30]`` serves it on its own;
``archiver crawl --replica generated=10000`` crawls it.
"""
from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

from archiver.sites import load_network

from harness.fixturegen import templates

from .cases import Case

SNAPSHOT = datetime(2026, 8, 31, 9, 0, tzinfo=timezone(timedelta(hours=8)))
STEP = timedelta(minutes=97)          # between consecutive documents of the network
BASE_ID = 400000                      # ID of the newest document of the snapshot
PER_PAGE = 20
CINF_ARTICLES = 10

# Page chrome per site (test infrastructure: the fixture generator decides the same way).
STYLE = {"chinalco_com_cn": "group", "chalco_com_cn": "chalco", "zlgj_chinalco_com_cn": "zlgj",
         "cinf_chinalco_com_cn": "cinf"}
EDITOR = {"group": "group_ue", "chalco": "trs_unquoted", "zlgj": "bare", "cinf": "trs_plain"}

ARTICLE_RE = re.compile(r"^/(?P<channel>.+)/(?P<month>\d{6})/t(?P<day>\d{8})_(?P<id>\d+)\.html$")
LIST_RE = re.compile(r"^/(?P<channel>.*?)/?(?:index(?:_(?P<page>\d+))?\.html)?$")

UNITS = ["电解一厂", "炭素厂", "动力厂", "铸造厂", "氧化铝厂", "质量管理中心", "设备能源部", "物资供应中心",
         "生产运营部", "技术中心", "安全环保部", "党群工作部", "企业管理部", "科技创新部"]
ACTIONS = ["召开", "开展", "举办", "部署", "推进", "组织", "启动", "完成"]
TOPICS = ["安全生产专项检查", "节能降碳专项行动", "生产经营例会", "党纪学习教育", "职工技能比武", "设备检修攻坚",
          "质量提升活动", "科技创新成果交流会", "青年安全生产示范岗评比", "绿色低碳转型推进会", "降本增效专题会议",
          "智能制造现场观摩会"]
SENTENCES = [
    "会议传达学习了上级有关文件精神，通报了{month}月份{topic}进展情况，分析了当前面临的形势和任务。",
    "{unit}结合生产实际，细化工作措施，明确责任分工，确保各项任务按期完成。",
    "与会人员围绕{topic}进行了深入交流，提出了{n}条具体改进建议。",
    "截至目前，累计排查整改隐患{n}项，整改完成率达到百分之百。",
    "下一步，{unit}将持续巩固提升工作成效，推动{topic}走深走实。",
    "活动中，各参赛选手严格按照操作规程进行比拼，充分展示了过硬的专业技能和良好的精神风貌。",
    "{unit}主要负责人强调，要坚持问题导向，以钉钉子精神抓好各项工作落实。",
    "本次活动共有{n}名干部职工参加，取得了良好效果。",
    "据了解，该项目投运后每年可节约标准煤约{n}吨，减少二氧化碳排放约{m}吨。",
    "大家纷纷表示，将以此次{topic}为契机，立足岗位作贡献，为公司高质量发展贡献力量。",
]


def _root(path: str) -> str:
    """'../' per directory level (TRS relative links to the site root)."""
    return "../" * (path.count("/") - 1)


@dataclass(frozen=True)
class GenChannel:
    index: int
    site_id: str
    host: str
    path: str                 # channel path without slashes at the ends ("xwdt/gsyw")
    label: str
    style: str                # group | chalco | zlgj | member | cinf
    home_url: str | None = None   # cinf: the channel's only list is the site's homepage


@dataclass(frozen=True)
class GenArticle:
    g: int                    # network index: 0 newest of the snapshot, negative = new since
    channel: GenChannel

    @property
    def doc_id(self) -> int:
        return BASE_ID - self.g

    @property
    def when(self) -> datetime:
        return SNAPSHOT - self.g * STEP

    @property
    def url(self) -> str:
        d = self.when
        return f"https://{self.channel.host}/{self.channel.path}/{d:%Y%m}/t{d:%Y%m%d}_{self.doc_id}.html"

    @property
    def day(self) -> str:
        return (self.when - timedelta(hours=self.doc_id % 3 * 24)).date().isoformat()   # displayed 时间 may lag

    def rng(self) -> random.Random:
        return random.Random(self.doc_id)

    @property
    def title(self) -> str:
        r = self.rng()
        # The ID keeps titles unique; written in Chinese digits because "404" in a short page's
        # title reads as a soft 404 to the page detector.
        serial = "".join("〇一二三四五六七八九"[int(d)] for d in str(self.doc_id))
        return f"{r.choice(UNITS)}{r.choice(ACTIONS)}{r.choice(TOPICS)}（第{serial}期）"


class GeneratedNetwork:
    def __init__(self, articles: int = 10000, new: int = 0, *, per_page: int = PER_PAGE, faults: int = 0,
                 registry: str | None = None):
        if articles < 0 or new < 0:
            raise ValueError("articles and new must be >= 0")
        self.articles = articles
        self.new = new
        self.per_page = per_page
        self.faults = faults          # every article whose ID is a multiple of this answers 500 (0: none)
        self.T = templates
        network = load_network(registry)
        channels: list[GenChannel] = []
        self.cinf: GenChannel | None = None
        for site in network.sites:
            style = STYLE.get(site.id, "member")
            for ch in site.channels:
                channels.append(GenChannel(len(channels), site.id, ch.host or site.host, ch.path.strip("/"),
                                           ch.label, "chalco" if style == "cinf" else style))
            if not site.channels and site.extra_start_urls:
                self.cinf = GenChannel(-1, site.id, site.host, "xwzx/gsyw", "公司新闻", "cinf",
                                       home_url=site.extra_start_urls[0])
        if not channels:
            raise ValueError("the registry has no channels")
        self.channels = channels
        self._by_host_path = {(c.host, c.path): c for c in channels}
        if self.cinf is not None:
            self._by_host_path[(self.cinf.host, self.cinf.path)] = self.cinf

    # ------------------------------------------------------------------ what exists
    @property
    def total(self) -> int:
        """Every article a crawl can reach (channels, new ones, cinf's homepage)."""
        return self.articles + self.new + (CINF_ARTICLES if self.cinf else 0)

    def _channel_of(self, g: int) -> GenChannel:
        n = len(self.channels)
        return self.channels[g % n] if g >= 0 else self.channels[(-g - 1) % n]

    def channel_entries(self, ch: GenChannel) -> list[int]:
        """Network indexes of the channel's documents, newest first."""
        if ch.style == "cinf":
            start = self.articles + 1000                      # a block of indexes of its own
            return list(range(start, start + CINF_ARTICLES))
        n = len(self.channels)
        new = [-j for j in range(1, self.new + 1) if (j - 1) % n == ch.index]
        new.sort()                                            # most negative = newest first
        old = list(range(ch.index, self.articles, n))
        return new + old

    def article_urls(self) -> list[str]:
        """Every reachable article URL (for tests; 10k strings is fine there)."""
        urls = []
        for ch in self.channels + ([self.cinf] if self.cinf else []):
            urls += [GenArticle(g, ch).url for g in self.channel_entries(ch)]
        return urls

    def new_article_urls(self) -> list[str]:
        return [GenArticle(-j, self._channel_of(-j)).url for j in range(1, self.new + 1)]

    # ------------------------------------------------------------------ resolver
    def resolve(self, url: str) -> Case | None:
        parts = urlsplit(url)
        host, path = (parts.hostname or "").lower(), parts.path
        if parts.scheme != "https":
            return None
        if self.cinf is not None and url == self.cinf.home_url:
            return self._home(self.cinf)
        m = ARTICLE_RE.match(path)
        if m:
            return self._article(host, m)
        m = LIST_RE.match(path)
        if m:
            ch = self._by_host_path.get((host, m["channel"].strip("/")))
            if ch is not None and ch.style != "cinf":
                return self._list(ch, int(m["page"] or 0), url)
        return None

    def _article(self, host: str, m: re.Match) -> Case | None:
        ch = self._by_host_path.get((host, m["channel"]))
        if ch is None:
            return None
        g = BASE_ID - int(m["id"])
        if ch.style == "cinf":
            if g not in self.channel_entries(ch):
                return None
        elif not (-self.new <= g < self.articles) or self._channel_of(g) is not ch:
            return None
        a = GenArticle(g, ch)
        if a.url != f"https://{host}{m.group(0)}":
            return None
        if self.faults and a.doc_id % self.faults == 0:
            return Case(url=a.url, status=500, headers=[("Content-Type", "text/html"), ("Server", "nginx")],
                        body=b"<html><head><title>500 Internal Server Error</title></head><body></body></html>")
        return self._page(a.url, self._render_article(a), a.when)

    def _list(self, ch: GenChannel, page: int, url: str) -> Case | None:
        entries = self.channel_entries(ch)
        pages = max(1, math.ceil(len(entries) / self.per_page))
        if page >= pages:
            return None
        rows = [GenArticle(g, ch) for g in entries[page * self.per_page:(page + 1) * self.per_page]]
        body = self._render_list(ch, rows, page, pages)
        newest = GenArticle(entries[0], ch).when if entries else SNAPSHOT
        return self._page(url, body, newest + timedelta(minutes=3))     # republished with the newest document

    def _home(self, ch: GenChannel) -> Case:
        entries = self.channel_entries(ch)
        rows = [GenArticle(g, ch) for g in entries]
        news = [{"href": "./" + a.url.split("/", 3)[3], "title": a.title, "text": a.title, "date": a.day}
                for a in rows]
        focus = {"href": news[0]["href"], "title": news[0]["title"], "img": "./images/focus.jpg"}
        body = self.T.cinf_home(news, focus).encode("utf-8")
        return self._page(ch.home_url, body, rows[0].when + timedelta(minutes=3))

    @staticmethod
    def _page(url: str, body: bytes, modified: datetime) -> Case:
        ts = int(modified.timestamp())
        headers = [("Content-Type", "text/html"), ("Server", "nginx"),
                   ("Last-Modified", format_datetime(modified.astimezone(timezone.utc), usegmt=True)),
                   ("ETag", f'"{ts:x}-{len(body):x}"'), ("Accept-Ranges", "bytes")]
        return Case(url=url, status=200, headers=headers, body=body)

    # ------------------------------------------------------------------ rendering
    def _items(self, a: GenArticle) -> list[dict]:
        r = a.rng()
        topic, unit = r.choice(TOPICS), r.choice(UNITS)

        def num(lo: int, hi: int) -> int:       # never "404" (see GenArticle.title)
            n = r.randint(lo, hi)
            while "404" in str(n):
                n += 1
            return n

        def sentence() -> str:
            return r.choice(SENTENCES).format(month=a.when.month, topic=topic, unit=unit, n=num(3, 500),
                                              m=num(1000, 90000))
        out = []
        for _ in range(r.randint(4, 8)):
            text = sentence() + (sentence() if r.random() < 0.6 else "")
            out.append({"t": "p", "text": text, "lead": "ideo2" if r.random() < 0.5 else ""})
        return out

    def _render_article(self, a: GenArticle) -> bytes:
        T, ch = self.T, a.channel
        path = urlsplit(a.url).path
        root = _root(path)
        items = self._items(a)
        source = UNITS[a.doc_id % len(UNITS)]
        if ch.style == "chalco":
            html = T.chalco_article(a.title, ch.label, source, a.day, root, T.render_body(items, EDITOR["chalco"]), [])
        elif ch.style == "group":
            html = T.group_article(a.title, source, a.day, "通讯员", root, T.render_body(items, EDITOR["group"]))
        elif ch.style == "zlgj":
            html = T.zlgj_article(a.title, source, a.day, root, T.render_body(items, EDITOR["zlgj"]), None, None)
        elif ch.style == "cinf":
            html = T.cinf_article(a.title, source, a.day, root, T.render_body(items, EDITOR["cinf"]))
        else:
            crumbs = [("首页", root), (ch.label, "../")]
            html = T.lzly_article(a.title, source, a.day, root, crumbs, T.render_items(items, "ueditor"))
        return html.encode("utf-8")

    def _render_list(self, ch: GenChannel, rows: list[GenArticle], page: int, pages: int) -> bytes:
        T = self.T
        list_path = f"/{ch.path}/index.html"
        root = _root(list_path)
        data = [{"href": "./" + a.url.split(f"/{ch.path}/", 1)[1], "title": a.title,
                 "text": a.title if len(a.title) <= 34 else a.title[:32] + "...", "date": a.day} for a in rows]
        if ch.style == "chalco":
            pager = f'<script type="text/javascript">createPageHTML({pages}, {page}, "index", "html");</script>'
            html = T.chalco_list(ch.label, root, data, pager)
        elif ch.style == "group":
            pager = ('<script type="text/javascript">\n<!--\ncreatePageHTML(%d, %d, "index", "html");\n//-->\n</script>'
                     % (pages, page))
            html = T.group_list(ch.label, root, [("首页", root), (ch.label, "./")], data, pager, inline_pager_js=True)
        elif ch.style == "zlgj":
            html = T.zlgj_list(root, data, page, pages)
        else:
            html = T.lzly_list(ch.label, root, [("首页", root), (ch.label, "./")], data)
        return html.encode("utf-8")
