"""The one reading of the clock that the archive records: now, in UTC, to the second, ISO 8601."""
from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    """``2026-12-06T23:59:07+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
