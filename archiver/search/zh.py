"""The one rule that makes Chinese searchable with SQLite's built-in FTS5 tokenizer.

SQLite's default tokenizer (unicode61) splits on spaces and punctuation. Chinese has neither
between words, so a whole clause would become one token. The rule here gives every CJK ideograph
a token of its own by putting spaces around it (``电解铝产能2026年`` -> ``电 解 铝 产 能 2026 年``),
and a query term becomes an FTS5 *phrase* of the same tokens (``"电 解 铝"``). A phrase matches
consecutive token positions, so for Chinese a phrase match is a substring match, for queries of
any length, with no dictionary and no custom tokenizer in the file.

Everything else is left to unicode61: ASCII letters and digits stay whole words (``ESG``, ``6063``),
case and diacritics are folded. Full-width letters and digits are mapped to ASCII first so ``２０２６``
finds ``2026``. A run of punctuation (and a line break) becomes one *barrier* token, U+E000, a
private-use character no text contains: without it ``会议。公司`` would read as ``会 议 公 司`` and
the query 议公 would match across the full stop. Spaces are not barriers: 2026年 finds "2026 年".

The query rule exists twice and both copies are tested to give identical output:
:func:`fts_query` (Python: the Datasette plugin, the CLI, the tests) and :data:`FTS_QUERY_CTE`
(pure SQL: the canned ``search`` query, and what a researcher pastes into a Datasette that has no
plugin). :data:`RULE_VERSION` names the rule; changing :func:`shadow` means a new migration that
rebuilds the index.
"""
from __future__ import annotations

import re

RULE_VERSION = "zh-unigram-2"

# CJK ideographs (and 々〆〇), each its own token. Ranges in code points; the SQL copy uses the same.
CJK_RANGES = (
    (0x3005, 0x3007),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3134F),
)
# Full-width digits and Latin letters, mapped to ASCII (U+FF10.. -> '0'..). Punctuation is left alone.
FULLWIDTH_RANGES = ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
FULLWIDTH_OFFSET = 0xFEE0
# Punctuation, symbols and line breaks: each run of them is one barrier token. The SQL copy uses
# the same ranges, so the list is explicit rather than Unicode's categories.
BARRIER = "\ue000"
BARRIER_RANGES = (
    (0x0A, 0x0A), (0x0D, 0x0D), (0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E),
    (0xA1, 0xBF), (0xD7, 0xD7), (0xF7, 0xF7), (0x2010, 0x2027), (0x2030, 0x205E),
    (0x3001, 0x3004), (0x3008, 0x3020), (0x3030, 0x3030), (0x303D, 0x303D), (0x30FB, 0x30FB),
    (0xE000, 0xE000), (0xFE10, 0xFE19), (0xFE30, 0xFE4F), (0xFE50, 0xFE6B),
    (0xFF01, 0xFF0F), (0xFF1A, 0xFF20), (0xFF3B, 0xFF40), (0xFF5B, 0xFF65),
)
# What separates query terms (outside double quotes).
QUERY_SPACES = (" ", "\t", "\n", "\x0b", "\x0c", "\r", "\u00a0", "\u3000")

def _class(ranges) -> str:
    return "[" + "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b != a else "") for a, b in ranges) + "]"


_CJK_RE = re.compile(_class(CJK_RANGES))
# One ideograph, or a run of anything else: the shadow text is these pieces joined by spaces.
_PIECE_RE = re.compile(_class(CJK_RANGES) + "|" + "[^" + _class(CJK_RANGES)[1:] + "+", re.S)
_BARRIER_RE = re.compile(_class(BARRIER_RANGES) + "+")
_BARRIER_CHAR_RE = re.compile(_class(BARRIER_RANGES))
_FULLWIDTH = {c: c - FULLWIDTH_OFFSET for a, b in FULLWIDTH_RANGES for c in range(a, b + 1)}


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return any(a <= o <= b for a, b in CJK_RANGES)


def shadow(text: str | None) -> str:
    """The text as the index sees it: a space on each side of every ideograph, full-width ASCII
    folded, each run of punctuation one barrier token."""
    if not text:
        return ""
    # (findall + join: 4x faster than a substitution with a group template, same tokens)
    return " ".join(_PIECE_RE.findall(_BARRIER_RE.sub(f" {BARRIER} ", text.translate(_FULLWIDTH))))


def fts_query(q: str | None) -> str:
    """A researcher's query as an FTS5 MATCH expression: one phrase per term, terms ANDed.

    Terms are separated by spaces (ASCII, full-width U+3000, tabs); text in double quotes is one
    term even if it holds spaces. Every character is literal (FTS5 operators have no effect), so
    any input is a valid expression. ``兰州铝业 职代会`` -> ``"兰 州 铝 业" "职 代 会"``.
    """
    return _walk(q)[0]


def first_term(q: str | None) -> str:
    """The first term as typed (full-width ASCII folded): where a search excerpt centres."""
    return _walk(q)[1]


def _walk(q: str | None) -> tuple[str, str]:
    phrases: list[str] = []
    cur: list[str] = []
    lit: list[str] = []
    first = ""
    inq = False
    prev_barrier = False
    for ch in (q or "").replace("\0", "") + "\0":   # "\0" marks the end, like substr() past the end in SQL
        if ch == '"' or ch == "\0" or (not inq and ch in QUERY_SPACES):
            term = "".join(cur).strip(" ")
            if term:
                phrases.append('"' + term.replace("  ", " ") + '"')
                if not first:
                    first = "".join(lit).strip(" ")
            cur.clear()
            lit.clear()
            prev_barrier = False
            if ch == '"':
                inq = not inq
            continue
        if _BARRIER_CHAR_RE.match(ch):
            if not prev_barrier:
                cur.append(f" {BARRIER} ")
            prev_barrier = True
        else:
            cur.append(f" {ch} " if _CJK_RE.match(ch) else ch.translate(_FULLWIDTH))
            prev_barrier = False
        lit.append(ch.translate(_FULLWIDTH))
    return " ".join(phrases), first


def _sql_ranges(col: str, ranges) -> str:
    return "\n        or ".join(" or ".join(f"{col} between {a} and {b}" for a, b in ranges[i:i + 4])
                                for i in range(0, len(ranges), 4))


# The same rewrite in SQL: a recursive CTE over the characters of :q, ending in a CTE named
# ``fts_query(expr, first)``: ``expr`` is :func:`fts_query`, ``first`` is :func:`first_term`.
# Uses only substr, unicode, char, trim and replace (any SQLite with FTS5).
_FLUSH = "(c.k in ('q', 'end') or (c.k in ('s', 'n') and w.inq = 0))"
_LINE_BREAKS = (10, 13)          # separate terms outside quotes, barriers inside (like Python)
FTS_QUERY_CTE = f"""chars0(i, ch) as (
  select 1, substr(:q, 1, 1)
  union all
  select i + 1, substr(:q, i + 1, 1) from chars0 where i <= length(:q)
),
chars(i, ch, k, f) as (
  -- k: q quote, s space, n line break, b punctuation (barrier), c ideograph, o other; f: full-width folded
  select i, ch,
    case when ch = '' then 'end' when ch = '"' then 'q' when u in (10, 13) then 'n'
      when u in ({", ".join(str(ord(x)) for x in QUERY_SPACES if ord(x) not in _LINE_BREAKS)}) then 's'
      when {_sql_ranges("u", BARRIER_RANGES)} then 'b'
      when {_sql_ranges("u", CJK_RANGES)} then 'c'
      else 'o' end,
    case when {_sql_ranges("u", FULLWIDTH_RANGES)} then char(u - {FULLWIDTH_OFFSET}) else ch end
  from (select i, ch, unicode(ch) as u from chars0)
),
walk(i, inq, pb, cur, lit, expr, first) as (
  select 0, 0, 0, '', '', '', ''
  union all
  select c.i,
    case when c.k = 'q' then 1 - w.inq else w.inq end,
    case when {_FLUSH} then 0 else c.k in ('b', 'n') end,
    case when {_FLUSH} then ''
      when c.k in ('b', 'n') then w.cur || case when w.pb then '' else ' ' || char({ord(BARRIER)}) || ' ' end
      when c.k = 'c' then w.cur || ' ' || c.ch || ' '
      else w.cur || c.f end,
    case when {_FLUSH} then '' else w.lit || c.f end,
    case when {_FLUSH} and trim(w.cur, ' ') <> ''
      then w.expr || ' "' || replace(trim(w.cur, ' '), '  ', ' ') || '"' else w.expr end,
    case when w.first = '' and {_FLUSH} and trim(w.cur, ' ') <> '' then trim(w.lit, ' ') else w.first end
  from walk w join chars c on c.i = w.i + 1
),
fts_query(expr, first) as (
  select ltrim(expr, ' '), first from walk order by i desc limit 1
)"""
