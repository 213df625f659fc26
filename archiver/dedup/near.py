"""Near-duplicate detection: MinHash signatures over character shingles, LSH banding to find
candidates, and an exact verification that decides.

* **Fingerprint.** The normalised body (``dedup_text``) is cut into character ``SHINGLE``-grams.
  A MinHash signature of ``NUM_PERM`` values (datasketch, scheme ``affine32``, fixed seed) is
  split into ``BANDS`` bands of ``ROWS`` values; each band hashes to one 64-bit LSH key.
* **Candidates.** Two articles are candidates when they share an LSH key. The chance of that is
  ``1 - (1 - J**ROWS)**BANDS`` for Jaccard similarity ``J``: 94% at 0.5, above 99% from 0.6
  (the labelled near-duplicates are at 0.74 and above; bench/dedup.py prints the curve). The keys live in the
  archive (``dedup_lsh``), so a new article is checked against every earlier one with one
  indexed query per band, and the cost of deduplicating n articles grows near-linearly.
* **Bounded work per article.** Boilerplate makes some band keys common: daily price bulletins,
  the same meeting template every month, and the replica's generated network are texts that
  share most shingles yet are different stories. Without a bound every new article of such a
  family is compared with every earlier one (quadratic). So a band key yields at most its
  ``BUCKET_CAP`` newest articles as candidates, and of the candidates that pass the signature
  prescreen only the ``MAX_CHECKED`` with the highest estimated similarity are checked by the
  guards and verified. A real near-duplicate shares more of its signature with its original
  than boilerplate siblings do (it carries the same figures and names), and it shares keys
  that are rare; bench/dedup.py shows recall unchanged on the labelled and synthetic sets.
* **Verification** (``verify``) decides with exact set measures, not the estimate:
  - shingle containment (the share of the shorter text's shingles found in the other) at least
    ``MIN_CONTAINMENT``, and Jaccard at least ``MIN_JACCARD``: a caption or a paragraph added to
    one copy keeps containment high, a different lead lowers both a little; a copy cut to less
    than about 40% of the other is not linked;
  - the **dates guard**: when both texts name calendar days (``2月3日``), the days of one must
    all be named by the other (a re-post may drop ``2月3日`` for ``近日``, never change it);
  - the **numbers guard**: the numbers of the text with fewer numbers (dates, prices, counts,
    years) must nearly all occur in the other (``MIN_NUMBER_CONTAINMENT``). Look-alike different
    stories of this network are boilerplate with other numbers: the same meeting a year later,
    the daily price bulletin of the next day, the same template for another company on
    another date.

The thresholds were chosen on the labelled pairs and the synthetic edits of ``bench/dedup.py``;
its output is pasted in README.md ("Deduplication").
"""
from __future__ import annotations

import hashlib
import zlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from datasketch import MinHash

from .text import dates, dedup_paragraphs, numbers, shingles

SHINGLE = 5
NUM_PERM = 64
BANDS = 21
ROWS = 3
SEED = 20260210
MIN_JACCARD = 0.4
MIN_CONTAINMENT = 0.8
MIN_NUMBER_CONTAINMENT = 0.9
# Candidates whose estimated Jaccard (signature agreement) is far below MIN_JACCARD are not
# verified exactly; the margin covers the estimate's error (sd ~0.06 at 64 permutations).
PREFILTER = MIN_JACCARD - 0.2
BUCKET_CAP = 16          # candidates per band key (its newest articles)
MAX_CHECKED = 12         # prescreened candidates checked by the guards and verified, best estimate first
METHOD = f"minhash-lsh k{SHINGLE} p{NUM_PERM} b{BANDS}x{ROWS}; exact verify"


@lru_cache(maxsize=1)
def _permutations():
    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32").permutations


def _crc(s: str) -> int:
    return zlib.crc32(s.encode("utf-8"))


@dataclass
class Fingerprint:
    text: str
    shingles: set[str]
    numbers: Counter
    dates: frozenset
    signature: np.ndarray = field(repr=False)

    def band_keys(self) -> list[int]:
        return band_keys(self.signature)

    def signature_bytes(self) -> bytes:
        return self.signature.astype("<u4").tobytes()


def fingerprint(body: str | None, *, signature: bool = True) -> Fingerprint:
    """Shingles, numbers, dates and (unless ``signature=False``, for verification only) the MinHash."""
    paragraphs = dedup_paragraphs(body)
    spaced = "\n".join(paragraphs)
    text = spaced.replace("\n", "").replace(" ", "")      # = dedup_text(body): paragraphs hold single spaces
    sh = shingles(text, SHINGLE)
    sig = np.zeros(0, dtype=np.uint32)
    if signature:
        m = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_crc, permutations=_permutations(), scheme="affine32")
        m.update_batch(sh)
        sig = m.hashvalues.copy()
    return Fingerprint(text, sh, Counter(numbers(spaced)), dates(text), sig)


def band_keys(signature: np.ndarray) -> list[int]:
    """One signed 64-bit key per band (SQLite integers), band index mixed in."""
    raw = signature.astype("<u4").tobytes()
    width = ROWS * 4
    keys = []
    for b in range(BANDS):
        d = hashlib.blake2b(raw[b * width:(b + 1) * width], digest_size=8, person=b"band%04d" % b).digest()
        keys.append(int.from_bytes(d, "little", signed=True))
    return keys


def prescreen_estimates(fp: Fingerprint, candidates: list[tuple[int, bytes, int]]) -> list[int]:
    """The candidates ``(id, signature bytes, shingle count)`` that ``verify`` might accept,
    highest estimated similarity first (ties: lower id first).

    Dropped, all candidates at once: those whose shingle counts differ too much (Jaccard cannot
    exceed the ratio of the two counts: exact), and those whose signature agreement is far below
    ``MIN_JACCARD`` (``PREFILTER`` leaves over three standard deviations of the estimate).
    """
    if not candidates or not fp.shingles:
        return []
    ids = np.array([c[0] for c in candidates])
    sizes = np.array([c[2] or 0 for c in candidates], dtype=float)
    sigs = np.frombuffer(b"".join(c[1] for c in candidates), dtype="<u4").reshape(len(candidates), -1)
    n = len(fp.shingles)
    ratio = np.minimum(sizes, n) / np.maximum(np.maximum(sizes, n), 1)
    agree = (sigs == fp.signature).mean(axis=1)
    keep = np.flatnonzero((ratio >= MIN_JACCARD) & (agree >= PREFILTER))
    order = keep[np.lexsort((ids[keep], -agree[keep]))]
    return [int(i) for i in ids[order]]


def prescreen_guards(fp: Fingerprint, other_numbers: Counter, other_dates: frozenset) -> bool:
    """The dates and numbers guards of ``verify``, on the features the archive stores."""
    if fp.dates and other_dates and not (fp.dates <= other_dates or other_dates <= fp.dates):
        return False
    return number_containment(fp.numbers, other_numbers) >= MIN_NUMBER_CONTAINMENT


@dataclass(frozen=True)
class Verdict:
    near: bool
    jaccard: float
    containment: float
    number_containment: float
    reason: str

    def details(self) -> dict:
        return {"jaccard": round(self.jaccard, 4), "containment": round(self.containment, 4),
                "number_containment": round(self.number_containment, 4), "reason": self.reason}


def number_containment(a: Counter, b: Counter) -> float:
    """Share of the numbers of the side with fewer numbers that also occur in the other (multisets)."""
    small, large = (a, b) if sum(a.values()) <= sum(b.values()) else (b, a)
    n = sum(small.values())
    if n == 0:
        return 1.0
    return sum((small & large).values()) / n


def verify(a: Fingerprint, b: Fingerprint) -> Verdict:
    if not a.shingles or not b.shingles:
        return Verdict(False, 0.0, 0.0, 0.0, "empty text")
    inter = len(a.shingles & b.shingles)
    jac = inter / len(a.shingles | b.shingles)
    cont = inter / min(len(a.shingles), len(b.shingles))
    num = number_containment(a.numbers, b.numbers)
    if a.text == b.text:
        return Verdict(False, 1.0, 1.0, 1.0, "identical text: an exact duplicate, not a near one")
    if cont < MIN_CONTAINMENT or jac < MIN_JACCARD:
        return Verdict(False, jac, cont, num, "texts differ")
    if a.dates and b.dates and not (a.dates <= b.dates or b.dates <= a.dates):
        return Verdict(False, jac, cont, num, "dates differ (another day's event)")
    if num < MIN_NUMBER_CONTAINMENT:
        return Verdict(False, jac, cont, num, "numbers differ (dates, prices or counts)")
    return Verdict(True, jac, cont, num, "near duplicate")
