"""Item pipelines: what happens to the items the spider yields, one step per module.

``stats`` counts what every article says in the crawl stats; ``store`` is the only step that
writes the archive. Extraction happens before, in the spider, where the response is
(archiver/reading.py).
"""
