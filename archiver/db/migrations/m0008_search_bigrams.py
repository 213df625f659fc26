"""Rule 2's second Chinese index, ``articles_fts_bigram`` (since 0009: nothing).

Until issue 12 was finished this migration created ``articles_fts_bigram``, a contentless FTS5
table of the bigrams of every run of ideographs, beside the per-character ``articles_fts``.
Migration ``0009_search_bigram_edges`` replaced both with one index (rule 3) and drops this table
from archives that have it; on an archive that has not reached 0008 yet, creating and filling the
table only for 0009 to drop it would index every article twice, so this step does nothing now.
"""

NAME = "0008_search_bigrams"


def up(db):
    pass
