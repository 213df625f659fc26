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
"""
from __future__ import annotations

from bs4 import BeautifulSoup

MAX_REPAIR_CHARS = 2_000_000
MIN_GAIN_CHARS = 20          # visible characters the repair must add to count as one


def repaired_html(text: str, lxml_text_chars: int) -> str | None:
    """``text`` re-read tolerantly, or None (nothing gained, or the page is over the bound)."""
    if not text or len(text) > MAX_REPAIR_CHARS:
        return None
    opener = text.rfind("<!--")
    if opener >= 0 and text.find("-->", opener + 4) < 0:
        text = text[:opener] + text[opener + 4:]
    soup = BeautifulSoup(text, "html.parser")
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
