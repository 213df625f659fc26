"""Cleaned body HTML that can never run script in a reader's browser.

``blocks_to_html`` rebuilds the body from extracted paragraphs: every text is escaped, the
only tags are ``p``, ``figure``, ``img``, ``figcaption`` and ``a``, and the only URLs are
absolute http(s). ``sanitize_html`` is the allowlist filter for HTML from anywhere else
(Datasette renders archived HTML through it).
"""
from __future__ import annotations

import html
from typing import Iterable

from bs4 import BeautifulSoup, Comment

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "sub", "sup", "span", "a", "img", "figure", "figcaption",
    "table", "thead", "tbody", "tr", "td", "th", "ul", "ol", "li", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "code", "hr",
}
ALLOWED_ATTRS = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"colspan", "rowspan"},
                 "th": {"colspan", "rowspan"}}
DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math",
                     "form", "input", "button", "select", "textarea", "link", "meta", "base", "frame", "frameset"}


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


def sanitize_html(fragment: str) -> str:
    """Keep only allowlisted tags and attributes; drop scripts, handlers and non-http URLs."""
    soup = BeautifulSoup(fragment or "", "lxml")
    for c in soup.find_all(string=lambda s: isinstance(s, Comment)):
        c.extract()
    for tag in soup.find_all(True):
        if tag.name in DROP_WITH_CONTENT:
            tag.decompose()
    for tag in soup.find_all(True):
        if tag.name in ("html", "body", "head"):
            tag.unwrap()
            continue
        if tag.name not in ALLOWED_TAGS:
            tag.unwrap()
            continue
        allowed = ALLOWED_ATTRS.get(tag.name, set())
        for attr in list(tag.attrs):
            if attr not in allowed:
                del tag.attrs[attr]
            elif attr in ("href", "src") and not safe_url(tag.attrs[attr]):
                del tag.attrs[attr]
    return str(soup).strip()
