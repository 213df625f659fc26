"""Excerpts for lists of articles: a short piece of the body around the first hit, hits marked.

Returns segments ``(text, is_hit)``; the Jinja templates escape the text and wrap hits in <mark>,
so no HTML is built here.
"""
from __future__ import annotations

import re

from .zh import parse

BEFORE = 40
AFTER = 80


def _pattern(words: list[str]) -> re.Pattern | None:
    words = sorted({w for w in words if w.strip()}, key=len, reverse=True)
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)


def segments(text: str, words: list[str]) -> list[tuple[str, bool]]:
    """``text`` cut into pieces, the pieces that are one of ``words`` (case-insensitive) flagged."""
    pat = _pattern(words)
    if pat is None or not text:
        return [(text or "", False)]
    out, at = [], 0
    for m in pat.finditer(text):
        if m.start() > at:
            out.append((text[at:m.start()], False))
        out.append((m.group(0), True))
        at = m.end()
    if at < len(text):
        out.append((text[at:], False))
    return out


def excerpt(text: str | None, query: str | None, *, before: int = BEFORE, after: int = AFTER) -> list[tuple[str, bool]]:
    """About ``before + after`` characters of ``text`` around the first hit of a word of ``query``
    (the start of the text when there is no query or no hit), one line, hits flagged."""
    flat = " ".join((text or "").split())
    words = parse(query).words if query else []
    pat = _pattern(words)
    m = pat.search(flat) if pat else None
    if m is None:
        piece = flat[: before + after]
        return segments(piece + ("…" if len(flat) > len(piece) else ""), words)
    start = max(0, m.start() - before)
    end = min(len(flat), m.end() + after)
    piece = ("…" if start > 0 else "") + flat[start:end] + ("…" if end < len(flat) else "")
    return segments(piece, words)


def mark_brackets(excerpt_text: str | None, query: str | None) -> list[tuple[str, bool]]:
    """The canned query's excerpt (the hit in 【】, for plain Datasette) with the hit flagged instead."""
    text = excerpt_text or ""
    words = parse(query).words if query else []
    for w in words:
        text = re.sub("【(" + re.escape(w) + ")】", r"\1", text, count=1, flags=re.IGNORECASE)
    return segments(text, words)
