"""The indexing/query rule: shadow text, query rewrite, and the SQL copy of the rewrite."""
import random
import sqlite3

import pytest

from archiver.search.zh import (FTS_QUERY_CTE, REFUSED_NO_WORD, REFUSED_ONLY_EXCLUDED, bigram_shadow, char_shadow,
                                first_term, fts_query, index_shadow, parse, shadow)


@pytest.mark.parametrize("text,expected", [
    ("电解铝产能2026年", "电 解 铝 产 能 2026 年"),
    ("ＥＳＧ报告", "ESG 报 告"),
    ("6063铝合金", "6063 铝 合 金"),
    ("兰州铝业，职代会", "兰 州 铝 业 \ue000 职 代 会"),
    ("", ""),
    (None, ""),
])
def test_shadow_gives_each_ideograph_its_own_token(text, expected):
    """The rule-2 character text (kept for excerpts and the docs); what counts is the tokens."""
    assert shadow(text).split() == expected.split()


@pytest.mark.parametrize("text,expected", [
    ("电解铝产能2026年", "电 电解 解铝 铝产 产能 能 2026 年"),
    ("发布ＥＳＧ报告，", "发 发布 布 ESG 报 报告 告 \ue000"),
    ("6063铝合金", "6063 铝 铝合 合金 金"),
    ("兰州铝业，职代会", "兰 兰州 州铝 铝业 业 \ue000 职 职代 代会 会"),
    ("A股B 电解 铝", "A 股 B 电 电解 解 铝"),
    ("", ""),
    (None, ""),
])
def test_bigram_shadow_keeps_each_run_s_edges(text, expected):
    assert bigram_shadow(text).split() == expected.split()


def test_char_shadow_keeps_each_ideograph_once():
    assert char_shadow("兰州铝业，兰州ESG2026年") == "兰 州 铝 业 年"
    assert char_shadow("ESG") == "" and char_shadow(None) == ""


def test_index_shadow_is_the_stream_then_the_separator_then_the_ideographs():
    assert index_shadow("电解铝，铝业ESG").split() == ["电", "电解", "解铝", "铝", "\ue000", "铝", "铝业", "业", "ESG",
                                                   "\ue001", "电", "解", "铝", "业"]
    assert index_shadow("ESG 2026") == bigram_shadow("ESG 2026") and index_shadow(None) == ""
    # the separator typed in a text is punctuation: no text can forge it
    assert index_shadow("铝\ue001锌").split() == ["铝", "\ue000", "锌", "\ue001", "铝", "锌"]


@pytest.mark.parametrize("q,expected", [
    ("铝", '"铝"'),                                # a lone ideograph: one token (from the list of ideographs)
    ("兰铝", '"兰铝"'),
    ("电解铝", '"电解 解铝"'),
    ("职工代表大会", '"职工 工代 代表 表大 大会"'),
    ("2026年", '"2026 年"'),                       # 年 opens a run right after 2026
    ("ESG", '"ESG"'),
    ("6063铝合金", '"6063 铝 铝合 合金"'),
    ("铝合金6063", '"铝合 合金 金 6063"'),         # 金 closes a run right before 6063
    ("A股B", '"A 股 B"'),
    ('"电解 铝"', '"电解  解 铝"'),
    ("兰州铝业 职代会", '"兰州 州铝 铝业" AND "职代 代会"'),
    ("兰州铝业\u3000职代会", '"兰州 州铝 铝业" AND "职代 代会"'),
    ('"new york" city', '"new york" AND "city"'),
    ("兰铝 OR 中铝", '("兰铝" OR "中铝")'),
    ("兰铝 OR 中铝 职代会", '("兰铝" OR "中铝") AND "职代 代会"'),   # (FTS5 refuses '(a OR b) c')
    ("兰铝 -中铝", '"兰铝" NOT "中铝"'),
    ("兰铝 NOT 中铝 -氧化铝", '"兰铝" NOT ("中铝" OR "氧化 化铝")'),
    ("兰铝 AND 中铝", '"兰铝" AND "中铝"'),
    ('兰铝 "OR" or', '"兰铝" AND "OR" AND "or"'),           # quoted or lower-case: a word like any other
    ('"-中铝" 2026-03', '"\ue000 中 中铝" AND "2026 \ue000 03"'),   # '-' excludes only at the start of an unquoted term
    ("铝 OR 锌 -铜", '("铝" OR "锌") NOT "铜"'),
    ("铝 2026年", '"铝" AND "2026 年"'),
    ("-铝", ""),                                    # refused (parse().message says why)
    ("OR", ""),
    ('a"b', '"a" AND "b"'),
    ("   ", ""),
    ("", ""),
])
def test_query_rewrite(q, expected):
    assert fts_query(q) == expected


def test_punctuation_is_a_barrier_so_phrases_do_not_cross_it():
    assert shadow("会议。公司").split() == ["会", "议", "\ue000", "公", "司"]
    assert bigram_shadow("“新兰铝”，\n公司").split() == ["\ue000", "新", "新兰", "兰铝", "铝", "\ue000", "公", "公司", "司"]
    assert fts_query("3.5%") == '"3 \ue000 5 \ue000"'
    assert fts_query("议公") == '"议公"'
    assert fts_query("议。公") == '"议 \ue000 公"'


def test_punctuation_barrier_in_the_index(tmp_path):
    conn = sqlite3.connect(":memory:")
    conn.execute("create virtual table t using fts5(x, content='')")
    conn.execute("insert into t(rowid, x) values (1, ?)", [index_shadow("召开会议。公司领导出席；增长3.5%，2026 年")])
    hit = lambda q: conn.execute("select count(*) from t where t match ?", [fts_query(q) or '""']).fetchone()[0]
    assert hit("会议") == hit("公司") == hit("会议。公司") == hit("3.5%") == hit("2026年") == hit("议。公") == 1
    assert hit("议公") == hit("3.5亿") == hit("席增") == hit("年召") == hit("2026年召") == hit('"2026 召"') == 0
    # The documented limit: a quoted phrase of single ideographs separated by spaces can match the
    # list of distinct ideographs (议 and 公 are neighbours there), not only "议 公" in the text.
    assert hit('"议 公"') == 1 and fts_query('"议 公"').split() == ['"议', '公"']
    assert hit('"公 议"') == 0
    assert hit("议，公") == 1            # any punctuation run at that place


def test_every_query_is_a_valid_match_expression():
    conn = sqlite3.connect(":memory:")
    conn.execute("create virtual table t using fts5(x, content='')")
    for q in ['"', '""', "*", "兰铝*", "a:b", "^x", "(兰", "NEAR(a b)", "-", "3.5%", "OR", "'", "铝", "铝 -兰",
              "铝 2026年", "铝*", '"铝 "', "\ue001", "兰铝 OR 中铝 职代会", "a OR b c OR d -e", "a -b OR c d"]:
        conn.execute("select rowid from t where t match ?", [fts_query(q) or '""']).fetchall()


def _sql_rewrite(conn, q):
    return conn.execute(f"with recursive {FTS_QUERY_CTE} select expr, first, message, positive "
                        f"from fts_query", {"q": q}).fetchone()


def test_sql_copy_of_the_rewrite_is_identical_to_python():
    conn = sqlite3.connect(":memory:")
    pool = list('兰铝州业职代会 \t\n\u3000"ab9Ｅ５%.,，。、々〇𠀀é-*:^()') + ["\U0001F600", "ＡＩ"]
    rnd = random.Random(5)
    pool += [" OR ", " AND ", " NOT ", " -", "OR", "NOT"] * 3
    pool += list("兰铝中州业职代会") * 4        # more runs of ideographs (bigram phrases)
    queries = ["兰铝", "兰州铝业 职代会", '" 兰铝"', "兰铝 -中铝", "兰铝 OR 中 -铝业", "ＥＳＧ报告", '"new york" city', "2026年", "", " ", "兰铝 OR 中铝 -氧化铝",
               "-铝", "OR", "a OR -b c", "OR a", "a NOT OR b", '"OR" -"x y"', "- -a", "a OR b OR c d OR e",
               '"电解 铝"', '"议。 公"', "铝合金6063", "A股B", '"兰铝 "x', "铝 OR 锌 -铜", "铝 2026年", '"铝 "',
               '"兰\n铝"', "兰铝\n中铝", '"a 铝 b"']
    queries += ["".join(rnd.choice(pool) for _ in range(rnd.randint(0, 16))) for _ in range(5000)]
    for q in queries:
        p = parse(q)
        assert _sql_rewrite(conn, q) == (fts_query(q), first_term(q), p.message, p.positive), q


def test_first_term_is_the_first_term_as_typed():
    assert first_term("兰州铝业 职代会") == "兰州铝业"
    assert first_term("ＥＳＧ报告") == "ESG报告"
    assert first_term('"新 兰铝" x') == "新 兰铝"
    assert first_term("") == ""


def test_a_query_of_exclusions_only_is_refused_with_a_message():
    assert parse("-铝").message == REFUSED_ONLY_EXCLUDED and parse("NOT 铝").message == REFUSED_ONLY_EXCLUDED
    assert parse("OR AND").message == REFUSED_NO_WORD
    assert parse("兰铝 -中铝").message == "" and parse("").message == ""
    assert parse("兰铝 OR 中铝 -氧化铝").words == ["兰铝", "中铝"]
