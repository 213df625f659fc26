"""End to end: redirects, rate limits and decompression bombs are recorded, never followed off the
network or lost (issue #11).

A small replica (one lzly channel list linking eight article URLs) answers with the hostile
responses below; the real CLI crawls it in a subprocess.
"""
from __future__ import annotations

import gzip
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness.replica.cases import Case
from harness.replica.server import ReplicaServer

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
HOST = "https://lzly.chinalco.com.cn"
LIST = f"{HOST}/xwdt/gsyw/index.html"


def art(n: int) -> str:
    return f"{HOST}/xwdt/gsyw/202609/t202609{n:02d}_1790{n:02d}.html"


MOVED, TARGET, OFFSITE, SCHEME, LOOP_A, LOOP_B, ENDLESS, RATE_OK, RATE_NEVER, BOMB = (art(n) for n in range(1, 11))
HTML = [("Content-Type", "text/html; charset=utf-8")]


def article_page(n: int) -> bytes:
    paras = "".join(f"<p>兰州铝业第{n}条新闻第{i}段，讲述安全生产和节能降耗工作的新进展。</p>" for i in range(4))
    return (f"<html><head><meta charset='utf-8'><title>兰铝新闻{n}_兰州铝业有限公司</title></head><body>"
            f"<div class='xl_main'><h1>兰铝新闻{n}</h1><div class='info'>来源：走进兰铝　时间：2026-09-{n:02d}</div>"
            f"{paras}<div>附件：</div></div></body></html>").encode("utf-8")


def redirect(to: str, status: int = 302) -> Case:
    return Case(url="x", status=status, headers=[("Location", to), *HTML], body=b"moved")


class Hostile:
    def __init__(self):
        self.rate_hits = 0
        self.lock = threading.Lock()

    def resolve(self, url: str) -> Case | None:
        if url in (LIST, LIST.removesuffix("index.html")):
            rows = "".join(f'<li><a href="{u}">兰铝新闻{i}</a><span>2026-09-01</span></li>'
                           for i, u in enumerate([MOVED, OFFSITE, SCHEME, LOOP_A, ENDLESS, RATE_OK, RATE_NEVER, BOMB]))
            return Case(url=url, headers=HTML, body=f"<html><body><ul>{rows}</ul></body></html>".encode("utf-8"))
        if url == MOVED:
            return redirect(TARGET, 301)
        if url == TARGET:
            return Case(url=url, headers=HTML, body=article_page(2))
        if url == OFFSITE:
            return redirect("https://www.example.org/landing.html")
        if url == SCHEME:
            return redirect("ftp://lzly.chinalco.com.cn/file.html")
        if url == LOOP_A:
            return redirect(LOOP_B)
        if url == LOOP_B:
            return redirect(LOOP_A)
        if url.startswith(ENDLESS):
            hop = int(url.rsplit("hop=", 1)[1]) + 1 if "hop=" in url else 1
            return redirect(f"{ENDLESS}?hop={hop}")
        if url == RATE_OK:
            with self.lock:
                self.rate_hits += 1
                first = self.rate_hits == 1
            if first:
                return Case(url=url, status=429, headers=[("Retry-After", "1"), *HTML], body=b"slow down")
            return Case(url=url, headers=HTML, body=article_page(8))
        if url == RATE_NEVER:
            return Case(url=url, status=429, headers=[("Retry-After", "1"), *HTML], body=b"slow down")
        if url == BOMB:
            return Case(url=url, headers=[("Content-Encoding", "gzip"), *HTML], body=BOMB_BODY)
        return None


BOMB_BODY = gzip.compress(b"<html>" + b" " * 40_000_000 + b"</html>", compresslevel=9)


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    db = tmp_path_factory.mktemp("hostile") / "archive.db"
    server = ReplicaServer(None, resolver=Hostile().resolve).start()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "archiver.cli", "crawl", "--replica", f"url={server.proxy_url}", "--db", str(db),
             "--site", "lzly_chinalco_com_cn", "--registry-only", "-s", "RETRY_TIMES=2",
             "-s", "DOWNLOAD_MAXSIZE=16000000"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        log = server.requests
    finally:
        server.stop()
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    yield {"proc": proc, "log": log, "con": con}
    con.close()


def failure(crawl, url):
    return crawl["con"].execute("select * from failures where url = ?", [url]).fetchone()


def test_an_in_network_redirect_archives_the_target_once_and_keeps_the_old_url(crawl):
    con = crawl["con"]
    (article,) = con.execute("select * from articles where url = ?", [TARGET]).fetchall()
    urls = {r["url"] for r in con.execute("select url from sightings where article_id = ?", [article["id"]])}
    assert urls == {TARGET, MOVED}
    assert failure(crawl, MOVED) is None


@pytest.mark.parametrize("url, words", [
    (OFFSITE, ["redirect off the network", "www.example.org"]),
    (SCHEME, ["redirect to another scheme", "ftp://"]),
    (LOOP_A, ["redirect loop", LOOP_B]),
    (ENDLESS, ["more than 5 redirects", "hop=5"]),
])
def test_a_refused_redirect_is_a_failure_on_the_url_asked_for_with_its_chain(crawl, url, words):
    row = failure(crawl, url)
    assert row is not None and row["kind"] == "redirect", row and dict(row)
    assert all(w in row["reason"] for w in words), row["reason"]
    assert not crawl["con"].execute("select 1 from articles where url like '%example.org%'").fetchone()
    assert not [u for _, u, _ in crawl["log"] if "example.org" in u]


def test_retry_after_is_honoured_and_attempts_are_counted(crawl):
    assert crawl["con"].execute("select 1 from articles where url = ?", [RATE_OK]).fetchone()
    row = failure(crawl, RATE_NEVER)
    assert row["kind"] == "http" and row["status"] == 429
    assert "after 3 attempts" in row["reason"] and "Retry-After: 1" in row["reason"]
    assert [u for _, u, _ in crawl["log"]].count(RATE_NEVER) == 3


def test_a_decompression_bomb_is_oversized(crawl):
    row = failure(crawl, BOMB)
    assert row["kind"] == "oversized" and "DOWNLOAD_MAXSIZE" in row["reason"]


def test_the_run_reports_each_problem_in_one_line_without_tracebacks(crawl):
    err = crawl["proc"].stderr
    assert "Traceback" not in err, err[-3000:]
    assert crawl["proc"].returncode in (0, 1), crawl["proc"].stdout + err
