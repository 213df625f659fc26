"""The development harness of chinalco-archive: what the tests, benchmarks and fixture work need
and a production crawl never does.

* ``harness.replica``: the offline replica of the network (fixture cases, or a generated
  network) served at the real URLs through a forward proxy on 127.0.0.1;
  ``archiver crawl --replica[=SPEC]`` crawls it (:mod:`harness.replica.hook`).
* ``harness.fixturegen``: the generator and the structural checker of the fixture cases.
* ``harness.fixturetools``: ``archiver fixtures record|check`` (record a saved page as a case,
  check every case against the extraction).
* ``harness.evaluation`` / ``harness.evaladapter``: scoring against ``../shared/evaldata``.

It is a distribution of its own (``harness/pyproject.toml``, installed by ``setup.sh``); the
installed ``archiver`` never imports it. It plugs into the ``archiver`` command through two entry
point groups: ``archiver.commands`` (extra command groups) and ``archiver.replica`` (what
``--replica`` starts).
"""
