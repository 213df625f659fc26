"""Offline replica of the Chinalco website network: fixture cases served at their real URLs
through an HTTP/HTTPS forward proxy on 127.0.0.1 (``python -m harness.replica``)."""

from .cases import Case, DuplicateURLError, FixtureError, SkippedCase, load_cases, load_not_found_body
from .server import ReplicaServer

__all__ = [
    "Case",
    "DuplicateURLError",
    "FixtureError",
    "ReplicaServer",
    "SkippedCase",
    "load_cases",
    "load_not_found_body",
]
