"""Deduplication across the network: sightings, revisions, near-duplicates, the story count.

* ``sightings``: one row per URL at which an article was fetched (its site, channel, the title
  and source shown there, first/last seen). Several URLs of one article: re-posts under a new
  ID, copies on another site, alias hosts. ``is_primary`` marks the one the article row shows.
* ``revisions``: an earlier version of a page, kept when a later crawl found it changed.
* ``near_duplicates``: pairs of articles that are the same story but not the same text, with
  their similarity and the method that linked them (``article_id_a < article_id_b``).
* ``dedup_signatures`` / ``dedup_lsh``: the persisted MinHash signatures and LSH band keys, so
  that each crawl continues the index instead of rebuilding it.
* ``articles.story_id``: the smallest article id among the article and its near-duplicates
  (transitively). ``count(distinct story_id)`` counts stories; ``count(*)`` counts articles.

An archive written before this migration gets one primary sighting per existing article
(backfilled from the article row). Merging exact duplicates that an older version stored as
separate articles, and indexing near-duplicates among them, is ``archiver dedup``.
"""
NAME = "0004_dedup"

VIEWS = {
    # One row per story: near-duplicate articles count once.
    "stories": """
        select a.story_id as story_id,
               (select title from articles s where s.id = a.story_id) as title,
               min(a.published_at) as first_published,
               max(a.published_at) as last_published,
               count(*) as articles,
               (select count(*) from sightings g join articles b on b.id = g.article_id
                 where b.story_id = a.story_id) as sightings,
               group_concat(distinct a.site) as sites
        from articles a group by a.story_id""",
    # Every place an article was seen, next to the article it belongs to.
    "article_sightings": """
        select g.article_id, a.title as article_title, a.story_id, g.is_primary, g.site, g.channel,
               g.url, g.canonical_url, g.url <> g.canonical_url as alias_url, g.title, g.source,
               g.published_at, g.doc_id, g.first_seen, g.last_seen, g.last_changed
        from sightings g join articles a on a.id = g.article_id""",
    # Each near-duplicate pair once, with both titles and primary URLs.
    "near_duplicate_pairs": """
        select n.article_id_a, a.title as title_a, a.canonical_url as url_a, a.published_at as published_a,
               n.article_id_b, b.title as title_b, b.canonical_url as url_b, b.published_at as published_b,
               n.similarity, n.method, n.created_at
        from near_duplicates n join articles a on a.id = n.article_id_a join articles b on b.id = n.article_id_b""",
}


def up(db):
    db["sightings"].create({
        "id": int, "article_id": int, "url": str, "canonical_url": str, "site": str, "site_role": str,
        "channel": str, "title": str, "source": str, "published_at": str, "doc_id": int, "url_date": str,
        "body_key": str, "content_hash": str, "body": str, "raw_page_id": int, "is_primary": int,
        "first_seen": str, "last_seen": str, "last_changed": str, "first_run_id": int, "last_run_id": int,
    }, pk="id", not_null={"article_id", "url", "canonical_url", "is_primary", "first_seen", "last_seen"},
        foreign_keys=[("article_id", "articles", "id"), ("raw_page_id", "raw_pages", "id")])
    db["sightings"].create_index(["url"], unique=True)
    db["sightings"].create_index(["canonical_url"])
    db["sightings"].create_index(["article_id"])
    db["sightings"].create_index(["body_key"])

    db["revisions"].create({
        "id": int, "article_id": int, "sighting_id": int, "url": str, "captured_at": str, "superseded_at": str,
        "title": str, "source": str, "published_at": str, "body": str, "body_key": str, "content_hash": str,
        "raw_page_id": int,
    }, pk="id", not_null={"article_id", "url", "superseded_at"},
        foreign_keys=[("article_id", "articles", "id"), ("sighting_id", "sightings", "id"),
                      ("raw_page_id", "raw_pages", "id")])
    db["revisions"].create_index(["article_id"])
    db["revisions"].create_index(["body_key"])

    db["near_duplicates"].create({
        "article_id_a": int, "article_id_b": int, "similarity": float, "method": str, "created_at": str,
        "details": str,
    }, pk=("article_id_a", "article_id_b"), not_null={"similarity", "method"},
        foreign_keys=[("article_id_a", "articles", "id"), ("article_id_b", "articles", "id")])
    db["near_duplicates"].create_index(["article_id_b"])

    db["dedup_signatures"].create({
        "article_id": int, "method": str, "signature": bytes, "shingles": int, "numbers": str, "dates": str,
    }, pk="article_id", foreign_keys=[("article_id", "articles", "id")])
    db.execute("create table dedup_lsh (key integer not null, article_id integer not null, "
               "primary key (key, article_id)) without rowid")
    db.execute("create index dedup_lsh_article on dedup_lsh (article_id)")

    db["articles"].add_column("story_id", int)
    db.execute("update articles set story_id = id")
    db["articles"].create_index(["story_id"])
    db["crawl_runs"].add_column("articles_duplicate", int)

    # Backfill: every existing article is its own primary sighting.
    db.execute("""
        insert into sightings (article_id, url, canonical_url, site, channel, title, source, published_at, doc_id,
                               url_date, content_hash, raw_page_id, is_primary, first_seen, last_seen, last_changed,
                               first_run_id, last_run_id)
        select id, url, canonical_url, site, channel, title, source, published_at, doc_id, url_date, content_hash,
               raw_page_id, 1, first_seen, last_seen, last_changed, first_run_id, last_run_id from articles""")
    # body_key (the normalisation rule) and site_role (the registry) need Python.
    from archiver.db.dedup import site_role
    from archiver.dedup.text import body_key
    rows = db.execute("select s.id, a.body, a.title, a.site from sightings s "
                      "join articles a on a.id = s.article_id").fetchall()
    for sid, body, title, site in rows:
        db.execute("update sightings set body_key = ?, site_role = ? where id = ?",
                   [body_key(body, title), site_role(site), sid])

    for name, sql in VIEWS.items():
        db.execute(f"create view {name} as {sql}")
