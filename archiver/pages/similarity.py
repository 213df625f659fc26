"""How much of one short text (a headline candidate) another one contains: the headline checks of
the generic and layered page objects compare candidates with ``<title>`` and declared titles here."""
from __future__ import annotations

import re

_WS = re.compile(r"\s+")


def match_key(text: str | None) -> str:
    """``text`` without whitespace, lower-cased: the form two titles are compared in."""
    return _WS.sub("", text or "").lower()


def shares_substring(a: str, b: str, n: int) -> bool:
    """True when a and b share a substring of length n (``in`` on str runs in C)."""
    if n <= 0:
        return True
    return any(a[i:i + n] in b for i in range(len(a) - n + 1))


def longest_common_substring(a: str, b: str) -> int:
    """Length of the longest common substring (binary search on the length; a and b are short)."""
    if not a or not b:
        return 0
    if a in b:
        return len(a)
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if shares_substring(a, b, mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def containment(key: str, refs: list[str]) -> float:
    """The share of ``key`` found in one piece in the best of ``refs`` (all match keys): 1.0 when a
    reference contains the whole of it, 0.0 when ``key`` or ``refs`` is empty."""
    if not key or not refs:
        return 0.0
    return max(longest_common_substring(key, r) for r in refs) / len(key)
