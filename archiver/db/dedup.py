"""The archive's side of deduplication: sightings, revisions and near-duplicate links.

Called by ``Archive.upsert_article`` inside its transaction (Archive stays the only writer).
How one fetched article page is stored:

1. **Known URL** (a sighting with this URL exists): unchanged content only moves ``last_seen``
   (the cheap path, also taken by a 304 revalidation); changed content keeps the earlier version
   in ``revisions`` and updates the sighting, and the article row when it is the primary one.
2. **Same page, other URL** (a sighting with the same canonical URL: an alias host): a new
   sighting of that article.
3. **Exact duplicate** (a sighting, or an earlier revision, with the same ``body_key``): a new
   sighting of that article; outcome ``duplicate``.
4. Otherwise a **new article**, whose near-duplicates are looked up in the LSH index and linked.

After 1-3 the primary sighting is chosen again (``archiver.dedup.primary``); when it moves, the
article row takes the new primary's fields and the former primary keeps its text in
``sightings.body`` (the primary's text is the article's ``body``; other sightings keep their own).
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any

from archiver.dedup import near
from archiver.dedup.primary import primary_key
from archiver.dedup.text import body_key

# Fields a sighting copies from the record (the page as shown at that URL).
SIGHTING_FIELDS = ("url", "canonical_url", "site", "channel", "title", "source", "published_at", "doc_id",
                   "url_date")
# Article columns a sighting can restore when it becomes primary without its full record at hand.
FROM_SIGHTING = SIGHTING_FIELDS + ("content_hash", "raw_page_id")


def site_role(site: str | None) -> str | None:
    """The registry role of a site id (None for hosts outside the registry)."""
    if not site:
        return None
    from archiver.sites import load_network
    for s in load_network().sites:
        if s.id == site:
            return s.role
    return None


class DedupStore:
    def __init__(self, db):
        self.db = db

    # ---------------------------------------------------------------- helpers
    def _row(self, sql: str, params) -> dict | None:
        cur = self.db.execute(sql, params)
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row))

    def _rows(self, sql: str, params) -> list[dict]:
        cur = self.db.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    # ---------------------------------------------------------------- the entry point
    def store(self, values: dict[str, Any], record: dict[str, Any], *, content_hash: str, raw_id: int,
              run_id: int | None, now: str, refresh: dict[str, Any] | None = None) -> tuple[str, int]:
        """Store one page; returns (outcome, article id). Outcome: new | changed | unchanged | duplicate.

        ``refresh``: article columns an unchanged page still updates when it is the primary sighting.
        """
        url = values["url"]
        sighting = self._row("select * from sightings where url = ?", [url])
        if sighting is not None and sighting["content_hash"] == content_hash:
            self.db.execute("update sightings set last_seen = ?, last_run_id = ? where id = ?",
                            [now, run_id, sighting["id"]])
            extra = refresh if refresh and sighting["is_primary"] else {}
            sets = "".join(f", {c} = ?" for c in extra)
            self.db.execute(f"update articles set last_seen = ?, last_run_id = ?{sets} where id = ?",
                            [now, run_id, *extra.values(), sighting["article_id"]])
            return "unchanged", sighting["article_id"]

        bkey = body_key(record.get("body"), record.get("title"))
        role = record.get("site_role") or site_role(values.get("site"))
        page = {**{f: values.get(f) for f in SIGHTING_FIELDS}, "site_role": role, "body_key": bkey,
                "content_hash": content_hash, "raw_page_id": raw_id}
        if sighting is not None:
            return "changed", self._changed(sighting, page, values, record, run_id, now)

        article_id = self._article_for(page)
        if article_id is None:
            return "new", self._new_article(page, values, run_id, now)
        sid = self.db["sightings"].insert({
            **page, "article_id": article_id, "body": record.get("body"), "is_primary": 0, "first_seen": now,
            "last_seen": now, "last_changed": now, "first_run_id": run_id, "last_run_id": run_id}).last_pk
        self.db.execute("update articles set last_seen = ?, last_run_id = ? where id = ?", [now, run_id, article_id])
        self._choose_primary(article_id, held=(sid, values), now=now)
        return "duplicate", article_id

    def add_aliases(self, url: str, aliases: list[str], *, run_id: int | None, now: str) -> int:
        """URLs that redirected (within the network) to the page stored at ``url``: each becomes a
        sighting of the same article (not primary, no text of its own). Returns how many are new."""
        sighting = self._row("select * from sightings where url = ?", [url])
        if sighting is None:
            return 0
        added = 0
        for alias in dict.fromkeys(a for a in aliases if a and a != url):
            known = self._row("select id from sightings where url = ?", [alias])
            if known is not None:
                self.db.execute("update sightings set last_seen = ?, last_run_id = ? where id = ?",
                                [now, run_id, known["id"]])
                continue
            row = {k: v for k, v in sighting.items() if k != "id"}
            row.update(url=alias, canonical_url=alias, is_primary=0, body=None, first_seen=now, last_seen=now,
                       last_changed=now, first_run_id=run_id, last_run_id=run_id)
            self.db["sightings"].insert(row)
            added += 1
        return added

    def _article_for(self, page: dict) -> int | None:
        row = self._row("select article_id from sightings where canonical_url = ? order by article_id limit 1",
                        [page["canonical_url"]])
        if row:
            return row["article_id"]
        if not page["body_key"]:
            return None
        row = self._row("select article_id from sightings where body_key = ? order by article_id limit 1",
                        [page["body_key"]])
        if row:
            return row["article_id"]
        row = self._row("select article_id from revisions where body_key = ? order by article_id limit 1",
                        [page["body_key"]])
        return row["article_id"] if row else None

    # ---------------------------------------------------------------- new article
    def _new_article(self, page: dict, values: dict, run_id, now) -> int:
        pk = self.db["articles"].insert({
            **values, "content_hash": page["content_hash"], "raw_page_id": page["raw_page_id"], "first_seen": now,
            "last_seen": now, "last_changed": now, "first_run_id": run_id, "last_run_id": run_id,
        }).last_pk
        self.db.execute("update articles set story_id = ? where id = ?", [pk, pk])
        self.db["sightings"].insert({**page, "article_id": pk, "body": None, "is_primary": 1, "first_seen": now,
                                     "last_seen": now, "last_changed": now, "first_run_id": run_id,
                                     "last_run_id": run_id})
        self.index_near_duplicates(pk, values.get("body"), now=now)
        return pk

    # ---------------------------------------------------------------- revisions
    def _changed(self, sighting: dict, page: dict, values: dict, record: dict, run_id, now) -> int:
        article_id = sighting["article_id"]
        if sighting["is_primary"]:
            old = self._row("select title, source, published_at, body, content_hash, raw_page_id, last_changed, "
                            "first_seen from articles where id = ?", [article_id])
            old_body = old["body"]
        else:
            old = sighting
            old_body = sighting["body"]
        self.db["revisions"].insert({
            "article_id": article_id, "sighting_id": sighting["id"], "url": sighting["url"],
            "captured_at": sighting["last_changed"] or sighting["first_seen"], "superseded_at": now,
            "title": old["title"], "source": old["source"], "published_at": old["published_at"], "body": old_body,
            "body_key": sighting["body_key"], "content_hash": old["content_hash"], "raw_page_id": old["raw_page_id"],
        })
        self.db["sightings"].update(sighting["id"], {
            **page, "body": None if sighting["is_primary"] else record.get("body"), "last_seen": now,
            "last_changed": now, "last_run_id": run_id})
        if sighting["is_primary"]:
            self.db["articles"].update(article_id, {
                **values, "content_hash": page["content_hash"], "raw_page_id": page["raw_page_id"], "last_seen": now,
                "last_changed": now, "last_run_id": run_id})
            if page["body_key"] != sighting["body_key"]:
                self.index_near_duplicates(article_id, values.get("body"), now=now)
        else:
            self.db.execute("update articles set last_seen = ?, last_run_id = ? where id = ?",
                            [now, run_id, article_id])
        self._choose_primary(article_id, held=(sighting["id"], values), now=now)
        return article_id

    # ---------------------------------------------------------------- primary sighting
    def _choose_primary(self, article_id: int, *, held: tuple[int, dict], now: str) -> None:
        """Make the sighting the rule prefers primary; ``held`` is the sighting whose full record is at hand."""
        sightings = self._rows("select * from sightings where article_id = ?", [article_id])
        best = min(sightings, key=primary_key)
        current = next((s for s in sightings if s["is_primary"]), None)
        if current is not None and best["id"] == current["id"]:
            return
        article = self._row("select a.body as body, s.body_key as body_key from articles a join sightings s "
                            "on s.article_id = a.id and s.is_primary = 1 where a.id = ?", [article_id])
        if current is not None:
            self.db.execute("update sightings set is_primary = 0, body = ? where id = ?",
                            [article["body"] if article else None, current["id"]])
        self.db.execute("update sightings set is_primary = 1, body = null where id = ?", [best["id"]])
        held_id, held_values = held
        if best["id"] == held_id:
            update = {**held_values, "content_hash": best["content_hash"], "raw_page_id": best["raw_page_id"]}
        else:   # the new primary's full record is not at hand: take what its sighting row knows
            update = {f: best[f] for f in FROM_SIGHTING}
            update["body"] = best["body"]
            sid_site = best["site"]
            update["site_name"] = None if sid_site is None else self._site_name(sid_site)
        self.db["articles"].update(article_id, update)
        if (article or {}).get("body_key") != best["body_key"]:
            self.index_near_duplicates(article_id, update.get("body"), now=now)

    def _site_name(self, site: str) -> str | None:
        from archiver.sites import load_network
        return next((s.name for s in load_network().sites if s.id == site), None)

    # ---------------------------------------------------------------- near-duplicates
    def index_near_duplicates(self, article_id: int, body: str | None, *, now: str) -> list[tuple[int, float]]:
        """(Re)index one article's text and link it to its near-duplicates; returns the links made."""
        neighbours = {r[0] for r in self.db.execute(
            "select article_id_b from near_duplicates where article_id_a = ? union "
            "select article_id_a from near_duplicates where article_id_b = ?", [article_id, article_id])}
        self.db.execute("delete from near_duplicates where article_id_a = ? or article_id_b = ?",
                        [article_id, article_id])
        self.db.execute("delete from dedup_lsh where article_id = ?", [article_id])
        self.db.execute("delete from dedup_signatures where article_id = ?", [article_id])
        fp = near.fingerprint(body)
        links: list[tuple[int, float]] = []
        if fp.shingles:
            keys = fp.band_keys()
            # Candidates: the newest BUCKET_CAP articles of each band key (near.py "Bounded work");
            # then one query for their stored features. The cheap checks (size, signature estimate,
            # then the dates and numbers guards) run before any text is read.
            newest = " union ".join(["select * from (select article_id from dedup_lsh where key = ? "
                                     "order by article_id desc limit ?)"] * len(keys))
            features = {cid: (sig, n, numbers, dates) for cid, sig, n, numbers, dates in self.db.execute(
                f"select article_id, signature, shingles, numbers, dates from dedup_signatures "
                f"where article_id in ({newest}) and article_id != ? order by article_id",
                [*(v for k in keys for v in (k, near.BUCKET_CAP)), article_id])}
            ranked = near.prescreen_estimates(fp, [(cid, f[0], f[1]) for cid, f in features.items()])
            for cid in ranked[:near.MAX_CHECKED]:
                numbers, dates = features[cid][2:]
                if near.prescreen_guards(fp, Counter(json.loads(numbers or "[]")), frozenset(json.loads(dates or "[]"))):
                    links += self._verify_and_link(article_id, fp, cid, now)
            self.db.execute("insert into dedup_signatures (article_id, method, signature, shingles, numbers, dates) "
                            "values (?, ?, ?, ?, ?, ?)",
                            [article_id, near.METHOD, fp.signature_bytes(), len(fp.shingles),
                             json.dumps(sorted(fp.numbers.elements()), ensure_ascii=False),
                             json.dumps(sorted(fp.dates))])
            self.db.conn.executemany("insert or ignore into dedup_lsh (key, article_id) values (?, ?)",
                                     [(k, article_id) for k in keys])
        self._recompute_stories({article_id, *neighbours, *(c for c, _ in links)})
        return links

    def _verify_and_link(self, article_id: int, fp, cid: int, now: str) -> list[tuple[int, float]]:
        body = self.db.execute("select body from articles where id = ?", [cid]).fetchone()
        verdict = near.verify(fp, near.fingerprint(body[0] if body else None, signature=False))
        if not verdict.near:
            return []
        a, b = sorted((article_id, cid))
        self.db.execute("insert or replace into near_duplicates (article_id_a, article_id_b, similarity, method, "
                        "created_at, details) values (?, ?, ?, ?, ?, ?)",
                        [a, b, round(verdict.jaccard, 4), near.METHOD, now, json.dumps(verdict.details())])
        return [(cid, verdict.jaccard)]

    def _recompute_stories(self, seeds: set[int]) -> None:
        """story_id = the smallest article id of each near-duplicate component touching ``seeds``."""
        done: set[int] = set()
        for seed in seeds:
            if seed in done:
                continue
            component, todo = {seed}, [seed]
            while todo:
                n = todo.pop()
                for (m,) in self.db.execute("select article_id_b from near_duplicates where article_id_a = ? union "
                                            "select article_id_a from near_duplicates where article_id_b = ?", [n, n]):
                    if m not in component:
                        component.add(m)
                        todo.append(m)
            story = min(component)
            marks = ",".join("?" * len(component))
            self.db.execute(f"update articles set story_id = ? where id in ({marks})", [story, *component])
            done |= component

    # ---------------------------------------------------------------- archives stored before dedup
    def reindex(self, *, now: str) -> dict[str, int]:
        """Merge exact duplicates stored as separate articles, then index unindexed articles."""
        for sid, body, title in self.db.execute(
                "select s.id, coalesce(s.body, a.body), s.title from sightings s join articles a on a.id = s.article_id "
                "where s.body_key is null").fetchall():
            self.db.execute("update sightings set body_key = ? where id = ?", [body_key(body, title), sid])
        merged = 0
        groups = self.db.execute(
            "select body_key from sightings where body_key is not null group by body_key "
            "having count(distinct article_id) > 1").fetchall()
        for (key,) in groups:
            sightings = self._rows("select * from sightings where body_key = ? and is_primary = 1", [key])
            if len(sightings) < 2:
                continue
            target = min(sightings, key=primary_key)["article_id"]
            for s in sightings:
                if s["article_id"] != target:
                    self._merge_article(s["article_id"], target)
                    merged += 1
        indexed = links = 0
        for (aid, body) in self.db.execute(
                "select id, body from articles where id not in (select article_id from dedup_signatures) "
                "order by id").fetchall():
            links += len(self.index_near_duplicates(aid, body, now=now))
            indexed += 1
        return {"merged": merged, "indexed": indexed, "links": links}

    def _merge_article(self, source: int, target: int) -> None:
        """Fold article ``source`` (an exact duplicate) into ``target``: its sightings and revisions move."""
        body = self.db.execute("select body from articles where id = ?", [source]).fetchone()[0]
        self.db.execute("update sightings set body = ? where article_id = ? and is_primary = 1", [body, source])
        self.db.execute("update sightings set article_id = ?, is_primary = 0 where article_id = ?", [target, source])
        self.db.execute("update revisions set article_id = ? where article_id = ?", [target, source])
        neighbours = {r[0] for r in self.db.execute(
            "select article_id_b from near_duplicates where article_id_a = ? union "
            "select article_id_a from near_duplicates where article_id_b = ?", [source, source])}
        self.db.execute("delete from near_duplicates where article_id_a = ? or article_id_b = ?", [source, source])
        self.db.execute("delete from dedup_lsh where article_id = ?", [source])
        self.db.execute("delete from dedup_signatures where article_id = ?", [source])
        self.db.execute("delete from articles where id = ?", [source])
        self._recompute_stories(neighbours - {source} | {target})
