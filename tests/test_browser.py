"""A researcher's session in a real browser: `archiver serve` on 127.0.0.1, Debian's Chromium
(headless, driven by Playwright; no browser download) at 1366x768, reading an article, typing
Chinese into the search boxes, opening the archived copy of a hostile page.

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
VIEWPORT = {"width": 1366, "height": 768}
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
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
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


def _in_first_viewport(locator) -> bool:
    """The element is visible and wholly inside the first 1366x768 screen (no scrolling)."""
    box = locator.bounding_box()
    return bool(box and box["width"] > 0 and box["height"] > 0 and box["x"] >= 0 and box["y"] >= 0
                and box["x"] + box["width"] <= VIEWPORT["width"] and box["y"] + box["height"] <= VIEWPORT["height"])


def test_the_seed_article_reads_in_the_first_screen(page, served):
    page.goto(served["base"] + f"/archive/articles/{served['seed_id']}")
    page.wait_for_load_state("load")
    page.screenshot(path=str(SHOTS / "article-seed-first-screen.png"))
    page.screenshot(path=str(SHOTS / "article-seed-full.png"), full_page=True)
    headline = page.locator("h1.zh-headline")
    assert "兰州铝业召开二届五次职工代表大会" in headline.inner_text()
    date, source = page.locator(".zh-meta time"), page.locator(".zh-meta .zh-source")
    first = page.locator(".zh-body-text p").first
    assert date.inner_text() == "2026-02-07" and source.inner_text() == "来源：走进兰铝"
    assert first.inner_text().startswith("2月7日,公司召开二届五次职工代表大会")
    for name, el in (("headline", headline), ("date", date), ("来源", source), ("first paragraph", first)):
        assert _in_first_viewport(el), f"{name} is not in the first screen: {el.bounding_box()}"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= VIEWPORT["width"]   # nothing sideways
    measure = page.evaluate("() => document.querySelector('.zh-body-text').getBoundingClientRect().width")
    assert 500 <= measure <= 760                         # a readable measure, about 40 em
    # where else it ran, and the collapsed extraction details
    assert page.locator("#sightings tbody tr").count() >= 2
    assert not page.locator("details.zh-extraction").evaluate("d => d.open")


@pytest.mark.parametrize("where", ["search-page", "articles-box"])
def test_a_search_for_lanlv_shows_headlines_and_excerpts_in_the_first_screen(page, served, where):
    if where == "search-page":
        page.goto(served["base"] + "/archive/search")
        box = 'input[name="q"]'
    else:
        page.goto(served["base"] + "/archive/articles")
        box = "#_search"
    page.fill(box, "兰铝")
    page.press(box, "Enter")
    page.wait_for_load_state("load")
    page.screenshot(path=str(SHOTS / f"search-lanlv-{where}.png"))
    title = page.locator("a.zh-title").first
    excerpt = page.locator(".zh-excerpt").first
    assert _in_first_viewport(title), title.bounding_box()
    assert _in_first_viewport(excerpt), excerpt.bounding_box()
    assert "兰铝" in page.locator(".zh-excerpt mark").first.inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= VIEWPORT["width"]
    title.click()
    page.wait_for_load_state("load")
    assert page.locator("h1.zh-headline").count() == 1         # the headline leads to the article page


def test_search_syntax_is_refused_with_a_message_under_the_box(page, served):
    page.goto(served["base"] + "/archive/search?q=-%E9%93%9D")
    page.wait_for_load_state("load")
    page.screenshot(path=str(SHOTS / "search-refused.png"))
    alert = page.locator(".zh-refused")
    assert "只有排除词" in alert.inner_text() and _in_first_viewport(alert)
    page.goto(served["base"] + "/archive/search?q=" + "兰铝 OR 职代会")
    assert "或 or" in page.locator(".zh-understood").inner_text()


def test_the_archived_copy_runs_no_script(page, served):
    page.goto(served["base"] + f"/archive/articles/{served['hostile']}")
    page.wait_for_load_state("load")
    frame_el = page.locator("iframe.zh-archived-frame")
    assert frame_el.get_attribute("sandbox") == ""
    with page.expect_event("framenavigated", predicate=lambda f: "/-/archived/" in f.url) as nav:
        with page.expect_response(lambda r: "/-/archived/" in r.url) as resp:
            page.locator("details.zh-archived-details summary").click()
    assert "default-src 'none'" in resp.value.headers["content-security-policy"]
    frame = nav.value
    frame.wait_for_load_state("load")
    frame_el.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "archived-copy-hostile.png"))
    assert frame.evaluate("() => document.scripts.length") >= 1          # the stored <script> is there...
    assert frame.evaluate("() => window.__pwned") is None              # ...and set no flag
    assert page.evaluate("() => window.__pwned") is None
    assert "兰铝安全生产月活动启动" in frame.locator("body").inner_text()
    # opened on its own (not in the frame), the policy's sandbox still stops it
    page.goto(served["base"] + frame.url.split(served["base"])[-1])
    page.wait_for_load_state("load")
    assert page.evaluate("() => window.__pwned") is None
    assert page.dialogs == []


def test_archived_pages_carrying_script_do_not_run_it(page, served):
    visits = {
        "search-results": "/archive/articles?_search=%E5%85%B0%E9%93%9D",
        "hostile-article": f"/archive/articles/{served['hostile']}",
        "hostile-row": f"/archive/articles/{served['hostile']}?_fields=all",
        "raw-html-row": f"/archive/articles/{served['raw_html']}?_fields=all",
        "ranked-search": "/archive/search?q=%E5%85%B0%E9%93%9D",
        "table": "/archive/articles",
    }
    for name, path in visits.items():
        page.goto(served["base"] + path)
        page.wait_for_load_state("load")
        page.screenshot(path=str(SHOTS / f"script-{name}.png"), full_page=True)
        assert page.evaluate("() => window.__pwned") is None, f"{name}: archived script ran"
        assert page.dialogs == [], f"{name}: archived script opened a dialog {page.dialogs}"
    page.goto(served["base"] + f"/archive/articles/{served['raw_html']}?_fields=all")
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
    page.goto(served["base"] + "/archive/articles")
    page.wait_for_load_state("load")
    page.screenshot(path=str(SHOTS / "articles-list-with-charts.png"), full_page=True)
    assert page.locator("svg[aria-label^='每月文章数'] rect").count() >= 1
