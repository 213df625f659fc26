"""Discovery and articles that extraction could only partly read (issue #10).

* ``network_sites`` and ``network_channels``: every site and channel a crawl walked, with how it
  was first found (``registry`` / ``navigation`` / ``link``), on which page, when, whether the
  registry lists it, when it was last seen and what its first page was at the last look
  (``status``: ``ok`` | ``no_articles`` | ``missing`` | ``ignored``). A later run walks the
  discovered channels that hold articles again even when no page links them any more, and does
  not ask again for the missing ones (a ``--full`` run does).
* ``articles.extraction_status`` (``complete`` | ``degraded``) and ``extraction_reason``: an
  article page that the page object could not read is archived with what the fallback layers
  found and the reason, and shows in the review queue (its quality is ``bad``).
* ``crawl_runs.discovered``: JSON counts of what the run found beyond the registry, and the
  pager warnings of the run.
"""
NAME = "0007_discovery"

REVIEW_QUEUE = """
create view review_queue as
select id, site, url, canonical_url, title, published_at, quality, quality_score,
       quality_flags as flags, extraction_status, extraction_reason, first_seen, last_seen
from articles
where quality is not null and quality != 'good'
order by coalesce(published_at, first_seen) desc, first_seen desc
"""


def up(db):
    db["network_sites"].create({
        "site": str, "host": str, "name": str, "found_by": str, "found_on": str, "in_registry": int,
        "status": str, "first_seen": str, "last_seen": str, "first_run_id": int, "last_run_id": int,
    }, pk="site", if_not_exists=True)
    db["network_channels"].create({
        "id": int, "site": str, "channel": str, "list_url": str, "label": str, "found_by": str, "found_on": str,
        "in_registry": int, "articles": int, "status": str, "first_seen": str, "last_seen": str, "first_run_id": int,
        "last_run_id": int,
    }, pk="id", if_not_exists=True)
    db["network_channels"].create_index(["site", "channel"], unique=True, if_not_exists=True)
    db["network_channels"].create_index(["in_registry"], if_not_exists=True)

    articles = db["articles"]
    existing = set(articles.columns_dict)
    for name in ("extraction_status", "extraction_reason"):
        if name not in existing:
            articles.add_column(name, str)
    if "discovered" not in set(db["crawl_runs"].columns_dict):
        db["crawl_runs"].add_column("discovered", str)
    # the review queue says why an article is there when the last resort read it
    db.execute("drop view if exists review_queue")
    db.execute(REVIEW_QUEUE)
