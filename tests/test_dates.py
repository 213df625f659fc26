"""Dates as the network and its sibling templates write them."""
import pytest

from archiver.normalize.dates import find_date, url_date


@pytest.mark.parametrize("text, value, precision", [
    ("时间: 2026-02-07", "2026-02-07", "day"),
    ("时间：2026-02-07", "2026-02-07", "day"),
    ("发布时间：2026/04/09", "2026-04-09", "day"),
    ("2026.02.07", "2026-02-07", "day"),
    ("2026年2月7日", "2026-02-07", "day"),
    ("2026年02月07日 09:30", "2026-02-07T09:30:00+08:00", "minute"),
    ("2026-02-07 09:30:15", "2026-02-07T09:30:15+08:00", "second"),
    ("2026年2月7日 9时30分", "2026-02-07T09:30:00+08:00", "minute"),
    ("发布时间：2026-02-07\u00a010:05", "2026-02-07T10:05:00+08:00", "minute"),
    ("[2026-02-07]", "2026-02-07", "day"),
    ("Date: February 7, 2026", "2026-02-07", "day"),
    ("Published 7 Feb 2026 10:15", "2026-02-07T10:15:00+08:00", "minute"),
])
def test_displayed_dates_become_iso_8601_with_the_precision_shown(text, value, precision):
    d = find_date(text)
    assert d is not None and (d.value, d.precision) == (value, precision)


@pytest.mark.parametrize("text", [
    "版权所有 2003-2026 中国铝业股份有限公司",        # a copyright range is never a date
    "Copyright © 2026",
    "电话：010-8229-8888",
    "2026-13-45",                                     # impossible month and day
    "2026-02-30",
    "",
    None,
])
def test_no_date_is_invented(text):
    assert find_date(text) is None


def test_the_first_date_in_the_text_wins():
    assert find_date("时间: 2026-02-07 更新: 2026-02-09").value == "2026-02-07"


@pytest.mark.parametrize("url, expected", [
    ("https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html", "2026-02-10"),
    ("https://www.chinalco.com.cn/xwzx/xwzx_qydt/202009/t20200907_18515.html", "2020-09-07"),
    ("https://www.chalco.com.cn/xwdt/gsyw/index.html", None),
    ("https://www.chalco.com.cn/xwdt/gsyw/202602/t20260231_1.html", None),
])
def test_url_date_is_read_from_the_trs_file_name(url, expected):
    assert url_date(url) == expected
