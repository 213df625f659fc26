"""What the article page shows, read from an archive: the article, where else it ran, how it changed,
its near-duplicates, how it was extracted, and the archived copy of the page.

Read-only and schema-tolerant: an archive written before a table existed (sightings, revisions,
near_duplicates) gets an empty list for it, never an error. Every function takes a sqlite3
connection (Datasette's ``execute_fn`` hands one over) and returns plain data; the Jinja template
``archive_article.html`` turns it into HTML, escaping everything.
"""
from __future__ import annotations

import difflib
import json
import sqlite3
import zlib
from dataclasses import dataclass, field

# The archived copy is shown in an iframe with sandbox="" and served with this policy: no script,
# no plugin, no form, no request of any kind leaves the browser (images only from data: URLs);
# inline styles are allowed so the page keeps its layout. `sandbox` in the policy also applies when
# the copy is opened on its own, outside the iframe.
ARCHIVED_COPY_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
                     "form-action 'none'; frame-ancestors 'self'; base-uri 'none'; sandbox")


def _rows(conn: sqlite3.Connection, sql: str, params=()) -> list[dict]:
    cur = conn.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _tables(conn) -> set[str]:
    return {r[0] for r in conn.execute("select name from sqlite_master where type in ('table', 'view')")}


def _columns(conn, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"pragma table_info([{table}])")}


def _json_list(value) -> list:
    if not value:
        return []
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return []
    return data if isinstance(data, list) else []


def _json_dict(value) -> dict:
    try:
        data = json.loads(value) if value else {}
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def paragraphs(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


PRECISION_LABEL = {"day": "日 day", "minute": "分 minute", "second": "秒 second", "month": "月 month",
                   "year": "年 year"}


@dataclass
class Segment:
    """A piece of a diff line: ``op`` is 'equal', 'delete' or 'insert'."""
    op: str
    text: str


@dataclass
class DiffLine:
    op: str                                  # equal, delete, insert, replace
    segments: list[Segment] = field(default_factory=list)


def diff_paragraphs(old: str | None, new: str | None) -> list[DiffLine]:
    """Paragraph-level diff of two bodies; a changed paragraph is diffed character by character
    (Chinese has no spaces to diff words by). Unchanged paragraphs are kept so the diff reads in order."""
    a, b = paragraphs(old), paragraphs(new)
    out: list[DiffLine] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [DiffLine("equal", [Segment("equal", p)]) for p in a[i1:i2]]
        elif op == "delete":
            out += [DiffLine("delete", [Segment("delete", p)]) for p in a[i1:i2]]
        elif op == "insert":
            out += [DiffLine("insert", [Segment("insert", p)]) for p in b[j1:j2]]
        else:
            olds, news = a[i1:i2], b[j1:j2]
            for k in range(max(len(olds), len(news))):
                if k >= len(olds):
                    out.append(DiffLine("insert", [Segment("insert", news[k])]))
                elif k >= len(news):
                    out.append(DiffLine("delete", [Segment("delete", olds[k])]))
                else:
                    out.append(DiffLine("replace", _char_diff(olds[k], news[k])))
    return out


def _char_diff(a: str, b: str) -> list[Segment]:
    segs: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            segs.append(Segment("equal", a[i1:i2]))
        else:
            if i2 > i1:
                segs.append(Segment("delete", a[i1:i2]))
            if j2 > j1:
                segs.append(Segment("insert", b[j1:j2]))
    return segs


def article(conn, article_id: int) -> dict | None:
    rows = _rows(conn, "select * from articles where id = ?", [article_id])
    if not rows:
        return None
    a = rows[0]
    a["paragraphs"] = paragraphs(a.get("body"))
    a["images_list"] = [i for i in _json_list(a.get("images")) if isinstance(i, dict) and i.get("src")]
    a["attachments_list"] = [i for i in _json_list(a.get("attachments")) if isinstance(i, dict) and i.get("url")]
    a["breadcrumb_list"] = [str(x) for x in _json_list(a.get("breadcrumb"))]
    a["extraction_map"] = _json_dict(a.get("extraction"))
    a["quality_flags_list"] = [str(x) for x in _json_list(a.get("quality_flags"))]
    a["credits_list"] = [str(x) for x in _json_list(a.get("credits"))]
    a["precision_label"] = PRECISION_LABEL.get(a.get("published_precision") or "", a.get("published_precision"))
    return a


def sightings(conn, article_id: int) -> list[dict]:
    """Every place the article was seen, the primary first, each with its own 来源 and date."""
    if "sightings" not in _tables(conn):
        return []
    sql = ("select s.*, coalesce((select a.site_name from articles a where a.site = s.site limit 1), s.site) "
           "as site_name from sightings s where s.article_id = ? order by s.is_primary desc, s.first_seen, s.id")
    return _rows(conn, sql, [article_id])


def revisions(conn, article_id: int, current: dict) -> list[dict]:
    """Earlier versions, newest first; each with the diff to the version that replaced it."""
    if "revisions" not in _tables(conn):
        return []
    revs = _rows(conn, "select * from revisions where article_id = ? order by superseded_at desc, id desc",
                 [article_id])
    newer = current
    for r in revs:
        r["changes"] = [k for k in ("title", "source", "published_at")
                        if (r.get(k) or "") != (newer.get(k) or "")]
        r["diff"] = diff_paragraphs(r.get("body"), newer.get("body"))
        r["newer_title"] = newer.get("title")
        newer = r
    return revs


def near_duplicates(conn, article_id: int) -> list[dict]:
    if "near_duplicates" not in _tables(conn):
        return []
    return _rows(conn, """
        select case when n.article_id_a = :id then n.article_id_b else n.article_id_a end as other_id,
          n.similarity, n.method, n.created_at, o.title, o.site_name, o.published_at, o.source
        from near_duplicates n
          join articles o on o.id = case when n.article_id_a = :id then n.article_id_b else n.article_id_a end
        where n.article_id_a = :id or n.article_id_b = :id
        order by n.similarity desc, other_id""", {"id": article_id})


def raw_page_info(conn, raw_page_id: int | None) -> dict | None:
    if not raw_page_id or "raw_pages" not in _tables(conn):
        return None
    rows = _rows(conn, "select id, url, status, fetched_at, body_size, encoding, sha256 from raw_pages where id = ?",
                 [raw_page_id])
    return rows[0] if rows else None


def raw_page_body(conn, raw_page_id: int) -> tuple[bytes, str] | None:
    """The archived response body (decompressed) and the charset to serve it with."""
    row = conn.execute("select body, compression, encoding from raw_pages where id = ?", [raw_page_id]).fetchone()
    if row is None:
        return None
    body, compression, encoding = row
    body = body or b""
    if compression == "zlib" and body:
        body = zlib.decompress(body)
    return bytes(body), (encoding or "utf-8")


def page_data(conn, article_id: int) -> dict | None:
    """Everything the article page shows."""
    a = article(conn, article_id)
    if a is None:
        return None
    sights = sightings(conn, article_id)
    return {
        "article": a,
        "sightings": sights,
        "other_sightings": [s for s in sights if s.get("url") != a.get("url")],
        "revisions": revisions(conn, article_id, a),
        "near_duplicates": near_duplicates(conn, article_id),
        "raw_page": raw_page_info(conn, a.get("raw_page_id")),
        "story_size": (conn.execute("select count(*) from articles where story_id = ?", [a["story_id"]]).fetchone()[0]
                       if a.get("story_id") is not None and "story_id" in _columns(conn, "articles") else 1),
    }
