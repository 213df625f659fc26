"""The researcher commands: export, report, search, reindex, serve's metadata; and their docs."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from archiver.cli import main
from archiver.cli_research import COMMANDS
from archiver.db import Archive
from tests.searchutil import put

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "archive.db"
    a = Archive.open(path)
    put(a, 1, "兰州铝业召开职代会", "会议部署2026年工作。", published_at="2026-02-07", images=[{"src": "https://x/1.jpg"}])
    put(a, 2, "中铝集团安全生产月", "安全第一。", site="chinalco_com_cn", site_name="中国铝业集团有限公司",
        published_at="2025-06-01T09:30:00+08:00")
    put(a, 3, "兰铝党建", "党建引领。", published_at="2026-03-15")
    put(a, 4, "无日期", "正文。", published_at=None)
    a.close()
    return path


def run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_export_a_site(db):
    rows = _csv(run("export", "--db", db, "--site", "lzly_chinalco_com_cn").stdout)
    assert [r["id"] for r in rows] == ["4", "1", "3"]             # oldest first; undated first
    rows = _csv(run("export", "--db", db, "--site", "中国铝业集团有限公司").stdout)
    assert [r["id"] for r in rows] == ["2"]


def test_export_a_date_range(db):
    ids = lambda *a: [r["id"] for r in _csv(run("export", "--db", db, *a).stdout)]
    assert ids("--since", "2026-01", "--until", "2026-02") == ["1"]
    assert ids("--since", "2026") == ["1", "3"]
    assert ids("--until", "2025") == ["2"]                        # 2025 includes its times of day
    assert ids("--since", "2025-06-01", "--until", "2025-06-01") == ["2"]


def test_export_a_search_as_jsonl(db, tmp_path):
    out = tmp_path / "x.jsonl"
    run("export", "--db", db, "--search", "兰铝", "--format", "jsonl", "--out", out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [3]
    rows = [json.loads(x) for x in run("export", "--db", db, "--search", "职代会 2026年", "--format", "jsonl",
                                       "--columns", "id,title,images").stdout.splitlines() if x.startswith("{")]
    assert rows == [{"id": 1, "title": "兰州铝业召开职代会", "images": [{"src": "https://x/1.jpg"}]}]


def test_export_csv_file_opens_in_excel(db, tmp_path):
    out = tmp_path / "x.csv"
    run("export", "--db", db, "--out", out, "--limit", "2")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                        # BOM: Excel reads UTF-8 Chinese correctly
    assert len(_csv(raw.decode("utf-8"))) == 2


def test_export_errors_are_usage_errors(db):
    r = run("export", "--db", db, "--columns", "id,nope", ok=False)
    assert r.exit_code == 2 and "nope" in r.output
    r = run("export", "--db", db, "--search", "   ", ok=False)
    assert r.exit_code == 2
    r = run("export", "--db", Path(db).with_name("missing.db"), ok=False)
    assert r.exit_code == 2 and "no archive" in r.output


def test_search_command(db):
    out = run("search", "兰铝", "--db", db).stdout
    assert "兰铝党建" in out and "党建引领" in out          # a headline-only hit: the excerpt is the body start
    rows = [json.loads(x) for x in run("search", "兰铝", "--db", db, "--json").stdout.splitlines()]
    assert [r["id"] for r in rows] == [3]
    assert run("search", "兰铝", "--db", db, "--count").stdout.split()[0] == "1"
    counts = [line.split()[:2] for line in run("search", "铝", "--db", db, "--count").stdout.splitlines()]
    assert counts == [["2", "lzly_chinalco_com_cn"], ["1", "中国铝业集团有限公司"]]
    assert "no match" in run("search", "不存在", "--db", db).output


def test_report_command(db, tmp_path):
    out = tmp_path / "report.html"
    run("report", "--db", db, "--out", out, "--datasette-url", "http://127.0.0.1:8001/archive")
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 2 and "No crawl runs recorded" in page
    assert "<script" not in page.lower()
    assert 'href="http://127.0.0.1:8001/archive/articles?site=lzly_chinalco_com_cn&amp;published_at__startswith=2026-02"' in page
    assert "2026-03" in page and "2025-06" in page                # the months in between are drawn too
    assert "<svg" in run("report", "--db", db, "--out", "-").stdout


def test_reindex_and_check(db, tmp_path):
    assert json.loads(run("reindex", "--db", db, "--check").stdout)["ok"] is True
    assert "indexed 4 articles" in run("reindex", "--db", db).stdout
    broken = tmp_path / "broken.db"
    broken.write_bytes(Path(db).read_bytes())
    a = Archive.open(broken)
    a.db.execute("insert into articles_fts(articles_fts) values ('delete-all')")
    a.db.conn.commit()
    a.close()
    assert run("reindex", "--db", broken, "--check", ok=False).exit_code == 1
    run("reindex", "--db", broken)
    assert json.loads(run("reindex", "--db", broken, "--check").stdout)["ok"] is True


def test_serve_metadata_names_the_database_after_the_file(db):
    meta = json.loads(run("serve", "--db", db, "--print-metadata").stdout)
    assert list(meta["databases"]) == [Path(db).stem]
    assert "search" in meta["databases"][Path(db).stem]["queries"]


def test_serve_only_ever_binds_loopback():
    from archiver.cli_research import HOST, datasette_args

    args = datasette_args(Path("a.db"), port=1, metadata_path=Path("m.json"), settings={})
    assert args[args.index("--host") + 1] == HOST == "127.0.0.1"
    assert "--immutable" not in args                              # a crawl may be writing: read-only, not immutable
    assert not any(o.name == "host" for o in COMMANDS[0].params)


def test_every_research_command_and_option_is_documented():
    text = (DOCS / "research.md").read_text(encoding="utf-8")
    for cmd in COMMANDS:
        assert f"archiver {cmd.name}" in text, f"docs/research.md does not mention `archiver {cmd.name}`"
        for p in cmd.params:
            if isinstance(p, click.Option):
                flag = max(p.opts, key=len)
                assert flag in text, f"docs/research.md does not mention {cmd.name} {flag}"
    search = (DOCS / "search.md").read_text(encoding="utf-8")
    for needle in ("RANK_WINDOW", "bench/search.py", "search_help", "escape_fts", "zh-unigram"):
        assert needle in search
    assert re.search(r"1,000,000 articles", search), "docs/search.md has the 1M measurement"


def test_crawl_health_reads_site_counts_when_the_run_has_them():
    from archiver.db.research import site_counts_of_run
    from archiver.research.report import _health

    run = {"site_counts": json.dumps({
        "a": {"articles_new": 3, "articles_revalidated": 2, "failures": 1, "list_failures": 1, "status": "ok",
              "problems": []},
        "b": {"articles_new": 0, "failures": 4, "status": "unhealthy", "problems": ["every list page failed (4)"]},
        "c": {"articles_unchanged": 5, "failures": 0, "status": "ok"}}), "stats": "{}"}
    counts = site_counts_of_run(run)
    assert (counts["a"].new, counts["a"].revalidated, counts["a"].failures, counts["a"].articles) == (3, 2, 1, 5)
    assert [_health(counts[s]) for s in "abc"] == ["warn", "bad", "ok"]
    old = {"stats": json.dumps({"archiver/articles_by_site/a/new": 2, "archiver/failures_by_site/b": 3})}
    counts = site_counts_of_run(old)
    assert (counts["a"].new, counts["b"].failures, _health(counts["b"])) == (2, 3, "bad")


def test_serve_names_a_file_that_is_not_an_archive(tmp_path):
    not_an_archive = tmp_path / "notes.db"
    not_an_archive.write_text("meeting notes, not an SQLite archive\n" * 20, encoding="utf-8")
    result = run("serve", "--db", not_an_archive, ok=False)
    assert result.exit_code == 65 and "is not a sound SQLite archive" in result.output


def test_the_report_escapes_what_the_archive_holds(tmp_path):
    from archiver.research.report import render_report

    a = Archive.open(tmp_path / "hostile.db")
    put(a, 1, "标题", "正文。", site="x_com", site_name='<img src=x onerror="alert(1)">兰铝', published_at="2026-02-07")
    page = render_report(a.db.conn, datasette_base='http://127.0.0.1:8001/a"b', generated_at="2026-03-01")
    a.close()
    assert "<img" not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;兰铝" in page
    assert 'href="http://127.0.0.1:8001/a&#34;b/articles?site=x_com' in page
    assert page.count("<svg") == 3 and "No crawl runs recorded yet." in page and "<p>None.</p>" in page
