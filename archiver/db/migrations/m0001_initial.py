"""The first schema: articles, their raw responses, crawl runs, failures and list link entries."""
NAME = "0001_initial"


def up(db):
    db["raw_pages"].create({
        "id": int, "url": str, "status": int, "headers": str, "body": bytes, "body_size": int,
        "compression": str, "sha256": str, "encoding": str, "fetched_at": str,
    }, pk="id", not_null={"url", "sha256", "fetched_at"})
    db["raw_pages"].create_index(["url", "sha256"], unique=True)

    db["crawl_runs"].create({
        "id": int, "started_at": str, "finished_at": str, "mode": str, "sites": str, "status": str,
        "finish_reason": str, "pages": int, "articles_new": int, "articles_changed": int,
        "articles_unchanged": int, "failures": int, "link_entries": int, "stats": str, "command": str,
        "pid": int, "hostname": str,
    }, pk="id", not_null={"started_at", "status"})

    db["articles"].create({
        "id": int, "canonical_url": str, "url": str, "site": str, "site_name": str, "channel": str,
        "channel_label": str, "breadcrumb": str, "title": str, "source": str, "author": str, "editor": str,
        "published_at": str, "published_precision": str, "published_raw": str, "url_date": str,
        "doc_id": int, "language": str, "body": str, "body_html": str, "images": str, "attachments": str,
        "extraction": str, "family": str, "content_hash": str, "list_title": str, "list_date": str,
        "raw_page_id": int, "first_seen": str, "last_seen": str, "last_changed": str,
        "first_run_id": int, "last_run_id": int,
    }, pk="id", not_null={"canonical_url", "url", "site"},
        foreign_keys=[("raw_page_id", "raw_pages", "id"), ("first_run_id", "crawl_runs", "id"),
                      ("last_run_id", "crawl_runs", "id")])
    db["articles"].create_index(["canonical_url"], unique=True)
    db["articles"].create_index(["site", "published_at"])
    db["articles"].create_index(["published_at"])
    db["articles"].create_index(["doc_id"])
    db["articles"].create_index(["content_hash"])

    db["failures"].create({
        "id": int, "url": str, "site": str, "channel": str, "kind": str, "reason": str, "status": int,
        "exception": str, "referer": str, "first_failed_at": str, "last_failed_at": str, "attempts": int,
        "retryable": int, "next_retry_at": str, "resolved_at": str, "last_run_id": int,
    }, pk="id", not_null={"url", "kind", "reason", "first_failed_at", "last_failed_at", "attempts"},
        foreign_keys=[("last_run_id", "crawl_runs", "id")])
    db["failures"].create_index(["url"], unique=True)
    db["failures"].create_index(["resolved_at", "retryable"])

    db["link_entries"].create({
        "id": int, "url": str, "kind": str, "title": str, "list_url": str, "list_date": str, "site": str,
        "channel": str, "first_seen": str, "last_seen": str, "last_run_id": int,
    }, pk="id", not_null={"url", "kind"}, foreign_keys=[("last_run_id", "crawl_runs", "id")])
    db["link_entries"].create_index(["url"], unique=True)
