"""The layered extractor: per field, the first layer that gives a plausible value wins.

1. **CMS-family page object** (``ChinalcoArticlePage`` and any subclass), anchored on the info
   line. Only its anchored results count here (methods ``<family>:…``); its own fallbacks to
   metas and the URL are replaced by layers 2–4, so every fallback is visible in the method.
2. **Page metadata** (``PageMetadata``): TRS ``ArticleTitle``/``PubDate``/``ContentSource``,
   JSON-LD, Open Graph, publication-time script variables.
3. **Generic fallback** (``GenericArticlePage``): text and punctuation density over the DOM.
4. **The URL date** (``tYYYYMMDD_ID.html`` and ``/YYYY/MM/DD/``-style paths), last.

Every field comes back as a ``Field`` with the method that produced it and the raw string it was
read from; ``extraction`` collects them for the archive. The order differs per field only where
a layer is known to be wrong for that field (a ``meta author`` that names the outlet is a 来源,
not a 作者; a headline is checked against ``<title>``), and each such rule is written below.

Pure: no network, clock or randomness; the same page gives the same fields.
"""
from __future__ import annotations

import re
from collections import Counter
from functools import cached_property

from archiver.normalize.credits import credited_authors
from archiver.normalize.dates import ParsedDate, find_date, url_date
from archiver.normalize.text import cjk_ratio

from .base import Field, PageInput
from .chinalco import ChinalcoArticlePage
from .generic import GenericArticlePage, plausible_name, strip_title_suffix
from .metadata import PageMetadata
from .similarity import containment, match_key

# /2019/09/07/, /2019-09-07/, /20190907/ in a path (after the TRS tYYYYMMDD form).
URL_PATH_DATE = re.compile(r"/((?:19|20)\d{2})[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:/|_|\.|-|$)")
MIN_BODY_CHARS = 20
# "赵 培：北京物资学院，北京": the person is before the colon or comma.
_AFFILIATION = re.compile(r"\s*[：:，,（(]")
# "陈智 整合", "姚峰 上海报道", "赵婕 出自": a role or place word after the name.
_ROLE_SUFFIX = re.compile(r"\s+\S{0,4}(报道|整合|编译|出自|撰文|发自\S*|摄影?|供稿|综合)$|\s+(文|图)$")
# Values that name an outlet, a site or an account, not a person (大汉网络, CSDN.NET, www.…, name@mail).
_OUTLET = re.compile(r"\w\.(com|cn|net|org)\b|@|www|网$|网络$|新闻$|报$|日报|晚报|集团|公司|频道|传媒|杂志|中心$|"
                     r"^\w*_\d+$", re.I)
_NOT_OUTLET = re.compile(r"@|www|^\w*_\d+$")    # an e-mail, a URL or a user id is not an outlet either
AGREEMENT = 0.8            # token share two layers' bodies must have in common to agree
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff\uf900-\ufaff]+")
TITLE_AGREEMENT = 0.6      # share of a headline that must occur in <title>/og:title to trust it


def url_path_date(url: str) -> str | None:
    d = url_date(url)
    if d:
        return d
    m = URL_PATH_DATE.search(url.split("?", 1)[0])
    if not m:
        return None
    found = find_date("-".join(m.groups()))
    return found.day if found else None


class LayeredArticlePage:
    """Same interface as the CMS-family page objects; fields resolved layer by layer."""

    def __init__(self, page: PageInput, primary_cls: type = ChinalcoArticlePage):
        self.page = page
        self.url = page.url
        self.root = page.root
        self.primary = primary_cls(page)
        self.meta = PageMetadata(self.root)
        site = page.site
        names = [site.name, site.name_en] if site else []
        names.append(self.meta.site_name)        # og:site_name / SiteName of a page off the registry
        self.site_names = tuple(n for n in names if n)
        self.generic = GenericArticlePage(self.root, self.url,
                                          references=tuple(f.value for f in self.meta.title_fields))

    # ------------------------------------------------------------------ helpers
    @property
    def _anchor_prefix(self) -> str:
        return f"{self.primary.family}:"

    def _anchored(self, f: Field | None) -> Field | None:
        """A primary-layer field only if it came from the page object's own anchors."""
        return f if f is not None and f.method.startswith(self._anchor_prefix) else None

    @cached_property
    def _title_refs(self) -> list[str]:
        refs = [self.generic.title_tag] + [f.value for f in self.meta.title_fields]
        return [match_key(r) for r in refs if r]

    def _agrees_with_refs(self, title: str) -> float:
        return containment(match_key(title), self._title_refs)

    @cached_property
    def _primary_date_contradicted(self) -> bool:
        """Off its own template, the page object's info line may be a sidebar's or a comment's:
        a dated info line right under the headline (weight >= 2) that names another day wins."""
        if self.on_own_template:
            return False
        primary = self._anchored(self.primary.published_field)
        zone = self.generic._info[0]
        return (primary is not None and zone is not None and self.generic.zone_date_weight >= 2
                and zone.value.day != primary.value.day)

    # ------------------------------------------------------------------ title
    @cached_property
    def title_field(self) -> Field | None:
        primary = self._anchored(self.primary.title_field)
        generic = self.generic.title_field
        generic_block = generic is not None and generic.method == "generic:headline"
        if primary is not None and 2 <= len(primary.value) <= 200:
            # The anchored headline stands unless <title> disagrees and the generic layer found
            # a heading that <title> does contain (the info line of a sidebar, not the article).
            if (not self._title_refs or self._agrees_with_refs(primary.value) >= TITLE_AGREEMENT
                    or not (generic_block and self._agrees_with_refs(generic.value) >= 0.8)):
                return primary
        for f in self.meta.title_fields:
            # A declared title counts when the page shows it as it is (no "_Site" suffix).
            if f.method == "meta:articletitle" or (generic_block and match_key(f.value) == match_key(generic.value)):
                return f
        if generic is not None:
            if generic.method == "title-tag":
                return Field(strip_title_suffix(generic.raw, self.site_names), "title-tag", generic.raw)
            return generic
        return None

    # ------------------------------------------------------------------ date
    @cached_property
    def published_field(self) -> Field | None:
        primary = self._anchored(self.primary.published_field)
        if primary is not None and not self._primary_date_contradicted:
            return primary
        if self.meta.published_field is not None:
            return self.meta.published_field
        if self.generic.published_field is not None:
            return self.generic.published_field
        d = url_path_date(self.url)
        if d:
            return Field(ParsedDate(d, "day", d), "url", self.url)
        return None

    # ------------------------------------------------------------------ source / author
    def _named(self, f: Field | None) -> Field | None:
        return f if f is not None and plausible_name(f.value) else None

    def _person(self, f: Field | None) -> Field | None:
        """An author value cut to the person: "陈智 整合" -> 陈智, "姚峰 上海报道" -> 姚峰,
        "赵培：北京物资学院" -> 赵培; None when it names an outlet or a site (网易, CSDN.NET)."""
        f = self._named(f)
        if f is None:
            return None
        value = _AFFILIATION.split(f.value, maxsplit=1)[0]
        value = _ROLE_SUFFIX.sub("", value).strip()
        if not value or _OUTLET.search(value):
            return None
        return Field(value, f.method, f.raw) if value != f.value else f

    @cached_property
    def source_field(self) -> Field | None:
        primary = self._named(self._anchored(self.primary.source_field))
        zone = self.generic.source_field
        if (primary is not None and zone is not None and not self.on_own_template
                and zone.method == "generic:info-zone" and zone.value != primary.value):
            return zone      # a labelled 来源 under the headline beats one elsewhere on a foreign template
        found = primary or self._named(self.meta.source_field) or zone
        if found is None:
            # a meta author that names an outlet (网易, 大汉网络) is the page's 来源, not its 作者
            meta = self._named(self.meta.author_field)
            if meta is not None and _OUTLET.search(meta.value) and not _NOT_OUTLET.search(meta.value):
                found = Field(meta.value, meta.method + "(outlet)", meta.raw)
        return found

    @cached_property
    def author_field(self) -> Field | None:
        """The 作者 the page shows: the info line's, a labelled 作者/记者 near the headline, a meta
        author (unless it names the outlet: then it is the 来源), an element classed "author"."""
        primary = self._person(self._anchored(self.primary.author_field))
        if primary is not None:
            return primary
        generic = self._person(self.generic.author_field)
        if generic is not None and generic.method == "generic:info-zone":
            return generic
        meta = self._person(self.meta.author_field)
        source = self.source_field.value if self.source_field else None
        if meta is not None and meta.value != source and meta.value not in self.site_names:
            return meta
        return generic

    @cached_property
    def credits_field(self) -> Field | None:
        """Reporters credited in the text: 本网讯（记者 张三）… in the lead, （记者 张三） or 文/张三 at an end.

        Kept apart from ``author`` (the 作者 of the info line): a page can show both, and a credit
        is read from the body, not from a labelled field.
        """
        paras = self.paragraphs
        if not paras:
            return None
        found = credited_authors(paras[0], paras[-1] if len(paras) > 1 else None,
                                 leads=paras[1:3], tails=paras[-3:-1] if len(paras) > 3 else ())
        if not found:
            return None
        names, raw = found
        return Field(names, "credit:body", raw)

    # ------------------------------------------------------------------ body
    @cached_property
    def on_own_template(self) -> bool:
        """True when the site registry assigns this page's site to the primary page object's family."""
        site = self.page.site
        return site is not None and site.family == self.primary.family

    @cached_property
    def body_agreement(self) -> tuple[float, float] | None:
        """(share of the primary body found in the generic body, share of the generic body found in
        the primary body), by tokens; None unless both layers produced a body."""
        primary = self._anchored(self.primary.body_field)
        generic = self.generic.body_field
        if primary is None or generic is None:
            return None
        p, g = Counter(_TOKEN.findall(primary.value.lower())), Counter(_TOKEN.findall(generic.value.lower()))
        # The info line and the headline are never body: the density layer may have swept them in.
        g -= Counter(_TOKEN.findall(f"{self.primary.info_line.raw} {self.primary.title_field.value if self.primary.title_field else ''}".lower()))
        common = sum((p & g).values())
        return common / max(1, sum(p.values())), common / max(1, sum(g.values()))

    @cached_property
    def _use_primary_body(self) -> bool:
        """The page object's body, unless the density layer finds an article it does not hold.

        On a site of the page object's own family the page object wins whenever its body holds
        most of what the density layer found (it may hold more: tables, short captions). On any
        other site both layers must agree, else the density layer's body is taken.
        """
        body = self._anchored(self.primary.body_field)
        if body is None or len(body.value) < MIN_BODY_CHARS:
            return False
        agreement = self.body_agreement
        if agreement is None:
            return True
        primary_in_generic, generic_in_primary = agreement
        if self.on_own_template:
            generic = self.generic.body_field
            if generic is not None and len(generic.value) * 2 < len(body.value):
                return True     # the density layer found less than the page object holds: no other article
            return generic_in_primary >= AGREEMENT
        return generic_in_primary >= AGREEMENT and primary_in_generic >= AGREEMENT

    @cached_property
    def body_field(self) -> Field | None:
        if self._use_primary_body:
            return self.primary.body_field
        return self.generic.body_field

    @property
    def paragraphs(self) -> list[str]:
        return self.primary.paragraphs if self._use_primary_body else self.generic.paragraphs

    @property
    def images(self) -> list[dict]:
        return self.primary.images if self._use_primary_body else self.generic.images

    @property
    def editor(self) -> str | None:
        return self.primary.editor if self._use_primary_body else self.generic.editor

    @property
    def body_html(self) -> str:
        return self.primary.body_html if self._use_primary_body else self.generic.body_html

    @property
    def attachments(self) -> list[dict]:
        return self.primary.attachments

    @property
    def breadcrumb_field(self) -> Field | None:
        return self.primary.breadcrumb_field

    @property
    def family(self) -> str:
        return self.primary.family if self._use_primary_body else self.generic.family

    @cached_property
    def language(self) -> str:
        text = (self.body_field.value if self.body_field else "") or (self.title_field.value if self.title_field else "")
        return "zh" if cjk_ratio(text[:2000]) >= 0.05 else "en"

    # ------------------------------------------------------------------ verdict
    @cached_property
    def layer_flags(self) -> list[str]:
        """Quality flags only the extractor can know: on a site of the page object's own family,
        a field that a fallback layer had to supply (the anchors no longer match the template)."""
        if not self.on_own_template:
            return []
        flags = []
        title = self.title_field
        if title is not None and not title.method.startswith(self._anchor_prefix):
            flags.append("title_from_fallback")
        date = self.published_field
        if date is not None and not date.method.startswith(self._anchor_prefix) and date.method != "url":
            flags.append("date_from_fallback")
        if self.body_field is not None and not self._use_primary_body:
            flags.append("body_from_fallback")
        agreement = self.body_agreement
        if agreement is not None and agreement[1] < AGREEMENT:
            flags.append("body_layers_disagree")
        return flags

    @property
    def labels(self) -> tuple[str, ...]:
        """Names a headline must not be: the site's names, the channel's label, the breadcrumb's labels
        above the page."""
        out = list(self.site_names)
        site, channel = self.page.site, self.page.url_info.channel
        if site and channel is not None:
            ch = site.channel_for_path(channel)
            if ch:
                out.append(ch.label)
        if self.breadcrumb_field:
            out.extend(self.breadcrumb_field.value[:-1])     # the last crumb may be the page's own title
        return tuple(out)

    def looks_like_article(self) -> tuple[bool, str]:
        ok, why = self.primary.looks_like_article()
        if ok:
            return True, ""
        if self.page.url_info.kind == "list":
            return False, why
        body = self.generic.body_field
        if body is None or len(body.value) < 200 or self.title_field is None:
            return False, why
        return True, ""

    @cached_property
    def fields(self) -> dict[str, Field | None]:
        return {
            "title": self.title_field,
            "source": self.source_field,
            "author": self.author_field,
            "published_at": self.published_field,
            "body": self.body_field,
            "breadcrumb": self.breadcrumb_field,
            "credits": self.credits_field,
        }

