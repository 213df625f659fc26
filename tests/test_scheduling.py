"""Scheduled runs: scrapyd (real daemon, real deploy, real HTTP API) and the archive lock that
refuses a second crawl of the same archive, from the CLI and from scrapyd alike.

scrapyd is started by the test on 127.0.0.1 (a free port, a temporary folder), with the replica's
proxy in its environment: scrapyd passes its environment to the crawls it starts, exactly as
a production scrapyd passes its own http(s)_proxy. The project is deployed with scrapyd-deploy and
the `[deploy:env]` target of scrapy.cfg (url from $SCRAPYD_URL).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from archiver import lock as archive_lock
from harness.replica.generated import GeneratedNetwork
from harness.replica.server import ReplicaServer
from tests.fixture_cases import FIXTURES

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
        "DOWNLOAD_TIMEOUT": "4", "RETRY_TIMES": "1", "ARCHIVER_PROGRESS_INTERVAL": "0"}
NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(extra)
    return env


def api(base: str, path: str, data: dict | list | None = None) -> dict:
    body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
    with NO_PROXY_OPENER.open(base + path, data=body, timeout=30) as r:
        return json.loads(r.read())


# --------------------------------------------------------------------------- scrapyd
@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory):
    if not (BIN / "scrapyd").exists() or not (BIN / "scrapyd-deploy").exists():
        pytest.fail("scrapyd and scrapyd-client are test dependencies: run ./setup.sh")
    home = tmp_path_factory.mktemp("scrapyd")
    port = free_port()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\nbind_address = 127.0.0.1\n"
        f"http_port = {port}\neggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\n"
        f"dbs_dir = {home / 'dbs'}\nitems_dir =\npoll_interval = 0.3\nmax_proc = 4\n")
    replica = ReplicaServer(FIXTURES, state="t1").start()
    proc = subprocess.Popen([str(BIN / "scrapyd")], cwd=home, env=clean_env(**replica.proxy_env()),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            api(base, "daemonstatus.json")
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                replica.stop()
                pytest.fail("scrapyd did not start")
            time.sleep(0.2)
    deploy = subprocess.run([str(BIN / "scrapyd-deploy"), "env", "-v", "1"], cwd=REPO, capture_output=True, text=True,
                            env=clean_env(SCRAPYD_URL=base.rstrip("/")), timeout=120)
    try:
        yield {"base": base, "home": home, "deploy": deploy}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        replica.stop()
        shutil.rmtree(REPO / "build", ignore_errors=True)      # setup.py bdist_egg's work folder


def schedule(sd: dict, db: Path, site: str, **settings: str) -> str:
    data = [("project", "chinalco_archive"), ("spider", "network"), ("sites", site)]
    data += [("setting", f"{k}={v}") for k, v in {**FAST, "ARCHIVER_DB": str(db), **settings}.items()]
    out = api(sd["base"], "schedule.json", data)
    assert out["status"] == "ok", out
    return out["jobid"]


def wait_finished(sd: dict, *jobs: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        finished = {j["id"] for j in api(sd["base"], "listjobs.json?project=chinalco_archive")["finished"]}
        if set(jobs) <= finished:
            return
        time.sleep(0.3)
    pytest.fail(f"scrapyd jobs {jobs} did not finish")


def job_log(sd: dict, job: str) -> str:
    return (sd["home"] / "logs" / "chinalco_archive" / "network" / f"{job}.log").read_text(errors="replace")


def test_the_project_deploys_to_scrapyd_from_scrapy_cfg(scrapyd):
    assert scrapyd["deploy"].returncode == 0, scrapyd["deploy"].stdout + scrapyd["deploy"].stderr
    assert '"status": "ok"' in scrapyd["deploy"].stdout
    assert api(scrapyd["base"], "listspiders.json?project=chinalco_archive")["spiders"] == ["network"]


def test_a_crawl_scheduled_through_scrapyd_fills_the_archive(scrapyd, tmp_path):
    db = tmp_path / "archive.db"
    job = schedule(scrapyd, db, "lzly_chinalco_com_cn")
    wait_finished(scrapyd, job)
    con = sqlite3.connect(db)
    try:
        n = con.execute("select count(*) from articles where site = 'lzly_chinalco_com_cn'").fetchone()[0]
        run = con.execute("select mode, status, finish_reason from crawl_runs").fetchall()
    finally:
        con.close()
    assert n > 10, job_log(scrapyd, job)[-3000:]
    assert run == [("incremental", "ok", "finished")]


def test_scrapyd_does_not_run_two_crawls_of_one_archive_at_once(scrapyd, tmp_path):
    """scrapyd itself would start both jobs; the store step's lock refuses the second."""
    db = tmp_path / "archive.db"
    slow = schedule(scrapyd, db, "chalco_com_cn")          # waits on the replica's slow page (timeouts)
    deadline = time.monotonic() + 30
    while not archive_lock.lock_path_for(db).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = schedule(scrapyd, db, "lzly_chinalco_com_cn")
    wait_finished(scrapyd, slow, second)
    assert "archive_locked" in job_log(scrapyd, second)
    assert "refusing to crawl" in job_log(scrapyd, second)
    con = sqlite3.connect(db)
    try:
        runs = con.execute("select sites, status from crawl_runs").fetchall()
    finally:
        con.close()
    assert runs == [("chalco_com_cn", "ok")]             # the refused job wrote nothing


# --------------------------------------------------------------------------- the CLI
def test_a_second_cli_crawl_of_the_same_archive_is_refused_with_exit_75(tmp_path):
    db = tmp_path / "archive.db"
    server = ReplicaServer(None, resolver=GeneratedNetwork(600, per_page=5).resolve).start()
    cmd = [sys.executable, "-m", "archiver.cli", "crawl", "--replica", f"url={server.proxy_url}", "--db", str(db), "-q"]
    try:
        first = subprocess.Popen(cmd, cwd=REPO, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.exists():
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                try:
                    if con.execute("select count(*) from articles").fetchone()[0]:
                        break
                except sqlite3.OperationalError:
                    pass
                finally:
                    con.close()
            time.sleep(0.05)
        second = subprocess.run(cmd, cwd=REPO, env=clean_env(), capture_output=True, text=True, timeout=60)
        assert first.poll() is None, "the first crawl ended before the second started"
        assert second.returncode == archive_lock.EXIT_LOCKED == 75
        assert "refused" in second.stderr and "another crawl" in second.stderr and str(first.pid) in second.stderr
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            first.kill()
        server.stop()
    con = sqlite3.connect(db)
    try:
        assert con.execute("select status from crawl_runs").fetchall() == [("ok",)]
    finally:
        con.close()


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path):
    db = tmp_path / "archive.db"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from archiver import lock; lock.acquire(sys.argv[1]); print('held', flush=True); "
        "time.sleep(60)"), str(db)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(archive_lock.ArchiveLocked, match=f"pid {holder.pid}"):
            archive_lock.ArchiveLock(db).acquire()
    finally:
        holder.kill()
        holder.wait()
    lock = archive_lock.acquire(db)                      # SIGKILL released it
    assert archive_lock.acquire(db) is lock             # re-entrant within a process
    lock.release()
    lock.release()


def test_scrapy_crawl_refuses_a_locked_archive_without_touching_it(tmp_path):
    db = tmp_path / "archive.db"
    lock = archive_lock.acquire(db)
    try:
        out = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "network", "-s", f"ARCHIVER_DB={db}",
                              "-s", "LOG_LEVEL=INFO", "-a", "sites=lzly_chinalco_com_cn"],
                             cwd=REPO, env=clean_env(), capture_output=True, text=True, timeout=60)
    finally:
        lock.release()
    assert "archive_locked" in out.stderr and "refusing to crawl" in out.stderr
    assert "Crawled 0 pages" in out.stderr or "downloader/request_count" not in out.stderr
    assert not db.exists()
