"""A researcher's session in a real browser: `archiver serve` on 127.0.0.1, Debian's Chromium
(headless, driven by Playwright; no browser download), typing Chinese into the search box.

Screenshots are saved under artifacts/browser/ (gitignored). If Chromium is missing these tests
fail and name the setup command: they never skip silently.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.research_corpus import REPO, build_archive
from tests.test_datasette import QUERIES

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("ARCHIVER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO / "artifacts" / "browser"
# How the probe started Chromium here: no sandbox as root, and no background networking
# (the closed network refuses it, noisily).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed ({CHROMIUM} missing). Run ./setup.sh as root: it installs Debian's "
                    f"chromium with apt-get (no browser is ever downloaded).", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: run ./setup.sh (it installs the test extra)", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """An archive built from the replica, served by `archiver serve` in a subprocess."""
    data = build_archive(tmp_path_factory.mktemp("browser"))
    port = _free_port()
    log = open(data["db"].with_suffix(".serve.log"), "w")
    proc = subprocess.Popen([sys.executable, "-m", "archiver.cli", "serve", "--db", str(data["db"]), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/-/versions.json", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("archiver serve did not start: "
                                   + data["db"].with_suffix(".serve.log").read_text(errors="replace")[-2000:])
            time.sleep(0.2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield {**data, "base": base}
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    yield pg
    context.close()


def _row_link(served, article_id: int) -> str:
    return f'a[href="/archive/articles/{article_id}"]'


@pytest.mark.parametrize("kind", list(QUERIES))
def test_typing_chinese_into_the_search_box_finds_the_seed_article(page, served, kind):
    query = QUERIES[kind]
    page.goto(served["base"] + "/archive/articles")
    page.fill("#_search", query)
    page.press("#_search", "Enter")
    page.wait_for_load_state("load")
    assert "_search=" in page.url
    page.screenshot(path=str(SHOTS / f"search-box-{kind.replace(' ', '-').replace('+', 'plus')}.png"))
    assert page.locator(_row_link(served, served["seed_id"])).count() >= 1, f"{query!r}: seed article not listed"


def test_search_box_shows_nothing_for_a_word_that_is_not_there(page, served):
    page.goto(served["base"] + "/archive/articles")
    page.fill("#_search", "不存在的词语")
    page.press("#_search", "Enter")
    page.wait_for_load_state("load")
    assert page.locator(_row_link(served, served["seed_id"])).count() == 0
    assert "0 rows" in page.content()


def test_ranked_search_query_from_its_form(page, served):
    page.goto(served["base"] + "/archive/search")
    page.fill('input[name="q"]', "兰铝")
    page.press('input[name="q"]', "Enter")
    page.wait_for_load_state("load")
    page.screenshot(path=str(SHOTS / "search-ranked.png"), full_page=True)
    titles = page.locator("td.col-title").all_inner_texts()
    assert titles and "兰铝" in titles[0]                              # a headline hit ranks first
    assert "【兰铝】" in page.content()
    page.fill('input[name="q"]', "二届五次职工代表大会")
    page.press('input[name="q"]', "Enter")
    page.wait_for_load_state("load")
    assert str(served["seed_id"]) in [c.strip() for c in page.locator("td.col-id").all_inner_texts()]


def test_archived_pages_carrying_script_do_not_run_it(page, served):
    visits = {
        "search-results": "/archive/articles?_search=%E5%85%B0%E9%93%9D",
        "hostile-row": f"/archive/articles/{served['hostile']}",
        "raw-html-row": f"/archive/articles/{served['raw_html']}",
        "ranked-search": "/archive/search?q=%E5%85%B0%E9%93%9D",
        "table": "/archive/articles",
    }
    for name, path in visits.items():
        page.goto(served["base"] + path)
        page.wait_for_load_state("load")
        page.wait_for_timeout(150)            # give an onerror handler the chance to fire
        page.screenshot(path=str(SHOTS / f"script-{name}.png"), full_page=True)
        assert page.evaluate("() => window.__pwned") is None, f"{name}: archived script ran"
        assert page.dialogs == [], f"{name}: archived script opened a dialog {page.dialogs}"
    page.goto(served["base"] + f"/archive/articles/{served['raw_html']}")
    body = page.locator(".zh-body").last
    assert "未净化的正文兰铝" in body.inner_text()
    body.scroll_into_view_if_needed()
    body.screenshot(path=str(SHOTS / "raw-html-body.png"))
    page.locator(".zh-body p", has_text="点击").last.click()
    assert page.evaluate("() => window.__pwned") is None


def test_the_report_is_a_picture_in_datasette(page, served):
    page.goto(served["base"] + "/-/report")
    page.wait_for_load_state("load")
    page.screenshot(path=str(SHOTS / "report.png"), full_page=True)
    assert page.locator("svg[aria-label='articles per month'] rect").count() >= 1
    assert page.locator("svg[aria-label='crawl health per site'] rect").count() >= 2
    page.goto(served["base"] + f"/archive/articles/{served['seed_id']}")
    page.screenshot(path=str(SHOTS / "seed-article-row.png"), full_page=True)
