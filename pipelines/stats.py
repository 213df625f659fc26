"""Count what every article says, in the crawl stats (nothing is changed or dropped here).

* ``archiver/quality/<verdict>`` and ``archiver/quality_by_site/<site>/<verdict>``: a site whose
  template changed shows up as a jump of ``low`` in its counts on the next crawl;
* ``archiver/field/<name>/missing`` for the fields a reader expects;
* ``archiver/extraction/<field>/<method>``: which layer answered each field;
* ``archiver/dedupe/alias_url``: an article fetched at a URL whose canonical form differs (the
  store folds it onto the article: archiver/db/dedup.py).
"""
from __future__ import annotations

from archiver.items import ArticleRecord
from pipelines.base import CrawlerPipeline

COUNTED = ("title", "source", "author", "published_at", "body", "breadcrumb")


class ArticleStatsPipeline(CrawlerPipeline):

    def process_item(self, item):
        if not isinstance(item, ArticleRecord):
            return item
        f = item.fields
        quality = f.get("quality") or "unknown"
        self.stats.inc_value(f"archiver/quality/{quality}")
        self.stats.inc_value(f"archiver/quality_by_site/{f.get('site') or 'unknown'}/{quality}")
        for name in COUNTED:
            if not f.get(name):
                self.stats.inc_value(f"archiver/field/{name}/missing")
        for name, prov in (f.get("extraction") or {}).items():
            self.stats.inc_value(f"archiver/extraction/{name}/{prov['method']}")
        if item.canonical_url != item.url:
            self.stats.inc_value("archiver/dedupe/alias_url")
        return item
