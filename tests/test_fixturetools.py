"""`archiver fixtures record` and `archiver fixtures check`, through click's CliRunner in tmp_path."""
import json

from click.testing import CliRunner

from archiver.cli import main

URL = "https://lzly.chinalco.com.cn/xwdt/gsyw/202601/t20260108_162173.html"
PARAS = ["兰州铝业党委召开2025年度基层党组织书记抓基层党建工作述职评议会，总结成绩、查找不足。",
         "会议要求，各基层党组织要坚持问题导向，压实工作责任，推动党建与生产经营深度融合。",
         "公司领导班子成员出席会议，各基层党组织书记参加述职。"]


def saved_page(tmp_path, encoding="utf-8"):
    html = (f'<html><head><meta charset="{encoding}"><title>述职评议会</title></head><body>'
            f'<div class="crumb">首页 > 新闻动态 > 公司要闻</div>'
            f'<div class="xl_main"><h1>兰州铝业召开述职评议会</h1>'
            f'<div class="info"><span>来源：走进兰铝</span><span>时间：2026-01-08</span></div>'
            f'<div class="TRS_Editor">{"".join(f"<p>{p}</p>" for p in PARAS)}</div>'
            f'<div>附件：</div></div><div class="foot">版权所有 中国铝业集团有限公司 京ICP备16034488号-1</div>'
            f'</body></html>')
    path = tmp_path / "saved.html"
    path.write_bytes(html.encode(encoding))
    return path


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_record_keeps_raw_bytes_headers_and_writes_a_draft(tmp_path):
    page = saved_page(tmp_path, "gbk")
    fixtures = tmp_path / "fixtures"
    res = run("fixtures", "record", str(page), "--url", URL, "--fixtures", str(fixtures),
              "--header", "Content-Type: text/html; charset=gbk")
    assert res.exit_code == 0, res.output
    case = fixtures / "lzly_chinalco_com_cn" / "article-xwdt-gsyw-162173"
    assert (case / "body.html").read_bytes() == page.read_bytes()            # GBK stays GBK
    response = json.loads((case / "response.json").read_text(encoding="utf-8"))
    assert response["url"] == URL and response["headers"]["Content-Type"] == "text/html; charset=gbk"
    draft = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert "_review" in draft
    assert (draft["title"], draft["source"], draft["published_at"]) == ("兰州铝业召开述职评议会", "走进兰铝", "2026-01-08")
    assert draft["body_includes"][0] == PARAS[0] and draft["body_includes"][-1] == PARAS[-1]
    assert "版权所有" in draft["body_excludes"]
    # a second record of the same case is refused unless forced
    assert run("fixtures", "record", str(page), "--url", URL, "--fixtures", str(fixtures)).exit_code != 0


def test_check_refuses_an_unreviewed_draft_then_passes_once_reviewed(tmp_path):
    fixtures = tmp_path / "fixtures"
    run("fixtures", "record", str(saved_page(tmp_path)), "--url", URL, "--fixtures", str(fixtures))
    res = run("fixtures", "check", "--fixtures", str(fixtures))
    assert res.exit_code == 1 and "unreviewed draft" in res.output
    exp_path = next(fixtures.rglob("expected.json"))
    expected = json.loads(exp_path.read_text(encoding="utf-8"))
    del expected["_review"]                                   # a person read it and agrees
    exp_path.write_text(json.dumps(expected, ensure_ascii=False), encoding="utf-8")
    res = run("fixtures", "check", "--fixtures", str(fixtures))
    assert res.exit_code == 0, res.output
    assert "1 of 1 cases match" in res.output


def test_check_prints_each_field_that_differs(tmp_path):
    fixtures = tmp_path / "fixtures"
    run("fixtures", "record", str(saved_page(tmp_path)), "--url", URL, "--fixtures", str(fixtures), "--slug", "x")
    exp_path = fixtures / "lzly_chinalco_com_cn" / "article-x" / "expected.json"
    expected = json.loads(exp_path.read_text(encoding="utf-8"))
    del expected["_review"]
    expected["source"] = "兰州铝业"                           # what the page "should" say after a redesign
    expected["body_excludes"].append(PARAS[1][:10])
    exp_path.write_text(json.dumps(expected, ensure_ascii=False), encoding="utf-8")
    res = run("fixtures", "check", "--case", str(exp_path.parent), "--fixtures", str(fixtures))
    assert res.exit_code == 1
    assert 'source: expected "兰州铝业", got "走进兰铝"' in res.output
    assert "body_excludes" in res.output
