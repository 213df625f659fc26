"""WARC (ISO 28500) export and import (issue #15). Writing and reading is warcio's, the CDXJ
index is cdxj-indexer's; this module only decides what goes in and what comes out.

Export (:func:`export_warc`): one WARC 1.1 file, a ``warcinfo`` record, then for every raw
response the archive keeps (``raw_pages``, oldest fetch first) a ``request`` and a ``response``
record, or a ``request`` and a ``revisit`` (identical-payload-digest profile) when the same
payload was already written for another URL. One gzip member per record; the same archive gives
the same bytes (record ids derived from the content, no wall clock). A CDXJ index is written
beside the file. What the archive does not keep (the status line's reason phrase and HTTP
version, the request) is reconstructed; docs/warc.md says exactly how.

Import (:func:`read_captures`): the response records of one or more WARC files, as
:class:`Capture` values, with everything that is not a network article counted and skipped, and
damaged parts (a truncated file, a corrupt gzip member, a digest that does not match) counted and
stepped over, never half read. The captures then go through the crawl's own item pipelines
(``archiver/warc_spider.py``, run by :func:`import_warcs`), so an imported page is extracted,
deduplicated and stored exactly like a crawled one.
"""
from __future__ import annotations

import io
import mmap
import os
import sqlite3
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archiver.db.rawpages import NotAnArchive, RawPage, RawPageReader
from archiver.sites import Network, load_network
from archiver.sites.registry import host_site_id

WARC_VERSION = "1.1"
# Record ids are uuid5 names in this namespace: the same fetch always gets the same id.
RECORD_NAMESPACE = uuid.UUID("6f1c8a52-3b0e-5d7a-9c41-15e0a8c2d915")
# Headers that describe the bytes on the wire, not the body the archive keeps (Scrapy removed
# the transfer and content codings before the archive stored the body).
WIRE_HEADERS = frozenset({"transfer-encoding", "content-encoding"})
GZIP_MAGIC = b"\x1f\x8b\x08"
READ_CHUNK = 1 << 20


class WarcError(Exception):
    """Bad input to an export or import (a one-line message for the command line)."""


# --------------------------------------------------------------------------- export
@dataclass
class ExportResult:
    path: Path
    cdxj: Path
    responses: int = 0
    revisits: int = 0
    requests: int = 0
    skipped_site: int = 0
    bytes: int = 0

    def summary(self) -> str:
        return (f"wrote {self.path}: {self.responses} responses, {self.revisits} revisits, {self.requests} requests "
                f"({self.bytes} bytes); index {self.cdxj}"
                + (f"; {self.skipped_site} raw pages of other sites left out" if self.skipped_site else ""))


def warc_date(iso: str) -> str:
    """An archive timestamp (ISO 8601 with offset) as a WARC-Date (UTC, ``Z``)."""
    dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def archive_time(warc_iso: str) -> str:
    """A WARC-Date as the archive writes times (UTC, seconds, ``+00:00``)."""
    dt = datetime.fromisoformat(warc_iso.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat(timespec="seconds")


def record_id(kind: str, page: RawPage) -> str:
    name = f"{kind} {page.id} {page.url} {page.fetched_at} {page.sha256}"
    return f"<urn:uuid:{uuid.uuid5(RECORD_NAMESPACE, name)}>"


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def response_headers(page: RawPage) -> StatusAndHeaders:
    """The response's status line and headers as the archive kept them, made true of the body it
    kept: no transfer or content coding, Content-Length = the body's length."""
    length = str(len(page.body))
    headers = [(k, length if k.lower() == "content-length" else v) for k, v in page.headers
               if k.lower() not in WIRE_HEADERS]
    if not any(k.lower() == "content-length" for k, _ in headers):
        headers.append(("Content-Length", length))
    return StatusAndHeaders(status_line(page.status), headers, protocol="HTTP/1.1")


def request_headers(url: str) -> StatusAndHeaders:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return StatusAndHeaders(f"GET {target} HTTP/1.1", [("Host", parts.netloc)], protocol="HTTP/1.1",
                            is_http_request=True)


def site_of(url: str, network: Network) -> str:
    """The site id a URL belongs to: the registry's, else the naming rule for other hosts."""
    site = network.site_for_url(url)
    return site.id if site else host_site_id(urlsplit(url).hostname or "")


class WarcExporter:
    """Writes the archive's raw responses to one open WARC writer (a record pair per fetch)."""

    def __init__(self, writer: WARCWriter, result: ExportResult):
        self.writer = writer
        self.result = result
        self.payloads: dict[str, tuple[str, str, str, str]] = {}   # sha256 -> (url, date, record id, digest)

    def warcinfo(self, filename: str, date: str, description: str) -> None:
        from importlib.metadata import version

        fields = {"software": f"chinalco-archive/{version('chinalco-archive')} (warcio/{version('warcio')})",
                  "format": f"WARC File Format {WARC_VERSION}",
                  "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
                  "description": description}
        payload = "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode("utf-8")
        record = self.writer.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(payload), length=len(payload),
            warc_headers_dict={"WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(RECORD_NAMESPACE, f'warcinfo {filename} {date} {description}')}>",
                               "WARC-Date": date, "WARC-Filename": filename,
                               "Content-Type": "application/warc-fields"})
        self.writer.write_record(record)

    def write(self, page: RawPage, request: StatusAndHeaders | None = None) -> None:
        """A response (or revisit) record and its request record; ``request`` is the request as
        sent, when it is known (a crawl writing as it goes), else it is reconstructed."""
        date = warc_date(page.fetched_at)
        known = self.payloads.get(page.sha256)
        if known:
            response = self._revisit(page, date, known)
            self.result.revisits += 1
        else:
            response = self.writer.create_warc_record(
                page.url, "response", payload=io.BytesIO(page.body), length=len(page.body),
                http_headers=response_headers(page),
                warc_headers_dict={"WARC-Record-ID": record_id("response", page), "WARC-Date": date})
            self.payloads[page.sha256] = (page.url, date, record_id("response", page),
                                          response.rec_headers.get_header("WARC-Payload-Digest"))
            self.result.responses += 1
        request_record = self.writer.create_warc_record(
            page.url, "request", http_headers=request or request_headers(page.url),
            warc_headers_dict={"WARC-Record-ID": record_id("request", page), "WARC-Date": date})
        self.writer.write_request_response_pair(request_record, response)
        self.result.requests += 1

    def _revisit(self, page: RawPage, date: str, known: tuple[str, str, str, str]):
        url, refers_date, refers_id, digest = known
        record = self.writer.create_revisit_record(
            page.url, digest, url, refers_date, http_headers=response_headers(page),
            warc_headers_dict={"WARC-Record-ID": record_id("revisit", page), "WARC-Date": date})
        record.rec_headers.add_header("WARC-Refers-To", refers_id)
        return record


def write_cdxj(warc_path: Path) -> Path:
    """The CDXJ index of a WARC file, beside it (``NAME.cdxj``), sorted."""
    from cdxj_indexer.main import write_cdx_index

    out = warc_path.with_name(warc_path.name.removesuffix(".gz").removesuffix(".warc") + ".cdxj")
    tmp = out.with_name(out.name + ".part")
    write_cdx_index(str(tmp), [str(warc_path)], {"sort": True})
    os.replace(tmp, out)
    return out


def export_warc(db: str | Path, out: str | Path, *, site: str | None = None, since: str | None = None,
                network: Network | None = None) -> ExportResult:
    """Write the archive's raw responses (of one site, fetched since a time) to ``out`` and its
    CDXJ index beside it. The file appears whole or not at all (written aside, then renamed)."""
    network = network or load_network()
    out = Path(out)
    if site is not None:
        network.site(site)          # KeyError naming the known sites
    try:
        reader = RawPageReader(db)
    except NotAnArchive as e:
        raise WarcError(str(e)) from None
    result = ExportResult(out, out)
    tmp = out.with_name(out.name + ".part")
    try:
        newest = reader.newest_fetch(since)
        description = (f"raw responses of the Chinalco network archive{f', site {site}' if site else ''}"
                       f"{f', fetched since {since}' if since else ''}")
        with open(tmp, "wb") as fh:
            exporter = WarcExporter(WARCWriter(fh, gzip=True, warc_version=WARC_VERSION), result)
            exporter.warcinfo(out.name, warc_date(newest) if newest else "1970-01-01T00:00:00Z", description)
            for page in reader.pages(since):
                if site is not None and site_of(page.url, network) != site:
                    result.skipped_site += 1
                    continue
                exporter.write(page)
        os.replace(tmp, out)
    finally:
        reader.close()
        tmp.unlink(missing_ok=True)
    result.bytes = out.stat().st_size
    result.cdxj = write_cdxj(out)
    return result


# --------------------------------------------------------------------------- import: reading
@dataclass(frozen=True)
class Capture:
    """One HTTP response of a network article page, as captured (body without transfer or
    content coding, like the body a crawl stores)."""
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    fetched_at: str                # the capture time (WARC-Date), as the archive writes times


@dataclass
class ImportCounts:
    files: int = 0
    records: int = 0                                   # WARC records read whole
    captures: int = 0                                  # network article responses read
    passed: int = 0                                    # of those, given to the item pipelines
    skipped: Counter = field(default_factory=Counter)  # reason -> responses read but not imported
    other: Counter = field(default_factory=Counter)    # record type -> records that are not responses
    damaged: list[str] = field(default_factory=list)   # one line per part of a file not read

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def summary(self) -> str:
        def listed(counter: Counter) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"
        line = (f"read {self.records} WARC records from {self.files} file(s): {self.captures} network article "
                f"responses, {self.passed} passed to the crawl's pipelines; {sum(self.skipped.values())} responses "
                f"skipped ({listed(self.skipped)}); {sum(self.other.values())} other records ({listed(self.other)})")
        if self.damaged:
            line += f"; {len(self.damaged)} damaged part(s) not read: " + "; ".join(self.damaged)
        return line


class DamagedRecord(Exception):
    """A record (or gzip member) that cannot be read whole: it is counted, never half imported."""


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(3) == GZIP_MAGIC


def gzip_members(data, damaged: list[str], name: str) -> Iterator[tuple[int, bytes]]:
    """(offset, decompressed bytes) of each gzip member of ``data``. A member that does not
    decompress (corrupt, or cut off at the end of the file) is reported in ``damaged`` and
    reading resumes at the next gzip header after it."""
    pos, size = 0, len(data)
    while pos < size:
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out, fed = [], pos
        try:
            while not d.eof and fed < size:
                out.append(d.decompress(bytes(data[fed:fed + READ_CHUNK])))
                fed = min(fed + READ_CHUNK, size)
        except zlib.error as e:
            damaged.append(f"{name} at byte {pos}: corrupt gzip member ({e})")
            pos = _next_member(data, pos)
            continue
        if not d.eof:
            damaged.append(f"{name} at byte {pos}: truncated ({size - pos} bytes to the end of the file)")
            return
        yield pos, b"".join(out)
        pos = fed - len(d.unused_data)


def _next_member(data, pos: int) -> int:
    found = data.find(GZIP_MAGIC, pos + 1)
    return found if found >= 0 else len(data)


def read_whole(record) -> bytes:
    """The record's body (transfer and content coding removed), or DamagedRecord when the record
    is shorter than its Content-Length or a digest does not match."""
    body = record.content_stream().read()
    record.raw_stream.read()                       # the rest of the block, so the digests are checked
    if getattr(record.raw_stream, "limit", 0) > 0:
        raise DamagedRecord("record shorter than its Content-Length")
    checker = getattr(record, "digest_checker", None)
    if checker is not None and checker.passed is False:
        raise DamagedRecord("; ".join(str(p) for p in checker.problems) or "digest mismatch")
    return body


@dataclass(frozen=True)
class RawRecord:
    """A WARC record read whole: its type, WARC headers, HTTP status/headers and body."""
    type: str
    url: str
    date: str
    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    warc_headers: dict[str, str]


def parse_records(stream) -> list[RawRecord]:
    """Every record of an in-memory stream, each read whole; DamagedRecord otherwise."""
    try:
        return [_as_raw(rec, read_whole(rec)) for rec in ArchiveIterator(stream, check_digests=True)]
    except (ArchiveLoadFailed, EOFError, ValueError, zlib.error) as e:
        raise DamagedRecord(_first_line(e)) from None


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:120]}" if text else type(e).__name__


def warc_records(path: Path, damaged: list[str]) -> Iterator[tuple[int, RawRecord]]:
    """(offset, record) of every record of one WARC file that can be read whole."""
    if is_gzip(path):
        yield from _gzip_records(path, damaged)
    else:
        yield from _plain_records(path, damaged)


def _gzip_records(path: Path, damaged: list[str]) -> Iterator[tuple[int, RawRecord]]:
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for offset, member in gzip_members(data, damaged, path.name):
            try:
                records = parse_records(io.BytesIO(member))
            except DamagedRecord as e:
                damaged.append(f"{path.name} at byte {offset}: {e}")
                continue
            for record in records:
                yield offset, record


def _plain_records(path: Path, damaged: list[str]) -> Iterator[tuple[int, RawRecord]]:
    """An uncompressed WARC: records one after the other; the first that cannot be read ends
    the file (there is no member boundary to resume at)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh, check_digests=True)
        offset = 0
        try:
            for rec in it:
                offset = it.get_record_offset()
                body = read_whole(rec)
                yield offset, _as_raw(rec, body)
        except (DamagedRecord, ArchiveLoadFailed, EOFError, ValueError) as e:
            damaged.append(f"{path.name} at byte {offset}: {_first_line(e)} ({size - offset} bytes to the end not read)")


def _as_raw(rec, body: bytes) -> RawRecord:
    http = rec.http_headers
    status = None
    if http is not None and rec.rec_type in ("response", "revisit"):
        code = (http.get_statuscode() or "").strip()
        status = int(code) if code.isdigit() else None
    return RawRecord(rec.rec_type, (rec.rec_headers.get_header("WARC-Target-URI") or "").strip("<> "),
                     rec.rec_headers.get_header("WARC-Date") or "", status,
                     list(http.headers) if http is not None else [], body,
                     {k: v for k, v in rec.rec_headers.headers})


def record_at(path: Path, offset: int) -> RawRecord:
    """The record that starts at ``offset`` (a gzip member or a plain record), read whole."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        rec = next(iter(ArchiveIterator(fh, check_digests=True)))
        return _as_raw(rec, read_whole(rec))


# --------------------------------------------------------------------------- import: what is imported
CODINGS_DECODED = frozenset({"gzip", "x-gzip", "deflate", "br", "identity"})


def capture_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]] | None:
    """The headers a crawl would have stored with this body (warcio removed the transfer and
    content coding, as Scrapy does); None when the body is in a coding warcio cannot remove."""
    coding = next((v.strip().lower() for k, v in headers if k.lower() == "content-encoding"), "")
    if coding and coding not in CODINGS_DECODED:
        return None
    return [(k, v) for k, v in headers if k.lower() not in WIRE_HEADERS]


def skip_reason(url: str, status: int | None, network: Network) -> str | None:
    """Why a response is not imported (None: a network article page that answered 2xx, or 4xx/5xx
    which a crawl records as a failure). Redirects are skipped: the capture of their target counts."""
    info = network.classify(url)
    if info.kind != "article":
        return "not_article" if info.in_network else ("excluded" if info.kind == "excluded" else "off_network")
    if status is None or not (200 <= status < 300 or 400 <= status < 600):
        return f"status_{status}"
    return None


class CaptureReader:
    """The network article responses of WARC files, in file order, with the rest counted.

    A ``revisit`` record (identical payload digest) takes its body from the response it refers
    to, found by that digest among the responses read before it."""

    def __init__(self, paths: list[Path], network: Network, counts: ImportCounts):
        self.paths = paths
        self.network = network
        self.counts = counts
        self.by_digest: dict[str, tuple[Path, int]] = {}

    def __iter__(self) -> Iterator[Capture]:
        for path in self.paths:
            self.counts.files += 1
            for offset, record in warc_records(path, self.counts.damaged):
                self.counts.records += 1
                capture = self._capture(path, offset, record)
                if capture is not None:
                    self.counts.captures += 1
                    yield capture

    def _capture(self, path: Path, offset: int, record: RawRecord) -> Capture | None:
        if record.type not in ("response", "revisit"):
            self.counts.other[record.type] += 1
            return None
        digest = record.warc_headers.get("WARC-Payload-Digest")
        if record.type == "response" and digest:        # any response can be a revisit's original
            self.by_digest.setdefault(digest, (path, offset))
        why = skip_reason(record.url, record.status, self.network)
        if why:
            self.counts.skip(why)
            return None
        body = record.body
        if record.type == "revisit":
            body = self._revisited_body(record)
            if body is None:
                self.counts.skip("revisit_without_original")
                return None
        headers = capture_headers(record.headers)
        if headers is None:
            self.counts.skip("content_encoding")
            return None
        try:
            fetched_at = archive_time(record.date)
        except ValueError:
            self.counts.skip("bad_warc_date")
            return None
        return Capture(record.url, record.status, headers, body, fetched_at)

    def _revisited_body(self, record: RawRecord) -> bytes | None:
        where = self.by_digest.get(record.warc_headers.get("WARC-Payload-Digest", ""))
        if where is None:
            return None
        try:
            original = record_at(*where)
        except (DamagedRecord, ArchiveLoadFailed, StopIteration, ValueError):
            return None
        return original.body


# --------------------------------------------------------------------------- import: storing
@dataclass
class ImportResult:
    counts: ImportCounts
    stats: dict
    run_id: int | None

    @property
    def refused(self) -> str | None:
        return self.stats.get("archiver/refused") if self.stats.get("finish_reason") == "archive_locked" else None

    def summary(self) -> str:
        s = self.stats
        outcomes = ", ".join(f"{k} {s.get(f'archiver/articles/{k}', 0)}"
                             for k in ("new", "changed", "unchanged", "duplicate"))
        failures = s.get("archiver/failures_stored", 0)
        return (f"{self.counts.summary()}\n"
                f"import run {self.run_id}: articles {outcomes}; {failures} failures recorded (article URLs "
                f"that answered an error or are not articles, as a crawl records them)")


def check_inputs(paths: list[Path]) -> None:
    """One-line errors for files that cannot be WARCs at all."""
    for p in paths:
        if not p.is_file():
            raise WarcError(f"no such file: {p}")
        with open(p, "rb") as fh:
            head = fh.read(5)
        if head[:3] != GZIP_MAGIC and head != b"WARC/":
            raise WarcError(f"{p} is not a WARC file (neither gzip nor a WARC/ header)")


def check_archive(db: Path) -> None:
    """A one-line error when ``db`` exists but is not an SQLite file (a new path is created)."""
    if not db.exists():
        return
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            con.execute("pragma schema_version").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        raise WarcError(f"{db} is not an archive ({e})") from None


def import_warcs(paths: list[str | Path], db: str | Path, *, loglevel: str = "WARNING",
                 log_file: str | None = None) -> ImportResult:
    """Import WARC files into the archive through the crawl's item pipelines (one Scrapy run,
    no network). Raises WarcError for input that is not a WARC file and
    :class:`archiver.lock.ArchiveLocked` when a crawl holds the archive."""
    paths = [Path(p) for p in paths]
    check_inputs(paths)
    check_archive(Path(db))
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from archiver import lock as archive_lock
    from archiver.warc_spider import WarcImportSpider

    settings = Settings()
    settings.setmodule("archiver.settings", priority="project")
    for key, value in {"ARCHIVER_DB": str(db), "LOG_LEVEL": loglevel, "ARCHIVER_PROGRESS_INTERVAL": 0,
                       "ARCHIVER_MODE": "warc",       # no fetching: no contact needed, no sites chosen
                       # per-site health rules judge a crawl's list pages: an import has none
                       "ARCHIVER_HEALTH_SITE_CHECKS": False}.items():
        settings.set(key, value, priority="cmdline")
    if log_file:
        settings.set("LOG_FILE", log_file, priority="cmdline")
    lock = archive_lock.acquire(db)
    try:
        process = CrawlerProcess(settings)
        crawler = process.create_crawler(WarcImportSpider)
        process.crawl(crawler, files=[str(p) for p in paths])
        process.start()
    finally:
        lock.release()
    stats = crawler.stats.get_stats()
    return ImportResult(crawler.spider.counts, stats, stats.get("archiver/run_id"))
