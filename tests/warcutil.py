"""Helpers of the WARC tests (issue #15): the archiver command, the external tools (pywb, wget,
warcio) that setup.sh installs, and the comparison of two archives.

A missing tool is a failure with the command that installs it, never a skip: setup.sh installs
every one of them (pywb in .venv-pywb, wget with apt-get).
"""
from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYWB_BIN = Path(os.environ.get("ARCHIVER_PYWB_BIN", REPO / ".venv-pywb" / "bin"))
SEED = "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html"
SEED_DIR = REPO / "fixtures" / "lzly_chinalco_com_cn" / "article-tplb-163910"

# What a reader sees of an article, of a sighting, of a revision: equal for a crawl and an import.
# (list_title / list_date come from the list page a crawl read, not from the article's response;
# first_seen / last_seen / run ids are when this archive stored the page: docs/warc.md.)
ARTICLE_COLUMNS = ("canonical_url", "url", "site", "site_name", "channel", "channel_label", "breadcrumb", "title",
                   "source", "author", "editor", "published_at", "published_precision", "published_raw", "url_date",
                   "doc_id", "language", "body", "body_html", "images", "attachments", "extraction", "family",
                   "content_hash", "quality", "quality_score", "quality_flags")
SIGHTING_COLUMNS = ("url", "canonical_url", "site", "site_role", "channel", "title", "source", "published_at",
                    "doc_id", "url_date", "body_key", "content_hash", "body", "is_primary")
REVISION_COLUMNS = ("url", "title", "source", "published_at", "body", "body_key", "content_hash")
RAW_COLUMNS = ("url", "status", "sha256", "body_size", "fetched_at", "encoding")


def archiver(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run([sys.executable, "-m", "archiver.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)


def tool(path: Path | str, install_hint: str) -> str:
    """The absolute path of an external tool, or a test failure saying how to install it."""
    found = str(path) if Path(path).is_file() and os.access(path, os.X_OK) else shutil.which(str(path))
    if not found:
        pytest.fail(f"{path} is missing: {install_hint}", pytrace=False)
    return found


def warcio_cli() -> str:
    return tool(Path(sys.executable).parent / "warcio", "run ./setup.sh (warcio is a project dependency)")


def rows(db: Path, table: str, columns: tuple[str, ...], join: str = "") -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        got = con.execute(f"select {', '.join(columns)} from {table} {join}").fetchall()
    finally:
        con.close()
    return sorted(got, key=repr)


def counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("articles", "sightings", "revisions", "near_duplicates", "raw_pages", "failures",
                          "crawl_runs")}
    finally:
        con.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(port: int, proc: subprocess.Popen, deadline_s: float = 60) -> None:
    """Until the server answers on 127.0.0.1:port (a readiness check, not a fixed sleep)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode} before it answered")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered on 127.0.0.1:{port} within {deadline_s} s")


@contextlib.contextmanager
def wayback(root: Path, collection: str, warc: Path):
    """pywb serving ``warc`` as ``collection`` on 127.0.0.1 (a free port); yields the port."""
    bin_dir = PYWB_BIN
    hint = "run ./setup.sh (it creates .venv-pywb with pywb from PyPI)"
    wb_manager, wayback_bin = tool(bin_dir / "wb-manager", hint), tool(bin_dir / "wayback", hint)
    root.mkdir(parents=True, exist_ok=True)
    for cmd in ([wb_manager, "init", collection], [wb_manager, "add", collection, str(warc)]):
        done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    port = free_port()
    log = open(root / "wayback.log", "wb")
    proc = subprocess.Popen([wayback_bin, "-p", str(port), "-b", "127.0.0.1"], cwd=root, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_for_http(port, proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def http_get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()
