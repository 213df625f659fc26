"""End to end: a variant of the network that the registry does not fully describe (issue #10).

The replica serves the fixtures plus a few pages of its own (a resolver in this process), and the
crawl runs as the real CLI with a registry that lacks the group's 企业动态 channel and the zlrm
member site. A person clicking through the variant reaches:

* the group homepage, whose menu links 企业动态 (``/xwzx/xwzx_qydt/``) and whose 友情链接 select
  lists zlrm (and the tender portal, which stays excluded by rule);
* zlrm's homepage, whose menu links its 环境保护 channel, a 新闻中心 channel with a runaway pager
  (``createPageHTML(10000, …)`` and an ``index_N.html`` that never 404s) and 招聘信息 (excluded);
* in 企业动态, a one-paragraph item whose info line ends with an empty ``<span>作者：</span>``.

Every article is archived once, the discovered channels and site are recorded with how they were
found, the runaway pager costs one extra request and is reported, an unchanged re-crawl costs a
conditional request per channel and homepage, and ``--registry-only`` walks the registry alone.
"""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness.replica.cases import Case
from tests.crawlutil import crawl_own_replica
from archiver.sites import load_network
from archiver.sites.registry import DEFAULT_REGISTRY
from tests.fixture_cases import FIXTURES, all_cases

pytestmark = pytest.mark.e2e

NETWORK = load_network()
GROUP = "https://www.chinalco.com.cn"
ZLRM = "https://zlrm.chinalco.com.cn"
QYDT_INDEX = f"{GROUP}/xwzx/xwzx_qydt/index.html"
SHORT_ITEM = f"{GROUP}/xwzx/xwzx_qydt/202609/t20260902_178010.html"
RUNAWAY = f"{ZLRM}/xwzx/gsyw/"
RUNAWAY_ARTICLES = [f"{ZLRM}/xwzx/gsyw/202609/t2026090{n}_17802{n}.html" for n in (3, 4, 5)]
HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Last-Modified", "Wed, 02 Sep 2026 01:00:00 GMT"),
           ("ETag", '"variant-1"')]


def page(title: str, body: str) -> bytes:
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title></head>'
            f'<body>{body}<div class="footer"><p>版权所有 中国铝业集团有限公司 京ICP备16034488号-1</p></div>'
            f'</body></html>').encode("utf-8")


def group_home() -> bytes:
    return page("中国铝业集团有限公司", """
      <div class="nav"><ul>
        <li><a href="./">首页</a></li><li><a href="./xwzx/">新闻中心</a></li>
        <li><a href="./xwzx/xwzx_gsyw/">公司要闻</a></li><li><a href="./xwzx/xwzx_qydt/">企业动态</a></li>
      </ul></div>
      <div class="banner"><script>loadNews();</script></div>
      <div class="yqlj">友情链接 <select onchange="window.open(this.value)">
        <option value="">成员企业</option>
        <option value="https://zlrm.chinalco.com.cn/">中铝瑞闽股份有限公司</option>
        <option value="https://zb.chinalco.com.cn/">中铝集团电子招标平台</option>
        <option value="https://www.baidu.com/">百度</option>
      </select></div>""")


def zlrm_home() -> bytes:
    return page("中铝瑞闽股份有限公司", """
      <div class="menu"><a href="./">首页</a> <a href="./xwzx/gsyw/">新闻中心</a>
        <a href="./shzr/hjbh/">环境保护</a> <a href="./rlzy/zpxx/">招聘信息</a></div>
      <div class="news">图片新闻加载中</div>""")


def runaway_list(n: int) -> bytes:
    rows = "".join(f'<li><a href="./{u.rsplit("/", 2)[1]}/{u.rsplit("/", 1)[1]}">瑞闽新闻{i}</a>'
                   f'<span>2026-09-0{i + 3}</span></li>' for i, u in enumerate(RUNAWAY_ARTICLES))
    return page("新闻中心", f'<div class="pos"><a href="../../">首页</a> &gt; 新闻中心</div>'
                            f'<ul class="list">{rows}</ul>'
                            f'<div class="page"><script>createPageHTML(10000, {n}, "index", "html");</script></div>')


def article(title: str, day: str, paragraphs: list[str], info: str) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return page(f"{title}_中国铝业集团有限公司", f"""
      <div class="crumb"><a href="../../../">首页</a> &gt; <a href="../../">新闻中心</a> &gt; 企业动态</div>
      <div class="xl_main"><h2>{title}</h2>{info}{body}<div>附件：</div></div>""")


SHORT_TITLE = "中铝集团召开安全生产专题会议"
SHORT_BODY = "9月1日，中铝集团召开安全生产专题会议，传达学习有关会议精神，部署下一阶段安全生产重点工作。"


def extra_pages() -> dict[str, bytes]:
    pages = {
        f"{GROUP}/": group_home(),
        f"{ZLRM}/": zlrm_home(),
        SHORT_ITEM: article(SHORT_TITLE, "2026-09-01", [SHORT_BODY],
                            "<span>来源：中国铝业报</span><span>时间：2026-09-01</span><span>作者：</span>"),
    }
    for i, url in enumerate(RUNAWAY_ARTICLES):
        pages[url] = article(f"瑞闽新闻{i}", f"2026-09-0{i + 3}",
                             [f"中铝瑞闽第{i}条新闻的正文，讲述环境保护和安全生产的工作进展，内容足够长以便判断。" * 3],
                             f'<div class="info">来源：中铝瑞闽　时间：2026-09-0{i + 3}</div>')
    qydt = next(c for c in all_cases() if c.url == QYDT_INDEX)
    html = qydt.body.decode("utf-8")
    row = f'<li><a href="./202609/t20260902_178010.html" target="_blank">{SHORT_TITLE}</a><span>2026-09-01</span></li>'
    pages[QYDT_INDEX] = re.sub(r"(<ul[^>]*>)", r"\1" + row, html, count=1).encode("utf-8")
    pages[QYDT_INDEX.removesuffix("index.html")] = pages[QYDT_INDEX]      # the directory serves the same page
    return pages


class Variant:
    def __init__(self):
        self.pages = extra_pages()

    def resolve(self, url: str) -> Case | None:
        if url in self.pages:
            return Case(url=url, status=200, headers=HEADERS, body=self.pages[url])
        parts = urlsplit(url)
        if url.startswith(RUNAWAY):
            m = re.fullmatch(r"/xwzx/gsyw/(?:index(?:_(\d+))?\.html)?", parts.path)
            if m:
                return Case(url=url, status=200, headers=HEADERS, body=runaway_list(int(m[1] or 0)))
        return None


def variant_registry(folder: Path) -> Path:
    text = DEFAULT_REGISTRY.read_text(encoding="utf-8")
    text = re.sub(r'\n  \{ path = "xwzx/xwzx_qydt".*', "", text)
    text = re.sub(r'\n\[\[site\]\]\nid = "zlrm_chinalco_com_cn".*?(?=\n\[\[site\]\])', "", text, flags=re.S)
    assert "xwzx_qydt" not in text and "zlrm_chinalco_com_cn" not in text
    path = folder / "variant.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def variant(tmp_path_factory):
    folder = tmp_path_factory.mktemp("variant")
    registry = variant_registry(folder)
    # each crawl against a replica of its own: each log holds exactly that crawl's requests
    replica = {"fixtures": FIXTURES, "state": "t1", "resolver": Variant().resolve}
    first = crawl_own_replica(folder / "archive.db", "--registry", str(registry), **replica)
    second = crawl_own_replica(folder / "archive.db", "--registry", str(registry), **replica)
    reference = crawl_own_replica(folder / "reference.db", **replica)          # the full registry, no extras needed
    registry_only = crawl_own_replica(folder / "registry-only.db", "--registry", str(registry), "--registry-only",
                                      **replica)
    con = sqlite3.connect(folder / "archive.db")
    con.row_factory = sqlite3.Row
    yield {"first": first, "second": second, "reference": reference, "registry_only": registry_only,
           "con": con, "folder": folder}
    con.close()


def urls(db: Path) -> set[str]:
    with sqlite3.connect(db) as con:
        return {u for r in con.execute("select url, canonical_url from sightings") for u in r}


def test_every_article_a_reader_reaches_is_archived_once(variant):
    first = variant["first"]["proc"]
    assert first.returncode == 0, first.stdout + first.stderr
    archived = urls(variant["folder"] / "archive.db")
    reference = urls(variant["folder"] / "reference.db")
    assert reference <= archived                     # the full registry's crawl finds nothing more
    assert {SHORT_ITEM, *RUNAWAY_ARTICLES} <= archived
    qydt = {NETWORK.canonical_url(c.url) for c in all_cases() if c.page_type == "article"
            and "/xwzx/xwzx_qydt/" in c.url and c.status == 200 and not c.response.get("only_in")}
    zlrm = {c.url for c in all_cases() if c.page_type == "article" and c.url.startswith(ZLRM)}
    assert qydt and zlrm and (qydt | zlrm) <= archived
    con = variant["con"]
    assert con.execute("select count(*) from articles").fetchone()[0] == \
        con.execute("select count(distinct article_id) from sightings").fetchone()[0]
    fetched = [url for _, url, status in variant["first"]["log"] if status == 200 and url in archived]
    assert len(fetched) == len(set(fetched))          # no article page fetched twice


def test_the_one_paragraph_item_with_an_empty_author_field_is_read_completely(variant):
    row = variant["con"].execute("select * from articles where url = ?", [SHORT_ITEM]).fetchone()
    assert (row["title"], row["published_at"], row["source"], row["author"]) == (
        SHORT_TITLE, "2026-09-01", "中国铝业报", None)
    assert row["body"] == SHORT_BODY and row["extraction_status"] == "complete"


def test_the_discovered_channels_and_site_are_recorded_with_how_they_were_found(variant):
    con = variant["con"]
    qydt = con.execute("select * from network_channels where site = 'chinalco_com_cn' and channel = 'xwzx/xwzx_qydt'"
                       ).fetchone()
    assert qydt["in_registry"] == 0 and qydt["found_by"] == "navigation" and qydt["found_on"] == f"{GROUP}/"
    assert qydt["label"] == "企业动态" and qydt["status"] == "ok" and qydt["articles"] > 0
    site = con.execute("select * from network_sites where site = 'zlrm_chinalco_com_cn'").fetchone()
    # 友情链接 on the group's homepage and on its list pages: whichever the crawl read first
    assert site["in_registry"] == 0 and site["found_by"] == "navigation" and site["found_on"].startswith(GROUP)
    channels = {r["channel"] for r in con.execute(
        "select channel from network_channels where site = 'zlrm_chinalco_com_cn' and status = 'ok'")}
    assert channels == {"shzr/hjbh", "xwzx/gsyw"}
    out = variant["first"]["proc"].stdout
    assert "discovered      3 channels and 1 site not in the registry" in out
    run = con.execute("select discovered from crawl_runs where id = 1").fetchone()
    assert json.loads(run["discovered"])["sites_not_in_registry"] == 1


def test_excluded_hosts_and_paths_stay_excluded_by_rule(variant):
    requested = {url for _, url, _ in variant["first"]["log"]}
    assert not [u for u in requested if "zb.chinalco.com.cn" in u or "/zpxx/" in u or "baidu" in u]


def test_the_runaway_pager_costs_one_extra_page_and_is_reported(variant):
    pages = [url for _, url, _ in variant["first"]["log"] if url.startswith(RUNAWAY) and url not in RUNAWAY_ARTICLES]
    assert len(pages) <= 3, pages                     # index.html (or the directory) and index_1.html
    run = variant["con"].execute("select problems, status from crawl_runs where id = 1").fetchone()
    assert "warning: pager: pager of https://zlrm.chinalco.com.cn/xwzx/gsyw/ promised 10000 pages, delivered 2" \
        in run["problems"]
    assert run["status"] == "ok"
    assert "promised 10000 pages" in variant["first"]["proc"].stdout


def test_an_unchanged_recrawl_costs_a_conditional_request_per_channel_and_homepage(variant):
    second = variant["second"]
    assert second["proc"].returncode == 0, second["proc"].stdout + second["proc"].stderr
    log = [(url, status) for _, url, status in second["log"] if not url.endswith("/robots.txt")]
    assert log and all(status == 304 for _, status in log), [x for x in log if x[1] != 304]
    walked = variant["con"].execute("select count(*) from network_channels where status = 'ok'").fetchone()[0]
    homepages = variant["con"].execute("select count(*) from network_sites where status = 'ok'").fetchone()[0]
    assert len(log) == walked + homepages
    assert len(log) * 10 < len(variant["first"]["log"])


def test_registry_only_walks_the_registry_alone(variant):
    proc = variant["registry_only"]["proc"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    archived = urls(variant["folder"] / "registry-only.db")
    assert SHORT_ITEM not in archived and not [u for u in archived if u.startswith(ZLRM)]
    assert "discovery       off (--registry-only)" in proc.stdout
