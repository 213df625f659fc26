"""Run records and incremental-crawl state (issue #6).

* ``crawl_runs`` gains what a researcher or a scheduler needs to judge a run: ``site_counts``
  (JSON object, one entry per site: list pages fetched/revalidated/failed, article pages
  fetched, articles revalidated/new/changed/unchanged, failures, extraction failures, status,
  problems), the run-wide ``list_pages``, ``list_pages_revalidated``, ``article_pages``,
  ``articles_revalidated``, ``requests`` and ``retried`` counts, and ``problems`` (why a run is
  not ``ok``). ``mode`` (full | incremental) already exists since 0001.
* ``http_validators`` holds the ETag / Last-Modified of pages the archive already has, so a
  recurring crawl can ask "changed since?" (If-None-Match / If-Modified-Since) instead of
  downloading again. Article rows are written with the article; a channel's first list page
  only when a run finished its walk of that channel, so a killed run never leaves a validator
  that would hide unarchived rows.

* ``channel_walks`` records, per channel entry page, the run that last *started* walking the
  channel and the run that last *completed* a walk. Started but not completed (a run killed
  mid-walk) → the next run re-reads the channel's whole pager and fetches every unarchived row.

Existing archives get validators backfilled from the raw responses they already keep.
"""
import json

NAME = "0006_runs"

RUN_COLUMNS = {
    "site_counts": str, "list_pages": int, "list_pages_revalidated": int, "article_pages": int,
    "articles_revalidated": int, "requests": int, "retried": int, "problems": str,
}


def up(db):
    existing = set(db["crawl_runs"].columns_dict)
    for name, type_ in RUN_COLUMNS.items():
        if name not in existing:
            db["crawl_runs"].add_column(name, type_)

    db["http_validators"].create({
        "url": str, "kind": str, "etag": str, "last_modified": str, "checked_at": str, "run_id": int,
    }, pk="url", not_null={"kind"}, if_not_exists=True)

    db["channel_walks"].create({
        "url": str, "site": str, "channel": str, "started_run_id": int, "started_at": str,
        "completed_run_id": int, "completed_at": str,
    }, pk="url", if_not_exists=True)

    # Backfill article validators from the raw responses of archived articles.
    rows = db.execute(
        "select r.url, r.headers, r.fetched_at, a.last_run_id from articles a "
        "join raw_pages r on r.id = a.raw_page_id").fetchall()
    for url, headers, fetched_at, run_id in rows:
        etag = last_modified = None
        for name, value in json.loads(headers or "[]"):
            low = name.lower()
            if low == "etag":
                etag = value
            elif low == "last-modified":
                last_modified = value
        if etag or last_modified:
            db.execute("insert or ignore into http_validators (url, kind, etag, last_modified, checked_at, run_id) "
                       "values (?, 'article', ?, ?, ?, ?)", [url, etag, last_modified, fetched_at, run_id])
