"""Helpers for the search tests: synthetic articles written through Archive.upsert_article."""
from __future__ import annotations

from archiver.db.archive import RawResponse

NOW = "2026-03-01T00:00:00+00:00"


def record(n: int, title: str, body: str, *, site: str = "lzly_chinalco_com_cn", published_at: str = "2026-02-07",
           **extra) -> dict:
    host = site.replace("_", ".")
    url = f"https://{host}/xwdt/gsyw/202602/t20260207_{900000 + n}.html"
    return {"canonical_url": url, "url": url, "site": site, "site_name": extra.pop("site_name", site),
            "channel": "xwdt/gsyw", "channel_label": "公司要闻", "title": title, "body": body,
            "published_at": published_at, "published_precision": "day", "source": extra.pop("source", "测试"),
            "language": "zh", **extra}


def raw_for(rec: dict, html: bytes = b"<html></html>") -> RawResponse:
    return RawResponse(rec["url"], 200, [("Content-Type", "text/html")], html, NOW)


def put(archive, n: int, title: str, body: str, **kw) -> int:
    rec = record(n, title, body, **kw)
    _, pk = archive.upsert_article(rec, raw_for(rec), run_id=None, now=NOW)
    return pk
