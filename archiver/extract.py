"""Extraction: one response in, one final, JSON-able record out.

The whole judgement of a page happens here, once: what kind of page it is, its fields (the site's
page object, then page metadata, the density fallback, the last resort), whether the required
fields are there (a page at an article URL that lacks them is ``degraded``, never dropped; any
other page is ``incomplete``), and its quality verdict, with the fetch time when there is one.
The crawl (archiver/reading.py, in the spider's callback), the WARC import, ``archiver extract``
and the fixture checks all call :func:`extract_page`, so a saved page extracts exactly as it did
during the crawl.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response

from archiver.normalize.dates import url_date
from archiver.pages.base import PageInput, response_from_bytes
from archiver.pages.chinalco import FOOTER_LINE
from archiver.pages.chinalco import _is_chrome as is_chrome
from archiver.pages.dom import iter_blocks, parse_html, title_tag
from archiver.pages.generic import strip_title_suffix
from archiver.pages.layered import MIN_BODY_CHARS, LayeredArticlePage
from archiver.pages.lists import ListPage
from archiver.pages.registry import article_page_class
from archiver.pages.repair import repaired_html
from archiver.quality import assess
from archiver.sites import Network, load_network
from archiver.sites.registry import host_site_id, path_channel

MAX_PAGE_BYTES = 8 * 1024 * 1024     # bigger than any article page of the network by far
# Work per page is linear in its elements; a page with more is recorded as oversized, not read
# (real article pages have 1,000-3,000; work is ~15 µs an element, so 20,000 stay under 0.5 s).
MAX_PAGE_ELEMENTS = 20_000
# Longer than any real value of the field: cut to the bound and flagged (a 200,000-character
# "title" is a broken page, not a headline). Body: 500,000 characters, far beyond any article.
FIELD_BOUNDS = {"title": 300, "source": 100, "author": 100, "editor": 100, "published_raw": 200,
                "channel_label": 100, "body": 500_000}


@dataclass
class Extraction:
    url: str
    is_article: bool
    page_type: str                       # article | list | challenge | soft404 | error | empty | not_html | oversized | mis_encoded | malformed | other
    reason: str = ""                     # why it is not an article
    canonical_url: str | None = None
    site: str | None = None
    site_name: str | None = None
    channel: str | None = None
    channel_label: str | None = None
    breadcrumb: list[str] | None = None
    title: str | None = None
    source: str | None = None
    author: str | None = None
    editor: str | None = None
    credits: list[str] = field(default_factory=list)               # reporters credited in the text (（记者 张三）)
    published_at: str | None = None
    published_precision: str | None = None
    published_raw: str | None = None
    url_date: str | None = None
    doc_id: int | None = None
    language: str | None = None
    body: str | None = None
    body_html: str | None = None
    images: list[dict] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)
    extraction: dict[str, dict] = field(default_factory=dict)   # field -> {method, raw}
    family: str | None = None
    encoding: str | None = None
    encoding_note: str | None = None     # set when the declared charset was wrong
    list_articles: list[str] = field(default_factory=list)       # list pages: article URLs
    extraction_status: str | None = None  # complete | degraded (an article URL read by the last resort)
    extraction_reason: str | None = None  # why it is degraded
    quality: str | None = None                                   # good | low | bad (archiver.quality)
    quality_score: float | None = None
    quality_flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A deep copy as plain dicts and lists (what ``dataclasses.asdict`` gives for these
        JSON-like fields, without its generic deepcopy: 5x faster, it runs twice per page)."""
        return {name: _plain_copy(getattr(self, name)) for name in _EXTRACTION_FIELDS}


def _plain_copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain_copy(v) for k, v in value.items()}
    return value


_EXTRACTION_FIELDS = tuple(f.name for f in fields(Extraction))


def _base(page: PageInput, page_type: str, reason: str = "") -> Extraction:
    info = page.url_info
    site = info.site
    channel = info.channel
    label = None
    if site and channel is not None:
        ch = site.channel_for_path(channel)
        label = ch.label if ch else None
    parts = urlsplit(page.url)
    doc_id = info.doc_id
    if site is None:                         # a host outside the registry (sibling templates)
        m = page.network.article_re.match(parts.path)
        channel = m["channel"].strip("/") if m else path_channel(parts.path)
        doc_id = int(m["doc_id"]) if m else None
    return Extraction(
        url=page.url, is_article=False, page_type=page_type, reason=reason,
        canonical_url=info.canonical_url or page.network.canonical_url(page.url),
        site=site.id if site else host_site_id(parts.hostname or ""),
        site_name=site.name if site else None, channel=channel, channel_label=label,
        url_date=info.url_date or url_date(page.url), doc_id=doc_id, encoding=page.encoding,
        encoding_note=page.encoding_note,
    )


REQUIRED = ("title", "body")


def extract_page(page: PageInput, *, now: str | None = None, list_title: str | None = None,
                 earliest=None) -> Extraction:
    """``now``: when the page was fetched (a date after it is flagged; none: no such check);
    ``list_title``: the headline of the list row that linked it (the last resort for a
    degraded article's headline); ``earliest``: the earliest plausible date (archiver.quality)."""
    out, article = _read(page)
    if out.is_article:
        _require(out, list_title)
        _judge(out, article, now, earliest)
    return out


def _read(page: PageInput, *, repair: bool = True) -> tuple[Extraction, LayeredArticlePage | None]:
    """The page's type and fields, with the page object that read an article's."""
    body = page.response.body
    if len(body) > MAX_PAGE_BYTES:
        return _base(page, "oversized", f"body of {len(body)} bytes exceeds {MAX_PAGE_BYTES}"), None
    verdict = page.byte_verdict
    if not verdict.ok:
        return _base(page, verdict.kind, verdict.reason), None
    if page.mis_encoded:
        return _base(page, "mis_encoded", page.encoding_note), None
    try:
        root = page.root
    except (ValueError, UnicodeDecodeError) as e:
        if str(e).startswith("empty document"):
            return _base(page, "empty", f"no element in the page ({e})"), None
        return _base(page, "malformed", f"unparseable HTML: {e}"), None
    if next(itertools.islice(root.iter(), MAX_PAGE_ELEMENTS, None), None) is not None:
        return _base(page, "oversized", f"more than {MAX_PAGE_ELEMENTS} elements (the extraction budget per page)"), None
    from archiver.pages.detect import check_tree
    tree_verdict = check_tree(root, page.text)
    if not tree_verdict.ok:
        return _base(page, tree_verdict.kind, tree_verdict.reason), None

    family = page.site.family if page.site else "generic"
    # The site's page object first, then page metadata, the density fallback and the URL date.
    article = LayeredArticlePage(page, article_page_class(family))
    ok, why = article.looks_like_article()
    if not ok:
        lst = ListPage(page)
        at_article_url = page.url_info.kind == "article"
        if lst.article_links and (not at_article_url or _positively_a_list(lst, article)):
            out = _base(page, "list", f"list page with {len(lst.article_links)} article links")
            out.list_articles = lst.article_links
            return out, None
        if not at_article_url:
            return _base(page, "other", why), None
        fixed = _repaired(page, root) if repair else None
        if fixed is not None:
            return fixed
        # An article URL is never lost to extraction: archive what the last resort reads.
        return _degraded(page, article, why), article

    out = _base(page, "article")
    out.is_article = True
    out.extraction_status = "complete"
    _fill(out, article)
    out.quality_flags = article.layer_flags + _bound_fields(out)
    return out, article


def _repaired(page: PageInput, root) -> tuple[Extraction, LayeredArticlePage] | None:
    """The article a tolerant re-reading of broken markup finds (archiver/pages/repair.py), or None."""
    html = repaired_html(page.text, len(root.text_content()))
    if html is None:
        return None
    fixed = PageInput(response_from_bytes(page.url, html.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"},
                                          page.status), page.network)
    out, article = _read(fixed, repair=False)
    if not out.is_article or out.extraction_status != "complete":
        return None
    out.encoding, out.encoding_note = page.encoding, page.encoding_note
    out.quality_flags.append("markup_repaired")
    return out, article


def _require(out: Extraction, list_title: str | None) -> None:
    """A headline and a body of MIN_BODY_CHARS are required. An article URL (a document id) that
    lacks them is degraded (headline: the list row's, else the URL); another page becomes
    ``incomplete`` (a failure)."""
    missing = [n for n in REQUIRED if not getattr(out, n)]
    if not missing and len(out.body or "") >= MIN_BODY_CHARS:
        return
    why = f"missing {', '.join(missing)}" if missing else f"body shorter than {MIN_BODY_CHARS} characters"
    if out.doc_id is None:
        out.is_article, out.page_type, out.reason = False, "incomplete", f"extraction incomplete: {why}"
        return
    if not out.title:
        out.title = list_title or out.url
        out.extraction["title"] = {"method": "last-resort:list-title" if list_title else "last-resort:url",
                                   "raw": None}
    reason = f"extraction incomplete: {why}"
    if out.extraction_status == "degraded" and out.extraction_reason:
        reason = f"{out.extraction_reason}; {reason}"
    out.extraction_status, out.extraction_reason = "degraded", reason


def _judge(out: Extraction, article: LayeredArticlePage, now: str | None, earliest) -> None:
    """The quality verdict (archiver/quality.py); a degraded article is ``bad`` whatever it reads like."""
    kwargs = {"earliest": earliest} if earliest else {}
    verdict = assess(out.to_dict(), now=now, labels=article.labels, expects_source=article.on_own_template,
                     **kwargs)
    out.quality, out.quality_score, out.quality_flags = verdict.quality, verdict.score, verdict.flags
    if out.extraction_status == "degraded":
        out.quality, out.quality_score = "bad", 0.0
        out.quality_flags = ["degraded"] + [f for f in verdict.flags if f != "degraded"]


def _bound_fields(out: Extraction) -> list[str]:
    """Cut fields longer than FIELD_BOUNDS; the quality flags saying so."""
    flags = []
    for name, bound in FIELD_BOUNDS.items():
        value = getattr(out, name)
        if isinstance(value, str) and len(value) > bound:
            setattr(out, name, value[:bound])
            flags.append(f"{name}_truncated" if name in ("title", "body") else "field_truncated")
            if name == "body":
                out.body_html = None
    return sorted(set(flags))


MIN_LIST_ROWS = 5          # article rows a page at an article URL needs to count as a list page


def _positively_a_list(lst: ListPage, article: LayeredArticlePage) -> bool:
    """A page at an article URL is a list page only on positive evidence: several article rows
    and no info line of its own."""
    rows = sum(1 for r in lst.rows if r.kind == "article")
    return rows >= MIN_LIST_ROWS and article.primary.info_el is None


def _fill(out: Extraction, article: LayeredArticlePage) -> None:
    out.family = article.family
    for name, f in article.fields.items():
        if f is None:
            continue
        out.extraction[name] = f.provenance()
        if name == "published_at":
            out.published_at = f.value.value
            out.published_precision = f.value.precision
            out.published_raw = f.value.raw
        else:
            setattr(out, name, f.value)
    if out.breadcrumb and not out.channel_label:
        out.channel_label = out.breadcrumb[-1]
    out.editor = article.editor
    out.images = article.images
    out.attachments = article.attachments
    out.body_html = article.body_html
    out.language = article.language


MAX_LAST_RESORT_CHARS = 20000


def _degraded(page: PageInput, article: LayeredArticlePage, why: str) -> Extraction:
    """The last resort for a page at an article URL that no layer could read as an article:
    every field the layers found, then the headline from ``<title>`` without the site's name,
    the URL date and the page's visible text outside navigation and footer. Flagged
    ``degraded`` with the reason: it is in the review queue."""
    out = _base(page, "article")
    out.is_article = True
    _fill(out, article)
    out.extraction_status = "degraded"
    out.extraction_reason = why or "the page object did not recognise the page"
    if not out.title:
        raw = title_tag(page.root)
        title = strip_title_suffix(raw, article.site_names) if raw else ""
        if title:
            out.title = title
            out.extraction["title"] = {"method": "last-resort:title-tag", "raw": raw}
    if not out.published_at and out.url_date:
        out.published_at, out.published_precision, out.published_raw = out.url_date, "day", out.url_date
        out.extraction["published_at"] = {"method": "last-resort:url", "raw": page.url}
    if not out.body or len(out.body) < MIN_BODY_CHARS:
        text = _visible_text_outside_chrome(page)
        if text and len(text) > len(out.body or ""):
            out.body = text
            out.body_html = None
            out.extraction["body"] = {"method": "last-resort:visible-text", "raw": None}
    unreadable = _unreadable(f"{out.title or ''} {out.body or ''}")
    if unreadable:
        return _base(page, "malformed", f"{why}; no readable text either ({unreadable})")
    out.family = "last-resort"
    out.quality_flags = ["degraded"] + [f for f in article.layer_flags if f != "degraded"] + _bound_fields(out)
    return out


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")
_WORD = re.compile(r"[^\W\d_]")        # a letter of any script (CJK included)


def _unreadable(text: str) -> str | None:
    """Why ``text`` is no article text (binary noise, punctuation only), or None."""
    sample = text[:4000]
    if len(_WORD.findall(sample)) < 2:
        return "no words"
    if len(_CONTROL.findall(sample)) > max(2, len(sample) // 50):
        return "control characters or undecodable bytes"
    return None


def _visible_text_outside_chrome(page: PageInput) -> str:
    body = page.root.find("body")
    lines: list[str] = []
    size = 0
    for b in iter_blocks(body if body is not None else page.root, page.url):
        if not b.text or is_chrome(b.element) or FOOTER_LINE.search(b.text):
            continue
        lines.append(b.text)
        size += len(b.text)
        if size > MAX_LAST_RESORT_CHARS:
            break
    return "\n".join(lines)[:MAX_LAST_RESORT_CHARS]


def extract_response(response: Response, network: Network | None = None, **context) -> Extraction:
    return extract_page(PageInput(response, network or load_network()), **context)


def extract_bytes(url: str, body: bytes, headers: dict | None = None, status: int = 200,
                  network: Network | None = None, encoding: str | None = None, **context) -> Extraction:
    return extract_response(response_from_bytes(url, body, headers, status, encoding), network, **context)


__all__ = ["Extraction", "extract_bytes", "extract_page", "extract_response", "parse_html"]
