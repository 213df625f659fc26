"""An archive built the way a researcher gets one: a crawl of the replica, plus test-only articles.

* The repository's fixture corpus is copied to a temporary folder. Any channel list page the
  corpus does not serve yet (today only the seed article exists) is added there as a plain list
  page linking that channel's article cases, so the crawl reaches every article case.
* ``archiver crawl --replica`` runs in a subprocess against that folder.
* Test-only articles are then stored through ``Archive.upsert_article`` (the one write path):
  a hostile page extracted by the project's extractor (script, event handlers, javascript: links,
  escaped markup in its text), a record whose ``body_html`` holds raw unsanitised HTML (as an
  archive written by anything else might), and synthetic articles for recall and precision.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from archiver.db import Archive
from archiver.db.archive import RawResponse
from harness.replica.cases import load_cases, normalize_url
from archiver.sites import load_network

REPO = Path(__file__).resolve().parents[1]
SEED_URL = "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html"
SEED_DIR = REPO / "fixtures" / "lzly_chinalco_com_cn" / "article-tplb-163910"
HOSTILE_URL = "https://lzly.chinalco.com.cn/xwdt/gsyw/202602/t20260212_990001.html"
RAW_HTML_URL = "https://lzly.chinalco.com.cn/xwdt/gsyw/202602/t20260213_990002.html"
NOW = "2026-03-01T00:00:00+00:00"

# Everything here would set window.__pwned or open a dialog if the browser ran it.
HOSTILE_TITLE = '兰铝安全测试<img src=x onerror="window.__pwned=\'title\'">'
HOSTILE_PARAGRAPHS = [
    '兰铝安全生产月活动启动<script>window.__pwned="script";alert("script")</script>。',
    '<img src="x" onerror="window.__pwned=\'onerror\';alert(\'onerror\')">图片说明：兰铝厂区。',
    '<a href="javascript:window.__pwned=\'href\'">点击这里</a>查看兰铝详情。',
    '<iframe srcdoc="&lt;script&gt;parent.__pwned=\'iframe\'&lt;/script&gt;"></iframe>',
    '<svg onload="window.__pwned=\'svg\'"><circle r="4"/></svg>',
    "正文中的文字 &lt;script&gt;window.__pwned='text'&lt;/script&gt; 只是文字。",
]
RAW_BODY_HTML = ('<p>未净化的正文兰铝</p><script>window.__pwned="raw";alert("raw")</script>'
                 '<img src="x" onerror="window.__pwned=\'raw-img\'">'
                 '<p onclick="window.__pwned=\'click\'">点击</p><a href="javascript:alert(1)">链接</a>')


def _list_html(title: str, rows: list[tuple[str, str, str]]) -> bytes:
    items = "\n".join(f'<li><a href="{url}" title="{t}">{t}</a><span>{d}</span></li>' for url, t, d in rows)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body>'
            f'<div class="main"><div class="list"><ul>\n{items}\n</ul></div></div></body></html>').encode("utf-8")


def fixture_dir_with_lists(dest: Path) -> Path:
    """A copy of ``fixtures/`` in which every channel with article cases has a list page."""
    shutil.copytree(REPO / "fixtures", dest)
    served = set(load_cases(dest))
    network = load_network()
    by_channel: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for exp_path in sorted(dest.glob("*/article-*/expected.json")):
        exp = json.loads(exp_path.read_text(encoding="utf-8"))
        if exp.get("is_article") and exp.get("site") and exp.get("channel"):
            by_channel.setdefault((exp["site"], exp["channel"]), []).append(
                (exp["url"], exp.get("title") or "", exp.get("published_at") or ""))
    for site in network.sites:
        for channel in site.channels:
            rows = by_channel.get((site.id, channel.path))
            list_url = channel.list_url(site)
            if not rows or normalize_url(list_url) in served:
                continue
            case = dest / site.id / f"list-{channel.path.replace('/', '-')}-testonly"
            case.mkdir(parents=True)
            (case / "body.html").write_bytes(_list_html(channel.label, rows))
            (case / "response.json").write_text(json.dumps({
                "url": list_url, "status": 200, "headers": {"Content-Type": "text/html; charset=utf-8"},
                "body": "body.html"}), encoding="utf-8")
    return dest


def crawl_replica(db: Path, fixtures: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "archiver.cli", "crawl", "--replica", f"fixtures={fixtures}", "--db", str(db),
         "-q", "--log-file", str(db.with_suffix(".crawl.log"))],
        capture_output=True, text=True, timeout=180, cwd=REPO)


def hostile_page() -> bytes:
    """The seed page's template with a hostile body and headline."""
    page = (SEED_DIR / "body.html").read_text(encoding="utf-8")
    start = page.index('<div class="trs_editor_view')
    end = page.index("</div>", page.index("</p>", start))
    body = '<div class="trs_editor_view TRS_UEDITOR">' + "".join(f"<p>{p}</p>" for p in HOSTILE_PARAGRAPHS)
    page = page[:start] + body + page[end:]
    page = page.replace(page[page.index("<title>"):page.index("</title>") + 8], f"<title>{HOSTILE_TITLE}</title>")
    h1_start = page.index("article-title")
    h1_end = page.index("</h2>", h1_start)
    inner_start = page.index(">", h1_start) + 1
    page = page[:inner_start] + HOSTILE_TITLE.replace("<", "&lt;").replace(">", "&gt;") + page[h1_end:]
    return page.encode("utf-8")


def add_test_articles(db: Path) -> dict[str, int]:
    from archiver.extract import extract_bytes

    archive = Archive.open(db)
    ids = {}
    body = hostile_page()
    rec = extract_bytes(HOSTILE_URL, body, {"Content-Type": "text/html; charset=utf-8"}, 200).to_dict()
    assert rec["is_article"], rec.get("reason")
    _, ids["hostile"] = archive.upsert_article(rec, RawResponse(HOSTILE_URL, 200, [], body, NOW), run_id=None, now=NOW)
    raw = {"canonical_url": RAW_HTML_URL, "url": RAW_HTML_URL, "site": "lzly_chinalco_com_cn",
           "site_name": "兰州铝业有限公司", "channel": "xwdt/gsyw", "channel_label": "公司要闻",
           "title": "未净化正文测试", "source": "测试", "published_at": "2026-02-13", "body": "未净化的正文兰铝\n点击",
           "body_html": RAW_BODY_HTML, "language": "zh"}
    _, ids["raw_html"] = archive.upsert_article(raw, RawResponse(RAW_HTML_URL, 200, [], b"", NOW), run_id=None, now=NOW)
    archive.close()
    return ids


def build_archive(tmp: Path) -> dict:
    """Crawl the replica into ``tmp/archive.db`` and add the test-only articles."""
    fixtures = fixture_dir_with_lists(tmp / "fixtures")
    db = tmp / "archive.db"
    proc = crawl_replica(db, fixtures)
    archive = Archive.open(db)
    seed = archive.article(SEED_URL)
    if seed is None and "sightings" in archive.db.table_names():     # deduplicated: the seed is a sighting
        row = archive.db.execute("select article_id from sightings where url = ? or canonical_url = ?",
                                 [SEED_URL, SEED_URL]).fetchone()
        seed = {"id": row[0]} if row else None
    archive.close()
    assert seed is not None, f"the crawl did not store the seed article:\n{proc.stdout}\n{proc.stderr}"
    ids = add_test_articles(db)
    return {"db": db, "fixtures": fixtures, "seed_id": seed["id"], "crawl": proc, **ids}
