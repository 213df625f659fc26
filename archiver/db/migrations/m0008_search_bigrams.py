"""A second Chinese index, ``articles_fts_bigram``, so ranked search stays fast at a million articles.

``articles_fts`` (0005) gives every ideograph its own token: a query of two or more characters is a
phrase whose lists are those of single characters, and at 1M articles reading the lists of 兰 and
铝 to find 兰铝 took 0.1-0.6 s. This contentless FTS5 table holds the bigrams of every run of two or
more ideographs (``archiver.search.zh.bigram_shadow``), so such a query reads the far shorter lists
of its bigrams. The canned ``search`` query uses it whenever every word of the query is 2+
ideographs only; anything else (1 character, Latin, digits) still goes to ``articles_fts``.
Triggers keep it in step like the first index. (Since 0009 this migration only creates the
table: 0009 defines its rule 3 content and fills it.)
Built-in FTS5 only: a plain Datasette or sqlite3 opens the file as before.
"""
from archiver.db import search_index

NAME = "0008_search_bigrams"


def up(db):
    # The index is created with today's definition and filled by 0009, which rebuilds both indexes
    # with rule 3 right after this one (filling it here too would index every article twice).
    search_index.create_bigram(db)
