"""A second Chinese index, ``articles_fts_bigram``, so ranked search stays fast at a million articles.

``articles_fts`` (0005) gives every ideograph its own token: a query of two or more characters is a
phrase whose lists are those of single characters, and at 1M articles reading the lists of 兰 and
铝 to find 兰铝 took 0.1-0.6 s. This contentless FTS5 table holds the bigrams of every run of two or
more ideographs (``archiver.search.zh.bigram_shadow``), so such a query reads the far shorter lists
of its bigrams. The canned ``search`` query uses it whenever every word of the query is 2+
ideographs only; anything else (1 character, Latin, digits) still goes to ``articles_fts``.
Triggers keep it in step like the first index; ``search_help`` is rewritten with the new SQL.
Built-in FTS5 only: a plain Datasette or sqlite3 opens the file as before.
"""
from archiver.db import search_index

NAME = "0008_search_bigrams"


def up(db):
    search_index.create_bigram(db)
    search_index.rebuild_bigram(db)
    search_index.write_help(db)
