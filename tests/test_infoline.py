"""The info line in every form seen on the network and its sibling templates."""
import pytest

from archiver.normalize.infoline import parse_info_line


@pytest.mark.parametrize("text, source, published, author", [
    # fields in separate inline elements run together (site-network.md §3.2)
    ("来源: 走进兰铝时间: 2026-02-07", "走进兰铝", "2026-02-07", None),
    ("来源：党委宣传部时间：2026-02-03", "党委宣传部", "2026-02-03", None),
    ("来源：中国铝业报\u00a0\u00a0时间：2025-10-22\u00a0\u00a0作者：黎佩佩", "中国铝业报", "2025-10-22", "黎佩佩"),
    ("来源：中铝国际\u3000\u3000时间：2026-01-09", "中铝国际", "2026-01-09", None),
    ("文章来源：国资委新闻中心\u3000\u3000发布时间：2024-01-05", "国资委新闻中心", "2024-01-05", None),
    ("时间:2022-06-10\n来源:中国有色金属报\n作者:张三", "中国有色金属报", "2022-06-10", "张三"),
    ("发布日期：2026年2月7日 来源：兰州铝业", "兰州铝业", "2026年2月7日", None),
    ("【字体：大 中 小】来源：党委宣传部 时间：2026-02-03 【打印】【关闭】", "党委宣传部", "2026-02-03", None),
    ("Source: Chalco  Date: 2026-08-28", "Chalco", "2026-08-28", None),
])
def test_fields_are_split_on_their_labels(text, source, published, author):
    info = parse_info_line(text)
    assert (info.source, info.published, info.author) == (source, published, author)


def test_source_is_kept_apart_from_author():
    info = parse_info_line("来源：中国铝业报 作者：黎佩佩 责任编辑：王五")
    assert info.source == "中国铝业报"
    assert info.author == "黎佩佩"
    assert info.fields["editor"] == "王五"


def test_a_line_without_labels_has_no_fields():
    assert not parse_info_line("奋楫争先开新局 攻坚克难谱新篇")
