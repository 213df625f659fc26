"""The article info line: 来源 / 时间 / 作者 and their relatives.

On the network the fields sit in separate inline elements, so their text runs together
(``来源: 走进兰铝时间: 2026-02-07``); colons may be ASCII or full-width, and separators may be
``&nbsp;``, U+3000 or nothing (site-network.md §3.2). We therefore split on the labels themselves.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .text import clean_line

# Longest labels first so that 发布时间 wins over 时间 and 责任编辑 over 编辑.
LABELS: dict[str, str] = {
    "文章来源": "source", "信息来源": "source", "稿件来源": "source", "新闻来源": "source",
    "来源单位": "source", "来源于": "source", "来源": "source", "稿源": "source", "出处": "source",
    "发布时间": "published", "发布日期": "published", "发表时间": "published", "发表日期": "published",
    "更新时间": "updated", "成文日期": "published", "日期": "published", "时间": "published",
    "作者": "author", "作 者": "author", "撰稿": "author", "撰文": "author", "文": "author", "记者": "author",
    "责任编辑": "editor", "责编": "editor", "编辑": "editor", "审核": "reviewer", "审核人": "reviewer",
    "摄影": "photographer", "摄 影": "photographer", "图片": "photographer",
    "浏览次数": "views", "点击数": "views", "阅读次数": "views", "浏览量": "views", "访问量": "views",
    "字号": "ignore", "分享到": "ignore",
    "Source": "source", "From": "source", "Author": "author", "By": "author",
    "Date": "published", "Time": "published", "Published": "published", "Release Time": "published",
    "Release Date": "published", "Updated": "updated", "Editor": "editor", "Views": "views",
}
_labels_sorted = sorted(LABELS, key=len, reverse=True)
_label_alt = "|".join(re.escape(lab).replace(r"\ ", r"\s*") for lab in _labels_sorted)
# A label followed by a colon (ASCII or full-width), optionally wrapped in 【】 or [].
LABEL_RE = re.compile(
    rf"[【\[]?(?P<label>{_label_alt})\s*[】\]]?\s*[:：](?!//)", re.IGNORECASE
)
# Values never continue past these (trailing widgets on the same line).
_VALUE_STOP = re.compile(r"(【|\[|（打印|【打印|【关闭|打印本页|关闭窗口|字体[:：]|字号[:：]|分享到|\|)")


@dataclass
class InfoLine:
    raw: str
    fields: dict[str, str] = field(default_factory=dict)   # kind -> value (first occurrence)

    @property
    def source(self) -> str | None:
        return self.fields.get("source")

    @property
    def published(self) -> str | None:
        return self.fields.get("published")

    @property
    def author(self) -> str | None:
        return self.fields.get("author")

    def __bool__(self) -> bool:
        return bool(self.fields)


def _canon_label(label: str) -> str:
    squashed = re.sub(r"\s+", " ", label)
    for lab, kind in LABELS.items():
        if lab.lower() == squashed.lower() or lab.replace(" ", "") == squashed.replace(" ", ""):
            return kind
    return "ignore"


def clean_value(value: str) -> str:
    value = clean_line(value)
    value = _VALUE_STOP.split(value, maxsplit=1)[0]
    return clean_line(value).strip(" ,，;；|/")


def parse_info_line(text: str | None) -> InfoLine:
    """Split an info line into its labelled fields.

    >>> parse_info_line("来源: 走进兰铝时间: 2026-02-07").fields
    {'source': '走进兰铝', 'published': '2026-02-07'}
    >>> parse_info_line("来源：中国铝业报\xa0\xa0时间：2025-10-22\xa0\xa0作者：黎佩佩").author
    '黎佩佩'
    """
    text = text or ""
    info = InfoLine(raw=clean_line(text))
    matches = list(LABEL_RE.finditer(text))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        kind = _canon_label(m["label"])
        value = clean_value(text[m.end():end])
        if kind == "ignore" or not value:
            continue
        info.fields.setdefault(kind, value)
    return info


def has_info_labels(text: str) -> bool:
    """True when ``text`` holds at least one date label or source label with a colon."""
    return any(_canon_label(m["label"]) in ("source", "published") for m in LABEL_RE.finditer(text or ""))
