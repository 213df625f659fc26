"""Which sighting of an article is its primary one (the URL, site and title the article row shows).

The rule, applied to every sighting of the article, smallest key first:

1. the earliest displayed date (``published_at``, compared as a calendar day): the page that
   showed the story first is where it originated; re-posts into 图片轮播 or onto the group site
   show the same day or a later one;
2. on the same day, the site's registry ``role``: ``member`` before ``listed`` before ``group``
   before hosts outside the registry, because stories flow up the network (a member company
   reports, chalco and the group re-post);
3. the lowest document ID: IDs come from one CMS-wide sequence (site-network.md §2.2), so the
   lower ID was created first;
4. a URL on the canonical host before an alias URL of the same page, then the URLs themselves.

Every input is a property of a sighting, never of the crawl, so crawling the pages in any order
gives the same primary.
"""
from __future__ import annotations

from typing import Any, Mapping

ROLE_RANK = {"member": 0, "listed": 1, "group": 2}
_LAST = "9999-99-99"


def primary_key(s: Mapping[str, Any]) -> tuple:
    day = (s.get("published_at") or "")[:10] or _LAST
    doc_id = s.get("doc_id")
    url, canonical = s.get("url") or "", s.get("canonical_url") or ""
    return (day, ROLE_RANK.get(s.get("site_role") or "", len(ROLE_RANK)),
            doc_id if doc_id is not None else float("inf"), url != canonical, canonical, url)


def choose_primary(sightings: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    return min(sightings, key=primary_key)
