"""The text that deduplication compares: one article body normalised so that copies of a story
on different pages hash the same, and the shingles near-duplicate detection works on.

Normalisation rule (``dedup_text``), applied in this order:

1. Unicode NFKC: full-width letters, digits and punctuation become half-width (``，`` → ``,``,
   ``（`` → ``(``, ``２０２６`` → ``2026``), compatibility ideographs become the unified ones;
   then case folding (English pages) and one form for curly quotes, dashes and the ideographic
   comma/full stop variants that NFKC leaves alone (``“”「」`` → ``"``, ``——``/``─`` → ``-``).
2. Reporter credits are removed, because re-posts add, drop or reword them:
   * a lead credit ``本网讯（记者 张三）`` / ``本报讯(通讯员 李四 王五)`` / a bare ``本网讯`` at the
     start of the body;
   * a credit paragraph such as ``记者：张三`` / ``通讯员 李四 王五`` / ``文/图 张三`` / ``责任编辑：赵六``
     (a short line of names after a credit word);
   * a trailing credit in brackets at the end of the body, ``（张三 李四）`` / ``(通讯员 王五)``,
     when it holds only names (no digits, no sentence punctuation).
3. Info-line residues are removed: a short paragraph that is only ``来源：… 时间：… 作者：…`` labels.
4. Every whitespace character is removed (paragraph breaks, indentation, ``&nbsp;``, U+3000).

The exact-duplicate key (``body_key``) is the SHA-256 of that text. A body shorter than
``SHORT_BODY`` characters after normalisation (``公告全文详见附件。``) says too little to identify
a story, so for those the normalised title is part of the key.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

SHORT_BODY = 60

_QUOTES = str.maketrans({
    "\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u300c": '"', "\u300d": '"', "\u300e": '"',
    "\u300f": '"', "\u2014": "-", "\u2013": "-", "\u2015": "-", "\u2500": "-", "\u2012": "-", "\uff64": "\u3001",
    "\uff61": "\u3002",
})
_WS = re.compile(r"[\s\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000\ufeff]+")
_NAME_CHARS = r"[\u4e00-\u9fff·\s、/]"
_CREDIT_WORD = r"(?:见习记者|特约记者|记者|通讯员|特约通讯员|摄影|摄|撰稿|供稿|文/图|文图|图/文|文|图|编辑|责任编辑|审核|校对|作者)"
# 本网讯（记者 张三 通讯员 李四） at the start of the body (brackets already half-width after NFKC)
_LEAD_CREDIT = re.compile(
    r"^(?:本网讯|本报讯|本刊讯|本站讯|讯)?\s*\((?=[^()]{0,60}?" + _CREDIT_WORD + r")[^()]{1,60}\)\s*")
_LEAD_XUN = re.compile(r"^(?:本网讯|本报讯|本刊讯|本站讯)\s*[:,]?\s*")
# a whole paragraph that is a credit line: 记者：张三  通讯员 李四 王五  文/图 张三
_CREDIT_LINE = re.compile(r"^\(?(?:" + _CREDIT_WORD + r"\s*[:/|]?\s*" + _NAME_CHARS + r"{1,24}\s*)+\)?$")
# （张三 李四） / (通讯员 王五) at the very end of the body
_TRAIL_CREDIT = re.compile(r"\((?:" + _CREDIT_WORD + r"\s*[:/]?\s*)?[\u4e00-\u9fff·\s、]{2,30}\)\s*$")
# 来源：走进兰铝 时间：2026-02-07 作者：…  as a paragraph of its own
_INFO_LINE = re.compile(r"^(?:(?:来源|时间|发布时间|发布日期|作者|编辑|责任编辑|点击|浏览次数)\s*:\s*\S*\s*){1,6}$")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()


def _strip_credits(paragraphs: list[str]) -> list[str]:
    out = [p for p in paragraphs if p and not _CREDIT_LINE.match(p) and not _INFO_LINE.match(p)]
    if out:
        first = _LEAD_CREDIT.sub("", out[0], count=1)
        out[0] = _LEAD_XUN.sub("", first, count=1)
        out[-1] = _TRAIL_CREDIT.sub("", out[-1], count=1)
    return [p for p in out if p]


def dedup_paragraphs(body: str | None) -> list[str]:
    """The body's paragraphs, folded, credits and info-line residues removed, inner spaces kept as one."""
    if not body:
        return []
    return _strip_credits([_WS.sub(" ", p).strip() for p in _fold(body).split("\n")])


def dedup_text(body: str | None) -> str:
    """The body as deduplication sees it: folded, credits and info-line residues removed, no spaces."""
    return _WS.sub("", "".join(dedup_paragraphs(body)))


def title_text(title: str | None) -> str:
    return _WS.sub("", _fold(title or ""))


def body_key(body: str | None, title: str | None = None) -> str | None:
    """SHA-256 (hex) of the normalised body: equal keys are one article. None for an empty body."""
    text = dedup_text(body)
    if not text:
        return None
    if len(text) < SHORT_BODY:
        text = title_text(title) + "\x1f" + text
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def numbers(text: str) -> list[str]:
    """The numbers of a text in order (dates, prices, counts): look-alike stories differ here.

    Read it from paragraphs that keep their spaces (table cells ``23380 0`` are two numbers)."""
    return _DIGITS.findall(text)


_DATE = re.compile(r"(?:(\d{4})[年./-])?(\d{1,2})[月./-](\d{1,2})[日号]?")


def dates(text: str) -> frozenset[str]:
    """The calendar days a normalised text names (``2月3日``, ``2026年2月3日``, ``2026-02-03``) as ``M-D``."""
    out = set()
    for m in _DATE.finditer(text):
        month, day = int(m.group(2)), int(m.group(3))
        if 1 <= month <= 12 and 1 <= day <= 31 and (m.group(1) or "日" in m.group(0) or "号" in m.group(0)):
            out.add(f"{month}-{day}")
    return frozenset(out)


def shingles(text: str, k: int) -> set[str]:
    """Character k-grams of a normalised text (the whole text when shorter than k)."""
    if len(text) <= k:
        return {text} if text else set()
    return {text[i:i + k] for i in range(len(text) - k + 1)}
