"""Pages that are not what they claim: anti-bot challenges, soft 404s, empty bodies.

site-network.md §4: a challenge can come with HTTP 200 (a JS page that sets a cookie and
reloads), 412 (Ruishu-style) or 521 (Jiasule, ``X-Via-JSL``). Detect by content, not status.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .dom import visible_text

CHALLENGE_MARKERS = re.compile(
    r"document\.cookie\s*=|location\.reload\s*\(|__jsl_clearance|__jsluid|acw_sc__v2|acw_tc|"
    r"_0x[0-9a-f]{4,}|请开启\s*JavaScript|enable\s+JavaScript|安全验证|人机验证|访问验证|"
    r"\$_ts\s*=|window\.location\.href\s*=\s*window\.location",
    re.I,
)
NOT_FOUND_MARKERS = re.compile(
    r"(?<![\d.])404(?![\d.])|not\s+found|页面不存在|页面未找到|找不到(?:该|您)?(?:页面|网页)|您访问的页面|已被删除|已删除|页面已失效|无法找到", re.I
)
CHALLENGE_STATUSES = {412, 521, 403, 429, 503}


@dataclass(frozen=True)
class Verdict:
    kind: str          # ok | empty | challenge | soft404 | error | not_html
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


def check_bytes(status: int, headers: dict, body: bytes) -> Verdict:
    """Decide what we can before parsing: HTTP errors, empty bodies, non-HTML files."""
    ctype = (headers.get("content-type") or "").lower()
    if not body or not body.strip() or not body.lstrip(b"\xef\xbb\xbf\xff\xfe").strip():
        return Verdict("empty", f"HTTP {status} with an empty body")
    if status >= 400:
        if status in CHALLENGE_STATUSES and CHALLENGE_MARKERS.search(body[:20000].decode("latin-1")):
            return Verdict("challenge", f"HTTP {status} anti-bot challenge page")
        return Verdict("error", f"HTTP {status}")
    if ctype and "html" not in ctype and "xml" not in ctype and "text/plain" not in ctype:
        return Verdict("not_html", f"Content-Type {ctype.split(';')[0]}")
    return Verdict("ok")


def check_tree(root, raw_text: str) -> Verdict:
    """Challenge pages and soft 404s that answer HTTP 200."""
    body = root.find("body")
    text = visible_text(body if body is not None else root).strip()
    n_links = sum(1 for a in root.iter("a") if a.get("href"))
    scripts = " ".join((s.text or "") for s in root.iter("script"))
    if len(text) < 400 and n_links <= 2 and CHALLENGE_MARKERS.search(scripts + raw_text[:4000]):
        return Verdict("challenge", "JavaScript challenge page (sets a cookie and reloads)")
    title = root.find(".//title")
    title_text = title.text_content() if title is not None else ""
    if len(text) < 600 and NOT_FOUND_MARKERS.search(title_text + " " + text[:300]):
        return Verdict("soft404", "page says it does not exist")
    if not text and n_links == 0:
        return Verdict("empty", "no visible text")
    return Verdict("ok")


def page_verdict(page) -> Verdict:
    """The verdict on a fetched page (a :class:`archiver.pages.base.PageInput`): its bytes, then
    its tree; an unparseable page is ``malformed``."""
    verdict = page.byte_verdict
    if not verdict.ok:
        return verdict
    try:
        return check_tree(page.root, page.text)
    except ValueError as e:
        return Verdict("malformed", str(e))
