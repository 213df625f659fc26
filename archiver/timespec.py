"""Date options of the CLI (``--since``/``--until``): a year, a month or a day, checked.

``2026``, ``2026-02``, ``2026-02-07`` (and for ``archiver runs|failures --since`` also a full ISO
timestamp, or a span back from now: ``90m``, ``24h``, ``7d``). Anything else, or an impossible
date (``2026-13``, ``2026-02-30``), is a usage error naming the value, never an empty result.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import click

_PREFIX = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_SPAN = re.compile(r"^(\d+)([mhd])$")


def date_prefix(value: str | None, option: str = "--since") -> str | None:
    """A valid ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (returned as given), else UsageError."""
    if value is None:
        return None
    v = value.strip()
    m = _PREFIX.match(v)
    if m:
        y, mo, d = int(m[1]), int(m[2] or 1), int(m[3] or 1)
        try:
            date(y, mo, d)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a real date (expected YYYY, YYYY-MM or YYYY-MM-DD)",
                                     param_hint=option) from None
        return v
    raise click.BadParameter(f"{value!r}: expected YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2026-02)", param_hint=option)


def since_timestamp(value: str | None, option: str = "--since", now: datetime | None = None) -> str | None:
    """A lower bound to compare with the archive's UTC ISO timestamps (text order)."""
    if value is None:
        return None
    v = value.strip()
    m = _SPAN.match(v)
    if m:
        n, unit = int(m[1]), m[2]
        delta = {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n)}[unit]
        return ((now or datetime.now(timezone.utc)) - delta).isoformat(timespec="seconds")
    if _PREFIX.match(v):
        return date_prefix(v, option)
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected YYYY, YYYY-MM, YYYY-MM-DD, an ISO timestamp or a span "
                                 f"such as 24h or 7d", param_hint=option) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")
