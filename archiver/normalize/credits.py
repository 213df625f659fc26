"""Reporter credits written into the text instead of an info line.

Chinese news writes the byline into the lead or the last line of the body:

* ``本网讯（记者 张三 李四）…``, ``新华社北京9月7日电（记者王五）…``, ``（见习记者 某某）``
* ``（记者 张三 通讯员 李四）`` – the reporter is the author, the correspondent is not
* ``文/张三``, ``文｜张三``, ``撰文：张三``, ``文 张三 图 李四``
* a closing ``（张三）`` or ``（记者 张三）`` or ``(信报记者 蔡雪婧)`` as the last line or sentence

Only the person names come back; the outlet (``本网讯``, ``新华社``) is not an author.
"""
from __future__ import annotations

import re

_NAME = r"(?!通讯员|实习生|摄影|记者|报道)[\u4e00-\u9fff·•]{2,4}"
_NAMES = rf"{_NAME}(?:[\s、,，和及与]+{_NAME})*"
_ROLE = r"(?:首席|特约|见习|实习|全媒体|融媒体|本报|本网|本台)?记者"

# （记者 张三 李四 通讯员 王五）/（见习记者 张三）/（记者张三）
BRACKET_CREDIT = re.compile(
    rf"[（(]\s*(?:[\u4e00-\u9fff]{{0,8}}?)?{_ROLE}\s*[:：]?\s*(?P<names>{_NAMES})"
    rf"(?:\s+(?:通讯员|实习生|摄影|摄)\s*[:：]?\s*{_NAMES})*\s*(?:报道|摄影|摄)?\s*[）)]")
# 记者 张三 报道 / 本报记者罗科苏盈发自北京 / 频道 记者 伊琳 李清芬 near the start of the lead (no brackets)
LEAD_CREDIT = re.compile(rf"(?:^|[\s，,。讯电])\s*{_ROLE}\s*[:：]?\s*(?P<names>{_NAMES})\s*"
                         rf"(?=报道|发自|摄影|$|[\s，,。：:）)])")
# 文/张三  文｜张三  撰文：张三  作者：张三
SLASH_CREDIT = re.compile(rf"^\s*[（(]?\s*(?:文|撰文|文字|作者|撰稿)\s*[/／|｜:：]\s*(?P<names>{_NAMES})(?=[\s）)，,图摄|｜]|$)")
# a closing bare （张三） / （张三 李四）
CLOSING_NAMES = re.compile(rf"[（(]\s*(?P<names>{_NAME}(?:\s+{_NAME}){{0,2}})\s*[）)]\s*$")
_SPLIT = re.compile(r"[\s、,，和及与]+")
# Words that look like names in a bracket but are not persons.
NOT_NAMES = frozenset({"完", "原标题", "编辑", "责任编辑", "图片", "来源", "本报讯", "本网讯", "资料图", "图文",
                       "供图", "摄影", "视频", "通讯员", "记者", "中国", "新华社", "新华网", "人民网", "央视网"})


def _split(names: str) -> list[str]:
    return [n for n in _SPLIT.split(names) if n and n not in NOT_NAMES]


def credited_authors(first: str | None, last: str | None = None, *,
                     leads: list[str] | tuple = (), tails: list[str] | tuple = ()) -> tuple[list[str], str] | None:
    """Names credited in the lead paragraphs or the last lines, with the raw credit.

    ``first``/``last`` are the first and last paragraph; ``leads``/``tails`` more of them (the
    credit may follow a subtitle or precede an editor line).

    >>> credited_authors("本网讯（见习记者 王小明）9月7日，……")
    (['王小明'], '（见习记者 王小明）')
    >>> credited_authors("文/张三 图/李四")
    (['张三'], '文/张三')
    >>> credited_authors("本报记者罗科苏盈发自北京 23日下午，……")
    (['罗科苏盈'], '本报记者罗科苏盈')
    """
    heads = [p for p in (first, *leads) if p]
    ends = [p for p in (last, *tails) if p]
    for para in heads:
        head = para[:80]
        for rx in (BRACKET_CREDIT, SLASH_CREDIT, LEAD_CREDIT):
            m = rx.match(head) if rx is SLASH_CREDIT else rx.search(head)
            if m and (rx is not LEAD_CREDIT or m.start() < 40):
                names = _split(m["names"])
                if names:
                    return names, m.group(0).strip(" ，,。")
    for para in ends:
        tail = para[-60:]
        m = BRACKET_CREDIT.search(tail) or SLASH_CREDIT.match(para[:40])
        if m:
            names = _split(m["names"])
            if names:
                return names, m.group(0).strip()
        m = CLOSING_NAMES.search(tail)
        if m and len(para) > len(m.group(0)) + 10:       # a sentence ending with a bare (Name)
            names = _split(m["names"])
            if names:
                return names, m.group(0).strip()
    return None
