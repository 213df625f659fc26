"""The Chinalco network's CMS family (TRS WCM, one instance for every host).

What is confirmed about the rendered article (site-network.md §0.3, §3.1): a 中铝网站群 bar,
breadcrumb or column heading, the headline, an info line ``来源 … 时间 … [作者 …]``, body
paragraphs, then ``附件:`` (even when empty) and the footer with copyright and ICP lines. Class
names for title, info line and body are NOT known (§3.3), and differ between hosts. So this page
object anchors on that confirmed order instead of on guessed class names: it finds the info line
by its labels, takes the headline as the nearest heading before it, and the body as what follows
it up to the 附件 block, the previous/next links or the footer. Known hooks (``div.xl_main``,
``TRS_Editor``) only narrow the search when present.
"""
from __future__ import annotations

import itertools
import re
from functools import cached_property


from lxml import etree

from archiver.normalize.dates import ParsedDate, find_date, url_date
from archiver.normalize.infoline import LABEL_RE, InfoLine, parse_info_line
from archiver.normalize.text import cjk_ratio, clean_line

from .base import Field, PageInput
from .dom import (BLOCK_TAGS, SKIP_TAGS, TITLE_HINT, Block, class_id, is_element, iter_blocks, meta_content,
                  safe_urljoin, title_tag, visible_text)
from .sanitize import blocks_to_html

INFO_TEXT_XPATH = (
    "//body//text()[contains(., '来源') or contains(., '时间') or contains(., '日期') or "
    "contains(., '作者') or contains(., 'Source') or contains(., 'Date') or contains(., 'Time') or "
    "contains(., 'SOURCE') or contains(., 'DATE')]"
)
HOME_TEXT_XPATH = (".//text()[contains(., '首页') or contains(., '主页') or contains(., 'Home') or "
                   "contains(., 'home') or contains(., 'HOME')]")
CHROME_HINT = re.compile(r"(^|[\s_-])(foot|footer|bottom|copyright|nav|menu|header|top-?bar|topbar|sidebar|"
                         r"side|share|bdshare|wzq|links?|friend|yqlj)([\s_-]|$)", re.I)
BODY_HINT = re.compile(r"trs_editor|trs_ueditor|trs_paper|article[-_]?con|article[-_]?body|article[-_]?content|"
                       r"content[-_]?con|xl_con|xl[-_]?content|xl[-_]?txt|zsy_comain|contxt|con_txt|"
                       r"detail[-_]?(con|content|text|body)|news[-_]?(con|content|text|body)|"
                       r"main[-_]?text|text[-_]?con|pages_content|view[-_]?text|custom_unionstyle|"
                       r"(^|\s)(content|article|text|zw|zhengwen)(\s|$)", re.I)
BREADCRUMB_TEXT = re.compile(r"^\s*(当前位置|您的位置|您现在的位置|所在位置|位置|Location|You are here)?\s*[:：]?\s*"
                             r"(首页|主页|网站首页|Home)\s*(>|＞|»|›|→|/|-|—)", re.I)
BREADCRUMB_SPLIT = re.compile(r"\s*(?:>|＞|»|›|→|&gt;)\s*")
ATTACHMENT_LABEL = re.compile(r"^\s*((相关)?附\s*件\s*(\d+)?|Attachments?|Annex(es)?|Download)\s*[:：]?", re.I)
STOP_LINE = re.compile(r"^\s*(上一篇|下一篇|上一条|下一条|上篇|下篇|相关(新闻|文章|阅读|链接)|"
                       r"【?\s*(打印|关闭|打印本页|关闭窗口|返回顶部|收藏|纠错)\s*】?$|分享到|扫一扫|"
                       r"Previous\s*[:：]|Next\s*[:：]|Related|(?:【[^】]{0,12}】\s*)+$)", re.I)   # 【打印】【关闭】…
FOOTER_LINE = re.compile(r"版权所有|ICP备|ICP证|公网安备|Copyright\s*©|All Rights Reserved|技术支持[:：]", re.I)
EDITOR_LINE = re.compile(r"^\s*[（(]?\s*(责任编辑|责编|编辑|审核|审校|校对|Editor)\s*[:：]\s*(?P<name>[^）)]{1,30})[）)]?\s*$")
FILE_LINK = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|ofd|zip|rar|wps|txt|7z)(\?|$)", re.I)
CAPTION_HINT = re.compile(r"caption|pic[-_]?(txt|text|desc|title|tit)|img[-_]?(txt|text|desc|title)|tpsm|photo[-_]?desc", re.I)
TITLE_SPLIT = re.compile(r"\s*(?:_|\||｜|--|—|-|–|－)\s*")
_MAX_INFO_LEN = 320
_MAX_FIELD_LEN = 40          # one labelled field of the info line (来源：中国铝业报)
INLINE_TAGS = frozenset({"span", "a", "font", "em", "strong", "b", "i", "label", "small", "u", "time", "cite", "i"})
MAX_INFO_CANDIDATES = 300   # labelled texts tried as the info line (a page repeating 来源： 20,000 times)
MAX_INFO_ELEMENTS = 400     # elements an info line's element may hold


def _too_many_elements(node) -> bool:
    return next(itertools.islice(node.iter(), MAX_INFO_ELEMENTS, None), None) is not None


_HAS_HEADING = etree.XPath("boolean(.//h1 | .//h2 | .//h3 | .//h4 | .//h5 | .//h6)")


def _is_chrome(el) -> bool:
    """True when ``el`` sits in navigation, header, footer or share widgets."""
    node = el
    while node is not None and is_element(node):
        if node.tag in ("nav", "footer", "header"):
            return True
        if CHROME_HINT.search(class_id(node)):
            return True
        node = node.getparent()
    return False


class ChinalcoArticlePage:
    """Fields of an article page of the network's CMS. Each ``*_field`` returns a Field or None."""

    family = "chinalco"

    def __init__(self, page: PageInput):
        self.page = page
        self.root = page.root
        self.url = page.url

    # ------------------------------------------------------------ anchors
    @cached_property
    def body_el(self):
        body = self.root.find("body")
        return body if body is not None else self.root

    @cached_property
    def _order(self) -> dict:
        return {el: i for i, el in enumerate(self.body_el.iter())}

    @cached_property
    def info(self) -> tuple[object, InfoLine] | None:
        """The element holding the info line, and its parsed fields."""
        best = None
        seen = set()
        for node in self.root.xpath(INFO_TEXT_XPATH)[:MAX_INFO_CANDIDATES]:
            el = node.getparent()
            if el is None:
                continue
            if getattr(node, "is_tail", False):
                el = el.getparent()
            if el is None or el in seen or el.tag in SKIP_TAGS:
                continue
            seen.add(el)
            cand = self._climb_info(el)
            if cand is None:
                continue
            el2, info, score = cand
            if _is_chrome(el2):
                continue
            key = (score, -self._order.get(el2, 0))
            if best is not None and score == best[0][0]:
                # same score: the tighter of an element and its ancestor is the info line
                if best[1] in el2.iterdescendants():
                    continue
                if el2 in best[1].iterdescendants():
                    best = (key, el2, info)
                    continue
            if best is None or key > best[0]:
                best = (key, el2, info)
        if best is None:
            return None
        return self._inline_run(best[1], best[2])

    def _inline_run(self, el, info: InfoLine) -> tuple[object, InfoLine]:
        """An info line whose fields are separate inline elements straight inside the article's
        container (``<span>来源：…</span><span>时间：…</span><span>作者：</span>`` next to the
        headline and the paragraphs): the run of inline siblings around the best field, read as
        one line. ``info_el`` is then the run's last element (the body follows it) and
        ``info_first`` its first (the headline precedes it)."""
        self._info_first = el
        if el.tag not in INLINE_TAGS:
            return el, info
        run = [el]
        for direction, preceding in (("before", True), ("after", False)):
            for sib in el.itersiblings(preceding=preceding):
                if not is_element(sib):
                    continue                                  # a comment between the fields
                text = visible_text(sib, limit=_MAX_FIELD_LEN)
                if sib.tag not in INLINE_TAGS or len(text) > _MAX_FIELD_LEN:
                    break
                if len(text.strip()) > 2 and not LABEL_RE.search(text):
                    break                       # not a field (a headline in <strong> before the fields)
                gap = (sib.tail if preceding else run[-1].tail) or ""
                if len(gap.strip()) > 20:
                    break
                if preceding:
                    run.insert(0, sib)
                else:
                    run.append(sib)
        if len(run) == 1:
            return el, info
        text = "".join(visible_text(e) + ((e.tail or "") if i < len(run) - 1 else "") for i, e in enumerate(run))
        combined = parse_info_line(text)
        if len(combined.fields) <= len(info.fields):
            return el, info
        self._info_first = run[0]
        return run[-1], combined

    @cached_property
    def info_first(self):
        """The first element of the info line (the headline is before it)."""
        return getattr(self, "_info_first", None) if self.info else None

    @staticmethod
    def _holds_prose(node, start) -> bool:
        """``node`` holds a paragraph (beside ``start``) of 30+ characters without an info label."""
        for p in node.iter("p", "div", "li", "section", "article"):
            if p is node or p is start or start in p.iterancestors() or p in start.iterancestors():
                continue
            text = visible_text(p, limit=200).strip()
            if len(text) >= 30 and not LABEL_RE.search(text):
                return True
        return False

    def _climb_info(self, el):
        """Climb from a labelled text to the element holding the whole info line."""
        best = None
        node = el
        for _ in range(4):
            if node is None or not is_element(node) or node.tag in ("body", "html"):
                break
            text = visible_text(node, limit=_MAX_INFO_LEN)
            if len(text) > _MAX_INFO_LEN:
                break
            if node is not el and (_too_many_elements(node) or _HAS_HEADING(node)):
                break               # the headline's container holds more than the info line
            if node is not el and self._holds_prose(node, el):
                break               # a short article's container: its paragraphs are not info fields
            info = parse_info_line(text)
            date = find_date(info.published) if info.published else None
            source_ok = bool(info.source) and len(info.source) <= 40
            author_ok = bool(info.author) and len(info.author) <= _MAX_FIELD_LEN // 2
            score = (2 if date else 0) + (1 if source_ok else 0) + (0.5 if author_ok else 0)
            if score and (best is None or score > best[2]):
                best = (node, info, score)
            node = node.getparent()
        if best is None or best[2] < 1:
            return None
        return best

    @cached_property
    def info_el(self):
        return self.info[0] if self.info else None

    @cached_property
    def info_line(self) -> InfoLine:
        return self.info[1] if self.info else InfoLine(raw="")

    # ------------------------------------------------------------ breadcrumb
    @cached_property
    def _home_word_holders(self) -> set:
        """Elements whose visible text contains a breadcrumb's first label (首页, Home…)."""
        holders: set = set()
        for text in self.body_el.xpath(HOME_TEXT_XPATH):
            node = text.getparent()
            if getattr(text, "is_tail", False) and node is not None:
                node = node.getparent()
            while node is not None and node not in holders:
                holders.add(node)
                node = node.getparent()
        return holders

    @cached_property
    def breadcrumb_field(self) -> Field | None:
        holders = self._home_word_holders
        if not holders:
            return None
        for el in self.body_el.iter(*BLOCK_TAGS, "span", "td"):
            if el not in holders:
                continue
            hint = class_id(el)
            if not (re.search(r"pos|crumb|location|dqwz|current|path|weizhi|bread", hint) or el.tag in ("div", "p", "td", "span")):
                continue
            if len(el.text_content()) > 120 and el.find(".//script") is None and el.find(".//style") is None:
                continue                # text_content() (fast, C) bounds the visible text from above
            text = visible_text(el, limit=120)
            if len(text) > 120 or not BREADCRUMB_TEXT.match(text):
                continue
            raw = clean_line(text)
            label_text = re.sub(r"^\s*(当前位置|您的位置|您现在的位置|所在位置|位置|Location|You are here)\s*[:：]?\s*", "", raw, flags=re.I)
            labels = [clean_line(x) for x in BREADCRUMB_SPLIT.split(label_text) if clean_line(x)]
            if len(labels) >= 2:
                return Field(labels, "chinalco:breadcrumb", raw)
        return None

    # ------------------------------------------------------------ title
    @cached_property
    def title_field(self) -> Field | None:
        crumbs = set(self.breadcrumb_field.value) if self.breadcrumb_field else set()
        if self.page.site:
            ch = self.page.site.channel_for_path(self.page.url_info.channel or "")
            if ch:
                crumbs.add(ch.label)
        if self.info_el is not None:
            first = self.info_first if self.info_first is not None else self.info_el
            limit = self._order.get(first, 0)
            best = None
            for el in self.body_el.iter():
                if not is_element(el):
                    continue
                pos = self._order.get(el, 0)
                if pos >= limit:
                    break
                if el.tag in ("h1", "h2", "h3", "h4", "h5", "h6") or (
                        el.tag in ("div", "p", "span", "td", "strong", "b", "font") and TITLE_HINT.search(class_id(el))):
                    if first in el.iterdescendants():
                        continue
                    text = clean_line(visible_text(el, sep="\n").replace("\n", " "))
                    if 2 <= len(text) <= 200 and text not in crumbs and not _is_chrome(el):
                        best = (el, text)
            prev = self._previous_text_block(first)
            if best and prev and prev != best[1] and prev not in crumbs and self._declared(prev) \
                    and not self._declared(best[1]):
                # The text right before the info line (a headline in td>strong) is what <title>
                # declares; the heading further up is a column heading.
                return Field(prev, "chinalco:text-before-info", prev)
            if best:
                return Field(best[1], "chinalco:heading-before-info", best[1])
            if prev and prev not in crumbs:
                return Field(prev, "chinalco:text-before-info", prev)
        return self._title_from_head()

    def _declared(self, text: str) -> bool:
        """``text`` is in the page's <title> (or its og/ArticleTitle meta)."""
        squash = lambda t: re.sub(r"\s+", "", t or "")  # noqa: E731
        declared = squash(title_tag(self.root)) + "\n" + squash(
            meta_content(self.root, "ArticleTitle", "og:title", "twitter:title") or "")
        t = squash(text)
        return len(t) >= 4 and t in declared

    def _previous_text_block(self, el) -> str | None:
        node = el
        while node is not None and node is not self.body_el:
            for sib in node.itersiblings(preceding=True):
                if not is_element(sib) or sib.tag in SKIP_TAGS:
                    continue
                text = clean_line(visible_text(sib))
                if text:
                    return text if len(text) <= 200 and not BREADCRUMB_TEXT.match(text) else None
            node = node.getparent()
        return None

    def _title_from_head(self) -> Field | None:
        meta = meta_content(self.root, "ArticleTitle", "og:title", "twitter:title", "title")
        if meta:
            return Field(meta, "meta:title", meta)
        raw = title_tag(self.root)
        if not raw:
            return None
        parts = [p for p in TITLE_SPLIT.split(raw) if p]
        site = self.page.site
        names = {site.name, site.name_en} if site else set()
        parts = [p for p in parts if p not in names] or parts
        value = max(parts, key=len)
        return Field(value, "title-tag", raw)

    # ------------------------------------------------------------ info fields
    @cached_property
    def published_field(self) -> Field | None:
        raw = self.info_line.published
        if raw:
            d = find_date(raw)
            if d:
                return Field(d, "chinalco:info-line", raw)
        # A date standing alone in the info line without a label.
        if self.info_line.raw:
            d = find_date(self.info_line.raw)
            if d:
                return Field(d, "chinalco:info-line-unlabelled", self.info_line.raw)
        meta = meta_content(self.root, "PubDate", "publishdate", "article:published_time", "pubdate",
                            "publish_date", "firstpublishedtime", "dc.date", "date")
        if meta:
            d = find_date(meta)
            if d:
                return Field(d, "meta:date", meta)
        ud = url_date(self.url)
        if ud:
            return Field(ParsedDate(ud, "day", ud), "url", self.url)
        return None

    @cached_property
    def source_field(self) -> Field | None:
        if self.info_line.source:
            return Field(self.info_line.source, "chinalco:info-line", self.info_line.raw)
        meta = meta_content(self.root, "ContentSource", "source")
        if meta:
            return Field(meta, "meta:source", meta)
        return None

    @cached_property
    def author_field(self) -> Field | None:
        if self.info_line.author:
            return Field(self.info_line.author, "chinalco:info-line", self.info_line.raw)
        meta = meta_content(self.root, "author", "Author", "article:author")
        if meta:
            return Field(meta, "meta:author", meta)
        return None

    # ------------------------------------------------------------ body
    @cached_property
    def body_containers(self) -> list:
        """Elements holding the body, in order (one wrapper, or the siblings after the info line)."""
        start = self.info_el
        if start is None:
            return []
        limit = self._order.get(start, 0)
        for el in self.body_el.iter("div", "td", "section", "article"):
            if self._order.get(el, 0) <= limit or not BODY_HINT.search(class_id(el)):
                continue
            if start in el.iterdescendants():
                continue
            if _is_chrome(el):
                continue
            if len(visible_text(el, limit=400).strip()) >= 2 or el.find(".//img") is not None:
                return [el]
        # Structural: the siblings that follow the info line (climbing while it has none).
        node = start
        while node is not None and node is not self.body_el:
            sibs = [s for s in node.itersiblings() if is_element(s) and s.tag not in SKIP_TAGS]
            if any(visible_text(s, limit=400).strip() or s.find(".//img") is not None for s in sibs):
                return sibs
            node = node.getparent()
        return []

    @cached_property
    def blocks(self) -> list[Block]:
        """Body paragraphs: from the body start up to the 附件 block, pager links or footer."""
        out: list[Block] = []
        for container in self.body_containers:
            for b in iter_blocks(container, self.url):
                if b.text and (ATTACHMENT_LABEL.match(b.text) and len(b.text) < 200 or STOP_LINE.match(b.text)
                               or FOOTER_LINE.search(b.text)):
                    if out or not STOP_LINE.match(b.text):
                        return out
                    continue            # 【打印】【关闭】 beside the info line, before the body
                if b.text and _is_chrome(b.element) and not b.images:
                    continue
                out.append(b)
        return out

    @cached_property
    def _paragraphs(self) -> tuple[list[str], list[dict], str | None]:
        paragraphs: list[str] = []
        images: list[dict] = []
        editor = None
        pending_img: list[dict] = []
        for b in self.blocks:
            for src in b.images:
                img = {"src": src, "caption": None}
                images.append(img)
                pending_img.append(img)
            if not b.text:
                continue
            m = EDITOR_LINE.match(b.text)
            if m:
                editor = m["name"].strip()
                continue
            if pending_img and not b.images and len(b.text) <= 120 and (
                    b.centred or b.tag == "figcaption" or CAPTION_HINT.search(class_id(b.element))):
                pending_img[-1]["caption"] = b.text
            elif b.images and len(b.text) <= 120 and b.centred:
                images[-1]["caption"] = b.text     # image and caption in one centred paragraph
            pending_img = []
            paragraphs.append(b.text)
        return paragraphs, images, editor

    @property
    def paragraphs(self) -> list[str]:
        return self._paragraphs[0]

    @property
    def images(self) -> list[dict]:
        return self._paragraphs[1]

    @property
    def editor(self) -> str | None:
        return self._paragraphs[2]

    @cached_property
    def body_field(self) -> Field | None:
        if not self.paragraphs:
            return None
        return Field("\n".join(self.paragraphs), "chinalco:after-info-line", None)

    @cached_property
    def body_html(self) -> str:
        return blocks_to_html(self.blocks, self.images)

    # ------------------------------------------------------------ attachments
    @cached_property
    def attachments(self) -> list[dict]:
        found: list[dict] = []
        seen: set[str] = set()

        def add(href: str, name: str):
            url = safe_urljoin(self.url, href.strip())
            if url is None or url in seen or url.startswith(("javascript:", "mailto:")):
                return
            seen.add(url)
            found.append({"url": url, "name": clean_line(name) or url.rsplit("/", 1)[-1]})

        for b in self.blocks:
            for href, text in b.links:
                if FILE_LINK.search(href):
                    add(href, text)
        start = self.info_el if self.info_el is not None else self.body_el
        for el in self.body_el.iter("div", "p", "span", "td", "li", "dt", "dd", "strong", "b"):
            if self.info_el is not None and self._order.get(el, 0) <= self._order.get(start, 0):
                continue
            own = clean_line(el.text or "")
            if not ATTACHMENT_LABEL.match(own or clean_line(visible_text(el, limit=400))[:6] or ""):
                continue
            scope = [el] + [s for s in el.itersiblings() if is_element(s)][:6]
            for node in scope:
                text = clean_line(visible_text(node))
                if node is not el and (FOOTER_LINE.search(text) or STOP_LINE.match(text)):
                    break
                for a in node.iter("a"):
                    href = a.get("href")
                    if href and (FILE_LINK.search(href) or ATTACHMENT_LABEL.match(own)):
                        add(href, visible_text(a) or a.get("title") or "")
            break
        return found

    # ------------------------------------------------------------ verdict
    @cached_property
    def language(self) -> str:
        text = (self.body_field.value if self.body_field else "") or (self.title_field.value if self.title_field else "")
        return "zh" if cjk_ratio(text[:2000]) >= 0.05 else "en"

    def looks_like_article(self) -> tuple[bool, str]:
        body = self.body_field.value if self.body_field else ""
        if self.info_el is None and not self.page.url_info.kind == "article":
            return False, "no info line (来源/时间) and not an article URL"
        if len(body) < 20 and not self.images:
            return False, f"body too short ({len(body)} characters)"
        if self.title_field is None:
            return False, "no headline found"
        return True, ""
