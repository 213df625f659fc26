"""Cleaned body HTML that can never run script in a reader's browser.

``blocks_to_html`` rebuilds the body from extracted paragraphs: every text is escaped, the
only tags are ``p``, ``figure``, ``img``, ``figcaption`` and ``a``, and the only URLs are
absolute http(s). ``sanitize_html`` is the allow-list filter (one nh3/Ammonia call over the
allow-list below) for HTML from anywhere else: Datasette renders archived HTML through it.
"""
from __future__ import annotations

import html
from typing import Iterable

import nh3

# The allow-list: the one place that says which tags, attributes and URLs archived HTML may keep.
ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "sub", "sup", "span", "a", "img", "figure", "figcaption",
    "table", "thead", "tbody", "tr", "td", "th", "ul", "ol", "li", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "code", "hr",
}
ALLOWED_ATTRS = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"colspan", "rowspan"},
                 "th": {"colspan", "rowspan"}}
DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math",
                     "form", "input", "button", "select", "textarea", "link", "meta", "base", "frame", "frameset"}
URL_ATTRS = {"href", "src"}
URL_SCHEMES = {"http", "https"}
# Set on every kept tag of that name: images load lazily and send no referrer; links open no window
# handle and pass no ranking (``rel``).
SET_ATTRS = {"img": {"loading": "lazy", "referrerpolicy": "no-referrer"}}
LINK_REL = "noopener noreferrer nofollow"


def safe_url(url: str | None) -> str | None:
    if not url:
        return None
    u = url.strip()
    return u if u.lower().startswith(("http://", "https://")) else None


MAX_LINKS_PER_PARAGRAPH = 200      # bounds the work per paragraph (a page of 10,000 links stays linear)


def _linkify(text: str, links: Iterable[tuple[str, str]]) -> str:
    """The escaped paragraph with each link's label made an anchor, in one left-to-right pass:
    a label is looked for after the previous anchor, so anchors never nest."""
    out = html.escape(text, quote=False)
    parts: list[str] = []
    cursor = 0
    for n, (href, label) in enumerate(links):
        if n >= MAX_LINKS_PER_PARAGRAPH:
            break
        href = safe_url(href)
        if not href or not label:
            continue
        esc = html.escape(label, quote=False)
        at = out.find(esc, cursor)
        if at < 0:
            continue
        parts.append(out[cursor:at])
        parts.append(f'<a href="{html.escape(href)}">{esc}</a>')
        cursor = at + len(esc)
    parts.append(out[cursor:])
    return "".join(parts)


def blocks_to_html(blocks, images: list[dict]) -> str:
    """HTML for the extracted body: one ``<p>`` per paragraph, a ``<figure>`` per image."""
    captions = {img["src"]: img.get("caption") for img in images}
    caption_texts = {c for c in captions.values() if c}
    parts: list[str] = []
    for b in blocks:
        for src in b.images:
            src = safe_url(src)
            if not src:
                continue
            cap = captions.get(src)
            fig = f'<figure><img src="{html.escape(src)}" alt="">'
            if cap:
                fig += f"<figcaption>{html.escape(cap, quote=False)}</figcaption>"
            parts.append(fig + "</figure>")
        if b.text and b.text not in caption_texts:
            parts.append(f"<p>{_linkify(b.text, b.links)}</p>")
    return "\n".join(parts)


def _absolute_http_urls(tag: str, attr: str, value: str) -> str | None:
    return safe_url(value) if attr in URL_ATTRS else value


def sanitize_html(fragment: str | None) -> str:
    """``fragment`` with only the allow-listed tags and attributes: script, style and other active
    content dropped with what they hold, event handlers and inline styles dropped, ``href``/``src``
    kept only when absolute http(s), comments dropped (Ammonia, through nh3)."""
    return nh3.clean(fragment or "", tags=ALLOWED_TAGS, clean_content_tags=DROP_WITH_CONTENT,
                     attributes=ALLOWED_ATTRS, attribute_filter=_absolute_http_urls, url_schemes=URL_SCHEMES,
                     set_tag_attribute_values=SET_ATTRS, link_rel=LINK_REL, strip_comments=True).strip()
