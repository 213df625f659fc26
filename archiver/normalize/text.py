"""Whitespace and punctuation handling for Chinese page text."""
from __future__ import annotations

import re
import unicodedata

# Every Unicode space, including &nbsp; (U+00A0), &ensp; (U+2002), ideographic space (U+3000),
# zero-width spaces and the BOM.
_SPACES = re.compile(r"[\s\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000\ufeff]+")
# The same characters for str.strip (linear; an anchored "[…]+$" regex rescans a long inner run of
# spaces from every position in it: quadratic, and a page with 200,000 spaces stalled the crawl).
_EDGE_CHARS = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace()) + "\u200b\ufeff"


def clean_line(text: str | None) -> str:
    """One line of visible text: ends stripped, inner runs of any space collapsed to one space.

    Indentation written as ``&nbsp;&nbsp;&nbsp;&nbsp;`` or ``　　`` disappears; a single space
    the editor typed inside a sentence (``2026 年``) stays.
    """
    if not text:
        return ""
    return _SPACES.sub(" ", text.strip(_EDGE_CHARS))


def strip_all_space(text: str | None) -> str:
    return _SPACES.sub("", text or "")


def to_halfwidth(text: str) -> str:
    """Full-width ASCII variants (，：１Ａ) to their half-width forms, via NFKC on that block only."""
    return "".join(unicodedata.normalize("NFKC", ch) if "\uff01" <= ch <= "\uff5e" else ch for ch in text)


CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{CJK}]")


def cjk_ratio(text: str) -> float:
    visible = strip_all_space(text)
    return len(_CJK_RE.findall(visible)) / len(visible) if visible else 0.0
