"""Chinese search rule 3: one phrase index for every query, a small character index beside it.

Issue 12 allows the indexes up to 2x the text they index; with rule 2 (0005 + 0008) they were
2.3-2.8x. This migration drops both indexes and builds them again (``search_index.rebuild``):

* ``articles_fts_bigram`` now also holds each run's first and last ideograph, Latin words and
  digits and the punctuation barrier (``archiver.search.zh.bigram_shadow``), so it answers mixed
  words (2026年, ESG报告) and every other query by itself;
* ``articles_fts`` keeps only which articles hold each ideograph (``detail=column``, no positions):
  it answers queries made of lone ideographs (铝, 铝 OR 锌), about a third of its old size;
* both put ``body`` before ``title`` (FTS5 spends two bytes on every hit outside the first column).

The triggers call new function names (``zh_chars3``, ``zh_bigrams3``) so that an older archiver
writing to a converted archive fails loudly instead of writing rule-2 tokens. ``search_help`` is
rewritten with the new SQL. Built-in FTS5 only: a plain Datasette or sqlite3 opens the file as before.
"""
from archiver.db import search_index

NAME = "0009_search_bigram_edges"


def up(db):
    search_index.drop_triggers(db)
    db.execute(f"drop table if exists {search_index.FTS_TABLE}")
    db.execute(f"drop table if exists {search_index.BIGRAM_TABLE}")
    search_index.create(db)
    search_index.create_bigram(db)
    search_index.rebuild(db, batch=5000)
    search_index.write_help(db)
