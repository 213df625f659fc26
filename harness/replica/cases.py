"""Fixture cases: the saved responses the replica serves at their real URLs.

A case is a folder holding ``response.json`` (url, status, headers, body file, delay, states,
only_in) and the raw body file; see ``fixtures/README.md``. :func:`load_cases` reads every case
below a fixtures folder for one *state* of the network and returns them keyed by normalised URL.

Malformed cases are skipped, logged and reported (``skipped=`` list); duplicate URLs within a
state are a hard error (:class:`DuplicateURLError`) because the replica could not know which
page to serve.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

logger = logging.getLogger("harness.replica")

__all__ = [
    "Case",
    "DuplicateURLError",
    "FixtureError",
    "SkippedCase",
    "load_case",
    "load_cases",
    "load_not_found_body",
    "normalize_url",
    "DEFAULT_STATE",
    "NOT_FOUND_BODY",
]

DEFAULT_STATE = "t1"

#: Keys a ``states[name]`` override may set (besides ``absent``).
_OVERRIDABLE = frozenset({"status", "headers", "body", "delay"})

#: Fallback body of a 404 when ``fixtures/_replica/404.html`` does not exist.
NOT_FOUND_BODY = (
    b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>404 Not Found</title></head>\n"
    b"<body><h1>404 Not Found</h1><p>The requested URL is not in the replica.</p>"
    b"<hr><center>nginx</center></body></html>\n"
)


class FixtureError(ValueError):
    """A fixture case (or set of cases) that cannot be served."""


class DuplicateURLError(FixtureError):
    """Two case folders serve the same URL in the same state."""


@dataclass(frozen=True)
class SkippedCase:
    """A case folder that was not loaded, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _normalize_headers(headers: Any) -> tuple[tuple[str, str], ...]:
    if headers is None:
        return ()
    if isinstance(headers, Mapping):
        items: Iterable[Any] = headers.items()
    elif isinstance(headers, (list, tuple)):
        items = headers
    else:
        raise TypeError(f"headers must be an object or a list of [name, value] pairs, not {type(headers).__name__}")
    out: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise TypeError(f"header entry {item!r} is not a [name, value] pair")
        name, value = item
        if not isinstance(name, str) or not name or not isinstance(value, (str, int, float)):
            raise TypeError(f"header entry {item!r} must have a non-empty string name and a string value")
        value = str(value)
        if any(c in name for c in "\r\n: \t") or "\r" in value or "\n" in value:
            raise TypeError(f"header entry {item!r} contains forbidden characters")
        out.append((name, value))
    return tuple(out)


@dataclass(frozen=True)
class Case:
    """One response the replica serves.

    ``headers`` may be given as a dict or a list of ``(name, value)`` pairs; it is stored as a
    tuple of pairs (order and repeated names preserved). ``Content-Length`` is always computed by
    the server from ``body``.
    """

    url: str
    status: int = 200
    headers: Any = ()
    body: bytes = b""
    delay: float = 0.0
    source: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _normalize_headers(self.headers))
        if not isinstance(self.body, (bytes, bytearray, memoryview)):
            raise TypeError("Case.body must be bytes")
        object.__setattr__(self, "body", bytes(self.body))
        if isinstance(self.status, bool) or not isinstance(self.status, int) or not 100 <= self.status <= 999:
            raise ValueError(f"invalid status {self.status!r}")
        d = self.delay
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not math.isfinite(d) or d < 0:
            raise ValueError(f"invalid delay {self.delay!r}")
        object.__setattr__(self, "delay", float(d))

    def header(self, name: str, default: str | None = None) -> str | None:
        """First value of header *name* (case-insensitive)."""
        lname = name.lower()
        for k, v in self.headers:
            if k.lower() == lname:
                return v
        return default


# --------------------------------------------------------------------------- URLs

_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


def normalize_url(url: str) -> str:
    """Canonical form used as the lookup key.

    Scheme and host lower-cased, default port dropped, empty path → ``/``, fragment dropped,
    non-ASCII and unsafe characters percent-encoded (UTF-8) the way browsers and Scrapy send them;
    existing ``%XX`` escapes are kept as they are.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        host = host.encode("idna").decode("ascii") if host and not host.isascii() else host
    except UnicodeError:
        pass
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host
    if ":" in host and not host.startswith("["):
        netloc = f"[{host}]"
    if port is not None and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{netloc}:{port}"
    path = quote(parts.path or "/", safe=_PATH_SAFE, encoding="utf-8")
    query = quote(parts.query, safe=_QUERY_SAFE, encoding="utf-8")
    return urlunsplit((scheme, netloc, path, query, ""))


def _check_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise FixtureError("'url' is missing or not a string")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FixtureError(f"'url' must be an absolute http(s) URL, got {url!r}")
    return url.strip()


# --------------------------------------------------------------------------- loading


def _body_path(folder: Path, name: Any) -> Path:
    if not isinstance(name, str) or not name:
        raise FixtureError(f"'body' must be a file name, got {name!r}")
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents:
        raise FixtureError(f"'body' {name!r} points outside the case folder")
    if not path.is_file():
        raise FixtureError(f"body file {name!r} does not exist")
    return path


def _read_body(folder: Path, name: Any) -> bytes:
    if name is None:
        return b""
    path = _body_path(folder, name)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FixtureError(f"cannot read body file {name!r}: {exc}") from exc


def load_case(response_json: Path | str, state: str = DEFAULT_STATE) -> Case | None:
    """Load one case for *state*; ``None`` when the case does not exist in that state.

    Raises :class:`FixtureError` (with a readable reason) for a malformed case.
    """
    path = Path(response_json)
    folder = path.parent
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FixtureError(f"cannot read response.json: {exc}") from exc
    try:
        spec = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FixtureError(f"response.json is not valid JSON: {exc}") from exc
    if not isinstance(spec, dict):
        raise FixtureError("response.json must hold a JSON object")

    url = _check_url(spec.get("url"))

    only_in = spec.get("only_in")
    if only_in is not None:
        if not isinstance(only_in, list) or not all(isinstance(s, str) for s in only_in):
            raise FixtureError("'only_in' must be a list of state names")

    states = spec.get("states", {})
    if states is None:
        states = {}
    if not isinstance(states, dict):
        raise FixtureError("'states' must be an object mapping state names to overrides")
    # Validate every state's override, not only the one asked for, so a typo in t2 is reported
    # when t1 loads.
    for name, override in states.items():
        if not isinstance(override, dict):
            raise FixtureError(f"states[{name!r}] must be an object")
        if override.get("absent"):
            extra = set(override) - {"absent"}
            if extra:
                raise FixtureError(f"states[{name!r}] is absent but also sets {sorted(extra)}")
            continue
        unknown = set(override) - _OVERRIDABLE - {"absent"}
        if unknown:
            raise FixtureError(
                f"states[{name!r}] has unknown key(s) {sorted(unknown)}; allowed: {sorted(_OVERRIDABLE)} or absent"
            )
        if override.get("body") is not None and name != state:
            _body_path(folder, override["body"])  # existence / location check only

    effective = {k: spec.get(k) for k in ("status", "headers", "body", "delay")}
    override = states.get(state)
    if override is not None and override.get("absent"):
        absent = True
    else:
        absent = False
        if override:
            effective.update({k: v for k, v in override.items() if k in _OVERRIDABLE})

    # Build the case even when it is absent/not in this state, so malformed fields are reported.
    status = 200 if effective["status"] is None else effective["status"]
    delay = 0 if effective["delay"] is None else effective["delay"]
    body = _read_body(folder, effective["body"])
    try:
        case = Case(url=url, status=status, headers=effective["headers"], body=body, delay=delay, source=folder)
    except (TypeError, ValueError) as exc:
        raise FixtureError(str(exc)) from exc

    if absent or (only_in is not None and state not in only_in):
        return None
    return case


def load_cases(
    fixtures_dir: Path | str,
    state: str = DEFAULT_STATE,
    *,
    skipped: list[SkippedCase] | None = None,
) -> dict[str, Case]:
    """Load every case below *fixtures_dir* (``*/**/response.json``, siblings included) for *state*.

    Returns ``{normalized_url: Case}``. Malformed cases are skipped: each is logged as a warning
    and, when *skipped* is a list, appended to it as a :class:`SkippedCase`. Two cases serving the
    same URL in this state raise :class:`DuplicateURLError` naming both folders.
    """
    root = Path(fixtures_dir)
    if not root.is_dir():
        raise FixtureError(f"fixtures folder {root} does not exist")
    cases: dict[str, Case] = {}
    for rj in sorted(root.glob("*/**/response.json")):
        if any(part.startswith(".") for part in rj.relative_to(root).parts):
            continue
        try:
            case = load_case(rj, state)
        except FixtureError as exc:
            item = SkippedCase(rj.parent, str(exc))
            logger.warning("replica: skipping malformed case %s", item)
            if skipped is not None:
                skipped.append(item)
            continue
        if case is None:
            continue
        key = normalize_url(case.url)
        if key in cases:
            other = cases[key].source
            raise DuplicateURLError(
                f"duplicate URL {case.url} in state {state!r}: served by both {other} and {case.source}"
            )
        cases[key] = case
    return cases


def load_not_found_body(fixtures_dir: Path | str | None) -> bytes:
    """Body of the replica's 404: ``<fixtures>/_replica/404.html`` if present, else a built-in page."""
    if fixtures_dir is not None:
        path = Path(fixtures_dir) / "_replica" / "404.html"
        try:
            return path.read_bytes()
        except OSError:
            pass
    return NOT_FOUND_BODY
