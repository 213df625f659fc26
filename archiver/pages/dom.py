"""DOM helpers shared by every page family: decoding, visible text, block paragraphs.

Pure functions over lxml trees; no network, clock or randomness.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from archiver.normalize.text import clean_line

SKIP_TAGS = frozenset({
    "script", "style", "noscript", "template", "iframe", "object", "embed", "select", "option",
    "button", "input", "textarea", "svg", "map", "video", "audio", "canvas", "head", "title", "meta", "link",
})
BLOCK_TAGS = frozenset({
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "table", "tbody", "thead", "tfoot",
    "tr", "blockquote", "section", "article", "center", "figure", "figcaption", "dd", "dt", "dl", "pre",
    "header", "footer", "nav", "aside", "form", "hr", "address", "main", "caption", "fieldset", "details",
    "summary",
})
CELL_TAGS = frozenset({"td", "th"})
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_CENTER_STYLE = re.compile(r"text-align\s*:\s*center", re.I)
# A class or id (``class_id``, lower-cased) that names a headline: "title", "tit", "bt" (标题), "biaoti", "h1"
# as a word. The chinalco and generic page objects both look for headlines by it.
TITLE_HINT = re.compile(r"title|headline|biaoti|\b(tit|bt|h1)\b", re.I)


def parse_html(text: str) -> lxml.html.HtmlElement:
    """An lxml document from decoded text; tolerant of truncated and malformed markup."""
    text = _XML_DECL.sub("", text or "", count=1)
    if not text.strip():
        raise ValueError("empty document")
    try:
        return lxml.html.document_fromstring(text)
    except etree.ParserError as e:          # only comments, a doctype, NULs: no element at all
        raise ValueError(f"empty document ({e})") from None


def safe_urljoin(base: str, href: str) -> str | None:
    """``urljoin``, or None for an href no URL can be made of (``http://[…``: an invalid IPv6 host)."""
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def is_element(node) -> bool:
    return isinstance(node.tag, str)


class _Enough(Exception):
    pass


def visible_text(el, sep: str = "", limit: int | None = None) -> str:
    """Text a reader sees inside ``el`` (scripts, styles and comments skipped).

    With ``limit``, stops once more than ``limit`` characters are collected (the result is then
    longer than ``limit`` but not complete): callers that only need to know "is it short?" save
    walking a whole page.
    """
    out: list[str] = []
    size = [0]

    def add(text):
        out.append(text)
        if limit is not None:
            size[0] += len(text)
            if size[0] > limit:
                raise _Enough

    def walk(node):
        if not is_element(node):           # comment / processing instruction: only its tail counts
            return
        tag = node.tag.lower() if isinstance(node.tag, str) else ""
        if tag in SKIP_TAGS:
            return
        if node.text:
            add(node.text)
        for child in node:
            walk(child)
            if child.tail:
                add(child.tail)
        if sep and tag in BLOCK_TAGS:
            out.append(sep)

    try:
        walk(el)
    except _Enough:
        pass
    return "".join(out)


def class_id(el) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}".lower()


def is_centred(el, stop=None) -> bool:
    node = el
    for _ in range(3):
        if node is None or node is stop:
            return False
        if node.tag == "center" or (node.get("align") or "").lower() == "center" or \
                _CENTER_STYLE.search(node.get("style") or ""):
            return True
        node = node.getparent()
    return False


@dataclass
class Block:
    """One paragraph as rendered: its text, the images inside it, the element that holds it."""
    text: str
    element: object
    images: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)    # (href, text)
    centred: bool = False
    tag: str = ""

    @property
    def image_only(self) -> bool:
        return bool(self.images) and not self.text


def iter_blocks(container, base_url: str) -> list[Block]:
    """Split ``container`` into paragraphs the way a browser lays them out.

    Block elements and ``<br>`` end a paragraph; table cells are joined with a tab; images
    are attached to the paragraph they sit in (an image-only paragraph has empty text).
    """
    blocks: list[Block] = []
    buf: list[str] = []
    imgs: list[str] = []
    links: list[tuple[str, str]] = []
    owner = [container]

    def flush():
        text = clean_line("".join(buf))
        if text or imgs:
            el = owner[-1]
            blocks.append(Block(text, el, list(imgs), list(links), is_centred(el, container.getparent()),
                                el.tag if is_element(el) else ""))
        buf.clear()
        imgs.clear()
        links.clear()

    def walk(node):
        if not is_element(node):
            return
        tag = node.tag.lower()
        if tag in SKIP_TAGS:
            return
        if tag == "br":
            flush()
            return
        if tag == "img":
            src = node.get("src") or node.get("data-src") or node.get("oldsrc")
            if src and not src.startswith("data:"):
                url = safe_urljoin(base_url, src.strip())
                if url:
                    imgs.append(url)
            return
        block = tag in BLOCK_TAGS
        if block:
            flush()
            owner.append(node)
        if tag in CELL_TAGS and buf and not "".join(buf).endswith("\t"):
            buf.append("\t")
        if node.text:
            buf.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                buf.append(child.tail)
        if tag == "a" and node.get("href"):
            url = safe_urljoin(base_url, node.get("href").strip())
            if url:
                links.append((url, clean_line(visible_text(node))))
        if block:
            flush()
            owner.pop()

    walk(container)
    flush()
    return blocks


def follows(a, b) -> bool:
    """True when element ``b`` comes after element ``a`` in document order (and is not inside it)."""
    for el in a.itersiblings():
        if el is b or b in el.iterdescendants():
            return True
    parent = a.getparent()
    return follows(parent, b) if parent is not None else False


def doc_order_index(root) -> dict:
    return {el: i for i, el in enumerate(root.iter())}


def meta_content(root, *names: str) -> str | None:
    """``<meta name=… content=…>`` or ``property=…`` (case-insensitive name), first non-empty."""
    wanted = {n.lower() for n in names}
    for m in root.iter("meta"):
        key = (m.get("name") or m.get("property") or m.get("itemprop") or "").lower()
        if key in wanted:
            val = clean_line(m.get("content") or "")
            if val:
                return val
    return None


def title_tag(root) -> str:
    t = root.find(".//title")
    return clean_line(t.text_content()) if t is not None else ""


def serialize(el) -> str:
    return etree.tostring(el, encoding="unicode", method="html")
