"""WARC export and import end to end (issue #15), on a crawl of the replica.

One module-scoped archive: the replica crawled in state t1, then again (--full) in state t2, so
it holds revised articles. It is exported twice (same bytes), replayed in pywb, imported into an
empty archive (the round trip) and imported again (adds nothing); damaged copies are imported too.
"""
from __future__ import annotations

import io
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.warc import gzip_members, warc_date
from tests.warcutil import (ARTICLE_COLUMNS, RAW_COLUMNS, REVISION_COLUMNS, SEED, SEED_DIR, SIGHTING_COLUMNS,
                            archiver, counts, http_get, rows, warcio_cli, wayback)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("warc")
    db = root / "crawl.db"
    live = root / "live"
    first = archiver("crawl", "--db", str(db), "--replica", "-s", f"ARCHIVER_WARC_DIR={live}")
    assert first.returncode == 0, first.stdout + first.stderr
    t1 = root / "t1.db"                  # the archive as the first crawl left it
    with sqlite3.connect(db) as src, sqlite3.connect(t1) as dst:
        src.backup(dst)
    # t2 breaks one site's list page on purpose (fixtures/README.md): an unhealthy run, exit 1.
    second = archiver("crawl", "--db", str(db), "--replica", "state=t2", "--full")
    assert second.returncode in (0, 1) and ") finished in" in second.stdout, second.stdout + second.stderr
    (root / "a").mkdir()
    (root / "b").mkdir()
    exports = [archiver("warc", "export", "--db", str(db), str(root / d / "replica.warc.gz")) for d in "ab"]
    warc = root / "a" / "replica.warc.gz"
    imported = root / "imported.db"
    first = archiver("warc", "import", str(warc), "--db", str(imported))
    after_first = counts(imported)
    again = archiver("warc", "import", str(warc), "--db", str(imported))
    return {"root": root, "db": db, "t1": t1, "live": live, "warc": warc, "exports": exports, "imported": imported, "first": first,
            "again": again, "after_first": after_first, "after_again": counts(imported)}


def records(path: Path) -> list[dict]:
    """Every record: type, WARC headers, HTTP status line and headers, body."""
    out = []
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh):
            http = rec.http_headers
            out.append({"type": rec.rec_type, "warc": dict(rec.rec_headers.headers),
                        "status": http.statusline if http else None, "protocol": http.protocol if http else None,
                        "headers": dict(http.headers) if http else {}, "body": rec.content_stream().read()})
    return out


def raw_bodies(db: Path) -> dict[tuple[str, str], tuple[int, bytes]]:
    """(url, fetched_at) -> (status, body) of every raw page of an archive."""
    from archiver.db.rawpages import RawPageReader

    reader = RawPageReader(db)
    try:
        return {(p.url, p.fetched_at): (p.status, p.body) for p in reader.pages()}
    finally:
        reader.close()


# --------------------------------------------------------------------------- export
def test_the_export_succeeds_and_says_what_it_wrote(built):
    done = built["exports"][0]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "responses" in done.stdout and "revisits" in done.stdout and "replica.cdxj" in done.stdout
    assert "Traceback" not in done.stderr


def test_the_same_archive_gives_the_same_bytes(built):
    a, b = (built["root"] / d for d in "ab")
    assert (a / "replica.warc.gz").read_bytes() == (b / "replica.warc.gz").read_bytes()
    assert (a / "replica.cdxj").read_bytes() == (b / "replica.cdxj").read_bytes()


def test_warcio_check_passes(built):
    done = subprocess.run([warcio_cli(), "check", "-v", str(built["warc"])], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "digest pass" in done.stdout and "digest fail" not in done.stdout


def test_one_gzip_member_per_record(built):
    data = built["warc"].read_bytes()
    damaged: list[str] = []
    members = list(gzip_members(data, damaged, "replica.warc.gz"))
    assert not damaged
    assert len(members) == len(records(built["warc"]))


def test_warcinfo_comes_first_dated_by_the_newest_fetch_not_the_clock(built):
    recs = records(built["warc"])
    assert recs[0]["type"] == "warcinfo"
    newest = max(fetched for _, fetched in raw_bodies(built["db"]))
    assert recs[0]["warc"]["WARC-Date"] == warc_date(newest)
    assert recs[0]["warc"]["WARC-Type"] == "warcinfo" and b"WARC File Format 1.1" in recs[0]["body"]
    assert all(r["warc"].get("WARC-Record-ID", "").startswith("<urn:uuid:") for r in recs)


def test_every_raw_page_is_a_response_with_its_bytes_url_time_and_status(built):
    raw = raw_bodies(built["db"])
    recs = records(built["warc"])
    responses = {(r["warc"]["WARC-Target-URI"], r["warc"]["WARC-Date"]): r for r in recs if r["type"] == "response"}
    revisits = [r for r in recs if r["type"] == "revisit"]
    by_uri_date = {(r["warc"]["WARC-Target-URI"], r["warc"]["WARC-Date"]): r for r in recs
                   if r["type"] in ("response", "revisit")}
    assert len(by_uri_date) == len(raw)
    for (url, fetched_at), (status, body) in raw.items():
        rec = by_uri_date[(url, warc_date(fetched_at))]
        assert rec["status"].startswith(f"{status} "), url
        if rec["type"] == "response":
            assert rec["body"] == body, url
            assert rec["headers"]["Content-Length"] == str(len(body))
        else:
            original = responses[(rec["warc"]["WARC-Refers-To-Target-URI"], rec["warc"]["WARC-Refers-To-Date"])]
            assert original["body"] == body, url
    assert all(r["warc"]["WARC-Profile"].endswith("/revisit/identical-payload-digest") for r in revisits)


def test_every_article_and_revision_has_its_raw_bytes_in_a_response_record(built):
    con = sqlite3.connect(built["db"])
    ids = {r[0] for r in con.execute("select raw_page_id from articles union select raw_page_id from sightings "
                                     "union select raw_page_id from revisions")}
    pages = con.execute(f"select url, fetched_at from raw_pages where id in ({','.join(map(str, ids))})").fetchall()
    con.close()
    assert len(pages) == len(ids)
    assert rows(built["db"], "revisions", ("id",)), "the crawl of t1 then t2 has revisions"
    raw = raw_bodies(built["db"])
    payloads = {r["body"] for r in records(built["warc"]) if r["type"] == "response"}
    for url, fetched_at in pages:
        assert raw[(url, fetched_at)][1] in payloads, url


def test_every_response_has_its_request_record(built):
    recs = records(built["warc"])
    ids = {r["warc"]["WARC-Record-ID"] for r in recs if r["type"] in ("response", "revisit")}
    requests = [r for r in recs if r["type"] == "request"]
    assert len(requests) == len(ids)
    assert {r["warc"]["WARC-Concurrent-To"] for r in requests} == ids
    assert all(r["protocol"] == "GET" and r["headers"].get("Host") for r in requests)


def test_the_cdxj_index_lists_every_response_beside_the_file(built):
    lines = (built["root"] / "a" / "replica.cdxj").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line.split(" ", 2)[2]) for line in lines]
    assert SEED in {e["url"] for e in entries}
    assert all(e["filename"] == "replica.warc.gz" for e in entries)
    assert lines == sorted(lines)
    assert len(entries) == responses_in(built["warc"])


def test_pywb_replays_the_seed_article_with_the_same_body_bytes(built):
    seed_body = (SEED_DIR / "body.html").read_bytes()
    with wayback(built["root"] / "pywb", "replica", built["warc"]) as port:
        status, body = http_get(port, f"/replica/id_/{SEED}")
        assert status == 200
        assert body == seed_body
        status, page = http_get(port, f"/replica/mp_/{SEED}")       # the replay a reader sees
        assert status == 200
        assert json.loads((SEED_DIR / "expected.json").read_text(encoding="utf-8"))["title"].encode() in page


# --------------------------------------------------------------------------- import
def test_the_import_succeeds_and_counts_what_it_read(built):
    first = built["first"]
    assert first.returncode == 0, first.stdout + first.stderr
    n = responses_in(built["warc"])
    assert f"{n} network article responses, {n} passed to the crawl's pipelines" in first.stdout
    assert "import run 1: articles new" in first.stdout
    assert "Traceback" not in first.stderr


@pytest.mark.parametrize("table,columns", [("articles", ARTICLE_COLUMNS), ("sightings", SIGHTING_COLUMNS),
                                           ("revisions", REVISION_COLUMNS), ("raw_pages", RAW_COLUMNS)])
def test_round_trip_crawl_export_import_gives_the_same_archive(built, table, columns):
    crawled = rows(built["db"], table, columns)
    assert crawled
    assert rows(built["imported"], table, columns) == crawled


def test_round_trip_keeps_failures_and_near_duplicates_counts(built):
    # The export holds the pages the archive kept: articles and their revisions. Failures of the
    # crawl (404, timeouts, robots) have no raw page, so an import of the export has none.
    a, b = counts(built["db"]), built["after_first"]
    assert (b["articles"], b["sightings"], b["revisions"], b["near_duplicates"], b["raw_pages"]) == \
        (a["articles"], a["sightings"], a["revisions"], a["near_duplicates"], a["raw_pages"])


def test_the_capture_time_is_the_fetch_time(built):
    assert rows(built["imported"], "raw_pages", ("url", "fetched_at")) == rows(built["db"], "raw_pages",
                                                                              ("url", "fetched_at"))


def test_importing_the_same_warc_again_adds_nothing(built):
    again = built["again"]
    assert again.returncode == 0, again.stdout + again.stderr
    a, b = built["after_first"], built["after_again"]
    for table in ("articles", "sightings", "revisions", "near_duplicates", "raw_pages", "failures"):
        assert a[table] == b[table], table
    assert b["crawl_runs"] == a["crawl_runs"] + 1          # the import itself is recorded as a run
    assert "new 0, changed 0, unchanged 0, duplicate 0" in again.stdout
    assert f"already_archived {responses_in(built['warc'])}" in again.stdout


def test_the_import_is_recorded_as_a_warc_run(built):
    con = sqlite3.connect(built["imported"])
    con.row_factory = sqlite3.Row
    runs = con.execute("select * from crawl_runs order by id").fetchall()
    con.close()
    assert [r["mode"] for r in runs] == ["warc", "warc"]
    assert [r["status"] for r in runs] == ["ok", "ok"]
    assert "warc import" in runs[0]["command"]


# --------------------------------------------------------------------------- damaged input
def responses_in(path: Path) -> int:
    return sum(1 for r in records(path) if r["type"] in ("response", "revisit"))


def no_half_imported_page(original: Path, imported: Path) -> None:
    raw = raw_bodies(original)
    for key, value in raw_bodies(imported).items():
        assert raw[key] == value, key


def test_a_truncated_warc_is_counted_and_what_was_read_is_imported_whole(built, tmp_path):
    data = built["warc"].read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 2])
    db = tmp_path / "cut.db"
    done = archiver("warc", "import", str(cut), "--db", str(db))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "1 damaged part(s) not read" in done.stdout and "truncated" in done.stdout
    assert 0 < counts(db)["raw_pages"] < counts(built["db"])["raw_pages"]
    no_half_imported_page(built["db"], db)


def test_a_corrupt_record_is_counted_and_every_other_record_imported(built, tmp_path):
    index = (built["root"] / "a" / "replica.cdxj").read_text(encoding="utf-8").splitlines()
    entry = next(json.loads(line.split(" ", 2)[2]) for line in index if SEED in line)
    data = bytearray(built["warc"].read_bytes())
    data[int(entry["offset"]) + int(entry["length"]) // 2] ^= 0xFF
    bad = tmp_path / "corrupt.warc.gz"
    bad.write_bytes(bytes(data))
    db = tmp_path / "corrupt.db"
    done = archiver("warc", "import", str(bad), "--db", str(db))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "1 damaged part(s) not read" in done.stdout
    n = responses_in(built["warc"])
    assert f"{n - 1} network article responses, {n - 1} passed" in done.stdout
    assert counts(db)["raw_pages"] == counts(built["db"])["raw_pages"] - 1
    assert SEED not in {u for (u,) in rows(db, "raw_pages", ("url",))}
    no_half_imported_page(built["db"], db)


# --------------------------------------------------------------------------- a crawl writing its WARC
def test_a_crawl_with_archiver_warc_dir_writes_a_valid_warc_and_its_index(built):
    warcs = sorted(built["live"].glob("crawl-*.warc.gz"))
    assert len(warcs) == 1 and warcs[0].with_name(warcs[0].name.replace(".warc.gz", ".cdxj")).stat().st_size > 0
    done = subprocess.run([warcio_cli(), "check", str(warcs[0])], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    recs = records(warcs[0])
    requests = [r for r in recs if r["type"] == "request"]
    assert all(r["headers"].get("User-Agent", "").startswith("chinalco-archive") for r in requests)
    assert any(r["type"] == "response" and r["warc"]["WARC-Target-URI"].endswith("/robots.txt") for r in recs)


def test_the_crawls_own_warc_imports_as_the_same_archive(built, tmp_path):
    warc = next(built["live"].glob("crawl-*.warc.gz"))
    db = tmp_path / "from-crawl-warc.db"
    done = archiver("warc", "import", str(warc), "--db", str(db))
    assert done.returncode == 0, done.stdout + done.stderr
    for table, columns in (("articles", ARTICLE_COLUMNS), ("sightings", SIGHTING_COLUMNS)):
        assert rows(db, table, columns) == rows(built["t1"], table, columns), table
    # failures that had a response (not the timeout, not the page robots.txt forbids)
    assert rows(db, "failures", ("url", "kind", "status")) == \
        rows(built["t1"], "failures", ("url", "kind", "status"), "where status is not null")
