"""Hostile variants of the fixture pages, seeded (issue #11: nothing fails slowly or crashes).

Each mutation takes a fixture page's bytes and a ``random.Random`` and returns new bytes: byte
flips, truncation, tag soup, nesting thousands deep, huge attributes, long runs of every kind of
whitespace and of info-line labels, thousands of elements, invalid hrefs, empty documents. Used by
``tests/test_fuzz_extraction.py`` (a few hundred cases in CI) and ``bench/fuzz.py`` (the long run,
slowest cases printed). Development tooling: the installed package does not import it.
"""
from __future__ import annotations

import random
from typing import Callable

WHITESPACE = {"space": " ", "tab": "\t", "newline": "\n", "crlf": "\r\n", "u3000": "\u3000", "nbsp_entity": "&nbsp;",
              "nbsp_char": "\xa0", "zwsp": "\u200b", "ensp": "&ensp;", "bom": "\ufeff"}
LABELS = ["来源：", "时间：", "作者：", "发布时间：", "编辑：", "Source: ", "【打印】", "首页 > ", "2026-02-07 ", "附件："]


def _insert(body: bytes, rng: random.Random, chunk: bytes, where: str = "body") -> bytes:
    text = body
    anchor = {"body": text.find(b"<p"), "title": text.find(b"</h1>"), "head": text.find(b"</head>")}.get(where, -1)
    if anchor < 0:
        anchor = rng.randrange(0, max(1, len(text)))
    pos = min(len(text), anchor + rng.randrange(0, 80))
    return text[:pos] + chunk + text[pos:]


def byte_flips(body: bytes, rng: random.Random) -> bytes:
    data = bytearray(body)
    for _ in range(max(1, len(data) // 100)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def truncation(body: bytes, rng: random.Random) -> bytes:
    return body[:rng.randrange(0, len(body))]


def tag_soup(body: bytes, rng: random.Random) -> bytes:
    text = body.decode("utf-8", "replace")
    for tag in ("</p>", "</div>", "</td>", "</li>", "</span>", "</table>"):
        if rng.random() < 0.7:
            text = text.replace(tag, "")
    soup = "".join(rng.choice(["<b>", "<i>", "<p>", "<div>", "<td>", "<<", "&amp;&", "</x>", "<a href=\"[", "<!--"])
                   for _ in range(400))
    return _insert(text.encode("utf-8"), rng, soup.encode("utf-8"))


def deep_nesting(body: bytes, rng: random.Random) -> bytes:
    n = rng.choice([1000, 5000])
    tag = rng.choice(["div", "span", "table><tr><td", "font"])
    close = "</td></tr></table>" if tag.startswith("table") else f"</{tag}>"
    return _insert(body, rng, (f"<{tag}>" * n + "深层文字" + close * n).encode("utf-8"))


def huge_attribute(body: bytes, rng: random.Random) -> bytes:
    value = rng.choice(["x", "来源：", " ", "\"", "&amp;"]) * rng.choice([50_000, 200_000])
    return _insert(body, rng, f'<div class="{value}" title="{value[:1000]}">属性</div>'.encode("utf-8"))


def whitespace_run(body: bytes, rng: random.Random) -> bytes:
    kind = rng.choice(list(WHITESPACE))
    unit = WHITESPACE[kind]
    n = max(1, 200_000 // len(unit.encode("utf-8")))
    return _insert(body, rng, (unit * n).encode("utf-8"), where=rng.choice(["body", "title"]))


def label_run(body: bytes, rng: random.Random) -> bytes:
    label = rng.choice(LABELS)
    n = 200_000 // len(label.encode("utf-8"))
    sep = rng.choice(["", " ", "<span>", "</span><span>"])
    return _insert(body, rng, (label + sep).join([""] * n).encode("utf-8") or label.encode("utf-8"),
                   where=rng.choice(["body", "title"]))


def many_elements(body: bytes, rng: random.Random) -> bytes:
    tag = rng.choice(["p", "span", "br", "a", "li", "img"])
    unit = {"br": "<br>", "img": '<img src="x.jpg">', "a": '<a href="./202601/t20260101_1.html">链接</a>'}.get(
        tag, f"<{tag}>文</{tag}>")
    return _insert(body, rng, (unit * (300_000 // len(unit))).encode("utf-8"))


def invalid_links(body: bytes, rng: random.Random) -> bytes:
    hrefs = ['http://[', 'https://[::1', 'http://a:b:c/', '//[x]', 'javascript:', 'http://%zz/', 'https://例子.中国/',
             '\x00', 'http://' + 'a' * 5000, '../' * 2000]
    chunk = "".join(f'<a href="{h}">坏链接</a><img src="{h}"><option value="{h}">x</option>' for h in hrefs)
    return _insert(body, rng, chunk.encode("utf-8"))


def emptyish(body: bytes, rng: random.Random) -> bytes:
    return rng.choice([b"", b"   \n\t  ", b"<!-- nothing -->", b"<html></html>", b"<html><body></body></html>",
                       b"\xef\xbb\xbf", b"<!DOCTYPE html>", b"<?xml version='1.0'?>", b"\x00" * 100])


def long_cjk_line(body: bytes, rng: random.Random) -> bytes:
    return _insert(body, rng, ("中铝集团召开会议" * 40_000).encode("utf-8"))


def date_run(body: bytes, rng: random.Random) -> bytes:
    unit = rng.choice(["2026-02-07 ", "2026年2月7日", "20260207", "2026/02/07 09:30:00 "])
    return _insert(body, rng, (unit * (200_000 // len(unit.encode("utf-8")))).encode("utf-8"))


def early_html_end(body: bytes, rng: random.Random) -> bytes:
    """The document closed before its article (the broken-markup re-reading path)."""
    return _insert(body, rng, b"</div></body></html>")


def parser_traps(body: bytes, rng: random.Random) -> bytes:
    """Constructs that make Python's html.parser quadratic (CVE-2025-6069), on a page whose end
    is cut so the article is lost to lxml too: the re-reading path meets them."""
    unit = rng.choice(["<!--x", "</x", "<!x", "<a x='", "<![x", "<?x", "<"])
    trap = (unit * (rng.choice([100_000, 300_000]) // len(unit))).encode("utf-8")
    return _insert(body, rng, b"</html>" + trap, where="body")


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "byte_flips": byte_flips, "truncation": truncation, "tag_soup": tag_soup, "deep_nesting": deep_nesting,
    "huge_attribute": huge_attribute, "whitespace_run": whitespace_run, "label_run": label_run,
    "many_elements": many_elements, "invalid_links": invalid_links, "emptyish": emptyish,
    "long_cjk_line": long_cjk_line, "date_run": date_run, "early_html_end": early_html_end,
    "parser_traps": parser_traps,
}


def cases(pages: list[tuple[str, bytes, dict]], n: int, seed: int = 11) -> list[tuple[str, str, bytes, dict]]:
    """``n`` mutated pages (mutation name, url, body, headers), the same for the same seed."""
    rng = random.Random(seed)
    names = sorted(MUTATIONS)
    out = []
    for i in range(n):
        name = names[i % len(names)]
        url, body, headers = pages[rng.randrange(len(pages))]
        out.append((name, url, MUTATIONS[name](body, rng), headers))
    return out
