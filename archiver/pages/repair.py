"""Tolerant re-reading of broken markup: BeautifulSoup with Python's ``html.parser``.

lxml (libxml2) parses every page first: it is fast and forgiving. Two classes of broken page
still make it drop the article text, and ``html.parser`` keeps it:

* content after a stray ``</html>`` (a template that closes the document early, or an include
  appended after it): libxml2 discards what follows;
* an ``<!--`` that is never closed (a broken template comment): libxml2 reads the rest of the page
  as one comment.

:func:`repaired_html` drops a comment opener that never closes (a comment that never ends is
none), re-reads the page with BeautifulSoup, moves what stands outside ``<body>`` into it, and
returns markup lxml reads whole, or None when the repair finds no text the
lxml tree lacked. Extraction calls it only for a page at an article URL that no layer could read
(archiver/extract.py), so the cost (html.parser is several times slower than lxml) is paid on
broken pages alone, and never for a page over ``MAX_REPAIR_CHARS``.

Python's ``html.parser`` is quadratic on some malformed input (CVE-2025-6069: every unterminated
``<!--``, ``</`` or ``<!`` makes it scan to the end of the page). Those constructs are defused
first, in linear time (:func:`_defuse`): a ``<`` after the page's last ``>`` is text, and a comment
opener after the last ``-->`` opens nothing. Input the parser still rejects is not repaired.
"""
from __future__ import annotations

from bs4 import BeautifulSoup

MAX_REPAIR_CHARS = 500_000
MIN_GAIN_CHARS = 20          # visible characters the repair must add to count as one


def repaired_html(text: str, lxml_text_chars: int) -> str | None:
    """``text`` re-read tolerantly, or None (nothing gained, or the page is over the bound)."""
    if not text or len(text) > MAX_REPAIR_CHARS:
        return None
    try:
        soup = BeautifulSoup(_defuse(text), "html.parser")
    except Exception:              # ParserRejectedMarkup, or an assertion of html.parser itself
        return None
    if len(soup.get_text()) < lxml_text_chars + MIN_GAIN_CHARS:
        return None
    body = soup.find("body")
    if body is not None:
        strays = list(body.next_siblings)
        if body.parent is not None and body.parent.name == "html":
            strays += list(body.parent.next_siblings)
        for node in strays:
            body.append(node.extract())
    return str(soup)


def _defuse(text: str) -> str:
    """``text`` without the constructs that can never close (linear): what follows the last
    ``-->`` holds no comment opener, and what follows the last ``>`` no ``<``."""
    close = text.rfind("-->")
    cut = close + 3 if close >= 0 else 0
    text = text[:cut] + text[cut:].replace("<!--", "")
    last = text.rfind(">")
    return text[:last + 1] + text[last + 1:].replace("<", "&lt;")
