"""``archiver fixtures``: record a saved page as a fixture case, and check every case against the code.

    archiver fixtures record PAGE --url URL [--site-id ID] [--kind article] [--slug SLUG] [--header 'K: V']
    archiver fixtures check [--case PATH]

``record`` copies the page's raw bytes unchanged (a GBK page stays GBK) with its URL, status and
headers, and writes a **draft** ``expected.json`` from what the extractor reads today. The draft
carries a ``_review`` key: a person reads the page, corrects every value, and deletes the key.
``check`` refuses drafts (exit 1), so a case the code wrote for itself can never pass unread.

``check`` re-runs every case (or one) through the same extraction as the crawl and prints, per
case, each field whose value differs from ``expected.json``; it exits 1 on any difference. When
the real site changes its template, the new page is recorded, reviewed, and the diff of the old
cases shows exactly what the change broke. See fixtures/README.md for the format.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = REPO_ROOT / "fixtures"
KINDS = ("article", "list", "home", "robots", "error", "challenge", "file")
REVIEW_KEY = "_review"
REVIEW_NOTE = ("DRAFT written by `archiver fixtures record` from the extractor's own output. Read the page, "
               "correct every value as a reader sees it, then delete this key. `archiver fixtures check` "
               "fails while it is here.")
# Lines that never belong to an article body; a draft lists those the page shows outside the body.
BODY_EXCLUDE_CANDIDATES = ("上一篇", "下一篇", "版权所有", "ICP备", "公网安备", "中铝网站群", "附件：", "附件:",
                           "分享到", "打印", "关闭", "首页", "技术支持", "地址：")
_SLUG_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


# ----------------------------------------------------------------------------- reading cases
@dataclass
class Case:
    path: Path
    response: dict
    body: bytes
    expected: dict | None

    @property
    def url(self) -> str:
        return self.response["url"]


def load_case(path: Path) -> Case:
    path = path if path.is_dir() else path.parent
    response = json.loads((path / "response.json").read_text(encoding="utf-8"))
    body = (path / response["body"]).read_bytes() if response.get("body") else b""
    exp_file = path / "expected.json"
    expected = json.loads(exp_file.read_text(encoding="utf-8")) if exp_file.exists() else None
    return Case(path, response, body, expected)


def iter_cases(root: Path) -> list[Path]:
    """Every case folder under ``root`` (a folder holding response.json), in a stable order."""
    return sorted(p.parent for p in root.rglob("response.json") if not any(x.startswith("_") for x in p.parts[-3:-1]))


# ----------------------------------------------------------------------------- what the code reads
def observed(case: Case) -> dict[str, Any]:
    """The fields of ``case`` as the crawl's extraction reads them, in expected.json terms."""
    from archiver.extract import extract_bytes

    result = extract_bytes(case.url, case.body, case.response.get("headers"), case.response.get("status", 200))
    d = result.to_dict()
    out: dict[str, Any] = {"page_type": d["page_type"], "is_article": d["is_article"], "url": case.url,
                           "site": d["site"]}
    if result.is_article:
        paragraphs = [p for p in (result.body or "").split("\n") if p]
        out.update({
            "canonical_url": d["canonical_url"], "channel": d["channel"], "breadcrumb": d["breadcrumb"],
            "title": d["title"], "source": d["source"], "author": d["author"],
            "published_at": d["published_at"], "url_date": d["url_date"], "doc_id": d["doc_id"],
            "body_first": paragraphs[0] if paragraphs else None,
            "body_last": paragraphs[-1] if paragraphs else None,
            "body_paragraphs": len(paragraphs), "body": result.body or "",
            "images": d["images"], "attachments": d["attachments"], "language": d["language"],
        })
    elif d["page_type"] == "list":
        from archiver.pages.base import PageInput, response_from_bytes
        from archiver.pages.lists import ListPage
        page = ListPage(PageInput(response_from_bytes(case.url, case.body, case.response.get("headers"),
                                                      case.response.get("status", 200))))
        out.update({
            "channel": d["channel"],
            "articles": [r.url for r in page.rows if r.kind == "article"],
            "link_entries": [{"url": r.url, "kind": r.kind, "title": r.title} for r in page.link_entries],
            # the page the crawl asks for next: the pager's, or the index_N.html probe when there is none
            "pager": page.pager.style, "next_page": page.pager.next_url, "total_pages": page.pager.total,
            "probe_page": page.probe_url() if page.pager.style == "none" else None,
        })
    return out


# ----------------------------------------------------------------------------- comparing
@dataclass
class Diff:
    field: str
    expected: Any
    got: Any

    def __str__(self) -> str:
        return f"{self.field}: expected {_short(self.expected)}, got {_short(self.got)}"


def _short(v: Any, n: int = 120) -> str:
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[:n] + "…"


ARTICLE_EXACT = ("canonical_url", "site", "channel", "breadcrumb", "title", "source", "author", "published_at",
                 "url_date", "doc_id", "body_first", "body_last", "body_paragraphs", "images", "attachments")
LIST_EXACT = ("site", "channel", "articles", "link_entries", "pager", "next_page", "total_pages")
PAGE_TYPES_FOR = {"error": {"error", "soft404", "empty"}, "challenge": {"challenge"}}


def compare(expected: dict, got: dict) -> list[Diff]:
    """Every field of ``expected`` that the code reads differently (the fixture format's rules)."""
    diffs: list[Diff] = []
    if REVIEW_KEY in expected:
        diffs.append(Diff(REVIEW_KEY, "a reviewed expected.json", "an unreviewed draft"))
    want_article = bool(expected.get("is_article"))
    if got.get("is_article") != want_article:
        diffs.append(Diff("is_article", want_article, f"{got.get('is_article')} ({got.get('page_type')})"))
        return diffs
    ptype = expected.get("page_type")
    if ptype in PAGE_TYPES_FOR and got.get("page_type") not in PAGE_TYPES_FOR[ptype]:
        diffs.append(Diff("page_type", ptype, got.get("page_type")))
    if want_article:
        for key in ARTICLE_EXACT:
            if key in expected and expected[key] != got.get(key):
                diffs.append(Diff(key, expected[key], got.get(key)))
        if expected.get("language", "zh") != got.get("language"):
            diffs.append(Diff("language", expected.get("language", "zh"), got.get("language")))
        body = got.get("body") or ""
        for s in expected.get("body_includes", []):
            if s not in body:
                diffs.append(Diff("body_includes", s, "(absent)"))
        for s in expected.get("body_excludes", []):
            if s in body:
                diffs.append(Diff("body_excludes", s, "(present)"))
    elif ptype == "list":
        for key in LIST_EXACT:
            want, have = expected.get(key), got.get(key)
            if key == "next_page" and got.get("pager") == "none" and want is not None:
                have = got.get("probe_page")        # no pager: the crawl probes index_{n+1}.html
            if key in expected and want != have:
                diffs.append(Diff(key, want, have))
    return diffs


def check_case(path: Path) -> list[Diff]:
    case = load_case(path)
    if case.expected is None:
        return [Diff("expected.json", "a file", "missing")]
    return compare(case.expected, observed(case))


# ----------------------------------------------------------------------------- recording
def default_slug(url: str) -> str:
    """``xwdt-gsyw-163644`` for a TRS article URL, else the file name without its extension."""
    from archiver.sites import load_network

    info = load_network().classify(url)
    if info.doc_id is not None:
        channel = (info.channel or "").strip("/").replace("/", "-")
        return f"{channel}-{info.doc_id}" if channel else str(info.doc_id)
    path = url.split("?", 1)[0].rstrip("/")
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "index"
    return _SLUG_SAFE.sub("-", stem).strip("-") or "page"


def draft_expected(case: Case, kind: str) -> dict:
    """An expected.json to be read and corrected by a person (never trusted as it is)."""
    got = observed(case)
    draft: dict[str, Any] = {REVIEW_KEY: REVIEW_NOTE, "page_type": kind, "is_article": kind == "article",
                             "url": case.url, "site": got.get("site")}
    if kind == "article":
        body = got.pop("body", "")
        for key in ARTICLE_EXACT:
            draft[key] = got.get(key)
        paragraphs = [p for p in body.split("\n") if p]
        middle = paragraphs[len(paragraphs) // 2] if len(paragraphs) > 2 else None
        draft["body_includes"] = [p for p in (draft["body_first"], middle, draft["body_last"]) if p]
        from archiver.pages.base import response_from_bytes
        text = response_from_bytes(case.url, case.body, case.response.get("headers")).text   # as the crawl decodes
        draft["body_excludes"] = [s for s in BODY_EXCLUDE_CANDIDATES if s in text and s not in body]
        if got.get("language") == "en":
            draft["language"] = "en"
    elif kind == "list":
        for key in LIST_EXACT:
            draft[key] = got.get(key)
    else:
        draft["crawl_outcome"] = "ignored" if kind == "robots" else "failure"
    return draft


def record_case(page: Path, *, url: str, fixtures: Path, site_id: str | None = None, kind: str = "article",
                slug: str | None = None, headers: dict | None = None, status: int = 200,
                force: bool = False) -> Path:
    """Write fixtures/<site_id>/<kind>-<slug>/ from a saved page; returns the case folder."""
    from archiver.sites import load_network

    if site_id is None:
        site = load_network().site_for_url(url)
        if site is None:
            raise click.UsageError(f"{url} is not on a known site; pass --site-id (siblings: siblings/<site_id>)")
        site_id = site.id
    case_dir = fixtures / site_id / f"{kind}-{slug or default_slug(url)}"
    if case_dir.exists() and not force:
        raise click.UsageError(f"{case_dir} exists; pass --force to replace it")
    case_dir.mkdir(parents=True, exist_ok=True)
    raw = page.read_bytes()
    headers = dict(headers or {})
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "text/html"
    ext = "html" if "html" in headers.get("Content-Type", headers.get("content-type", "html")).lower() else \
        (page.suffix.lstrip(".") or "bin")
    body_name = f"body.{ext}"
    (case_dir / body_name).write_bytes(raw)                       # bytes exactly as saved
    response = {"url": url, "status": status, "headers": headers, "body": body_name, "delay": 0, "states": {}}
    (case_dir / "response.json").write_text(json.dumps(response, ensure_ascii=False, indent=2) + "\n",
                                            encoding="utf-8")
    draft = draft_expected(Case(case_dir, response, raw, None), kind)
    (case_dir / "expected.json").write_text(json.dumps(draft, ensure_ascii=False, indent=2) + "\n",
                                            encoding="utf-8")
    return case_dir


# ----------------------------------------------------------------------------- CLI
def _headers(lines: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise click.BadParameter(f"expected 'Name: value', got {line!r}", param_hint="--header")
        out[name.strip()] = value.strip()
    return out


@click.group("fixtures")
def fixtures():
    """Record saved pages as fixture cases and check every case against the extractor."""


@fixtures.command("record")
@click.argument("page", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", required=True, help="The page's real URL.")
@click.option("--site-id", default=None, help="Folder under fixtures/ (default: the registry's site for the URL).")
@click.option("--kind", type=click.Choice(KINDS), default="article", show_default=True)
@click.option("--slug", default=None, help="Case name after the kind (default: channel and document id).")
@click.option("--header", "header_lines", multiple=True, metavar="'Name: value'",
              help="A response header as served (repeatable); Content-Type defaults to text/html.")
@click.option("--status", type=int, default=200, show_default=True)
@click.option("--fixtures", "fixtures_dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_FIXTURES, show_default=True, help="Fixture root.")
@click.option("--force", is_flag=True, help="Replace an existing case.")
def record(page, url, site_id, kind, slug, header_lines, status, fixtures_dir, force):
    """Record PAGE (raw bytes as saved) as a new case with a draft expected.json to review."""
    case_dir = record_case(page, url=url, fixtures=fixtures_dir, site_id=site_id, kind=kind, slug=slug,
                           headers=_headers(header_lines), status=status, force=force)
    click.echo(f"recorded {case_dir}")
    click.echo("expected.json is a DRAFT from the extractor's output: read the page, correct every value, "
               f"then delete the {REVIEW_KEY!r} key. `archiver fixtures check` fails until you do.")


@fixtures.command("check")
@click.option("--case", "case_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="One case folder (default: every case under --fixtures).")
@click.option("--fixtures", "fixtures_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=DEFAULT_FIXTURES, show_default=True, help="Fixture root.")
def check(case_path, fixtures_dir):
    """Re-run every case and print each field that differs from expected.json (exit 1 on any)."""
    paths = [case_path if case_path.is_dir() else case_path.parent] if case_path else iter_cases(fixtures_dir)
    failed = 0
    for path in paths:
        diffs = check_case(path)
        if diffs:
            failed += 1
            try:
                name = path.relative_to(fixtures_dir)
            except ValueError:
                name = path
            click.echo(f"DIFF {name}")
            for d in diffs:
                click.echo(f"    {d}")
    click.echo(f"{len(paths) - failed} of {len(paths)} cases match" + (f", {failed} differ" if failed else ""))
    sys.exit(1 if failed else 0)
