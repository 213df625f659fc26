-- Canned queries for Datasette over the deduplication tables (issue #4).
-- Each block starts with "-- name:", then "-- title:" and "-- description:" lines, then the SQL.
-- archiver.dedup.datasette.canned_queries() turns this file into the "queries" mapping of a
-- database in Datasette metadata. The views they use (stories, article_sightings,
-- near_duplicate_pairs) are created by migration 0004.

-- name: article_by_url
-- title: Find the article of a URL
-- description: Any URL the crawler fetched (canonical, alias host, re-post) leads to its article.
select a.id as article_id, a.title, a.published_at, a.canonical_url as primary_url, a.story_id,
       s.url as sighting_url, s.site as sighting_site, s.is_primary
from sightings s join articles a on a.id = s.article_id
where s.url = :url or s.canonical_url = :url

-- name: article_sightings_for
-- title: Where an article ran
-- description: Every page the article was seen on: site, channel, the title and 来源 shown there, first and last seen. The primary sighting is the one the article row shows.
select * from article_sightings where article_id = :article_id
order by is_primary desc, published_at, doc_id

-- name: article_revisions_for
-- title: Earlier versions of an article
-- description: Versions of the article's pages that a later crawl found changed; the article row shows the latest.
select r.id, r.url, r.captured_at, r.superseded_at, r.title, r.source, r.published_at, r.body
from revisions r where r.article_id = :article_id order by r.superseded_at, r.id

-- name: article_near_duplicates_for
-- title: Near-duplicates of an article
-- description: Articles that tell the same story in a different text (headline, lead, a paragraph or caption changed), with the similarity (Jaccard of character 5-grams) and the method.
select case when n.article_id_a = :article_id then n.article_id_b else n.article_id_a end as other_article_id,
       case when n.article_id_a = :article_id then n.title_b else n.title_a end as other_title,
       case when n.article_id_a = :article_id then n.url_b else n.url_a end as other_url,
       n.similarity, n.method, n.created_at
from near_duplicate_pairs n
where n.article_id_a = :article_id or n.article_id_b = :article_id
order by n.similarity desc

-- name: story_counts_by_month
-- title: Stories, articles and pages per month
-- description: Stories count near-duplicates once; articles count exact copies once; pages count every URL.
select substr(a.published_at, 1, 7) as month, count(distinct a.story_id) as stories, count(*) as articles,
       sum((select count(*) from sightings s where s.article_id = a.id)) as pages
from articles a where a.published_at is not null
group by month order by month desc

-- name: stories_mentioning
-- title: Count the stories that mention a phrase
-- description: Coverage of a topic, counted in stories rather than pages (title or body contains the phrase).
select count(distinct a.story_id) as stories, count(*) as articles,
       sum((select count(*) from sightings s where s.article_id = a.id)) as pages
from articles a
where a.title like '%' || :phrase || '%' or a.body like '%' || :phrase || '%'
