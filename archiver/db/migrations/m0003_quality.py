"""Quality of each article (archiver/quality.py) and the review queue of articles that are not good.

``quality`` is ``good`` | ``low`` | ``bad``, ``quality_score`` 0..1, ``quality_flags`` a JSON list of
short reason codes (``date_from_url``, ``body_from_fallback`` …). ``credits`` (JSON list) holds the
reporters credited in the text, kept apart from the 作者 in ``author``. Rows stored before this
migration have NULL quality until they are extracted again; the review queue leaves them out.
"""
NAME = "0003_quality"

REVIEW_QUEUE = """
create view if not exists review_queue as
select id, site, url, canonical_url, title, published_at, quality, quality_score,
       quality_flags as flags, first_seen, last_seen
from articles
where quality is not null and quality != 'good'
order by coalesce(published_at, first_seen) desc, first_seen desc
"""


def up(db):
    articles = db["articles"]
    existing = set(articles.columns_dict)
    for name, kind in (("quality", str), ("quality_score", float), ("quality_flags", str), ("credits", str)):
        if name not in existing:
            articles.add_column(name, kind)
    articles.create_index(["quality"], if_not_exists=True)
    articles.create_index(["site", "quality"], if_not_exists=True)
    db.execute(REVIEW_QUEUE)
