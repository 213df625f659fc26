"""A crawl on many machines (issue #14): a shared frontier on Redis, workers that fetch and
extract, one writer that owns the archive.

* :mod:`.keys`: every Redis key a crawl uses, under one prefix (one crawl per prefix at a time).
* :mod:`.connect`: the Redis connection, and the one-line error when it cannot be reached.
* :mod:`.frontier`: the scrapy-redis scheduler and dupefilter, with an in-flight list per worker
  (a killed worker's requests go back to the queue) and the crawl's end across workers.
* :mod:`.knowledge`: what incremental runs ask of the archive, copied into Redis at the start, so
  workers never open the SQLite file.
* :mod:`.politeness`: per-host concurrency and spacing shared by every worker.
* :mod:`.stream`: items to and from the Redis stream the writer reads.
* :mod:`.writer`: the one process that writes the archive (acknowledges after commit).
* :mod:`.coordinator`: ``archiver crawl --redis``: seeds, starts workers and the writer, reports.

docs/distributed.md has the design, the operator's guide and the failure modes.
"""
