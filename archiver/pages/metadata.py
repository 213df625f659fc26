"""What a page says about itself outside the rendered text: meta tags, JSON-LD, script variables.

The second layer of the extractor (after the CMS-family page object, before the generic
fallback). Sources, in the order they are tried for each field:

* TRS WCM metas of the sibling government sites (site-network.md §5, G2, G6b):
  ``ArticleTitle``, ``PubDate``, ``ContentSource``, ``Author``; the SASAC set ``publishdate``,
  ``source``, ``author``;
* JSON-LD (``NewsArticle``/``Article``/``BlogPosting``…): ``headline``, ``datePublished``,
  ``author``, ``publisher``;
* Open Graph / article: ``og:title``, ``article:published_time``, ``article:author``;
* other common date metas and ``itemprop`` / ``<time>`` markup;
* publication-time variables in inline scripts (``publish_time = "…"``, a WeChat-style
  ``ct = "<unix seconds>"``).

Every value comes back as a ``Field`` whose method names the exact key (``meta:PubDate``,
``jsonld:datePublished``) and whose raw is the string it was read from. Nothing here guesses:
a value that does not parse is skipped, never repaired.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from functools import cached_property

from archiver.normalize.dates import ParsedDate, find_date
from archiver.normalize.text import clean_line

from .base import Field

CST = timezone(timedelta(hours=8))

# (method suffix, lower-cased meta key) in the order they are trusted.
TITLE_METAS = ("articletitle", "og:title", "twitter:title", "headline", "dc.title")
DATE_METAS = ("pubdate", "publishdate", "publish_date", "article:published_time", "og:release_date",
              "datepublished", "firstpublishedtime", "publication_date", "publishtime", "dc.date.issued",
              "dc.date", "sailthru.date", "parsely-pub-date", "date", "og:published_time", "weibo:article:create_at",
              "pubtime", "apub:time", "created")
SOURCE_METAS = ("contentsource", "source", "mediaid", "og:site_name_source", "article:source")
AUTHOR_METAS = ("author", "article:author", "dc.creator", "byl", "parsely-author", "sailthru.author")
JSONLD_TYPES = re.compile(r"article|posting|report|webpage|newsarticle|blog", re.I)
# Publication-time variables in inline scripts; the value is a date string or unix seconds.
SCRIPT_DATE = re.compile(
    r"""(?:["']?(?:publish_?time|pub_?time|pub_?date|publish_?date|date_?published|first_?publish(?:ed)?_?time|"""
    r"""release_?time|ptime)["']?\s*[:=]\s*["']?(?P<val>[^"',;}\n]{8,40}))""", re.I)
SCRIPT_UNIX = re.compile(r"""\bvar\s+ct\s*=\s*["'](?P<ts>1\d{9})["']""")
_MAX_SCRIPT = 400_000


def _meta_map(root) -> dict[str, str]:
    """Lower-cased meta key -> first non-empty content (name=, property=, itemprop=, http-equiv)."""
    out: dict[str, str] = {}
    for m in root.iter("meta"):
        content = m.get("content")
        if content is None:
            continue
        val = clean_line(content)
        if not val:
            continue
        for attr in ("name", "property", "itemprop"):
            key = m.get(attr)
            if key:
                out.setdefault(key.strip().lower(), val)
    return out


def _unix_date(ts: str) -> ParsedDate | None:
    try:
        dt = datetime.fromtimestamp(int(ts), CST)
    except (ValueError, OverflowError, OSError):
        return None
    return ParsedDate(dt.replace(second=0).isoformat(), "minute", ts)


def _names(value) -> list[str]:
    """Author names from a JSON-LD author value (string, object, or a list of them)."""
    if isinstance(value, str):
        return [clean_line(value)] if clean_line(value) else []
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        out: list[str] = []
        for v in value:
            out.extend(_names(v))
        return out
    return []


class PageMetadata:
    """Fields a page declares in its head and scripts. Cheap: one pass over metas and scripts."""

    def __init__(self, root):
        self.root = root

    @cached_property
    def metas(self) -> dict[str, str]:
        return _meta_map(self.root)

    @cached_property
    def jsonld(self) -> list[dict]:
        """JSON-LD objects describing an article (graphs flattened), in page order."""
        out: list[dict] = []
        for s in self.root.iter("script"):
            if (s.get("type") or "").strip().lower() != "application/ld+json" or not s.text:
                continue
            try:
                data = json.loads(s.text.strip().rstrip(";"))
            except ValueError:
                continue
            stack = data if isinstance(data, list) else [data]
            while stack:
                obj = stack.pop(0)
                if not isinstance(obj, dict):
                    continue
                if isinstance(obj.get("@graph"), list):
                    stack.extend(obj["@graph"])
                t = obj.get("@type")
                types = " ".join(t) if isinstance(t, list) else str(t or "")
                if JSONLD_TYPES.search(types):
                    out.append(obj)
        return out

    def _jsonld_value(self, key: str):
        for obj in self.jsonld:
            v = obj.get(key)
            if v:
                return v
        return None

    @cached_property
    def script_text(self) -> str:
        parts = []
        size = 0
        for s in self.root.iter("script"):
            if s.text and (s.get("type") or "").lower() not in ("application/ld+json", "text/template"):
                parts.append(s.text)
                size += len(s.text)
                if size > _MAX_SCRIPT:
                    break
        return "\n".join(parts)

    # ------------------------------------------------------------------ fields
    @cached_property
    def title_fields(self) -> list[Field]:
        out = []
        for key in TITLE_METAS:
            v = self.metas.get(key)
            if v:
                out.append(Field(v, f"meta:{key}", v))
        v = self._jsonld_value("headline")
        if isinstance(v, str) and clean_line(v):
            out.append(Field(clean_line(v), "jsonld:headline", v))
        return out

    @cached_property
    def published_field(self) -> Field | None:
        for key in DATE_METAS[:4]:           # TRS / SASAC / OG: the page's own declaration
            f = self._date_meta(key)
            if f:
                return f
        v = self._jsonld_value("datePublished")
        if isinstance(v, str):
            d = find_date(v)
            if d:
                return Field(d, "jsonld:datePublished", v)
        for key in DATE_METAS[4:]:
            f = self._date_meta(key)
            if f:
                return f
        for el in self.root.iter("time"):
            v = el.get("datetime")
            if v and (el.get("itemprop") == "datePublished" or el.get("pubdate") is not None):
                d = find_date(v)
                if d:
                    return Field(d, "html:time", v)
        return self.script_date

    def _date_meta(self, key: str) -> Field | None:
        v = self.metas.get(key)
        if not v:
            return None
        d = find_date(v)
        if d is None and v.isdigit() and len(v) in (10, 13):
            d = _unix_date(v[:10])
        return Field(d, f"meta:{key}", v) if d else None

    @cached_property
    def script_date(self) -> Field | None:
        text = self.script_text
        if not text:
            return None
        for m in SCRIPT_DATE.finditer(text):
            val = m["val"].strip()
            d = find_date(val)
            if d is None and val.isdigit() and len(val) in (10, 13):
                d = _unix_date(val[:10])
            if d:
                return Field(d, "script:publish_time", m.group(0)[:80])
        m = SCRIPT_UNIX.search(text)
        if m:
            d = _unix_date(m["ts"])
            if d:
                return Field(d, "script:ct", m.group(0))
        return None

    @cached_property
    def source_field(self) -> Field | None:
        for key in SOURCE_METAS:
            v = self.metas.get(key)
            if v and not v.startswith(("http://", "https://")):
                return Field(v, f"meta:{key}", v)
        return None

    @cached_property
    def author_field(self) -> Field | None:
        for key in AUTHOR_METAS:
            v = self.metas.get(key)
            if v and not v.startswith(("http://", "https://")):
                return Field(v, f"meta:{key}", v)
        v = self._jsonld_value("author")
        names = _names(v) if v else []
        names = [n for n in names if not n.startswith(("http://", "https://"))]
        if names:
            return Field(" ".join(names), "jsonld:author", json.dumps(v, ensure_ascii=False)[:200])
        return None

    @cached_property
    def site_name(self) -> str | None:
        return self.metas.get("og:site_name") or self.metas.get("sitename") or self.metas.get("application-name")
