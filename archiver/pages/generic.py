"""The generic fallback for templates nobody has described: text and punctuation density.

The Chinese content-extraction literature (CETD, "基于文本及符号密度的网页正文提取") finds the
article body as the DOM region where text is dense, rich in sentence punctuation and poor in
links. This module does that in one pass over an lxml tree:

1. **Blocks.** The page is cut into paragraphs as a browser lays them out (block elements,
   table cells and ``<br>`` end a paragraph). Each block records its text, how much of it is
   link text, how much sentence punctuation it has, and whether it sits in a region whose
   class or id says navigation/comments/footer (or article/content).
2. **Scores.** A block scores positive when it reads like prose (text without links, with
   punctuation) and negative when it reads like chrome (link lists, short labels, copyright
   and ICP lines, share widgets).
3. **Container.** Every element covers a contiguous run of blocks; the body is the element
   whose run has the highest total score (a maximum-subtree search: the tightest element
   that holds the prose and as little chrome as possible).
4. **Fields around it.** The headline is the heading (or short block) before the body that
   the ``<title>``/``og:title`` contains; the info zone between headline and body gives the
   date, 来源 and 作者; a reporter credit in the lead or last line gives the author.

No site names, no class names of any one site. Pure and fast: one tree walk plus list scans.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache


from archiver.normalize.dates import find_date
from archiver.normalize.infoline import LABEL_RE, parse_info_line
from archiver.normalize.text import cjk_ratio, clean_line

from .base import Field
from .dom import BLOCK_TAGS, SKIP_TAGS, TITLE_HINT, safe_urljoin, title_tag
from .similarity import containment, match_key, shares_substring

BLOCKS = BLOCK_TAGS | {"td", "th"}
# Not rendered as text. <button> is walked: lxml's HTML4 parser can leave a whole page inside an
# unclosed <button>, which a browser would have closed.
WALK_SKIP = SKIP_TAGS - {"button"}
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
CHROME_TAGS = frozenset({"nav", "footer", "aside", "menu"})   # not <form>: ASP.NET wraps whole pages in one
# Class/id hints. Whole tokens (split on space, "_" and "-") or substrings; checked with set
# lookups and ``in`` (a long regex alternation over every class attribute is the slowest part).
NEG_TOKENS = frozenset({"nav", "navbar", "navigation", "foot", "side", "aside", "ad", "ads", "tag", "tags", "skip",
                        "hot", "more", "top-nav", "topbar", "dh", "daohang"})
NEG_SUBSTRINGS = ("comment", "reply", "replies", "footer", "sidebar", "breadcrumb", "crumb", "share", "social",
                  "related", "recommend", "copyright", "advert", "banner", "popup", "login", "subscribe",
                  "newsletter", "toolbar", "pager", "pagination", "friend", "yqlj", "xgxw", "xgwz", "tuijian",
                  "pinglun", "fenxiang", "widget-area", "widgetarea", "promo", "sponsor", "outbrain", "taboola", "disqus", "masthead",
                  "cookie", "modal", "signup", "menu", "author-bio", "authorbio", "rank")
STRONG_POS_SUBSTRINGS = ("article-body", "article_body", "articlebody", "article-content", "article_content",
                         "articlecontent", "article-text", "article_text", "articletext", "article-detail",
                         "entry-content", "entry_content", "post-body", "post_body", "postbody", "post-content",
                         "post_content", "post-text", "story-body", "storybody", "main-text", "maintext",
                         "zhengwen", "trs_editor", "news-content", "news_content", "newscontent", "news-body",
                         "news_body", "news-text", "news_text")
STRONG_POS_TOKENS = frozenset({"article"})
POS_SUBSTRINGS = ("article", "content", "entry", "story", "zhengwen", "detail", "newscon", "news_con", "news-con",
                  "newstext", "newsbody", "bodytext", "body-text", "body_text", "richtext", "rich-text",
                  "rich_text", "postbody", "post-body")
POS_TOKENS = frozenset({"zw", "con", "txt", "text", "body", "main"})
_TOKENS = re.compile(r"[\s_\-]+")
CAPTION_HINT = re.compile(r"caption|credit|img[-_]?desc|photo[-_]?desc|pic[-_]?(desc|txt|text)|tpsm|image[-_]?text")
SOURCE_HINT = re.compile(r"source|nickname|\b(from|ly|laiyuan|media|origin|src|wemedia)\b|account[-_]?name|publisher")
AUTHOR_HINT = re.compile(r"author|byline|writer|reporter|zuozhe|\bby\b")
# Sentence punctuation, Chinese and Western.
PUNCT = re.compile(r"[，。！？；：、,.!?;:“”「」『』（）()]")
BOILERPLATE = re.compile(
    r"版权所有|ICP备|ICP证|公网安备|Copyright|©|All Rights Reserved|^\s*(上一篇|下一篇|上一条|下一条|相关(新闻|文章|阅读|链接))|"
    r"分享到|扫一扫|打印本页|关闭窗口|返回顶部|^\s*【?\s*(打印|关闭|收藏|纠错)\s*】?\s*$|免责声明|版权声明|"
    r"违法和不良信息|举报电话|客户端下载|^\s*(?:【[^】]{0,12}】\s*)+$", re.I)      # 【打印】【关闭】【字号：大 中 小】
# Disclaimers that platforms append to every article (any length).
DISCLAIMER = re.compile(r"^\s*(特别|郑重)?(声明|免责声明|版权声明)\s*[:：]|以上内容.{0,30}(上传|发布)|仅代表(作者|其)(本人)?(个人)?观点|"
                        r"不代表本(站|网|平台)|^\s*Notice: The content above", re.I)
BOILERPLATE_OR_DISCLAIMER = re.compile(f"{BOILERPLATE.pattern}|{DISCLAIMER.pattern}", re.I)
EDITOR = re.compile(r"^\s*[（(【\[]?\s*(责任编辑|责编|编辑|审核|审校|校对|值班编辑|实习编辑|Editor)\s*[:：]?\s*"
                    r"(?P<name>[^）)】\]\n]{1,30})[）)】\]]?\s*$")
# Words that mark an info line or a post line (views, 发表于) next to a date.
INFO_MARKER = re.compile(r"阅读|浏览|点击|发表于|发表|发布|来源|作者|编辑|views|posted|published|updated", re.I)
# What an info line holds besides the date and the outlet.
_INFO_NOISE = re.compile(r"原创|转载|独家|首发|发表于|发布于|发表|发布|更新于?|阅读|评论|浏览|点击|人参与|参与|分享到?|收藏|字号|[大中小]\s*[大中小]\s*[大中小]|"
                         r"打印|关闭|举报|关注|订阅|我要|次|条|\d+|[:：|｜·•]")
_BRACKETED = re.compile(r"[\[【(（][^\]】)）]{0,8}[\]】)）]")
_AUTHOR_SLASH_SOURCE = re.compile(r"^\s*(?P<author>[\u4e00-\u9fff]{2,4})\s*[/／]\s*(?P<source>[\u4e00-\u9fff\w]{2,20})\s*$")
_NAME_SPLIT = re.compile(r"[\s/／]+")
_CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")
PERIOD_AFTER = re.compile(r"\s*[－\-—~～至到]\s*\d")
DATE_LABEL = re.compile(r"发布时间|发表时间|发布日期|发表日期|更新时间|时间|日期|Published|Posted|Date|Updated", re.I)
TITLE_SEP = re.compile(r"\s*(?:[_|｜]|\s[-–—]{1,2}\s|－|--|——|::|»|\s·\s)\s*")
# Elements a browser does not render; the XPath preselects (in C), the regex confirms.
_HIDDEN_XPATH = "//*[@hidden or contains(@style, 'none') or contains(@style, 'hidden')]"
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_MAX_TITLE = 200
MIN_PROSE = 300.0       # less prose than this on the rendered page: read hidden elements too
BARRIER = 40.0          # a child scoring below -BARRIER ends a run of body children


@dataclass(slots=True)
class TextBlock:
    """One rendered paragraph and its density features."""
    index: int
    text: str
    element: object               # the block element that holds it
    chars: int                    # visible characters without spaces
    link_chars: int
    punct: int
    hint: int                     # -1 chrome region, 0 neutral, 1 content region
    heading: int                  # 1..6 inside <h1>..<h6>, else 0
    images: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    hinted: str = ""              # class/id of the nearest hinted ancestor kind: title | source | author
    roles: list[tuple[str, str]] = field(default_factory=list)   # inline <span class="source">…</span> values
    score: float = 0.0

    @property
    def link_ratio(self) -> float:
        return self.link_chars / self.chars if self.chars else 0.0

    # blocks_to_html compatibility
    @property
    def centred(self) -> bool:
        return False


INLINE_ROLE_TAGS = frozenset({"span", "a", "em", "font", "strong", "b", "i", "small", "label", "cite", "time"})


_ROLE_HINT = re.compile(rf"(?P<caption>{CAPTION_HINT.pattern})|(?P<title>{TITLE_HINT.pattern})|"
                        rf"(?P<author>{AUTHOR_HINT.pattern})|(?P<source>{SOURCE_HINT.pattern})")
_ROLE_ORDER = ("caption", "title", "author", "source")
_NEG_SUB = re.compile("|".join(map(re.escape, NEG_SUBSTRINGS)))
_STRONG_SUB = re.compile("|".join(map(re.escape, STRONG_POS_SUBSTRINGS)))
_POS_SUB = re.compile("|".join(map(re.escape, POS_SUBSTRINGS)))


@lru_cache(maxsize=8192)
def hints(cid: str) -> tuple[bool, bool, bool, str]:
    """(chrome, certainly article, probably article, role) from an element's class and id.

    Role by priority caption > title > author > source, whichever the class names anywhere.
    """
    low = cid.lower()
    found = {m.lastgroup for m in _ROLE_HINT.finditer(low)}
    role = next((r for r in _ROLE_ORDER if r in found), "")
    tokens = set(_TOKENS.split(low))
    if not tokens.isdisjoint(NEG_TOKENS) or _NEG_SUB.search(low):
        return True, False, False, role
    strong = not tokens.isdisjoint(STRONG_POS_TOKENS) or bool(_STRONG_SUB.search(low))
    pos = strong or not tokens.isdisjoint(POS_TOKENS) or bool(_POS_SUB.search(low))
    return False, strong, pos, role


class _Walker:
    """Cuts a tree into TextBlocks and records the block range every block element covers."""

    def __init__(self, base_url: str, skip: frozenset = WALK_SKIP, hidden: frozenset = frozenset()):
        self.base_url = base_url
        self.skip = skip
        self.hidden = hidden
        self.blocks: list[TextBlock] = []
        self.ranges: dict[object, tuple[int, int]] = {}
        self.children: dict[object, list[tuple[int, int]]] = {}     # block element -> its block children's ranges
        self.buf: list[str] = []
        self.link_chars = 0
        self.images: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.owner: list[object] = []
        self.hint: list[int] = []
        self.kind: list[str] = []
        self.heading: list[int] = []
        self.roles: list[tuple[str, str]] = []     # (author|source, text) of inline elements naming their role

    def flush(self):
        if not self.buf and not self.images:
            return
        joined = "".join(self.buf)
        if not self.images and (not joined or joined.isspace()):
            self.buf.clear()
            self.links.clear()
            self.roles.clear()
            self.link_chars = 0
            return
        text = " ".join(joined.split())          # str.split() knows U+3000 and &nbsp; (C speed)
        if "\u200b" in text or "\ufeff" in text:
            text = clean_line(text)                # zero-width spaces too
        if text or self.images:
            chars = len(text) - text.count(" ")
            self.blocks.append(TextBlock(
                len(self.blocks), text, self.owner[-1], chars, min(self.link_chars, chars),
                len(PUNCT.findall(text)), self.hint[-1], self.heading[-1], list(self.images), list(self.links),
                self.kind[-1], list(self.roles)))
        self.roles.clear()
        self.buf.clear()
        self.images.clear()
        self.links.clear()
        self.link_chars = 0

    def walk(self, top) -> None:
        """Walk ``top`` (one recursive closure with local names: this loop is the extractor's hot path)."""
        skip, hidden, blocks_out = self.skip, self.hidden, self.blocks
        buf, images, links, roles = self.buf, self.images, self.links, self.roles
        owner, hint_stack, kind_stack, heading_stack = self.owner, self.hint, self.kind, self.heading
        ranges, children = self.ranges, self.children
        flush = self.flush
        is_str = str.__instancecheck__

        def walk(el, in_link):
            tag = el.tag
            if not is_str(tag) or tag in skip:     # comments, processing instructions; script…
                return
            if tag == "br":
                flush()
                return
            if tag == "img":
                src = el.get("src") or el.get("data-src") or el.get("oldsrc") or el.get("data-original")
                if src and not src.startswith("data:"):
                    images.append(src.strip())     # made absolute when read (``images``)
                return
            if hidden and el in hidden:
                return                             # not rendered (microdata copies, templates)
            role_start = None
            block = tag in BLOCKS
            if block:
                flush()
                start = len(blocks_out)
                hint = hint_stack[-1]
                kind = kind_stack[-1]
                if tag in CHROME_TAGS:
                    hint = -1
                elif tag == "figcaption":
                    kind = "caption"
                else:
                    cls, ident = el.get("class"), el.get("id")
                    if cls or ident:
                        neg, strong, pos, role = hints(f"{cls or ''} {ident or ''}")
                        if neg:
                            hint = -1
                        elif hint < 0 and strong:
                            hint = 1
                        elif hint == 0 and pos:
                            hint = 1
                        if role:
                            kind = role
                owner.append(el)
                hint_stack.append(hint)
                kind_stack.append(kind)
                heading_stack.append(HEADINGS.get(tag, heading_stack[-1]))
            elif tag in INLINE_ROLE_TAGS:
                cls, ident = el.get("class"), el.get("id")
                if cls or ident:
                    role = hints(f"{cls or ''} {ident or ''}")[3]
                    # an inline element naming its role (<span class="source">): its visible text is the value
                    if role in ("author", "source"):
                        role_start = (role, len(buf), len(blocks_out))
                        if not kind_stack[-1]:
                            kind_stack[-1] = role  # and the paragraph it sits in (or that sits in it)
            is_anchor = tag == "a" and el.get("href") is not None
            link = in_link or is_anchor
            text = el.text
            if text:
                buf.append(text)
                if link:
                    self.link_chars += len(text.strip())
            for child in el:
                walk(child, link)
                tail = child.tail
                if tail:
                    buf.append(tail)
                    if link:
                        self.link_chars += len(tail.strip())
            if is_anchor and not in_link:
                href = el.get("href").strip()
                if href:
                    links.append((href, clean_line(text or "")))
            if role_start is not None and role_start[2] == len(blocks_out):   # no paragraph break inside
                value = clean_line("".join(buf[role_start[1]:]))
                if value and len(value) <= 60:
                    roles.append((role_start[0], value))
            if block:
                flush()
                owner.pop()
                hint_stack.pop()
                kind_stack.pop()
                heading_stack.pop()
                rng = (start, len(blocks_out))
                ranges[el] = rng
                children.setdefault(owner[-1], []).append(rng)

        walk(top, False)


_NOT_A_NAME = re.compile(r"[=<>{}\\]|https?://|^[\d\W_]+$")


def plausible_name(value: str | None) -> bool:
    """A 来源 or 作者 value a reader would accept: short, no markup debris (``size="20"``), not a URL."""
    return bool(value) and len(value) <= 40 and not _NOT_A_NAME.search(value)


def _is_paragraph(b: TextBlock) -> bool:
    """A sentence of body text (not a label, a date line or a link)."""
    return b.chars >= 50 and b.punct >= 2 and b.link_ratio < 0.3 and not b.heading


def block_score(b: TextBlock, strict: bool = False) -> float:
    """Positive for prose, negative for chrome. Units: characters.

    In a region whose class says chrome (share, sidebar, comments) prose is damped, not flipped,
    because such a class sometimes wraps the article itself; ``strict`` flips it (second pass,
    once the article is known not to sit in such a region).
    """
    if not b.chars:
        return 0.0
    own = b.chars - b.link_chars
    if (BOILERPLATE_OR_DISCLAIMER if b.chars < 200 else DISCLAIMER).search(b.text):
        return -40.0 - b.chars
    if b.hinted == "caption":
        return 0.0                         # belongs to an image, says nothing about the body
    score = own - 1.5 * b.link_chars - 6.0
    if b.punct == 0 and own < 40:
        score -= 6.0                       # a label or menu item, not a sentence
    elif b.punct:
        score += min(b.punct, 12) * 3.0    # punctuation marks sentences
    if b.hint < 0:
        if strict:
            return -abs(score) - 6.0
        return 0.4 * score - 8.0 if score > 0 else score - 6.0
    if b.hint > 0 and score > 0:
        score *= 1.3
    return score


def strip_title_suffix(raw: str, site_names: tuple[str, ...] = ()) -> str:
    """The headline part of a ``<title>``: drop ``_Site`` / `` - Section - Site`` parts.

    A hyphen without spaces only separates a known site name ("标题-中国铝业股份有限公司"):
    headlines contain hyphens of their own.
    """
    raw = clean_line(raw)
    for name in sorted((n for n in site_names if n), key=len, reverse=True):
        m = re.search(rf"\s*[-_|｜－—–]+\s*{re.escape(name)}\s*$", raw)
        if m and m.start() > 0:
            raw = raw[:m.start()]
            break
    parts = [p for p in TITLE_SEP.split(raw or "") if p.strip()]
    if not parts:
        return clean_line(raw)
    names = {n for n in site_names if n}
    kept = [p for p in parts if p not in names] or parts
    first = kept[0]
    if len(first) >= 0.4 * sum(len(p) for p in kept) or len(first) >= 12:
        return clean_line(first)
    return clean_line(max(kept, key=len))


class GenericArticlePage:
    """Fields of an article on an unknown template. Same interface as the CMS-family page objects."""

    family = "generic"

    _slash_author: Field | None = None
    zone_date_weight = -99       # how much the info-zone date looks like a publication line (see _zone_date)

    def __init__(self, root, url: str, *, references: tuple[str, ...] = ()):
        self.root = root
        self.url = url
        self.references = tuple(r for r in references if r)    # og:title, ArticleTitle … for the headline

    # ------------------------------------------------------------------ analysis
    @cached_property
    def _walk(self) -> _Walker:
        body = self.root.find("body")
        # Malformed pages (an unknown tag in <head>) can leave the whole text inside <head>.
        skip = WALK_SKIP if body is not None else WALK_SKIP - {"head"}
        top = body if body is not None else self.root
        hidden = frozenset(el for el in self.root.xpath(_HIDDEN_XPATH)
                           if el.get("hidden") is not None or _HIDDEN_STYLE.search(el.get("style") or ""))
        w = self._walk_with(top, skip, hidden)
        if hidden and sum(b.score for b in w.blocks if b.score > 20) < MIN_PROSE:
            # Nothing to read in the rendered page: the article may sit in a hidden element that a
            # script reveals (streamed server-side rendering). Read the hidden parts too.
            w = self._walk_with(top, skip, frozenset())
        return w

    def _walk_with(self, top, skip, hidden) -> _Walker:
        w = _Walker(self.url, skip, hidden)
        w.owner.append(top)
        w.hint.append(0)
        w.kind.append("")
        w.heading.append(0)
        w.walk(top)
        w.flush()
        for b in w.blocks:
            b.score = block_score(b)
        return w

    @property
    def blocks(self) -> list[TextBlock]:
        return self._walk.blocks

    @staticmethod
    def _prefix(scores) -> list[float]:
        out = [0.0]
        for v in scores:
            out.append(out[-1] + v)
        return out

    def _best_range(self, pre: list[float]) -> tuple[int, int, object] | None:
        """(first block, end block, element) of the region with the highest total score.

        Candidates are whole elements (an element may bridge an advert inside the article) and
        runs of consecutive children of one element (its child blocks and the paragraphs it holds
        directly) found by Kadane's maximum subarray over the children, where a run never crosses
        a strongly negative child: so the body can stop before a link list that shares its parent
        (references, "more stories") without running on into teaser paragraphs after it.
        """
        children = self._walk.children
        positive = self._prefix(max(0.0, b) for b in (pre[i + 1] - pre[i] for i in range(len(pre) - 1)))
        best = None
        for el, (s, e) in self._walk.ranges.items():
            if e <= s or (best is not None and positive[e] - positive[s] <= best[0][0]):
                continue               # no run inside can beat the best: its positive blocks sum lower
            total = pre[e] - pre[s]
            key = (total, -(e - s))
            if total > 0 and (best is None or key > best[0]):
                best = (key, s, e, el)
            items: list[tuple[int, int]] = []
            p = s
            for cs, ce in children.get(el, ()):
                items.extend((i, i + 1) for i in range(p, cs))
                if ce > cs:
                    items.append((cs, ce))
                p = ce
            items.extend((i, i + 1) for i in range(p, e))
            run_sum, run_start = 0.0, s
            for a, b in items:
                v = pre[b] - pre[a]
                if v < -BARRIER:
                    run_sum = 0.0          # a run never bridges a block of chrome (link list, footer)
                    continue
                if run_sum <= 0:
                    run_sum, run_start = v, a
                else:
                    run_sum += v
                key = (run_sum, -(b - run_start))
                if run_sum > 0 and (best is None or key > best[0]):
                    best = (key, run_start, b, el)
        if best is None:
            return None
        return best[1], best[2], best[3]

    def _wrapped(self, s: int, e: int) -> bool:
        """True when most real paragraphs of blocks[s:e] sit in a region hinted as chrome."""
        paragraphs = [b for b in self.blocks[s:e] if b.score > 20 and not b.heading]
        if not paragraphs or paragraphs[0].hint >= 0:
            return False            # the article starts outside it: the hinted part is comments/teasers
        prose = sum(b.score for b in paragraphs)
        hinted = sum(b.score for b in paragraphs if b.hint < 0)
        return hinted > 0.5 * prose

    @cached_property
    def _body(self) -> tuple[tuple[int, int, object] | None, bool]:
        """The body region and whether the article sits inside a chrome-hinted wrapper.

        First pass: chrome-hinted prose damped. If the article is not wrapped in such a region,
        a second pass scores chrome-hinted blocks strictly negative (comments, teasers).
        """
        rng = self._best_range(self._prefix(b.score for b in self.blocks))
        if rng is None:
            return None, False
        if self._wrapped(rng[0], rng[1]):
            return rng, True
        # Strict scores only lower chrome-hinted prose: a region without any keeps its total while
        # every other region's can only fall, so it stays the best and the second pass is skipped.
        region_has_hinted_prose = any(b.hint < 0 and b.score > -8.0 for b in self.blocks[rng[0]:rng[1]])
        if region_has_hinted_prose and any(b.hint < 0 for b in self.blocks):
            strict = self._best_range(self._prefix(block_score(b, True) for b in self.blocks))
            if strict is not None:
                rng = strict
        return rng, False

    @property
    def body_range(self) -> tuple[int, int, object] | None:
        return self._body[0]

    @cached_property
    def body_blocks(self) -> list[TextBlock]:
        rng = self.body_range
        if rng is None:
            return []
        s, e, el = rng
        region = self.blocks[s:e]
        wrapped = self._body[1]
        out = []
        for b in region:
            if not b.text and not b.images:
                continue
            if b.hint < 0 and (not wrapped or b.score <= 0 or b.link_ratio > 0.3 or not b.punct):
                continue
            if b.chars and b.link_ratio > 0.5 and b.chars - b.link_chars < 20:
                continue
            if b.text and (BOILERPLATE.search(b.text) and b.chars < 200 or DISCLAIMER.search(b.text)):
                continue
            out.append(b)
        # drop the headline and info line if the container holds them
        title = self.title_block
        while out and (out[0] is title or (title is not None and out[0].index <= title.index)
                       or (out[0].chars < 120 and self._is_info(out[0]))):
            out.pop(0)
        return out

    def _is_info(self, b: TextBlock) -> bool:
        return bool(b.text) and (find_date(b.text) is not None and b.chars < 80 or
                                 bool(LABEL_RE.search(b.text)) and bool(parse_info_line(b.text)))

    @cached_property
    def _paragraphs(self) -> tuple[list[str], str | None]:
        paras: list[str] = []
        editor = None
        for b in self.body_blocks:
            if not b.text:
                continue
            m = EDITOR.match(b.text)
            if m and b.chars <= 40:
                editor = clean_line(m["name"])
                continue
            if b.hinted == "caption":
                continue            # kept with its image (``images``), not in the body text
            paras.append(b.text)
        return paras, editor

    @property
    def paragraphs(self) -> list[str]:
        return self._paragraphs[0]

    @property
    def editor(self) -> str | None:
        return self._paragraphs[1]

    @cached_property
    def body_field(self) -> Field | None:
        if not self.paragraphs:
            return None
        rng = self.body_range
        el = rng[2]
        raw = f"<{el.tag} class={el.get('class')!r} id={el.get('id')!r}>"
        return Field("\n".join(self.paragraphs), "generic:density", raw)

    @cached_property
    def images(self) -> list[dict]:
        """Images of the body in order; a caption block (figcaption, class "caption") names the image before it."""
        out: list[dict] = []
        for b in self.body_blocks:
            b.images = [u for u in (safe_urljoin(self.url, src) for src in b.images) if u]
            for src in b.images:
                out.append({"src": src, "caption": None})
            if b.hinted == "caption" and b.text and out and out[-1]["caption"] is None:
                out[-1]["caption"] = b.text
        return out

    # ------------------------------------------------------------------ headline
    @cached_property
    def title_tag(self) -> str:
        return title_tag(self.root)

    @cached_property
    def title_block(self) -> TextBlock | None:
        refs = [match_key(r) for r in (self.title_tag, *self.references) if r]
        body_start = self.body_range[0] if self.body_range else len(self.blocks)
        limit = min(len(self.blocks), body_start + 3)
        best = None
        for b in self.blocks[:limit]:
            if not (2 <= b.chars <= _MAX_TITLE) or not b.text:
                continue
            t = match_key(b.text)
            special = b.heading == 1 or b.hinted == "title"
            if not refs:
                if not (b.heading or special):
                    continue
                sim = 0.0
            elif special:
                sim = containment(t, refs)
            else:
                need = -(-len(t) * 4 // 5)            # ceil(0.8 * len): a cheap test first
                if not any(shares_substring(t, r, need) for r in refs):
                    continue
                sim = containment(t, refs)
            dist = body_start - b.index
            key = (sim >= 0.8, len(t) * min(sim, 1.0) + (15 if b.heading == 1 else 5 if b.heading else 0)
                   + (5 if b.hinted == "title" else 0) - (3 if b.hint < 0 else 0) - 0.2 * abs(dist))
            if best is None or key > best[0]:
                best = (key, b)
        if best is None:
            return None
        key, b = best
        if not key[0] and b.heading != 1 and b.hinted != "title":
            return None
        return b

    @cached_property
    def title_field(self) -> Field | None:
        b = self.title_block
        if b is not None:
            return Field(b.text, "generic:headline", b.text)
        raw = self.title_tag
        if raw:
            return Field(strip_title_suffix(raw), "title-tag", raw)
        return None

    # ------------------------------------------------------------------ info zone
    @cached_property
    def info_blocks(self) -> list[TextBlock]:
        """Blocks between the headline and the first real paragraph (plus a few before the headline),
        nearest the headline first."""
        blocks = self.blocks
        if not blocks:
            return []
        body_start = self.body_range[0] if self.body_range else 0
        if self.body_blocks:                 # the body region may start with the headline and info line
            body_start = max(body_start, self.body_blocks[0].index)
        t = self.title_block
        if t is not None and t.index < body_start + 3:
            end = t.index + 1
            limit = min(len(blocks), t.index + 15)
            while end < limit and not _is_paragraph(blocks[end]):
                end += 1
            after = blocks[t.index + 1: min(limit, end + 1)]
            before = list(reversed(blocks[max(0, t.index - 3): t.index]))
            zone = after + before
        else:
            zone = list(reversed(blocks[max(0, body_start - 8): body_start])) + blocks[body_start: body_start + 2]
        return [b for b in zone if b.text and b.chars <= 300 and not BOILERPLATE.search(b.text)]

    @cached_property
    def _info(self):
        """(date Field, source Field, author Field) read from the info zone."""
        date = source = author = None
        best_date = None
        for rank, b in enumerate(self.info_blocks):
            info = parse_info_line(b.text)
            found = self._zone_date(b, info)
            if found is not None:
                d, raw, weight = found
                key = (weight, -rank)
                if best_date is None or key > best_date[0]:
                    best_date = (key, Field(d, "generic:info-zone", raw), b)
            if source is None and plausible_name(info.source):
                source = Field(info.source, "generic:info-zone", b.text)
            if author is None and plausible_name(info.author):
                author = Field(info.author, "generic:info-zone", b.text)
        if source is None or author is None:
            for b in self.info_blocks:
                for role, text in b.roles:
                    val = self._role_value(text)
                    if not val:
                        continue
                    if role == "source" and source is None:
                        source = Field(val, "generic:source-element", text)
                    elif role == "author" and author is None:
                        author = Field(val, "generic:author-element", text)
        if source is None or author is None:
            for b in self.info_blocks:
                if b.hinted not in ("source", "author") or b.chars > 60:
                    continue
                val = self._hinted_value(b)
                if not val:
                    continue
                if b.hinted == "source" and source is None:
                    source = Field(val, "generic:source-element", b.text)
                elif b.hinted == "author" and author is None:
                    author = Field(val, "generic:author-element", b.text)
        if best_date is not None:
            date = best_date[1]
            self.zone_date_weight = best_date[0][0]
            if source is None:
                source = self._unlabelled_source(best_date[2])
                if author is None:
                    author = self._slash_author
        return date, source, author

    def _unlabelled_source(self, dated: TextBlock) -> Field | None:
        """The outlet written without a label next to the date: "2019-09-05 11:10 游民星空[整理]",
        "原创 南方都市报 2019-09-09 16:01", or alone on the line before or after the date line."""
        zone = self.blocks
        neighbours = [zone[i] for i in (dated.index - 1, dated.index + 1) if 0 <= i < len(zone)]
        for b, is_date_line in ((dated, True), *((n, False) for n in neighbours)):
            if not b.text or LABEL_RE.search(b.text) or b is self.title_block:
                continue
            text = b.text
            if is_date_line:
                d = find_date(text)
                text = text.replace(d.raw, " ") if d else text
            elif find_date(text) or b.chars > 12 or b.punct:
                continue
            text = _BRACKETED.sub(" ", text)
            text = _INFO_NOISE.sub(" ", text)
            pair = _AUTHOR_SLASH_SOURCE.match(text)
            if pair and not is_date_line:          # "石佳/中国青年报": writer / outlet
                self._slash_author = Field(pair["author"], "generic:info-zone-unlabelled", b.text)
                return Field(pair["source"], "generic:info-zone-unlabelled", b.text)
            names = [t for t in _NAME_SPLIT.split(text) if 2 <= len(t) <= 20 and _CJK_CHAR.search(t)]
            if names and plausible_name(names[0]):
                return Field(names[0], "generic:info-zone-unlabelled", b.text)
        return None

    @staticmethod
    def _zone_date(b: TextBlock, info) -> tuple | None:
        """(date, raw, weight) of a block in the info zone: a labelled date beats a date line,
        which beats a date inside a sentence; a period (12月11－12日) is not a publication date."""
        if info.published:
            d = find_date(info.published)
            if d is not None:
                return d, info.published, 4
        if info.fields.get("updated") and not info.published:
            return None
        d = find_date(b.text)
        if d is None:
            return None
        weight = 0
        if d.precision != "day":
            weight += 1
        if len(d.raw) >= 0.4 * b.chars or INFO_MARKER.search(b.text) or b.hinted in ("source", "author"):
            weight += 2
        end = b.text.find(d.raw) + len(d.raw)
        if PERIOD_AFTER.match(b.text[end:end + 3]):
            weight -= 3
        return d, b.text, weight

    @staticmethod
    def _role_value(text: str) -> str | None:
        d = find_date(text)
        if d:
            text = text.replace(d.raw, " ")
        text = LABEL_RE.sub(" ", text)
        text = clean_line(_BRACKETED.sub(" ", text)).strip(" :：|/")
        return text if plausible_name(text) and len(text) >= 2 else None

    @staticmethod
    def _hinted_value(b: TextBlock) -> str | None:
        text = b.text
        d = find_date(text)
        if d:
            text = text.replace(d.raw, " ")
        text = LABEL_RE.sub(" ", text)
        text = clean_line(text).strip(" :：|/")
        return text if 2 <= len(text) <= 40 else None

    @cached_property
    def published_field(self) -> Field | None:
        date = self._info[0]
        if date is not None:
            return date
        # a labelled date at the foot of the article (发布日期：… after the body)
        tail = self.body_blocks[-3:] if self.body_blocks else []
        rng = self.body_range
        after = self.blocks[rng[1]: rng[1] + 3] if rng else []
        for b in [*tail, *after]:
            if b.text and DATE_LABEL.search(b.text) and b.chars <= 120 and not BOILERPLATE.search(b.text):
                d = find_date(b.text)
                if d:
                    return Field(d, "generic:date-after-body", b.text)
        # a post line anywhere around the body: "X 发表于 2005-9-15 11:46", "本贴由X于…发表"
        if rng:
            for b in self.blocks[max(0, rng[0] - 10): rng[1]]:
                if b.text and b.chars <= 150 and INFO_MARKER.search(b.text) and not BOILERPLATE.search(b.text):
                    d = find_date(b.text)
                    if d:
                        return Field(d, "generic:post-line", b.text)
        return None

    @cached_property
    def source_field(self) -> Field | None:
        if self._info[1] is not None:
            return self._info[1]
        for b in [*self.body_blocks[:1], *self.body_blocks[-3:]]:
            if b.text and b.chars <= 80:
                info = parse_info_line(b.text)
                if info.source:
                    return Field(info.source, "generic:body-line", b.text)
        return None

    @cached_property
    def author_field(self) -> Field | None:
        return self._info[2]

    @property
    def breadcrumb_field(self) -> Field | None:
        return None

    @cached_property
    def body_html(self) -> str:
        from .sanitize import blocks_to_html
        images = self.images                 # resolves the blocks' image URLs first
        for b in self.body_blocks:
            b.links = [(u, text) for u, text in ((safe_urljoin(self.url, href), text) for href, text in b.links) if u]
        return blocks_to_html(self.body_blocks, images)

    @property
    def attachments(self) -> list[dict]:
        return []

    @cached_property
    def language(self) -> str:
        text = "\n".join(self.paragraphs)[:2000]
        return "zh" if cjk_ratio(text) >= 0.05 else "en"
