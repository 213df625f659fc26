"""Discovery: the registry seeds, names and excludes; it does not limit (archiver/discovery.py)."""
from __future__ import annotations

import asyncio

from scrapy import Request
from scrapy.http import HtmlResponse

from archiver.discovery import Budget, Discovery
from archiver.items import Found
from archiver.sites import load_network

NETWORK = load_network()
GROUP = NETWORK.site("chinalco_com_cn")


def test_a_host_on_a_member_domain_is_a_site_of_the_network_named_by_the_id_rule():
    info = NETWORK.classify("https://zljt-new.chinalco.com.cn/xwzx/gsyw/202601/t20260105_161111.html")
    assert info.kind == "article" and info.site.id == "zljt-new_chinalco_com_cn" and info.site.discovered
    assert info.channel == "xwzx/gsyw" and info.site.family == "chinalco"


def test_non_news_systems_stay_excluded_by_rule_not_by_omission():
    for url in ("https://ebid.chinalco.com.cn/", "https://mail.chalco.com.cn/", "https://hr.chinalco.com.cn/jobs/",
                "https://api2.chinalco.com.cn/x", "https://oa.chinalco.com.cn/"):
        assert NETWORK.classify(url).kind in ("excluded", "offsite"), url
    assert NETWORK.classify("https://oa.chinalco.com.cn/").kind == "excluded"
    for url in ("https://lzly.chinalco.com.cn/rlzy/zpxx/index.html", "https://www.chalco.com.cn/zbgg/index.html",
                "https://zlgj.chinalco.com.cn/EWB-FRONT/rest/x"):
        assert NETWORK.classify(url).kind == "excluded", url
    assert NETWORK.classify("https://www.baidu.com/").kind == "offsite"


def test_seeds_are_registered_channels_archived_discoveries_and_homepages():
    d = Discovery(NETWORK)
    archived = [{"site": "chinalco_com_cn", "channel": "xwzx/xwzx_ztbd", "list_url":
                 "https://www.chinalco.com.cn/xwzx/xwzx_ztbd/", "status": "ok"},
                {"site": "chinalco_com_cn", "channel": "gywm", "list_url": "https://www.chinalco.com.cn/gywm/",
                 "status": "missing"}]
    seeds = d.seeds([GROUP], archived)
    urls = [e.url for e in seeds]
    assert [c.list_url(GROUP) for c in GROUP.channels] == urls[:len(GROUP.channels)]
    assert "https://www.chinalco.com.cn/xwzx/xwzx_ztbd/" in urls          # walked again
    assert "https://www.chinalco.com.cn/gywm/" not in urls                # missing last time: not asked again
    assert urls[-1] == "https://www.chinalco.com.cn/" and seeds[-1].is_hub
    assert "https://www.chinalco.com.cn/gywm/" in [e.url for e in Discovery(NETWORK).seeds([GROUP], archived,
                                                                                              recheck=True)]


def test_navigation_links_give_channels_and_member_homepages_once():
    d = Discovery(NETWORK)
    d.seeds([GROUP])
    links = [("https://www.chinalco.com.cn/xwzx/xwzx_ztbd/index_3.html", "专题报道"),
             ("https://www.chinalco.com.cn/xwzx/xwzx_gsyw/", "公司要闻"),          # registered already
             ("https://zlrm.chinalco.com.cn/", "中铝瑞闽"),
             ("https://zb.chinalco.com.cn/", "招标"), ("https://www.baidu.com/", "百度")]
    found = d.from_links(links, found_on="https://www.chinalco.com.cn/", depth=0)
    assert [(e.url, e.found_by, e.channel, e.label) for e in found] == [
        ("https://www.chinalco.com.cn/xwzx/xwzx_ztbd/", "navigation", "xwzx/xwzx_ztbd", "专题报道"),
        ("https://zlrm.chinalco.com.cn/", "navigation", None, "中铝瑞闽")]
    assert d.from_links(links, found_on="https://x/", depth=0) == []


def test_an_article_url_names_its_channel():
    d = Discovery(NETWORK)
    d.seeds([GROUP])
    info = NETWORK.classify("https://www.chinalco.com.cn/xwzx/xwzx_dfdt/202601/t20260105_161000.html")
    (entry,) = d.from_article(info, found_on="https://www.chinalco.com.cn/", depth=0)
    assert (entry.url, entry.found_by, entry.depth) == ("https://www.chinalco.com.cn/xwzx/xwzx_dfdt/", "link", 1)


def test_budgets_bound_depth_channels_and_sites_and_count_what_they_refused():
    d = Discovery(NETWORK, budget=Budget(max_channels=len(GROUP.channels) + 1, max_sites=1, max_depth=2))
    d.seeds([GROUP])
    links = [(f"https://www.chinalco.com.cn/c{i}/", "") for i in range(3)]
    assert len(d.from_links(links, found_on="x", depth=0)) == 1
    assert d.from_links([("https://www.chinalco.com.cn/deep/", "")], found_on="x", depth=2) == []
    sites = [("https://m1.chinalco.com.cn/", ""), ("https://m2.chinalco.com.cn/", "")]
    assert len(d.from_links(sites, found_on="x", depth=0)) == 1
    assert d.refused == {"channels_per_site": 2, "depth": 1, "sites": 1}


def test_discovery_off_walks_the_registry_alone():
    d = Discovery(NETWORK, enabled=False)
    seeds = d.seeds([GROUP])
    assert all(not e.is_hub for e in seeds) and len(seeds) == len(GROUP.channels)
    assert d.from_links([("https://www.chinalco.com.cn/xwzx/xwzx_ztbd/", "")], found_on="x", depth=0) == []


# ---------------------------------------------------------------- in the spider
from tests.spiderutil import make_spider  # noqa: E402


HOME = ('<html><head><title>中铝瑞闽股份有限公司</title></head><body><div class="nav"><a href="./">首页</a>'
        '<a href="./shzr/hjbh/">环境保护</a></div><a href="./xwzx/gsyw/202609/t20260901_178000.html">新闻</a>'
        '<select><option value="https://zlwx.chinalco.com.cn/">中铝无锡</option></select></body></html>')


def test_a_homepage_yields_its_channels_member_sites_and_articles_and_is_recorded():
    spider = make_spider()
    asyncio.run(_drain(spider.start()))
    url = "https://zlrm.chinalco.com.cn/"
    req = Request(url, meta={"archiver": {"kind": "hub", "site": "zlrm_chinalco_com_cn", "channel": None,
                                          "depth": 0, "entry": True,
                                          "found": {"found_by": "registry", "found_on": None, "label": None,
                                                    "new_site": False}}})
    out = list(spider.parse_hub(HtmlResponse(url, body=HOME.encode("utf-8"), request=req,
                                             headers={"Content-Type": "text/html; charset=utf-8"})))
    requests = {r.url: r for r in out if isinstance(r, Request)}
    assert "https://zlrm.chinalco.com.cn/xwzx/gsyw/202609/t20260901_178000.html" in requests
    assert requests["https://zlrm.chinalco.com.cn/xwzx/gsyw/"].meta["archiver"]["found"]["found_by"] == "link"
    assert "https://zlwx.chinalco.com.cn/" in requests                    # a member site nobody listed
    assert requests["https://zlwx.chinalco.com.cn/"].callback == spider.parse_hub
    (site,) = [x for x in out if isinstance(x, Found)]
    assert (site.kind, site.site, site.in_registry) == ("site", "zlrm_chinalco_com_cn", True)


def test_a_missing_discovered_channel_is_recorded_not_a_failure():
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.python.failure import Failure as TwistedFailure
    spider = make_spider()
    url = "https://www.chinalco.com.cn/xwzx/"
    req = Request(url, meta={"archiver": {"kind": "list", "site": "chinalco_com_cn", "channel": "xwzx", "page": 0,
                                          "probe": False, "entry": True, "found": {
                                              "found_by": "navigation", "found_on": "https://www.chinalco.com.cn/",
                                              "label": "新闻中心", "new_site": False}}})
    failure = TwistedFailure(HttpError(HtmlResponse(url, status=404, body=b"x", request=req), "404"))
    failure.request = req
    (found,) = list(spider.on_error(failure))
    assert isinstance(found, Found) and (found.status, found.in_registry) == ("missing", False)
    assert spider.crawler.stats.get_value("archiver/discovery/channels_missing") == 1


async def _drain(agen):
    return [x async for x in agen]
