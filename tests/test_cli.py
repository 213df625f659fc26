"""The `archiver` command line, as a user types it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from archiver.cli import main
from tests.fixture_cases import FIXTURES, all_cases

REPO = Path(__file__).resolve().parents[1]
SEED_DIR = FIXTURES / "lzly_chinalco_com_cn" / "article-tplb-163910"
SEED_URL = "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html"


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_extract_prints_one_json_object_with_the_required_keys():
    r = run("extract", str(SEED_DIR / "body.html"), "--url", SEED_URL)
    assert r.exit_code == 0
    out = json.loads(r.output)
    for key in ("title", "source", "published_at", "body", "is_article"):
        assert key in out
    assert (out["source"], out["published_at"], out["is_article"]) == ("走进兰铝", "2026-02-07", True)


def test_extract_reads_a_fixture_case_folder_with_its_url_and_headers():
    out = json.loads(run("extract", str(SEED_DIR), "--fields", "url,url_date").output)
    assert out == {"url": SEED_URL, "url_date": "2026-02-10"}


def test_extract_says_a_list_page_is_not_an_article():
    lst = next(c for c in all_cases() if c.page_type == "list")
    out = json.loads(run("extract", str(lst.path)).output)
    assert out["is_article"] is False and out["page_type"] == "list"


def test_extract_takes_headers_for_a_gbk_page():
    gbk = next(c for c in all_cases() if c.page_type == "article" and b"gbk" in c.body[:2000].lower())
    r = run("extract", str(gbk.path / "body.html"), "--url", gbk.url, "--header", "Content-Type: text/html; charset=gbk",
            "--fields", "title")
    assert json.loads(r.output)["title"] == gbk.expected["title"]


def test_extract_without_url_for_a_plain_file_is_a_usage_error():
    r = CliRunner().invoke(main, ["extract", str(SEED_DIR / "body.html")])
    assert r.exit_code == 2 and "--url" in r.output


def test_extract_rejects_unknown_fields():
    r = CliRunner().invoke(main, ["extract", str(SEED_DIR), "--fields", "titel"])
    assert r.exit_code == 2 and "titel" in r.output


def test_sites_lists_every_site_with_its_channels():
    rows = json.loads(run("sites", "--json").output)
    assert {r["id"] for r in rows} >= {"chinalco_com_cn", "chalco_com_cn", "zlgj_chinalco_com_cn", "lzly_chinalco_com_cn"}
    lzly = next(r for r in rows if r["id"] == "lzly_chinalco_com_cn")
    assert "https://lzly.chinalco.com.cn/tplb/index.html" in lzly["start_urls"]


def test_crawl_with_an_unknown_site_is_a_usage_error(tmp_path):
    r = CliRunner().invoke(main, ["crawl", "--db", str(tmp_path / "a.db"), "--site", "nope"])
    assert r.exit_code == 2 and "lzly_chinalco_com_cn" in r.output


def test_crawl_help_documents_the_exit_status():
    assert "Exit status" in run("crawl", "--help").output


def test_scrapy_itself_finds_the_project_from_the_repository_root():
    out = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["network"]
