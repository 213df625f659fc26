"""Template changes that leave an article's visible text as it is (issue #10, bench/robustness.py).

Each *family* rewrites a fixture article the way a CMS template change would: the info line's
fields split into separate elements, their order swapped, another colon or separator, the
headline in another tag, every class and id renamed, wrappers and layout tables added, the body as
``<br><br>`` paragraphs, noise between paragraphs, share widgets, other date formats, another
encoding. What a reader sees stays the same (except where the family is the visible change: a
date format, an empty labelled field, a share widget), so the extraction must stay the same.

The families locate what they rewrite on the *original* page: the headline by its text (the
fixture's expected title), the info line with the page object (whose reading of every original
fixture is checked by the fixture tests), the body paragraphs by the original extraction's text.
A family that finds nothing to rewrite on a page (no info line on a sibling template) is not
applicable there and is not scored.

Used by ``bench/robustness.py`` (the full table) and ``tests/test_template_robustness.py`` (CI's
floors). Development tooling: the installed ``archiver`` package does not import it.
"""
from __future__ import annotations

import hashlib
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from lxml import etree, html

from archiver.extract import Extraction, extract_bytes
from archiver.normalize.text import clean_line
from archiver.pages.base import PageInput, response_from_bytes
from archiver.pages.chinalco import ChinalcoArticlePage
from archiver.pages.dom import visible_text
from archiver.sites import load_network

NETWORK = load_network()
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff\uf900-\ufaff]+")
LABELS = {
    "zh": {"source": "来源", "published": "时间", "author": "作者", "editor": "编辑", "views": "浏览次数"},
    "en": {"source": "Source", "published": "Date", "author": "Author", "editor": "Editor", "views": "Views"},
}
FIELD_ORDER = ("source", "published", "author", "editor", "views")


class NotApplicable(Exception):
    """The family finds nothing to rewrite on this page."""


@dataclass
class Article:
    """One fixture article, its original extraction and where its parts are."""
    url: str
    body: bytes
    headers: dict
    expected: dict
    original: Extraction

    def tree(self) -> tuple[etree._Element, "Parts"]:
        page = PageInput(response_from_bytes(self.url, self.body, self.headers), NETWORK)
        root = html.document_fromstring(page.text)
        return root, Parts.locate(root, self, page)


@dataclass
class Parts:
    headline: etree._Element | None
    info: list                         # the info line's elements (one, or a run of inline siblings)
    fields: dict[str, str]             # kind -> value as the page shows it
    language: str
    paragraphs: list                   # elements holding one body paragraph each
    body: str | None = None            # the body a reader now sees, when a family changes it

    @classmethod
    def locate(cls, root, article: Article, page: PageInput) -> "Parts":
        title = clean_line(article.expected.get("title") or "")
        headline = None
        for el in root.iter():
            if isinstance(el.tag, str) and el.tag not in ("title", "head", "meta", "html", "body") \
                    and clean_line(visible_text(el, limit=400)) == title:
                headline = el                      # the deepest one wins (iteration goes down)
        # The page object on a tree of our own: its elements are this tree's elements.
        obj = ChinalcoArticlePage(_Input(root, page))
        info: list = []
        fields: dict[str, str] = {}
        if obj.info is not None:
            first = obj.info_first if obj.info_first is not None else obj.info_el
            info = [first]
            node = first
            while node is not obj.info_el:
                node = node.getnext()
                if node is None:
                    break
                info.append(node)
            fields = {k: v for k, v in obj.info_line.fields.items() if k in FIELD_ORDER}
        squash = lambda t: re.sub(r"\s+", "", t)  # noqa: E731
        body_lines = {squash(line) for line in (article.original.body or "").split("\n") if line.strip()}
        paragraphs = [el for el in root.iter("p", "div", "td", "li", "tr")
                      if squash(visible_text(el, limit=3000)) in body_lines and el.find(".//p") is None]
        paragraphs = [p for p in paragraphs if not any(q in p.iterdescendants() for q in paragraphs)]
        lang = "en" if (article.original.language == "en" or re.search(r"Source|Date", obj.info_line.raw or "")) \
            else "zh"
        return cls(headline, info, fields, lang, paragraphs)


class _Input:
    """A PageInput look-alike over an already parsed tree (the page object reads only these)."""

    def __init__(self, root, page: PageInput):
        self.root, self.url, self.network = root, page.url, page.network
        self.site, self.url_info, self.text = page.site, page.url_info, page.text


def _make(tag: str, text: str = "", **attrs) -> etree._Element:
    el = etree.Element(tag, **attrs)
    el.text = text
    return el


def _label_text(parts: Parts, kind: str, colon: str = "：") -> str:
    return f"{LABELS[parts.language][kind]}{colon}"


def _require_info(parts: Parts) -> None:
    if not parts.info or not parts.fields.get("published"):
        raise NotApplicable("no info line")


def _replace_info(parts: Parts, new: etree._Element) -> None:
    first = parts.info[0]
    new.tail = parts.info[-1].tail
    first.addprevious(new)
    for el in parts.info:
        el.getparent().remove(el)
    parts.info = [new]


def _fields_in(parts: Parts, tag: str, container: str, order=FIELD_ORDER, colon="：", sep: str = "") -> etree._Element:
    box = _make(container, **{"class": "info"})
    cells = [(k, parts.fields[k]) for k in order if parts.fields.get(k)]
    for i, (kind, value) in enumerate(cells):
        cell = _make(tag, _label_text(parts, kind, colon) + value)
        if sep and i < len(cells) - 1:
            cell.tail = sep
        box.append(cell)
    return box


# ---------------------------------------------------------------------------- families
def empty_fields(root, parts: Parts) -> None:
    """An empty labelled field at the end of the info line (作者：/编辑： left blank)."""
    _require_info(parts)
    kind = "editor" if parts.fields.get("author") else "author"
    span = _make("span", _label_text(parts, kind))
    last = parts.info[-1]
    if last.tag in ("span", "a", "font", "em", "strong", "b", "label"):
        span.tail = last.tail
        last.tail = None
        last.addnext(span)
    else:
        last.append(span)


def _split(tag: str, container: str, sep: str = ""):
    def family(root, parts: Parts) -> None:
        _require_info(parts)
        box = _fields_in(parts, tag, container, sep=sep)
        if container == "tr":
            table = _make("table")
            table.append(box)
            box = table
        _replace_info(parts, box)
    family.__doc__ = f"The info line's fields in separate <{tag}> elements."
    return family


def info_table(root, parts: Parts) -> None:
    """The info line as a table row, each label and each value in a cell of its own."""
    _require_info(parts)
    table, tr = _make("table", **{"class": "info"}), _make("tr")
    for kind in FIELD_ORDER:
        if parts.fields.get(kind):
            tr.append(_make("td", _label_text(parts, kind)))
            tr.append(_make("td", parts.fields[kind]))
    table.append(tr)
    _replace_info(parts, table)


def label_order(root, parts: Parts) -> None:
    """The info line's fields in another order (时间 before 来源)."""
    _require_info(parts)
    order = ("published", "author", "source", "editor", "views")
    _replace_info(parts, _fields_in(parts, "span", "div", order=order, sep="\u3000"))


def _separator(colon: str, sep: str):
    def family(root, parts: Parts) -> None:
        _require_info(parts)
        _replace_info(parts, _fields_in(parts, "span", "div", colon=colon, sep=sep))
    family.__doc__ = f"Colon {colon!r}, separator {sep!r} between the fields."
    return family


def _headline(tag: str):
    def family(root, parts: Parts) -> None:
        h = parts.headline
        if h is None:
            raise NotApplicable("no headline element")
        if tag == "td>strong":
            table, tr, td, strong = _make("table"), _make("tr"), _make("td"), _make("strong")
            strong.text, strong.tail = h.text, None
            for child in list(h):
                strong.append(child)
            td.append(strong)
            tr.append(td)
            table.append(tr)
            table.tail = h.tail
            h.addprevious(table)
            h.getparent().remove(h)
            parts.headline = strong
        else:
            h.tag = tag
            h.attrib.pop("class", None)
            if tag == "div":
                h.set("class", "article-tit")
    family.__doc__ = f"The headline as <{tag}>."
    return family


def rename_classes(root, parts: Parts) -> None:
    """Every class and id renamed (a new template's names)."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in ("class", "id"):
            if el.get(attr):
                el.set(attr, "x" + hashlib.sha1(el.get(attr).encode()).hexdigest()[:6])


def _wrap(el, *classes: str):
    for cls in classes:
        div = _make("div", **{"class": cls})
        div.tail = el.tail
        el.tail = None
        el.addprevious(div)
        div.append(el)
        el = div
    return el


def wrapper_divs(root, parts: Parts) -> None:
    """Extra wrapper divs around the headline, the info line and every paragraph's container."""
    if parts.headline is not None:
        _wrap(parts.headline, "w1", "w2")
    if parts.info:
        for el in list(parts.info):
            if el.tag == "div" or len(parts.info) == 1:
                _wrap(el, "w3")
    containers = {p.getparent() for p in parts.paragraphs if p.getparent() is not None}
    for c in containers:
        if c.tag not in ("body", "html", "td", "tr", "table", "ul", "ol"):
            _wrap(c, "w4", "w5")


def layout_table(root, parts: Parts) -> None:
    """The whole page body inside a layout table."""
    body = root.find("body")
    table, tr, td = _make("table", width="1000"), _make("tr"), _make("td")
    td.text, body.text = body.text, None
    for child in list(body):
        td.append(child)
    tr.append(td)
    table.append(tr)
    body.append(table)


def nested_tables(root, parts: Parts) -> None:
    """The body's paragraphs inside nested tables."""
    if not parts.paragraphs:
        raise NotApplicable("no body paragraphs")
    container = parts.paragraphs[0].getparent()
    outer = _make("table")
    tr1, td1, inner, tr2, td2 = _make("tr"), _make("td"), _make("table"), _make("tr"), _make("td")
    for p in [p for p in parts.paragraphs if p.getparent() is container]:
        td2.append(p)
    tr2.append(td2)
    inner.append(tr2)
    td1.append(inner)
    tr1.append(td1)
    outer.append(tr1)
    container.insert(0, outer)


def br_paragraphs(root, parts: Parts) -> None:
    """The body as text separated by <br><br> in one div instead of <p> paragraphs."""
    ps = [p for p in parts.paragraphs if p.tag == "p" and p.find(".//img") is None and len(p) == 0]
    if len(ps) < 2:
        raise NotApplicable("fewer than two plain paragraphs")
    div = _make("div")
    div.tail = ps[-1].tail
    ps[0].addprevious(div)
    last = None
    for p in ps:
        text = p.text or ""
        if last is None:
            div.text = text
        else:
            last.tail = text
        br1, br2 = _make("br"), _make("br")
        div.append(br1)
        div.append(br2)
        last = br2
        p.getparent().remove(p)
    parts.paragraphs = [q for q in parts.paragraphs if q not in ps] + [div]


def noise_between(root, parts: Parts) -> None:
    """Comments, scripts and empty paragraphs between the paragraphs."""
    if not parts.paragraphs:
        raise NotApplicable("no body paragraphs")
    for p in parts.paragraphs[:-1]:
        for node in (etree.Comment(" TRS editor "), _make("script", "var _x = 1;"), _make("p"), _make("p", "\xa0")):
            node.tail = None
            p.addnext(node)


def flat_container(root, parts: Parts) -> None:
    """Headline, info fields (bare spans, no wrapper) and paragraphs straight inside one container."""
    _require_info(parts)
    if parts.headline is None or not parts.paragraphs:
        raise NotApplicable("no headline or no paragraphs")
    if any(p.tag in ("td", "li", "tr") for p in parts.paragraphs):
        raise NotApplicable("the body is a table or a list (moving its cells changes what a reader sees)")
    box = _make("div", **{"class": "xl_main"})
    parts.headline.addprevious(box)
    box.append(parts.headline)
    spans = list(_fields_in(parts, "span", "div"))
    for el in parts.info:
        el.getparent().remove(el)
    for span in spans:
        box.append(span)
    parts.info = spans
    for p in parts.paragraphs:
        if p.getparent() is not None:
            p.tail = None
            box.append(p)


def one_paragraph(root, parts: Parts) -> None:
    """A short item: only the first paragraph of the body is left."""
    if len(parts.paragraphs) < 2 or any(p.tag in ("td", "li", "tr") for p in parts.paragraphs):
        raise NotApplicable("one paragraph already, or a table or list body")
    first = parts.paragraphs[0]
    text = clean_line(visible_text(first))
    if len(text) < 20 or first.find(".//img") is not None:
        raise NotApplicable("the first paragraph is not text")
    for p in parts.paragraphs[1:] + list(first.itersiblings()):     # the rest of the body with them
        if p.getparent() is not None and isinstance(p.tag, str):
            p.getparent().remove(p)
    parts.paragraphs = [first]
    parts.body = text


def share_widgets(root, parts: Parts) -> None:
    """Share and print widgets beside the info line."""
    _require_info(parts)
    box = _make("div", **{"class": "share"})
    box.text = "分享到："
    for name in ("微信", "微博", "QQ空间"):
        box.append(_make("a", name, href="javascript:void(0)"))
    tools = _make("span", "【打印】【关闭】【字号：大 中 小】")
    last = parts.info[-1]
    tools.tail, last.tail = last.tail, None
    last.addnext(tools)
    tools.addnext(box)


def _date_format(fmt: Callable[[str], str]):
    def family(root, parts: Parts) -> None:
        _require_info(parts)
        m = re.search(r"(\d{4})-(\d{2})-(\d{2})", parts.fields["published"])
        if not m:
            raise NotApplicable("the date is not YYYY-MM-DD")
        parts.fields["published"] = fmt(m.group(0))
        _replace_info(parts, _fields_in(parts, "span", "div", sep="\u3000"))
    return family


def _cn_date(d: str) -> str:
    y, m, dd = d.split("-")
    return f"{y}年{int(m)}月{int(dd)}日"


FAMILIES: dict[str, Callable] = {
    "empty_fields": empty_fields,
    "split_span": _split("span", "div"),
    "split_td": _split("td", "tr"),
    "split_li": _split("li", "ul"),
    "split_p": _split("p", "div"),
    "label_order": label_order,
    "colon_ascii": _separator(":", "\u3000"),
    "sep_u3000": _separator("：", "\u3000\u3000"),
    "sep_nbsp": _separator("：", "\xa0\xa0\xa0\xa0"),
    "sep_none": _separator("：", ""),
    "info_table": info_table,
    "headline_h1": _headline("h1"),
    "headline_h2": _headline("h2"),
    "headline_h3": _headline("h3"),
    "headline_div": _headline("div"),
    "headline_td_strong": _headline("td>strong"),
    "rename_classes": rename_classes,
    "wrapper_divs": wrapper_divs,
    "layout_table": layout_table,
    "nested_tables": nested_tables,
    "br_paragraphs": br_paragraphs,
    "noise_between": noise_between,
    "share_widgets": share_widgets,
    "flat_container": flat_container,
    "one_paragraph": one_paragraph,
    "date_cn": _date_format(_cn_date),
    "date_slash": _date_format(lambda d: d.replace("-", "/")),
    "date_time": _date_format(lambda d: f"{d} 09:30"),
    "date_cn_time": _date_format(lambda d: f"{_cn_date(d)} 09:30:00"),
    # encodings: applied when the page is written out (see render)
    "gbk_meta": lambda root, parts: None,
    "utf8_bom": lambda root, parts: None,
}
ENCODING_FAMILIES = {"gbk_meta", "utf8_bom"}


def render(root, families: tuple[str, ...]) -> tuple[bytes, dict]:
    """The rewritten page as bytes and headers (the encoding families decide how)."""
    for meta in root.iter("meta"):
        if meta.get("charset") or (meta.get("http-equiv") or "").lower() == "content-type":
            meta.getparent().remove(meta)
    head = root.find("head")
    text = html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")
    if "gbk_meta" in families:
        meta = '<meta http-equiv="Content-Type" content="text/html; charset=gbk">'
        text = text.replace("<head>", "<head>" + meta, 1) if head is not None else meta + text
        return text.encode("gbk", errors="xmlcharrefreplace"), {"Content-Type": "text/html"}
    text = text.replace("<head>", '<head><meta charset="utf-8">', 1) if head is not None else text
    data = text.encode("utf-8")
    if "utf8_bom" in families:
        return b"\xef\xbb\xbf" + data, {"Content-Type": "text/html"}
    return data, {"Content-Type": "text/html; charset=utf-8"}


def variant(article: Article, families: tuple[str, ...]) -> tuple[bytes, dict, str | None]:
    """The rewritten page (bytes, headers) and the body a reader now sees (None: unchanged)."""
    root, parts = article.tree()
    for name in families:
        FAMILIES[name](root, parts)
    return (*render(root, families), parts.body)


# ---------------------------------------------------------------------------- scoring
def body_f1(got: str | None, ref: str | None) -> float:
    g, r = Counter(_TOKEN.findall((got or "").lower())), Counter(_TOKEN.findall((ref or "").lower()))
    if not g and not r:
        return 1.0
    common = sum((g & r).values())
    if not common:
        return 0.0
    p, rec = common / sum(g.values()), common / sum(r.values())
    return 2 * p * rec / (p + rec)


def score(result: Extraction, article: Article, body: str | None = None) -> dict[str, float]:
    exp = article.expected
    return {
        "lost": 0.0 if result.is_article else 1.0,
        "title": float(clean_line(result.title or "") == clean_line(exp.get("title") or "")),
        "date": float((result.published_at or "")[:10] == (exp.get("published_at") or "")[:10]),
        "source": float((result.source or None) == (exp.get("source") or None)),
        "author": float((result.author or None) == (exp.get("author") or None)),
        "body_f1": body_f1(result.body, body if body is not None else article.original.body),
    }


def articles(cases) -> list[Article]:
    """Fixture articles (cases with page_type article that the extractor reads as articles now)."""
    out = []
    for c in cases:
        if c.expected.get("page_type") != "article" or c.status != 200:
            continue
        original = extract_bytes(c.url, c.body, c.headers, c.status)
        if original.is_article:
            out.append(Article(c.url, c.body, c.headers, c.expected, original))
    return out


def run(arts: list[Article], combos: list[tuple[str, ...]]) -> dict[tuple[str, ...], dict]:
    """Per combination: per-field mean scores, counts applied / not applicable, the worst cases."""
    table = {}
    for combo in combos:
        sums: Counter = Counter()
        n = skipped = 0
        misses: list[str] = []
        for art in arts:
            try:
                data, headers, body = variant(art, combo)
            except NotApplicable:
                skipped += 1
                continue
            s = score(extract_bytes(art.url, data, headers), art, body)
            sums.update(s)
            n += 1
            if s["lost"] or min(s["title"], s["date"], s["source"]) < 1 or s["body_f1"] < 0.97:
                misses.append(art.url)
        table[combo] = {"n": n, "skipped": skipped, "misses": misses,
                        **{k: (sums[k] / n if n else 1.0) for k in ("title", "date", "source", "author", "body_f1")},
                        "lost": int(sums["lost"])}
    return table


def pairs(names=None) -> list[tuple[str, str]]:
    names = list(names or FAMILIES)
    return list(itertools.combinations(names, 2))
