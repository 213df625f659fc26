"""The SQL a researcher runs to search the archive, kept in one place.

The same text goes into the canned queries of ``archiver/metadata.yml`` (a test keeps them
identical) and into the ``search_help`` table inside the archive, so that a plain Datasette with
no plugin and no metadata can still search: paste the SQL into the SQL editor, type the query.
Everything here is plain SQLite (FTS5 with its built-in tokenizer, a recursive CTE, window
functions: SQLite 3.25 or later): no extension.

How results are ordered: the newest ``RANK_WINDOW`` matching articles (by id, the order the archive
stored them), those with the words in their headline first, then the rest, newest first. FTS5's
bm25 is not used: to weigh a phrase it first counts every article holding it, which at a million
articles cost 0.1-0.5 s for a common phrase (docs/search.md) - the whole budget ten times over.
"""
from __future__ import annotations

from .zh import FTS_QUERY_CTE, RULE_VERSION

# How many of the newest matching articles are ordered (headline hits first). When a query matches
# more (a common character such as 铝 at 1M articles), older matches are reached through the
# articles table's ?_search= (every match, by date) or by adding a word.
RANK_WINDOW = 5000
# Headline hits are looked for among the newest HEADLINE_WINDOW matches (the headline test reads the
# position lists of the matches in that id range: a few ms for 5,000 on the 100k fixture corpus).
HEADLINE_WINDOW = RANK_WINDOW
RESULT_LIMIT = 50
EXCERPT_BEFORE = 40
EXCERPT_AFTER = 80

_MATCH = "(select case when expr = '' then '\"\"' else expr end from fts_query)"


def search_sql(window: int = RANK_WINDOW, limit: int = RESULT_LIMIT, headline_window: int = HEADLINE_WINDOW) -> str:
    """The canned ``search`` query (``window``/``limit`` are parameters only for the benchmark)."""
    return f"""-- 中文全文检索: the newest {window} matches, those with every word in the headline first, then newest
-- first; excerpt around the first word, hit in 【】.
with recursive
{FTS_QUERY_CTE},
hits as (
  select rowid as id from articles_fts where articles_fts match {_MATCH}
  order by rowid desc limit {window}
),
headline_from(lo) as (
  select min(id) from (select id from hits order by id desc limit {headline_window})
),
in_headline as (
  -- matches among the newest {headline_window} with every word in the headline. (No ORDER BY here: with
  -- ORDER BY rowid DESC, FTS5 in SQLite 3.40 ignored the lower rowid bound and read every match.)
  select rowid as id from articles_fts
  where rowid >= (select lo from headline_from)
    and articles_fts match (select case when positive = '' then '""'
        else '{{title}} : (' || positive || ') AND (' || expr || ')' end from fts_query)
),
top as (
  select id, id in (select id from in_headline) as headline from hits order by headline desc, id desc limit {limit}
),
found as (
  select a.id, a.title, a.site_name, a.channel_label, a.source, a.published_at, a.url, a.body,
    top.headline, q.first as term,
    case when q.first = '' then 0 else instr(lower(a.body), lower(q.first)) end as at
  from top join articles a on a.id = top.id, fts_query q
)
select
  id, title, site_name, channel_label, source, published_at,
  replace(case when at > 0 then
      case when at > {EXCERPT_BEFORE} then '…' else '' end
      || substr(body, max(1, at - {EXCERPT_BEFORE}), at - max(1, at - {EXCERPT_BEFORE}))
      || '【' || substr(body, at, length(term)) || '】'
      || substr(body, at + length(term), {EXCERPT_AFTER}) || '…'
    else substr(body, 1, {EXCERPT_BEFORE + EXCERPT_AFTER}) || '…' end, char(10), ' ') as excerpt,
  case when headline then '标题 headline' else '正文 body' end as found_in,
  url
from found
order by headline desc, id desc"""


SEARCH_SQL = search_sql()

SEARCH_COUNT_SQL = f"""-- How many articles match, per site (the same query rule as `search`; not limited to a window).
with recursive
{FTS_QUERY_CTE}
select a.site_name, a.site, count(*) as articles,
  min(a.published_at) as earliest, max(a.published_at) as latest
from (select rowid as id from articles_fts where articles_fts match {_MATCH}) f
  join articles a on a.id = f.id
group by a.site
order by articles desc"""

CONTAINS_SQL = """-- Exact substring match without the index: unranked, reads every article (slow on a big archive).
select id, title, site_name, published_at, url from articles
where :q <> '' and (instr(title, :q) > 0 or instr(body, :q) > 0)
order by published_at desc
limit 100"""

MATCH_EXAMPLE_SQL = """-- The index directly: a word of Chinese is a phrase of its bigrams (兰州铝业 -> "兰州 州铝 铝业"), a
-- run's first/last character stands next to Latin and digits (2026年 -> "2026 年"), a lone character is one
-- token ("铝").
select a.id, a.title, a.published_at from articles_fts f join articles a on a.id = f.rowid
where articles_fts match '"兰铝" "职代 代会" "铝"'
order by a.id desc
limit 20"""


def help_rows() -> list[dict]:
    """Rows of the ``search_help`` table: how to search this file with any SQLite or Datasette."""
    return [
        {"key": "search", "title_zh": "中文全文检索（按相关度排序）", "title_en": "Chinese full-text search, ranked",
         "how": ("Datasette without this project's plugin: open the database page, paste `sql` into the SQL "
                 "editor, press Run, type the words into the q box that appears (e.g. 兰铝, 职工代表大会, "
                 "2026年, 兰州铝业 职代会) and Run again. Words separated by spaces must all occur; "
                 "\"quoted text\" is one word; 兰铝 OR 中铝 finds either; -中铝 (or NOT 中铝) excludes a word. With `archiver serve` the same query is the canned query "
                 "`search`. 在SQL编辑器中粘贴sql列的语句并运行，在q框中输入检索词。"),
         "sql": SEARCH_SQL},
        {"key": "search_count", "title_zh": "检索结果按网站计数", "title_en": "Matches per site",
         "how": "Like `search`: paste `sql`, type the words into q. Counts every match (no ranking window).",
         "sql": SEARCH_COUNT_SQL},
        {"key": "contains", "title_zh": "不用索引的精确匹配", "title_en": "Exact substring, no index",
         "how": ("No SQL needed: on the articles table choose the filter `body` `contains` (URL "
                 "`?body__contains=兰铝`, or `?title__contains=`). Exact and works in any Datasette, but "
                 "unranked and it reads every row (~0.5 s per million articles). Or paste `sql` and type q."),
         "sql": CONTAINS_SQL},
        {"key": "index", "title_zh": "索引规则", "title_en": "How the index is made",
         "how": (f"articles_fts is a contentless FTS5 index (built-in unicode61 tokenizer) of body and title, "
                 f"keyed by articles.id, rule {RULE_VERSION}. Each column is a stream of tokens: each run of "
                 f"Chinese characters as its first character, every pair of neighbours and its last character "
                 f"(兰州铝业 -> 兰 兰州 州铝 铝业 业); ASCII letters/digits stay whole words (ESG, 2026), "
                 f"full-width ones fold to ASCII; a run of punctuation is one barrier token. After a separator "
                 f"token come the column's distinct Chinese characters, once each. A query word becomes a "
                 f"phrase: 兰州铝业 -> \"兰州 州铝 铝业\", 2026年 -> \"2026 年\", ESG报告 -> \"ESG 报 报告\", "
                 f"铝 -> \"铝\"; consecutive positions make it a substring test, so 1-, 2-, 3- and 4+-character "
                 f"and mixed queries are exact. Latin words match whole words only (AI does not find OpenAI)."),
         "sql": MATCH_EXAMPLE_SQL},
    ]


if __name__ == "__main__":
    # Print the two canned queries indented for archiver/metadata.yml (tests/test_datasette.py
    # checks that the copies there are identical to these).
    for name, sql in (("search", SEARCH_SQL), ("search_count", SEARCH_COUNT_SQL)):
        print(f"# {name}:\n          " + "\n          ".join(sql.splitlines()) + "\n")
