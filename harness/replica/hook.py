"""What ``archiver crawl --replica[=SPEC]`` starts (entry point group ``archiver.replica``).

SPEC is empty or ``key=value`` pairs separated by commas:

* ``state=t2``: the fixture cases in that state (default ``t1``; see fixtures/README.md);
* ``fixtures=DIR``: another fixture folder (default: the repository's ``fixtures/``);
* ``generated=N`` / ``new=K``: a generated network of N articles, K of them new since its
  snapshot (:mod:`harness.replica.generated`);
* ``url=http://127.0.0.1:PORT``: a replica that is already running (``python -m
  harness.replica``, or a test's server): nothing is started.

The crawl then runs the production code unchanged, through the replica's proxy, with the timing
values of :data:`SETTINGS` (no politeness delay on a loopback server).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .cases import DEFAULT_STATE
from .server import ReplicaServer

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

# Timing only: every component stays the one the real network gets.
SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "DOWNLOAD_DELAY_JITTER": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "DOWNLOAD_TIMEOUT": 4,
    "RETRY_TIMES": 1,
    "ARCHIVER_PROGRESS_INTERVAL": 2.0,
    "ARCHIVER_REPLICA": True,          # no contact warning: the real network is not reached
}
KEYS = ("state", "fixtures", "generated", "new", "url")


@dataclass
class ReplicaSession:
    """A replica the crawl goes through: its proxy, a label for the operator, the settings it
    needs, and how to stop it."""
    proxy_url: str
    label: str
    settings: dict = field(default_factory=lambda: dict(SETTINGS))
    stop: Callable[[], None] = lambda: None


def parse_spec(spec: str | None) -> dict[str, str]:
    """``"generated=100,new=5"`` -> ``{"generated": "100", "new": "5"}``; ValueError on an unknown key."""
    out: dict[str, str] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in KEYS:
            raise ValueError(f"--replica takes key=value pairs ({', '.join(KEYS)}), not {part.strip()!r}")
        out[key] = value.strip()
    if "url" in out and len(out) > 1:
        raise ValueError("--replica url=... names a running replica; it takes no other key")
    if "new" in out and "generated" not in out:
        raise ValueError("--replica new=K needs generated=N")
    return out


def _count(opts: dict[str, str], key: str) -> int:
    try:
        n = int(opts.get(key) or 0)
    except ValueError:
        raise ValueError(f"--replica {key}= takes a whole number, not {opts[key]!r}") from None
    if n < 0:
        raise ValueError(f"--replica {key}= must be 0 or more")
    return n


def start(spec: str | None) -> ReplicaSession:
    """Start (or name) the replica SPEC describes. ValueError for a bad SPEC."""
    opts = parse_spec(spec)
    if "url" in opts:
        return ReplicaSession(opts["url"], f"replica at {opts['url']}")
    generated, new = _count(opts, "generated"), _count(opts, "new")
    if generated:
        from .generated import GeneratedNetwork
        server = ReplicaServer(None, resolver=GeneratedNetwork(articles=generated, new=new).resolve)
        label = f"generated network of {generated} articles ({new} new)"
    else:
        fixtures = Path(opts.get("fixtures") or DEFAULT_FIXTURES)
        if not fixtures.is_dir():
            raise ValueError(f"--replica fixtures={fixtures}: no such folder")
        server = ReplicaServer(fixtures, state=opts.get("state") or DEFAULT_STATE)
        label = f"state {server.state}"
    server.start()
    return ReplicaSession(server.proxy_url, label, stop=server.stop)
