"""WARC export and import, unit by unit (issue #15): headers, times, revisits, what an import
skips and counts, damaged records, bad input, and the commands' documentation.

Imports run the command in a subprocess (a Scrapy run each); small WARCs are written with warcio.
"""
from __future__ import annotations

import gzip
import io
import json
import sqlite3
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver.db import Archive
from archiver.db.archive import RawResponse
from archiver.db.rawpages import RawPage
from archiver.extract import extract_bytes
from archiver.warc import archive_time, capture_headers, response_headers, status_line, warc_date
from tests.fixture_cases import all_cases
from tests.warcutil import REPO, SEED, SEED_DIR, archiver, counts, rows

SEED_BODY = (SEED_DIR / "body.html").read_bytes()
FETCHED = "2026-11-25T08:00:00+00:00"


def page(headers, body=b"<html>x</html>", status=200) -> RawPage:
    return RawPage(1, "https://www.chalco.com.cn/a.html", status, headers, body, "0" * 64, FETCHED)


# --------------------------------------------------------------------------- pure functions
def test_response_headers_describe_the_body_the_archive_kept():
    h = response_headers(page([("Content-Length", "10"), ("Content-Type", "text/html"),
                               ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked"), ("Etag", '"x"')]))
    assert h.statusline == "200 OK" and h.protocol == "HTTP/1.1"
    assert h.headers == [("Content-Length", "14"), ("Content-Type", "text/html"), ("Etag", '"x"')]


def test_response_headers_add_a_missing_content_length():
    assert response_headers(page([("Content-Type", "text/html")])).headers[-1] == ("Content-Length", "14")


def test_status_line_has_the_standard_reason_phrase():
    assert (status_line(200), status_line(404), status_line(599)) == ("200 OK", "404 Not Found", "599 Unknown")


def test_times_convert_both_ways_in_utc():
    assert warc_date("2026-11-25T16:00:00+08:00") == "2026-11-25T08:00:00Z"
    assert archive_time("2026-11-25T08:00:00Z") == FETCHED
    assert archive_time("2026-11-25T08:00:00.123456Z") == FETCHED


def test_capture_headers_drop_the_codings_warcio_removed():
    assert capture_headers([("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
                            ("Transfer-Encoding", "chunked")]) == [("Content-Type", "text/html")]
    assert capture_headers([("Content-Encoding", "zstd")]) is None


# --------------------------------------------------------------------------- a small archive
def chalco_article():
    return next(c for c in all_cases() if c.page_type == "article" and c.url.startswith("https://www.chalco.com.cn/")
                and c.status == 200 and not c.response.get("only_in") and not c.response.get("delay"))


def store(archive: Archive, url: str, body: bytes, headers: dict, fetched_at: str) -> None:
    record = extract_bytes(url, body, headers).to_dict()
    archive.upsert_article(record, RawResponse(url, 200, list(headers.items()), body, fetched_at),
                           run_id=None, now=fetched_at)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """An archive with the seed, a chalco article and the same chalco page at an alias URL."""
    root = tmp_path_factory.mktemp("small")
    db = root / "small.db"
    archive = Archive.open(db)
    case = chalco_article()
    store(archive, SEED, SEED_BODY, {"Content-Type": "text/html"}, "2026-11-25T08:00:00+00:00")
    store(archive, case.url, case.body, case.headers, "2026-11-25T08:00:01+00:00")
    store(archive, case.url.replace("www.chalco.com.cn", "www.chalco.com"), case.body, case.headers,
          "2026-11-25T08:00:02+00:00")
    archive.close()
    out = root / "small.warc.gz"
    done = archiver("warc", "export", "--db", str(db), str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    return {"root": root, "db": db, "warc": out, "case": case, "export": done}


def warc_records(path: Path) -> list:
    with open(path, "rb") as fh:
        return [(r.rec_type, dict(r.rec_headers.headers)) for r in ArchiveIterator(fh)]


def test_the_same_payload_at_another_url_is_a_revisit(small):
    recs = warc_records(small["warc"])
    # warcio writes each pair response first, then its request (as pywb and Heritrix do)
    assert [t for t, _ in recs] == ["warcinfo", "response", "request", "response", "request", "revisit", "request"]
    original, revisit = recs[3][1], recs[5][1]
    assert revisit["WARC-Refers-To"] == original["WARC-Record-ID"]
    assert revisit["WARC-Refers-To-Target-URI"] == original["WARC-Target-URI"] == small["case"].url
    assert revisit["WARC-Payload-Digest"] == original["WARC-Payload-Digest"]
    assert "1 revisits" in small["export"].stdout


def test_a_revisit_is_imported_as_a_sighting_of_the_same_article(small, tmp_path):
    db = tmp_path / "again.db"
    done = archiver("warc", "import", str(small["warc"]), "--db", str(db))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "new 2, changed 0, unchanged 0, duplicate 1" in done.stdout
    assert rows(db, "sightings", ("url", "content_hash")) == rows(small["db"], "sightings", ("url", "content_hash"))


def test_export_of_one_site_leaves_the_others_out(small, tmp_path):
    out = tmp_path / "lzly.warc.gz"
    done = archiver("warc", "export", "--db", str(small["db"]), str(out), "--site", "lzly_chinalco_com_cn")
    assert done.returncode == 0, done.stdout + done.stderr
    uris = {h.get("WARC-Target-URI") for t, h in warc_records(out) if t == "response"}
    assert uris == {SEED}
    assert "2 raw pages of other sites left out" in done.stdout


def test_export_since_a_day_after_the_last_fetch_is_only_warcinfo(small, tmp_path):
    out = tmp_path / "none.warc.gz"
    done = archiver("warc", "export", "--db", str(small["db"]), str(out), "--since", "2026-11-26")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [t for t, _ in warc_records(out)] == ["warcinfo"]
    assert (tmp_path / "none.cdxj").read_text() == ""


# --------------------------------------------------------------------------- what an import skips
def write_warc(path: Path, records: list[tuple], gzip_records: bool = True) -> None:
    """records: (type, url, status, headers, body) of responses, or (type, url, body) of others."""
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=gzip_records, warc_version="1.1")
        for r in records:
            if r[0] == "response":
                _, url, status, headers, body = r
                http = StatusAndHeaders(status_line(status), headers, protocol="HTTP/1.1")
                rec = w.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                           http_headers=http, warc_headers_dict={"WARC-Date": "2026-11-25T08:00:00Z"})
            else:
                _, url, body = r
                rec = w.create_warc_record(url, r[0], payload=io.BytesIO(body), length=len(body),
                                           warc_content_type="text/plain",
                                           warc_headers_dict={"WARC-Date": "2026-11-25T08:00:00Z"})
            w.write_record(rec)


def chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)


ARTICLE_404 = "https://lzly.chinalco.com.cn/xwdt/gsyw/202605/t20260529_170187.html"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    path = root / "mixed.warc.gz"
    html = [("Content-Type", "text/html")]
    write_warc(path, [
        ("metadata", "https://lzly.chinalco.com.cn/", b"via: a test"),
        ("response", "https://example.org/news.html", 200, html, b"<html>elsewhere</html>"),
        ("response", "https://lzly.chinalco.com.cn/tplb/", 200, html, b"<html>a list</html>"),
        ("response", "http://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html", 301,
         [("Location", SEED)], b""),
        ("response", ARTICLE_404, 404, html, b"<html>not found</html>"),
        # the seed as a server sends it compressed and chunked: imported as the crawl stores it
        ("response", SEED, 200, html + [("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")],
         chunked(gzip.compress(SEED_BODY, mtime=0))),
    ])
    db = root / "mixed.db"
    return {"db": db, "import": archiver("warc", "import", str(path), "--db", str(db))}


def test_an_import_counts_every_record_it_skips(mixed):
    out = mixed["import"].stdout
    assert mixed["import"].returncode == 0, out + mixed["import"].stderr
    assert "read 6 WARC records from 1 file(s): 2 network article responses, 2 passed" in out
    assert "3 responses skipped (not_article 1, off_network 1, status_301 1)" in out
    assert "1 other records (metadata 1)" in out


def test_a_compressed_chunked_capture_is_stored_like_a_crawled_page(mixed):
    con = sqlite3.connect(mixed["db"])
    body, headers = con.execute("select body, headers from raw_pages where url = ?", [SEED]).fetchone()
    con.close()
    assert zlib.decompress(body) == SEED_BODY
    assert json.loads(headers) == [["Content-Type", "text/html"]]
    assert rows(mixed["db"], "articles", ("url",)) == [(SEED,)]


def test_an_article_url_that_answered_404_is_a_failure_as_in_a_crawl(mixed):
    assert rows(mixed["db"], "failures", ("url", "kind", "reason", "status")) == \
        [(ARTICLE_404, "http", "HTTP 404", 404)]


def test_a_record_whose_digest_does_not_match_is_counted_not_imported(tmp_path):
    path = tmp_path / "plain.warc"
    write_warc(path, [("response", SEED, 200, [("Content-Type", "text/html")], SEED_BODY)], gzip_records=False)
    data = bytearray(path.read_bytes())
    at = data.index("兰州".encode())
    data[at:at + 6] = "广西".encode()                   # same length, other bytes
    path.write_bytes(bytes(data))
    db = tmp_path / "d.db"
    done = archiver("warc", "import", str(path), "--db", str(db))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 damaged part(s) not read" in done.stdout and "digest" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert counts(db)["raw_pages"] == 0


def test_a_truncated_uncompressed_warc_is_counted(tmp_path):
    path = tmp_path / "cut.warc"
    write_warc(path, [("response", SEED, 200, [("Content-Type", "text/html")], SEED_BODY)], gzip_records=False)
    path.write_bytes(path.read_bytes()[:-5000])
    db = tmp_path / "c.db"
    done = archiver("warc", "import", str(path), "--db", str(db))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 damaged part(s) not read" in done.stdout and "Traceback" not in done.stderr
    assert counts(db)["raw_pages"] == 0


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("args,message", [
    (("warc", "import", "README.md", "--db", "{tmp}/x.db"), "is not a WARC file"),
    (("warc", "import", "{tmp}/missing.warc.gz", "--db", "{tmp}/x.db"), "no such file"),
    (("warc", "import", "{warc}", "--db", "README.md"), "is not an archive"),
    (("warc", "export", "--db", "{tmp}/missing.db", "{tmp}/o.warc.gz"), "no archive at"),
    (("warc", "export", "--db", "README.md", "{tmp}/o.warc.gz"), "is not an archive"),
    (("warc", "export", "--db", "{db}", "{tmp}/o.txt"), "must end in .warc.gz"),
    (("warc", "export", "--db", "{db}", "{tmp}/o.warc.gz", "--site", "nope"), "unknown site"),
    (("warc", "export", "--db", "{db}", "{tmp}/o.warc.gz", "--since", "yesterday"), "expected YYYY-MM-DD"),
])
def test_bad_input_is_one_line_and_exit_2(small, tmp_path, args, message):
    done = archiver(*(a.format(tmp=tmp_path, db=small["db"], warc=small["warc"]) for a in args))
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o.warc.gz").exists()


# --------------------------------------------------------------------------- documentation
def test_the_warc_commands_are_registered_and_documented():
    done = archiver("warc", "--help")
    assert done.returncode == 0 and "export" in done.stdout and "import" in done.stdout
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    doc = (REPO / "docs" / "warc.md").read_text(encoding="utf-8")
    assert "archiver warc export" in readme and "archiver warc import" in readme and "docs/warc.md" in readme
    for option in ("--db", "--site", "--since", "--loglevel", "--log-file"):
        assert option in doc, option
