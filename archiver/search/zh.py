"""The one rule that makes Chinese searchable with SQLite's built-in FTS5 tokenizer (rule 3).

SQLite's default tokenizer (unicode61) splits on spaces and punctuation. Chinese has neither
between words, so a whole clause would become one token. The rule here (:func:`index_shadow`)
writes each text as tokens the built-in tokenizer keeps apart: each run of ideographs as its first
ideograph, every pair of neighbours (bigrams) and its last ideograph (``兰州铝业`` -> ``兰 兰州 州铝
铝业 业``), and after a separator the text's distinct ideographs. A query term becomes an FTS5
*phrase* of the same tokens (``兰州铝业`` -> ``"兰州 州铝 铝业"``, ``2026年`` -> ``"2026 年"``,
``铝`` -> ``"铝"``). A phrase matches consecutive token positions, so for Chinese a phrase match is
a substring match, for queries of any length, with no dictionary and no custom tokenizer in the file.

Everything else is left to unicode61: ASCII letters and digits stay whole words (``ESG``, ``6063``),
case and diacritics are folded. Full-width letters and digits are mapped to ASCII first so ``２０２６``
finds ``2026``. A run of punctuation (and a line break) becomes one *barrier* token, U+E000, a
private-use character no text contains: without it ``会议。公司`` would read as ``会议 议 公 公司`` and
the query ``"议 公"`` would match across the full stop. Spaces are not barriers: 2026年 finds "2026 年".

The query rule exists twice and both copies are tested to give identical output:
:func:`fts_query` (Python: the Datasette plugin, the CLI, the tests) and :data:`FTS_QUERY_CTE`
(pure SQL: the canned ``search`` query, and what a researcher pastes into a Datasette that has no
plugin). :data:`RULE_VERSION` names the rule; changing :func:`index_shadow` means a new migration
that rebuilds the index. (:func:`shadow`, one token per ideograph, is rule 2's text, kept for the
record and the tests.)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

RULE_VERSION = "zh-bigram-3"

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
# Between an article's token stream and the list of its distinct ideographs (see index_shadow). A
# private-use character: typed in a text or a query it is punctuation (BARRIER_RANGES), so no query
# phrase can contain this token and none can run from the stream into the list.
SEPARATOR = "\ue001"
BARRIER_RANGES = (
    (0x0A, 0x0A), (0x0D, 0x0D), (0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E),
    (0xA1, 0xBF), (0xD7, 0xD7), (0xF7, 0xF7), (0x2010, 0x2027), (0x2030, 0x205E),
    (0x3001, 0x3004), (0x3008, 0x3020), (0x3030, 0x3030), (0x303D, 0x303D), (0x30FB, 0x30FB),
    (0xE000, 0xE001), (0xFE10, 0xFE19), (0xFE30, 0xFE4F), (0xFE50, 0xFE6B),
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


# ----------------------------------------------------------------------------- the index (rule 3)
# ``articles_fts`` sees each column as a stream of tokens and, after a separator, the list of its
# distinct ideographs (:func:`index_shadow`).
#
# The stream: each run of ideographs (a maximal sequence of them: punctuation, spaces, Latin and
# digits end a run) becomes, at consecutive positions, its first ideograph, every pair of
# neighbours and its last ideograph (``兰州铝业`` -> ``兰 兰州 州铝 铝业 业``); a run of one ideograph
# is that ideograph once. Latin words and digits stay whole words, each run of punctuation is the
# barrier token. A query word of ideographs becomes a phrase of its bigrams (``兰州铝业`` ->
# ``"兰州 州铝 铝业"``: consecutive positions, a substring test, and a bigram's list is far shorter
# than a character's), and a mixed word keeps the run edges it touches: ``2026年`` -> ``"2026 年"``
# (年 opens a run right after 2026), ``ESG报告`` -> ``"ESG 报 报告"``, ``铝合金6063`` ->
# ``"铝合 合金 金 6063"``.
#
# The list: every distinct ideograph of the column once, so a lone ideograph (``铝``) is the one
# token ``"铝"``, found in the same index as everything else (``铝 2026年`` is one FTS5 AND). A
# phrase cannot reach into the list unless all its tokens are single ideographs (only a quoted
# ``"铝 锌"``, ideographs separated by spaces, is such a phrase: it may also match an article that
# holds both ideographs apart; a documented limit).
_CJK_RUN_RE = re.compile(_class(CJK_RANGES) + "+")


def _run_tokens(m: re.Match) -> str:
    r = m.group(0)
    if len(r) == 1:
        return f" {r} "
    return f" {r[0]} " + " ".join(r[i:i + 2] for i in range(len(r) - 1)) + f" {r[-1]} "


def bigram_shadow(text: str | None) -> str:
    """The token stream of a text: each run of ideographs as its first ideograph, its bigrams and
    its last ideograph; Latin and digits as words; punctuation runs as the barrier."""
    if not text:
        return ""
    return _CJK_RUN_RE.sub(_run_tokens, _BARRIER_RE.sub(f" {BARRIER} ", text.translate(_FULLWIDTH)))


def char_shadow(text: str | None) -> str:
    """Every distinct ideograph of a text once, in order of first appearance."""
    if not text:
        return ""
    return " ".join(dict.fromkeys(_CJK_RE.findall(text)))


def index_shadow(text: str | None) -> str:
    """A column as ``articles_fts`` sees it: the token stream, the separator, the distinct ideographs."""
    chars = char_shadow(text)
    return bigram_shadow(text) + (f" {SEPARATOR} {chars}" if chars else "")


# Words that are operators when typed in capitals, outside quotes, as a term of their own.
OPERATORS = ("OR", "AND", "NOT")
REFUSED_ONLY_EXCLUDED = ("只有排除词：请再输入要查找的词。 Only excluded words (-词 or NOT 词): "
                         "add a word to find, e.g. 兰铝 -中铝.")
REFUSED_NO_WORD = "没有检索词。 No word to search for: OR, AND and NOT join words (兰铝 OR 中铝)."


@dataclass
class Term:
    phrase: str          # the FTS5 phrase, with its double quotes
    lit: str             # the term as typed (full-width ASCII folded), spaces at its ends removed


@dataclass
class Parsed:
    """A researcher's query: groups of alternatives (all groups must match), exclusions, or a refusal."""
    groups: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    message: str = ""

    @property
    def expr(self) -> str:
        if not self.groups:
            return ""
        # explicit AND: FTS5 rejects an implicit AND after a parenthesised group ('(a OR b) c')
        pos = " AND ".join(("(" + " OR ".join(t.phrase for t in g) + ")") if len(g) > 1 else g[0].phrase
                           for g in self.groups)
        if not self.excluded:
            return pos
        neg = (("(" + " OR ".join(t.phrase for t in self.excluded) + ")") if len(self.excluded) > 1
               else self.excluded[0].phrase)
        return f"{pos} NOT {neg}"

    @property
    def positive(self) -> str:
        """The words to find, without the exclusions."""
        return Parsed(self.groups).expr

    @property
    def first(self) -> str:
        return self.groups[0][0].lit if self.groups else ""

    @property
    def words(self) -> list[str]:
        """Every word to find (for marking hits), as typed."""
        return [t.lit for g in self.groups for t in g]


def parse(q: str | None) -> Parsed:
    """Terms are separated by spaces (ASCII, full-width U+3000, tabs); text in double quotes is one
    term even if it holds spaces, and is always literal. Between terms, ``OR`` makes alternatives
    (兰铝 OR 中铝), ``-词`` or ``NOT 词`` excludes a word, ``AND`` is what a space means anyway.
    Every other character is literal. A query of exclusions only is refused with a message."""
    out = Parsed()
    prev = None                      # the token before this one: 'OR', 'AND', 'NOT' or 'T'
    for phrase, lit, quoted, dash in _walk(q):
        if not quoted and not dash and lit in OPERATORS:
            prev = lit
            continue
        term = Term(phrase, lit)
        if dash or prev == "NOT":
            out.excluded.append(term)
        elif prev == "OR" and out.groups:
            out.groups[-1].append(term)
        else:
            out.groups.append([term])
        prev = "T"
    if not out.groups:
        out.message = REFUSED_ONLY_EXCLUDED if out.excluded else (REFUSED_NO_WORD if prev else "")
        out.excluded = []
    return out


def fts_query(q: str | None) -> str:
    """A researcher's query as an FTS5 MATCH expression: one phrase per term, groups ANDed.

    ``兰州铝业 职代会`` -> ``"兰州 州铝 铝业" AND "职代 代会"``; ``兰铝 OR 中铝 -氧化铝`` ->
    ``("兰铝" OR "中铝") NOT "氧化 化铝"``; ``铝 2026年`` -> ``"铝" AND "2026 年"``. Any input gives a
    valid expression ('' for nothing).
    """
    return parse(q).expr


def first_term(q: str | None) -> str:
    """The first word to find, as typed (full-width ASCII folded): where a search excerpt centres."""
    return parse(q).first


def _walk(q: str | None) -> list[tuple[str, str, bool, bool]]:
    """The terms of a query: (phrase, literal, quoted, dash) each.

    A character-by-character state machine, mirrored step for step by the SQL copy (``walk`` in
    :data:`FTS_QUERY_CTE`). ``cur`` decides whether a term has anything in it (the rule-2
    character text); the phrase is built in ``bs``: ``pc`` is the ideograph just before (if the
    previous character was one), ``sl`` the length of the current run of ideographs, ``pre``
    whether a non-space character precedes the run in the term, ``pend`` the last ideograph of a
    finished run of 2+, written only if a non-space character follows it in the term.
    """
    terms: list[tuple[str, str, bool, bool]] = []
    cur: list[str] = []
    lit: list[str] = []
    bs: list[str] = []
    inq = False
    dash = False
    prev_barrier = False
    pc, sl, pre, nn, pend = "", 0, False, 0, ""
    for ch in (q or "").replace("\0", "") + "\0":   # "\0" marks the end, like substr() past the end in SQL
        if ch == '"' or ch == "\0" or (not inq and ch in QUERY_SPACES):
            term = "".join(cur).strip(" ")
            if pc and sl == 1 and not pre:
                bs.append(f" {pc} ")
            if term:
                terms.append(('"' + "".join(bs).strip(" ").replace("  ", " ") + '"', "".join(lit).strip(" "),
                              (ch == '"' or ch == "\0") and inq, dash))
            cur.clear()
            lit.clear()
            bs.clear()
            prev_barrier = False
            dash = False
            pc, sl, pre, nn, pend = "", 0, False, 0, ""
            if ch == '"':
                inq = not inq
            continue
        if ch == "-" and not inq and not cur and not dash:
            dash = True                      # a leading '-' outside quotes: exclude this term
            continue
        f = ch.translate(_FULLWIDTH)
        if _CJK_RE.match(ch):
            if not pc:                       # a run of ideographs starts
                if pend:
                    bs.append(f" {pend} ")
                    pend = ""
                pre = nn > 0
                if pre:
                    bs.append(f" {ch} ")
                sl = 1
            else:
                bs.append(f" {pc}{ch} ")
                sl += 1
            pc = ch
            nn += 1
        else:
            if pc:                           # a run of ideographs ends
                if sl == 1:
                    if not pre:
                        bs.append(f" {pc} ")
                else:
                    pend = pc
            pc = ""
            if ch in QUERY_SPACES and not _BARRIER_CHAR_RE.match(ch):     # a space inside quotes
                bs.append(f)
            else:
                if pend:
                    bs.append(f" {pend} ")
                    pend = ""
                if _BARRIER_CHAR_RE.match(ch):
                    if not prev_barrier:
                        bs.append(f" {BARRIER} ")
                else:
                    bs.append(f)
                nn += 1
        if _BARRIER_CHAR_RE.match(ch):
            if not prev_barrier:
                cur.append(f" {BARRIER} ")
            prev_barrier = True
        else:
            cur.append(f" {ch} " if _CJK_RE.match(ch) else f)
            prev_barrier = False
        lit.append(f)
    return terms


def _sql_ranges(col: str, ranges) -> str:
    return "\n        or ".join(" or ".join(f"{col} between {a} and {b}" for a, b in ranges[i:i + 4])
                                for i in range(0, len(ranges), 4))


# The same rewrite in SQL: a recursive CTE over the characters of :q, ending in a CTE named
# ``fts_query(expr, first)``: ``expr`` is :func:`fts_query`, ``first`` is :func:`first_term`.
# Uses only substr, unicode, char, trim and replace (any SQLite with FTS5).
_FLUSH = "(c.k in ('q', 'end') or (c.k in ('s', 'n') and w.inq = 0))"
_DASH = "(c.ch = '-' and w.inq = 0 and w.cur = '' and w.dash = 0)"
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
walk(i, inq, pb, dash, cur, lit, t_phrase, t_lit, t_quoted, t_dash, pc, sl, pre, nn, pend, bs) as (
  -- one row per character; a row that ends a term carries it in t_* (phrase, as typed, quoted, '-').
  -- cur: the rule-2 character text (is there a term?); bs: the phrase being built, like _walk() in
  -- Python: pc ideograph just before, sl run length, pre a non-space character before the run,
  -- nn non-space characters in the term, pend a run's last ideograph not yet written
  select 0, 0, 0, 0, '', '', null, null, 0, 0, '', 0, 0, 0, '', ''
  union all
  select c.i,
    case when c.k = 'q' then 1 - w.inq else w.inq end,
    case when {_FLUSH} or {_DASH} then 0 else c.k in ('b', 'n') end,
    case when {_FLUSH} then 0 when {_DASH} then 1 else w.dash end,
    case when {_FLUSH} then '' when {_DASH} then w.cur
      when c.k in ('b', 'n') then w.cur || case when w.pb then '' else ' ' || char({ord(BARRIER)}) || ' ' end
      when c.k = 'c' then w.cur || ' ' || c.ch || ' '
      else w.cur || c.f end,
    case when {_FLUSH} then '' when {_DASH} then w.lit else w.lit || c.f end,
    case when {_FLUSH} and trim(w.cur, ' ') <> '' then '"' || replace(trim(w.bs
        || (case when w.pc <> '' and w.sl = 1 and not w.pre then ' ' || w.pc || ' ' else '' end), ' '), '  ', ' ')
        || '"' end,
    trim(w.lit, ' '),
    c.k in ('q', 'end') and w.inq = 1,
    w.dash,
    case when {_FLUSH} then '' when {_DASH} then w.pc when c.k = 'c' then c.ch else '' end,
    case when {_FLUSH} then 0 when c.k = 'c' and not {_DASH} then (case when w.pc = '' then 1 else w.sl + 1 end)
      else w.sl end,
    case when {_FLUSH} then 0 when c.k = 'c' and w.pc = '' and not {_DASH} then w.nn > 0 else w.pre end,
    case when {_FLUSH} then 0 when {_DASH} or c.k = 's' then w.nn else w.nn + 1 end,
    case when {_FLUSH} then '' when {_DASH} then w.pend
      when c.k = 'c' then (case when w.pc = '' then '' else w.pend end)
      when c.k = 's' then (case when w.pc <> '' and w.sl > 1 then w.pc else w.pend end)
      else '' end,
    case when {_FLUSH} then '' when {_DASH} then w.bs
      when c.k = 'c' then w.bs || (case when w.pc = '' then
          (case when w.pend <> '' then ' ' || w.pend || ' ' else '' end)
          || (case when w.nn > 0 then ' ' || c.ch || ' ' else '' end)
        else ' ' || w.pc || c.ch || ' ' end)
      else w.bs || (case when w.pc <> '' and w.sl = 1 and not w.pre then ' ' || w.pc || ' ' else '' end)
        || (case when c.k = 's' then c.f else
          (case when w.pc <> '' and w.sl > 1 then ' ' || w.pc || ' ' when w.pend <> '' then ' ' || w.pend || ' '
            else '' end)
          || (case when c.k in ('b', 'n') then (case when w.pb then '' else ' ' || char({ord(BARRIER)}) || ' ' end)
            else c.f end) end) end
  from walk w join chars c on c.i = w.i + 1
),
terms(seq, phrase, lit, kind, dash) as (
  -- OR, AND, NOT typed in capitals as a term of their own (not quoted, no '-') are operators
  select i, t_phrase, t_lit,
    case when t_quoted = 0 and t_dash = 0 and t_lit in ('OR', 'AND', 'NOT') then t_lit else 'T' end, t_dash
  from walk where t_phrase is not null
),
roles(seq, phrase, lit, kind, role, prev) as (
  select seq, phrase, lit, kind,
    case when dash = 1 or lag(kind) over (order by seq) = 'NOT' then 'neg' else 'pos' end,
    lag(kind) over (order by seq)
  from terms
),
grouped(seq, phrase, lit, role, g) as (
  -- a word after OR joins the group of the word before it; every other word starts a group
  select seq, phrase, lit, role,
    sum(case when role = 'pos' and not (prev is 'OR' and before > 0) then 1 else 0 end) over (order by seq)
  from (select *, count(case when role = 'pos' then 1 end)
          over (order by seq rows between unbounded preceding and 1 preceding) as before
        from roles where kind = 'T')
),
pos_groups(g, alts) as (
  select g,
    case when count(*) over (partition by g) > 1
      then '(' || group_concat(phrase, ' OR ') over (partition by g order by seq
                                                     rows between unbounded preceding and unbounded following) || ')'
      else phrase end
  from grouped where role = 'pos'
),
parts(pos, neg, nneg, nterms, first) as (
  select
    coalesce((select group_concat(alts, ' AND ') over (order by g rows between unbounded preceding and unbounded following)
              from (select distinct g, alts from pos_groups) limit 1), ''),
    (select group_concat(phrase, ' OR ') over (order by seq rows between unbounded preceding and unbounded following)
     from grouped where role = 'neg' limit 1),
    (select count(*) from grouped where role = 'neg'),
    (select count(*) from terms),
    coalesce((select lit from grouped where role = 'pos' order by seq limit 1), '')
),
fts_query(expr, first, message, positive) as (
  -- expr: the MATCH expression (Python fts_query()); positive: the words to find without the exclusions
  select case when pos = '' then '' when nneg = 0 then pos
      when nneg = 1 then pos || ' NOT ' || neg else pos || ' NOT (' || neg || ')' end,
    first,
    case when pos <> '' then '' when nneg > 0 then '{REFUSED_ONLY_EXCLUDED}'
      when nterms > 0 then '{REFUSED_NO_WORD}' else '' end,
    pos
  from parts
)"""
