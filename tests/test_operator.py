"""Issue #11 part B: a broken archive is never reported healthy, and the operator always knows.

* the archive checks itself when opened: repairs what can be rebuilt (and says so), refuses the
  rest with one line and an exit status; bad --db paths are one line each;
* a failing store step makes the run unhealthy; a full disk leaves a consistent archive;
* -q hides progress, never problems; -s works for ARCHIVER_CONTACT; expected network errors are
  one log line; runs / failures commands; export validates its options; -O gets the articles.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from archiver.cli import main
from archiver.db import Archive
from archiver.db.crawlstate import integrity_ok
from archiver.items import ArticleRecord, FetchedPage
from pipelines.store import StorePipeline
from spiders.network import NetworkSpider
from tests.fixture_cases import all_cases

REPO = Path(__file__).resolve().parents[1]
TIMER_DOC = (REPO / "docs" / "incremental.md").read_text(encoding="utf-8")     # the cron and systemd examples


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def one_line(result) -> str:
    """The command's stderr: exactly one line, no traceback."""
    err = result.stderr.strip()
    assert "Traceback" not in result.output and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture
def archive(tmp_path) -> Path:
    path = tmp_path / "archive.db"
    Archive.open(path).close()
    return path


def drop(path: Path, sql: str) -> None:
    con = sqlite3.connect(path)
    con.executescript(sql)
    con.close()


# --------------------------------------------------------------------------- the archive checks itself
@pytest.mark.parametrize("table", ["failures", "raw_pages", "sightings", "articles", "crawl_runs"])
def test_a_missing_table_that_holds_crawled_data_is_refused_in_one_line(archive, table):
    drop(archive, f"drop table {table}")
    result = run("crawl", "--replica", "--db", str(archive), "-q")
    assert result.exit_code == 65
    line = one_line(result)
    assert f"table {table} is missing" in line and str(archive) in line


def test_a_missing_search_index_is_rebuilt_and_the_repair_is_said(archive):
    a = Archive.open(archive)
    a.upsert_article({"canonical_url": "https://x/1", "url": "https://x/1", "site": "s", "title": "兰州铝业",
                      "body": "职代会召开"}, _raw(), run_id=None, now="2026-01-01T00:00:00+00:00")
    a.close()
    drop(archive, "drop table articles_fts")
    a = Archive.open(archive)
    assert len(a.db.repairs) == 1 and a.db.repairs[0].startswith("rebuilt the full-text index") \
        and "from 1 articles (articles_fts missing or incomplete)" in a.db.repairs[0]
    from archiver.db import search_index
    assert search_index.check(a.db)["ok"]
    a.close()
    assert Archive.open(archive).db.repairs == []


@pytest.mark.parametrize("sql", ["drop table articles_fts_idx", "drop table articles_fts_data",
                                 "drop trigger articles_fts_insert"])
def test_every_full_text_index_is_rebuilt_when_any_part_is_gone(archive, sql):
    from archiver.db import search_index
    a = Archive.open(archive)
    a.upsert_article({"canonical_url": "https://x/1", "url": "https://x/1", "site": "s", "title": "兰州铝业",
                      "body": "职代会召开"}, _raw(), run_id=None, now="2026-01-01T00:00:00+00:00")
    a.close()
    drop(archive, sql)
    a = Archive.open(archive)
    assert len(a.db.repairs) == 1 and "rebuilt the full-text index" in a.db.repairs[0], a.db.repairs
    assert search_index.check(a.db)["ok"]
    n = a.db.execute("select count(*) from articles_fts where articles_fts match '兰州'").fetchone()[0]
    assert n == 1
    a.close()
    assert integrity_ok(archive)
    assert Archive.open(archive).db.repairs == []


def test_missing_indexes_triggers_views_and_crawl_state_are_recreated(archive):
    drop(archive, "drop index idx_articles_published_at; drop trigger articles_fts_update; drop view stories; "
                  "drop table http_validators; drop table dedup_lsh")
    a = Archive.open(archive)
    text = " | ".join(a.db.repairs)
    for part in ("idx_articles_published_at", "articles_fts_update", "stories", "http_validators", "dedup_lsh"):
        assert part in text
    a.close()
    assert Archive.open(archive).db.repairs == []


def test_a_newer_schema_is_refused(archive):
    drop(archive, "insert into schema_migrations values ('0999_future', '2030-01-01')")
    result = run("dedup", "--db", str(archive))
    assert result.exit_code == 65
    assert "0999_future is newer than this archiver knows" in one_line(result)


def test_an_sqlite_file_that_is_not_an_archive_is_refused(tmp_path):
    other = tmp_path / "other.db"
    drop(other, "create table t (x)")
    result = run("crawl", "--replica", "--db", str(other))
    assert result.exit_code == 65 and "not an archive" in one_line(result)


@pytest.mark.parametrize("kind, status, words", [
    ("random", 65, "not an SQLite archive"), ("text", 65, "a text file"), ("directory", 66, "is a directory")])
@pytest.mark.parametrize("command", [["crawl", "--replica", "-q"], ["dedup"], ["runs"], ["failures"]])
def test_a_bad_db_path_is_one_line_and_a_specific_status(tmp_path, kind, status, words, command):
    path = tmp_path / "x.db"
    if kind == "random":
        path.write_bytes(bytes(range(256)) * 40)
    elif kind == "text":
        path.write_text("not an archive\n")
    else:
        path.mkdir()
    result = run(*command, "--db", str(path))
    assert result.exit_code == status, result.output
    assert words in one_line(result)


def test_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "x.db"
    path.write_text("text\n")
    result = run("--debug", "dedup", "--db", str(path))
    assert result.exit_code != 0 and isinstance(result.exception, Exception)
    assert "ArchiveError" in type(result.exception).__name__


def test_extract_on_a_directory_is_one_line(tmp_path):
    result = run("extract", str(tmp_path), "--url", "https://www.chalco.com.cn/x.html")
    assert result.exit_code == 66 and "not a fixture case folder" in one_line(result)


def _nobody_prefix() -> list[str] | None:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] if setpriv else None


def test_a_read_only_directory_is_one_line(tmp_path):
    prefix = _nobody_prefix()
    if prefix is None:
        pytest.skip("running as root without setpriv: no way to be refused a write")
    d = Path(tempfile.mkdtemp(prefix="archiver-ro-"))
    try:
        os.chmod(d, 0o755)
        Archive.open(d / "a.db").close()
        os.chmod(d / "a.db", 0o644)
        os.chmod(d, 0o555)
        for db, words in ((d / "new.db", "is not writable"), (d / "a.db", "")):
            out = subprocess.run(prefix + [sys.executable, "-m", "archiver.cli", "crawl", "--replica", "-q",
                                           "--db", str(db)], cwd=REPO, capture_output=True, text=True, timeout=120)
            assert out.returncode == 73, out.stderr
            assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr, out.stderr
            assert words in out.stderr
    finally:
        os.chmod(d, 0o755)
        shutil.rmtree(d)


# --------------------------------------------------------------------------- store failures, full disk
def _raw():
    from archiver.db.archive import RawResponse
    return RawResponse("https://x/1", 200, [], b"<html></html>", "2026-01-01T00:00:00+00:00")


def crawler_for(tmp_path, **settings):
    crawler = get_crawler(NetworkSpider, settings_dict={"ARCHIVER_DB": str(tmp_path / "a.db"), **settings})
    crawler.spider = NetworkSpider.from_crawler(crawler)
    crawler.stats.open_spider()
    return crawler


def fetched(c) -> FetchedPage:
    return FetchedPage(url=c.url, status=c.status, headers=list(c.headers.items()), body=c.body,
                       fetched_at="2026-11-25T00:00:00+00:00", site=c.path.relative_to(REPO / "fixtures").parts[0], channel="y")


def test_a_full_disk_leaves_a_consistent_archive_and_an_unhealthy_run(tmp_path, caplog):
    crawler = crawler_for(tmp_path, ARCHIVER_COMMIT_EVERY=1, ARCHIVER_COMMIT_INTERVAL=0, LOG_LEVEL="INFO")
    store = StorePipeline.from_crawler(crawler)
    store.open_spider()
    db = store.archive.db
    db.execute(f"pragma max_page_count = {db.execute('pragma page_count').fetchone()[0] + 60}")   # a tiny disk
    from archiver.pages.base import response_from_bytes
    from archiver.reading import ArticleReader
    from archiver.sites import load_network
    reader = ArticleReader(load_network(), crawler.stats, crawler.settings)
    stored, dropped = [], 0
    for c in [c for c in all_cases() if c.page_type == "article" and c.status == 200][:60]:
        rec = reader.read(response_from_bytes(c.url, c.body, list(c.headers.items()), c.status), fetched(c))
        if not isinstance(rec, ArticleRecord):
            continue
        try:
            store.process_item(rec)
            stored.append(rec.canonical_url)
        except DropItem:
            dropped += 1
    assert stored and dropped, (len(stored), dropped)          # some fitted, then the disk was full
    assert crawler.stats.get_value("archiver/store/stopped")
    store.spider_closed(crawler.spider, "archive_unwritable")
    report = crawler.stats.get_value("archiver/health_report")
    assert report["status"] == "unhealthy"
    assert any("store step failed" in p for p in report["problems"])
    # one line per failed item, no traceback
    assert not any(r.exc_info for r in caplog.records if "store step failed" in r.getMessage())
    path = tmp_path / "a.db"
    assert integrity_ok(path)
    a = Archive.open(path)                  # opens, checks itself, nothing to repair
    assert a.db.repairs == []
    from archiver.db import search_index
    assert search_index.check(a.db)["ok"]
    urls = {r[0] for r in a.db.execute("select canonical_url from articles")}
    # what was stored and not rolled back is there; what the full disk rolled back is counted
    assert len(set(stored) - urls) <= (crawler.stats.get_value("archiver/store/items_lost") or 0)
    assert urls and urls <= set(stored)
    assert a.db.execute("select count(*) from articles where raw_page_id not in (select id from raw_pages)"
                        ).fetchone()[0] == 0
    assert a.db.execute("select count(*) from articles a where not exists "
                        "(select 1 from sightings s where s.article_id = a.id)").fetchone()[0] == 0
    a.close()


@pytest.mark.e2e
def test_a_failing_store_step_makes_the_run_unhealthy_and_q_still_tells(tmp_path):
    db = tmp_path / "archive.db"
    Archive.open(db).close()
    drop(db, "create trigger boom before insert on failures begin select raise(abort, 'disk says no'); end")
    log = tmp_path / "crawl.log"
    out = subprocess.run([sys.executable, "-m", "archiver.cli", "crawl", "--replica", "--db", str(db), "-q",
                          "--log-file", str(log)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr
    assert out.stdout == ""                                   # -q: no summary, no progress
    assert "Traceback" not in out.stderr and "Traceback" not in log.read_text()
    assert re.search(r"run \d+ unhealthy: the store step failed on \d+ item\(s\), first: Failure .*disk says no",
                     out.stderr), out.stderr
    text = log.read_text()
    assert "store step failed for Failure" in text and "unhealthy: the store step failed" in text
    con = sqlite3.connect(db)
    assert con.execute("select status from crawl_runs").fetchone()[0] == "unhealthy"
    con.close()


# --------------------------------------------------------------------------- settings, warnings, log lines
def test_s_archiver_contact_builds_the_user_agent():
    """The add-on runs after every override and before Scrapy freezes the settings."""
    from scrapy.addons import AddonManager
    from scrapy.settings import Settings

    def settings_with(**cmdline):
        s = Settings()
        s.setmodule("archiver.settings", priority="project")
        for k, v in cmdline.items():
            s.set(k, v, priority="cmdline")
        AddonManager(get_crawler(NetworkSpider)).load_settings(s)
        return s

    assert "contact: ops@example.org" in settings_with(ARCHIVER_CONTACT="ops@example.org")["USER_AGENT"]
    assert settings_with(ARCHIVER_CONTACT="ops@example.org", USER_AGENT="mine/1.0")["USER_AGENT"] == "mine/1.0"
    assert "set-ARCHIVER_CONTACT@example.invalid" in settings_with()["USER_AGENT"] or os.environ.get("ARCHIVER_CONTACT")


def test_the_placeholder_contact_on_the_real_network_is_a_warning(caplog):
    from archiver.extensions.operator import OperatorExtension

    for replica, warned in ((False, True), (True, False)):
        crawler = get_crawler(NetworkSpider, settings_dict={"ARCHIVER_REPLICA": replica})
        crawler.spider = NetworkSpider.from_crawler(crawler)
        crawler.stats.open_spider()
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            OperatorExtension(crawler).spider_opened(crawler.spider)
        assert any("ARCHIVER_CONTACT is not set" in r.getMessage() for r in caplog.records) is warned


def test_an_expected_network_error_loses_its_traceback_and_a_bug_keeps_it():
    from scrapy.exceptions import CannotResolveHostError
    from twisted.internet.error import DNSLookupError

    from archiver.extensions.operator import NetworkErrorFilter

    def record(exc):
        try:
            raise exc
        except Exception:
            return logging.LogRecord("x", logging.ERROR, __file__, 1, "Error downloading %s", ("u",), sys.exc_info())
    try:
        try:
            raise DNSLookupError("no results")
        except DNSLookupError as e:
            raise CannotResolveHostError(str(e)) from e
    except CannotResolveHostError as e:
        dns = record(e)
    bug = record(ValueError("a bug"))
    f = NetworkErrorFilter()
    assert f.filter(dns) and f.filter(bug)
    assert dns.exc_info is None and bug.exc_info is not None


def test_a_dropped_item_is_one_log_line():
    from archiver.extensions.operator import ArchiverLogFormatter

    page = FetchedPage(url="https://x/1", status=200, headers=[], body=b"x" * 100000, fetched_at="t")
    crawler = get_crawler(NetworkSpider)
    spider = NetworkSpider.from_crawler(crawler)
    entry = ArchiverLogFormatter().dropped(page, DropItem("not stored: boom"), None, spider)
    text = entry["msg"] % entry["args"]
    assert text == "Dropped FetchedPage https://x/1: not stored: boom"


def test_progress_shows_totals_and_a_rate():
    from archiver.extensions.progress import progress_line

    line = progress_line({"downloader/response_count": 50, "scheduler/enqueued": 200, "scheduler/dequeued": 60},
                         elapsed=25.0)
    assert line.startswith("0m25s | requests 60 of 200 queued so far, 2.0 pages/s, ~1m10s for the queued rest | ")


# --------------------------------------------------------------------------- runs, failures
@pytest.fixture
def history(archive) -> Path:
    a = Archive.open(archive)
    r1 = a.start_run(started_at="2026-11-01T01:00:00+00:00", mode="full", sites=["lzly_chinalco_com_cn"])
    a.finish_run(r1, finished_at="2026-11-01T01:05:00+00:00", status="ok", finish_reason="finished",
                 counts={"pages": 10, "articles_new": 8}, stats={})
    r2 = a.start_run(started_at="2026-12-01T01:00:00+00:00", mode="incremental", sites=["chalco_com_cn"])
    a.finish_run(r2, finished_at="2026-12-01T01:00:30+00:00", status="unhealthy", finish_reason="finished",
                 counts={"pages": 3, "failures": 2}, stats={}, extra={"problems": "no list page answered"})
    a.record_failure("https://www.chalco.com.cn/a.html", kind="dns", reason="DNS lookup failed",
                     now="2026-12-01T01:00:10+00:00", run_id=r2, site="chalco_com_cn")
    a.record_failure("https://lzly.chinalco.com.cn/b.html", kind="http", reason="HTTP 404", status=404,
                     now="2026-11-01T01:01:00+00:00", run_id=r1, site="lzly_chinalco_com_cn")
    a.close()
    return archive


def test_runs_lists_newest_first_with_problems_and_filters(history):
    result = run("runs", "--db", str(history))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["run", "started"] and lines[1].split()[0] == "2"
    assert "no list page answered" in lines[1] and "unhealthy" in lines[1]
    rows = json.loads(run("runs", "--db", str(history), "--json", "--site", "lzly_chinalco_com_cn").output)
    assert [r["id"] for r in rows] == [1]
    rows = json.loads(run("runs", "--db", str(history), "--json", "--since", "2026-11-15").output)
    assert [(r["id"], r["problems"]) for r in rows] == [(2, ["no list page answered"])]
    assert json.loads(run("runs", "--db", str(history), "--json", "--status", "ok").output)[0]["id"] == 1


def test_failures_filters_by_site_kind_since(history):
    out = run("failures", "--db", str(history))
    assert out.exit_code == 0 and "DNS lookup failed" in out.output and "HTTP 404" in out.output
    rows = json.loads(run("failures", "--db", str(history), "--json", "--kind", "dns").output)
    assert [r["url"] for r in rows] == ["https://www.chalco.com.cn/a.html"]
    rows = json.loads(run("failures", "--db", str(history), "--json", "--site", "lzly_chinalco_com_cn").output)
    assert [r["status"] for r in rows] == [404]
    rows = json.loads(run("failures", "--db", str(history), "--json", "--since", "2026-11-30").output)
    assert len(rows) == 1
    bad = run("failures", "--db", str(history), "--kind", "nope")
    assert bad.exit_code == 2 and "its kinds: dns, http" in bad.output


@pytest.mark.parametrize("args", [["--since", "2026-13"], ["--since", "yesterday"], ["--limit", "0"]])
def test_runs_and_failures_check_their_options(history, args):
    for cmd in ("runs", "failures"):
        assert run(cmd, "--db", str(history), *args).exit_code == 2


# --------------------------------------------------------------------------- export options
@pytest.mark.parametrize("args, words", [
    (["--since", "2026-13"], "not a real date"), (["--since", "yesterday"], "expected YYYY"),
    (["--until", "2026-02-30"], "not a real date"), (["--site", "nosuch"], "no article of 'nosuch'"),
    (["--limit", "0"], "0 is not in the range")])
def test_export_refuses_bad_options(archive, args, words):
    result = run("export", "--db", str(archive), *args)
    assert result.exit_code == 2 and words in result.output, result.output


# --------------------------------------------------------------------------- the documented timer examples, as written
def _readme_block(lang: str, after: str) -> str:
    tail = TIMER_DOC.split(after, 1)[1]
    return tail.split(f"```{lang}\n", 1)[1].split("```", 1)[0]


def _timer_commands(tmp: Path) -> dict[str, tuple[str, dict]]:
    """The cron line and the systemd ExecStart of docs/incremental.md, paths moved to this repo and tmp."""
    cron = [ln for ln in _readme_block("cron", "**cron + `archiver crawl`**").splitlines()
            if "archiver crawl" in ln and not ln.startswith("#")][0]
    cron_cmd = cron.split(None, 5)[5]
    unit = _readme_block("ini", "**systemd timer + `archiver crawl`**")
    env = dict(re.findall(r"^Environment=(\w+)=(.*)$", unit, re.M))
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M)[1]
    workdir = re.search(r"^WorkingDirectory=(.*)$", unit, re.M)[1]

    def moved(cmd: str) -> str:
        return cmd.replace("/srv/chinalco-archive", str(REPO)).replace("/srv/data", str(tmp))
    return {"cron": (moved(cron_cmd), {}),
            "systemd": (f"cd {shlex.quote(moved(workdir))} && {moved(exec_start)}", env)}


@pytest.mark.e2e
def test_the_readme_timer_examples_tell_the_operator_of_an_unhealthy_run(tmp_path):
    """Run as written, with the network unreachable (a proxy on a closed port): the exit status
    is 1, nothing goes to stdout under -q, and the problems reach stderr (cron mails it, the
    journal keeps it) and the log file."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{s.getsockname()[1]}"      # bound, never listening: connection refused
    procs = {}
    for name, (cmd, extra) in _timer_commands(tmp_path / "x").items():
        (tmp_path / "x").mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(extra, http_proxy=dead, https_proxy=dead)
        cmd = cmd.replace(f"{tmp_path}/x/archive.db", f"{tmp_path}/x/{name}.db")
        procs[name] = subprocess.Popen(["sh", "-c", cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
    try:
        for name, p in procs.items():
            out, err = p.communicate(timeout=400)
            assert p.returncode == 1, (name, err)
            assert out == "", (name, out)
            assert "Traceback" not in err, (name, err)
            assert re.search(r"unhealthy: no list page answered", err), (name, err)
            assert "ARCHIVER_CONTACT is not set" not in err
    finally:
        s.close()
        for p in procs.values():
            if p.poll() is None:
                p.kill()
    log = (tmp_path / "x" / "crawl.log").read_text()
    assert "unhealthy: no list page answered" in log and "Traceback" not in log


# --------------------------------------------------------------------------- scrapy crawl -O
@pytest.mark.e2e
def test_scrapy_feed_export_writes_the_articles(tmp_path):
    from harness.replica.server import ReplicaServer

    site = "lzly_chinalco_com_cn"
    with ReplicaServer(REPO / "fixtures") as server:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(server.proxy_env())
        out = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "network", "-O", str(tmp_path / "items.jsonl"),
             "-s", f"ARCHIVER_DB={tmp_path / 'a.db'}", "-s", f"ARCHIVER_SITES={site}", "-s", "ARCHIVER_REPLICA=1",
             "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
             "-s", "LOG_LEVEL=WARNING", "-s", "ARCHIVER_PROGRESS_INTERVAL=0"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    con = sqlite3.connect(tmp_path / "a.db")
    archived = {r[0] for r in con.execute("select url from sightings")}
    con.close()
    assert items and all(i.get("title") and i.get("body") and i.get("canonical_url") for i in items)
    assert {i["url"] for i in items} == archived


def test_s_sets_what_the_crawl_command_itself_uses(tmp_path, monkeypatch):
    import archiver.cli as cli

    seen = {}

    def fake_run_crawl(**kw):
        seen.update(kw)
        raise SystemExit(0)
    monkeypatch.setattr(cli, "run_crawl", fake_run_crawl)
    db = str(tmp_path / "b.db")
    run("crawl", "--replica", "-s", f"ARCHIVER_DB={db}", "-s", "ARCHIVER_SITES=chalco_com_cn",
        "-s", "ARCHIVER_CONTACT=ops@example.org", "-s", "ARCHIVER_MODE=full")
    assert seen["db"] == db and seen["sites"] == ("chalco_com_cn",)
    assert seen["sets"] == {"ARCHIVER_CONTACT": "ops@example.org", "ARCHIVER_MODE": "full"}
    clash = run("crawl", "--replica", "--db", str(tmp_path / "a.db"), "-s", f"ARCHIVER_DB={db}")
    assert clash.exit_code == 2
