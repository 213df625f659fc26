"""A WARC written by another tool becomes the archive a crawl builds (issue #15).

Debian's wget captures one site of the replica (lzly, every list page of its channels and the
articles they link) through the replica's proxy, with ``--warc-file``; ``archiver warc import``
reads that capture. A crawl of the same site (``archiver crawl --replica --site … --full``)
is the reference: the same articles, sightings and failures, the seed article exact.

wget does not run JavaScript, so it cannot find the pages of a ``createPageHTML`` pager the way
the crawler does; it is given the site's list pages (the fixtures' list cases) as start URLs.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess

import pytest

from harness.replica.server import ReplicaServer
from tests.fixture_cases import FIXTURES, all_cases
from tests.warcutil import (ARTICLE_COLUMNS, SEED, SEED_DIR, SIGHTING_COLUMNS, archiver, rows, tool,
                            warcio_cli)

pytestmark = pytest.mark.e2e

SITE = "lzly_chinalco_com_cn"
HOST = "lzly.chinalco.com.cn"


def list_pages() -> list[str]:
    return sorted(c.url for c in all_cases() if c.page_type == "list" and c.path.parent.name == SITE
                  and not c.response.get("only_in"))


def wget_capture(proxy_url: str, warc_base, cwd) -> subprocess.CompletedProcess:
    wget = tool("wget", "apt-get install wget (./setup.sh installs it)")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(http_proxy=proxy_url, https_proxy=proxy_url)
    return subprocess.run([wget, "--no-check-certificate", "--quiet", f"--warc-file={warc_base}", "-r", "-l", "2",
                           "-H", f"--domains={HOST}", "--tries=1", "--timeout=10", "-P", str(cwd / "mirror"),
                           *list_pages()], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    root = tmp_path_factory.mktemp("wget")
    with ReplicaServer(FIXTURES, state="t1") as server:
        wget = wget_capture(server.proxy_url, root / "lzly", root)
    warc = root / "lzly.warc.gz"
    imported, crawled = root / "imported.db", root / "crawled.db"
    done = archiver("warc", "import", str(warc), "--db", str(imported))
    crawl = archiver("crawl", "--replica", "--site", SITE, "--full", "--db", str(crawled))
    return {"wget": wget, "warc": warc, "import": done, "crawl": crawl, "imported": imported, "crawled": crawled}


def test_wget_wrote_a_valid_warc_of_the_site(captured):
    # wget exits 8 when a server answered an error (the site's 404 page, its missing robots.txt).
    assert captured["wget"].returncode in (0, 8), captured["wget"].stderr
    assert captured["warc"].stat().st_size > 0
    check = subprocess.run([warcio_cli(), "check", str(captured["warc"])], capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_import_reads_wgets_warc_and_counts_what_it_skips(captured):
    done = captured["import"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "not_article" in done.stdout                  # list pages, style sheets, images, robots.txt
    assert "request" in done.stdout and "warcinfo" in done.stdout
    assert captured["crawl"].returncode == 0, captured["crawl"].stdout + captured["crawl"].stderr


@pytest.mark.parametrize("table,columns", [("articles", ARTICLE_COLUMNS), ("sightings", SIGHTING_COLUMNS),
                                           ("failures", ("url", "site", "channel", "kind", "reason", "status"))])
def test_the_import_equals_a_crawl_of_the_same_site(captured, table, columns):
    crawled = rows(captured["crawled"], table, columns)
    assert crawled
    assert rows(captured["imported"], table, columns) == crawled


def test_the_raw_responses_are_the_same_bytes(captured):
    assert rows(captured["imported"], "raw_pages", ("url", "status", "sha256")) == \
        rows(captured["crawled"], "raw_pages", ("url", "status", "sha256"))


def test_the_seed_article_comes_out_exactly(captured):
    expected = json.loads((SEED_DIR / "expected.json").read_text(encoding="utf-8"))
    con = sqlite3.connect(captured["imported"])
    con.row_factory = sqlite3.Row
    seen = con.execute("select * from sightings where url = ?", [SEED]).fetchone()
    row = con.execute("select * from articles where id = ?", [seen["article_id"]]).fetchone()
    con.close()
    assert row["title"] == seen["title"] == expected["title"]
    assert (seen["source"], seen["published_at"], seen["url_date"]) == ("走进兰铝", "2026-02-07", "2026-02-10")
    paragraphs = (seen["body"] or row["body"]).split("\n")
    assert paragraphs[0] == expected["body_first"] and paragraphs[-1] == expected["body_last"]
    assert (seen["site"], seen["channel"]) == (SITE, "tplb")
