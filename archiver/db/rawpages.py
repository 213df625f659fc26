"""Reading the raw responses the archive keeps (``raw_pages``), for the WARC export (issue #15).

Read-only: a connection of its own, opened read-only, so an export never blocks a crawl and never
changes the archive. Rows come in a stable order (fetch time, then row id), bodies decompressed.
"""
from __future__ import annotations

import json
import sqlite3
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .schema import open_db


@dataclass(frozen=True)
class RawPage:
    id: int
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    sha256: str
    fetched_at: str


def _decompress(body: bytes | None, compression: str | None) -> bytes:
    if compression == "zlib":
        return zlib.decompress(body or b"")
    return bytes(body or b"")


def _row_to_page(row) -> RawPage:
    id_, url, status, headers, body, compression, sha256, fetched_at = row
    return RawPage(id_, url, status or 200, [(str(k), str(v)) for k, v in json.loads(headers or "[]")],
                   _decompress(body, compression), sha256, fetched_at)


class NotAnArchive(Exception):
    """The file is not an archive (not SQLite, or no ``raw_pages`` table)."""


class RawPageReader:
    """The archive's raw responses, oldest fetch first, optionally fetched at or after ``since``."""

    def __init__(self, path: str | Path):
        try:
            self.db = open_db(path, readonly=True)
            tables = set(self.db.table_names())
        except sqlite3.DatabaseError as e:
            raise NotAnArchive(f"{path} is not an archive ({e})") from None
        if "raw_pages" not in tables:
            self.db.close()
            raise NotAnArchive(f"{path} is not an archive (it has no raw_pages table)")

    def close(self) -> None:
        self.db.close()

    def newest_fetch(self, since: str | None = None) -> str | None:
        row = self.db.execute("select max(fetched_at) from raw_pages where fetched_at >= ?",
                              [since or ""]).fetchone()
        return row[0] if row else None

    def captures_of(self, url: str) -> list[tuple[str, str]]:
        """(fetched_at, sha256) of every raw response the archive keeps for this URL."""
        return [tuple(r) for r in self.db.execute("select fetched_at, sha256 from raw_pages where url = ?", [url])]

    def pages(self, since: str | None = None) -> Iterator[RawPage]:
        cur = self.db.execute(
            "select id, url, status, headers, body, compression, sha256, fetched_at from raw_pages "
            "where fetched_at >= ? order by fetched_at, id", [since or ""])
        for row in cur:
            yield _row_to_page(row)
