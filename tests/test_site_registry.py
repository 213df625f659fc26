"""The site registry: every known site, its channels, aliases and excluded hosts."""
import pytest

from archiver.sites import load_network
from archiver.sites.registry import RegistryError, parse_network

NETWORK = load_network()

KNOWN_HOSTS = ["www.chinalco.com.cn", "www.chalco.com.cn", "zlgj.chinalco.com.cn", "lzly.chinalco.com.cn",
               "sami.chinalco.com.cn", "zlgdzz.chinalco.com.cn", "zlrm.chinalco.com.cn", "dq.chinalco.com.cn",
               "cinf.chinalco.com.cn"]


@pytest.mark.parametrize("host", KNOWN_HOSTS)
def test_every_known_news_host_is_a_site(host):
    assert NETWORK.site_for_url(f"https://{host}/") is not None


def test_site_ids_follow_the_naming_rule():
    for site in NETWORK.sites:
        assert site.id == site.host.lower().removeprefix("www.").replace(".", "_")


@pytest.mark.parametrize("url, kind, site, channel, url_date, doc_id", [
    ("https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html", "article", "lzly_chinalco_com_cn", "tplb", "2026-02-10", 163910),
    ("https://www.chinalco.com.cn/xwzx/xwzx_gsyw/202510/t20251022_156684.html", "article", "chinalco_com_cn", "xwzx/xwzx_gsyw", "2025-10-22", 156684),
    ("https://dq.chinalco.com.cn/rlzy_410/cpyc/202601/t20260105_161900.html", "article", "dq_chinalco_com_cn", "rlzy_410/cpyc", "2026-01-05", 161900),
    ("https://www.chalco.com.cn/xwdt/gsyw/index_2.html", "list", "chalco_com_cn", "xwdt/gsyw", None, None),
    ("https://sami.chinalco.com.cn/xwzx/gsyw/", "list", "sami_chinalco_com_cn", "xwzx/gsyw", None, None),
    ("https://www.chalco.com.cn/tzzgx/thygg/202603/P020260330341392300660.pdf", "file", "chalco_com_cn", None, None, None),
    ("https://mp.weixin.qq.com/s/AbCdEf", "wechat", None, None, None, None),
    ("https://zb.chinalco.com.cn/zbxx/001003/bid_goods.html", "excluded", None, None, None, None),
    ("https://chinalco.zhiye.com/", "excluded", None, None, None, None),
    ("https://www.chinalco.com.cn/rlzy/rlzy_zpxx/index.html", "excluded", "chinalco_com_cn", None, None, None),
    ("https://www.baidu.com/s?wd=中铝", "offsite", None, None, None, None),
    ("javascript:void(0)", "invalid", None, None, None, None),
])
def test_urls_are_classified_by_the_network_grammar(url, kind, site, channel, url_date, doc_id):
    info = NETWORK.classify(url)
    assert info.kind == kind
    assert (info.site.id if info.site else None) == site
    assert info.channel == channel
    assert info.url_date == url_date
    assert info.doc_id == doc_id


@pytest.mark.parametrize("url, canonical", [
    ("https://www.chalco.com/xwdt/gsyw/202602/t20260204_163644.html",
     "https://www.chalco.com.cn/xwdt/gsyw/202602/t20260204_163644.html"),
    ("http://www.chalco.com.cn/xwdt/gsyw/./202602/../202602/t20260204_163644.html#top",
     "https://www.chalco.com.cn/xwdt/gsyw/202602/t20260204_163644.html"),
    ("https://zlwebsite.chinalco.com.cn/pub/zljt/xwzx/xwzx_qydt/202607/t20260701_172646.html",
     "https://www.chinalco.com.cn/xwzx/xwzx_qydt/202607/t20260701_172646.html"),
    ("HTTPS://LZLY.CHINALCO.COM.CN/tplb/202602/t20260210_163910.html",
     "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html"),
    ("https://lzly.chinalco.com.cn/xwdt/gsyw/index.html", "https://lzly.chinalco.com.cn/xwdt/gsyw/"),
    # tracking parameters go, whatever their case; the others stay as written, in order, repeated ones too
    ("https://www.chalco.com.cn/a/x.html?UTM_Source=wx&id=3&spm=1.2&id=4&flag&from=timeline&name=%E4%B8%AD#p",
     "https://www.chalco.com.cn/a/x.html?id=3&id=4&flag&name=%E4%B8%AD"),
    ("https://www.chalco.com.cn/a/x.html?from=groupmessage&isappinstalled=0", "https://www.chalco.com.cn/a/x.html"),
])
def test_host_aliases_fold_onto_the_canonical_url(url, canonical):
    assert NETWORK.canonical_url(url) == canonical
    assert NETWORK.classify(url).canonical_url == canonical


def test_every_site_has_a_way_in():
    for site in NETWORK.sites:
        assert site.start_urls(), site.id


def test_alias_only_channels_start_on_their_host():
    chalco = NETWORK.site("chalco_com_cn")
    assert "https://www.chalco.com/en/tzzgxen/yjbgen/index.html" in chalco.start_urls()


def test_unknown_site_id_names_the_known_ones():
    with pytest.raises(KeyError, match="lzly_chinalco_com_cn"):
        NETWORK.site("nope")


def test_adding_a_site_is_configuration_only():
    toml = {
        "network": {"article_url_pattern": NETWORK.article_re.pattern, "list_page_pattern": NETWORK.list_re.pattern},
        "site": [{"id": "zlzy_chinalco_com_cn", "name": "中铝资源", "host": "zlzy.chinalco.com.cn",
                  "channels": [{"path": "xwzx/gsyw", "label": "公司要闻"}]}],
    }
    net = parse_network(toml)
    info = net.classify("https://zlzy.chinalco.com.cn/xwzx/gsyw/202605/t20260501_168400.html")
    assert (info.kind, info.site.id, info.channel) == ("article", "zlzy_chinalco_com_cn", "xwzx/gsyw")


def test_two_sites_claiming_one_host_is_an_error():
    toml = {"network": {"article_url_pattern": "x", "list_page_pattern": "y"},
            "site": [{"id": "a", "name": "A", "host": "h.example"}, {"id": "b", "name": "B", "host": "h.example"}]}
    with pytest.raises(RegistryError):
        parse_network(toml)
