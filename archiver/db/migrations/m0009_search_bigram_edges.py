"""Chinese search rule 3: one index of bigrams, run edges and distinct ideographs for every query.

Issue 12 allows the index up to 2x the text it indexes, for ranked top-20 search under 50 ms at a
million articles. Rule 2 (0005 + 0008) kept two indexes, per-character phrases in ``articles_fts``
and bigrams in ``articles_fts_bigram``: 2.3-2.8x the text. This migration drops both and builds
``articles_fts`` again (``search_index.rebuild``) with ``archiver.search.zh.index_shadow``: per
column, each run of ideographs as its first ideograph, its bigrams and its last ideograph (so
2026年 and ESG报告 are phrases too), Latin words, digits and the punctuation barrier, then a
separator and the column's distinct ideographs (so 铝 is one token, and 铝 2026年 one FTS5 AND);
``body`` before ``title`` (FTS5 spends two bytes on every hit outside the first column).

The triggers call a new function name (``zh_index3``) so that an older archiver writing to a
converted archive fails loudly instead of writing rule-2 tokens. ``search_help`` is rewritten with
the new SQL. Built-in FTS5 only: a plain Datasette or sqlite3 opens the file as before.

On a file that already has this definition (a new archive: 0005 created it with today's rule and
indexed what there was) only the help and the triggers are written again.
"""
from archiver.db import search_index

NAME = "0009_search_bigram_edges"


def up(db):
    if search_index.is_current(db):
        search_index.drop_triggers(db)
        search_index.create_triggers(db)
    else:
        search_index.drop_triggers(db)
        db.execute(f"drop table if exists {search_index.OLD_BIGRAM_TABLE}")
        db.execute(f"drop table if exists {search_index.FTS_TABLE}")
        search_index.create(db)
        search_index.rebuild(db, batch=5000)
    search_index.write_help(db)
