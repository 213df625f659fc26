"""Chinese full-text search: the contentless FTS5 index ``articles_fts``, its triggers, ``search_help``.

``articles_fts`` (title, body) is keyed by ``articles.id`` and holds the per-character shadow text
(see ``archiver.search.zh``); triggers on ``articles`` keep it in step (``search_index``), and
existing articles are indexed here. ``search_help`` holds the SQL and instructions for searching
with a Datasette or sqlite3 that has neither plugin nor metadata. A later change of the indexing
rule is a new migration that calls ``search_index.rebuild``.
"""
from archiver.db import search_index

NAME = "0005_search"


def up(db):
    search_index.create(db)
    db["search_help"].create({"key": str, "title_zh": str, "title_en": str, "how": str, "sql": str}, pk="key")
    search_index.write_help(db)
    search_index.rebuild(db)
