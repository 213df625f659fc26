"""The indexing/query rule: shadow text, query rewrite, and the SQL copy of the rewrite."""
import random
import sqlite3

import pytest

from archiver.search.zh import (FTS_QUERY_CTE, REFUSED_NO_WORD, REFUSED_ONLY_EXCLUDED, first_term, fts_query, parse,
                                shadow)


@pytest.mark.parametrize("text,expected", [
    ("电解铝产能2026年", "电 解 铝 产 能 2026 年"),
    ("ＥＳＧ报告", "ESG 报 告"),
    ("6063铝合金", "6063 铝 合 金"),
    ("兰州铝业，职代会", "兰 州 铝 业 \ue000 职 代 会"),
    ("", ""),
    (None, ""),
])
def test_shadow_gives_each_ideograph_its_own_token(text, expected):
    """What counts is the tokens the index sees (how many spaces separate them does not)."""
    assert shadow(text).split() == expected.split()


@pytest.mark.parametrize("q,expected", [
    ("铝", '"铝"'),
    ("兰铝", '"兰 铝"'),
    ("电解铝", '"电 解 铝"'),
    ("职工代表大会", '"职 工 代 表 大 会"'),
    ("2026年", '"2026 年"'),
    ("ESG", '"ESG"'),
    ("6063铝合金", '"6063 铝 合 金"'),
    ("兰州铝业 职代会", '"兰 州 铝 业" "职 代 会"'),
    ("兰州铝业\u3000职代会", '"兰 州 铝 业" "职 代 会"'),
    ('"new york" city', '"new york" "city"'),
    ("兰铝 OR 中铝", '("兰 铝" OR "中 铝")'),
    ("兰铝 OR 中铝 职代会", '("兰 铝" OR "中 铝") "职 代 会"'),
    ("兰铝 -中铝", '"兰 铝" NOT "中 铝"'),
    ("兰铝 NOT 中铝 -氧化铝", '"兰 铝" NOT ("中 铝" OR "氧 化 铝")'),
    ("兰铝 AND 中铝", '"兰 铝" "中 铝"'),
    ('兰铝 "OR" or', '"兰 铝" "OR" "or"'),           # quoted or lower-case: a word like any other
    ('"-中铝" 2026-03', '" 中 铝" "2026  03"'),   # '-' excludes only at the start of an unquoted term
    ("-铝", ""),                                    # refused (parse().message says why)
    ("OR", ""),
    ('a"b', '"a" "b"'),
    ("   ", ""),
    ("", ""),
])
def test_query_rewrite(q, expected):
    assert fts_query(q) == expected


def test_punctuation_is_a_barrier_so_phrases_do_not_cross_it():
    assert shadow("会议。公司").split() == ["会", "议", "\ue000", "公", "司"]
    assert shadow("“新兰铝”，\n公司").split() == ["\ue000", "新", "兰", "铝", "\ue000", "公", "司"]
    assert fts_query("3.5%") == '"3 \ue000 5 \ue000"'
    assert fts_query("议公") == '"议 公"'


def test_punctuation_barrier_in_the_index(tmp_path):
    conn = sqlite3.connect(":memory:")
    conn.execute("create virtual table t using fts5(x, content='')")
    conn.execute("insert into t(rowid, x) values (1, ?)", [shadow("召开会议。公司领导出席；增长3.5%，2026 年")])
    hit = lambda q: conn.execute("select count(*) from t where t match ?", [fts_query(q) or '""']).fetchone()[0]
    assert hit("会议") == hit("公司") == hit("会议。公司") == hit("3.5%") == hit("2026年") == 1
    assert hit("议公") == hit("3.5亿") == hit("席增") == 0


def test_every_query_is_a_valid_match_expression():
    conn = sqlite3.connect(":memory:")
    conn.execute("create virtual table t using fts5(x, content='')")
    for q in ['"', '""', "*", "兰铝*", "a:b", "^x", "(兰", "NEAR(a b)", "-", "3.5%", "OR", "'"]:
        expr = fts_query(q) or '""'
        conn.execute("select rowid from t where t match ?", [expr]).fetchall()


def _sql_rewrite(conn, q):
    return conn.execute(f"with recursive {FTS_QUERY_CTE} select expr, first, message, bexpr, positive, bpositive "
                        f"from fts_query", {"q": q}).fetchone()


def test_sql_copy_of_the_rewrite_is_identical_to_python():
    conn = sqlite3.connect(":memory:")
    pool = list('兰铝州业职代会 \t\n\u3000"ab9Ｅ５%.,，。、々〇𠀀é-*:^()') + ["\U0001F600", "ＡＩ"]
    rnd = random.Random(5)
    pool += [" OR ", " AND ", " NOT ", " -", "OR", "NOT"] * 3
    pool += list("兰铝中州业职代会") * 4        # more runs of ideographs (bigram phrases)
    queries = ["兰铝", "兰州铝业 职代会", '" 兰铝"', "兰铝 -中铝", "兰铝 OR 中 -铝业", "ＥＳＧ报告", '"new york" city', "2026年", "", " ", "兰铝 OR 中铝 -氧化铝",
               "-铝", "OR", "a OR -b c", "OR a", "a NOT OR b", '"OR" -"x y"', "- -a", "a OR b OR c d OR e"]
    queries += ["".join(rnd.choice(pool) for _ in range(rnd.randint(0, 16))) for _ in range(5000)]
    for q in queries:
        p = parse(q)
        assert _sql_rewrite(conn, q) == (fts_query(q), first_term(q), p.message, p.bexpr, p.positive, p.bpositive), q


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
