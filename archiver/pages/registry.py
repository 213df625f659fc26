"""Page-object families by name (the ``family`` key of a site in network.toml)."""
from __future__ import annotations

from .chinalco import ChinalcoArticlePage

ARTICLE_PAGES: dict[str, type] = {
    "chinalco": ChinalcoArticlePage,
    # Unknown templates try the same anchors first; archiver/pages/layered.py then falls back to
    # page metadata, the density extractor (archiver/pages/generic.py) and the URL date.
    "generic": ChinalcoArticlePage,
}


def article_page_class(family: str) -> type:
    try:
        return ARTICLE_PAGES[family]
    except KeyError:
        raise KeyError(f"unknown page family {family!r}; known: {', '.join(sorted(ARTICLE_PAGES))}") from None
