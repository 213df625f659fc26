"""The replica server: fixture cases served at their real URLs through an HTTP/HTTPS forward proxy."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from harness.replica.cases import (
    NOT_FOUND_BODY,
    Case,
    DuplicateURLError,
    load_cases,
    load_not_found_body,
    normalize_url,
)
from harness.replica.server import ReplicaServer
from harness.replica.tls import SAN_NAMES, generate_certificate

REPO = Path(__file__).resolve().parents[1]
REAL_FIXTURES = REPO / "fixtures"
SEED_URL = "https://lzly.chinalco.com.cn/tplb/202602/t20260210_163910.html"
SEED_DIR = REAL_FIXTURES / "lzly_chinalco_com_cn" / "article-tplb-163910"

GBK_BODY = "<html><head><meta charset=gbk></head><body><h1>中铝集团新闻</h1></body></html>".encode("gbk")


# --------------------------------------------------------------------------- helpers


def write_case(root: Path, rel: str, url: str, body: bytes | None = b"<html>ok</html>", **spec) -> Path:
    folder = root / rel
    folder.mkdir(parents=True, exist_ok=True)
    data = {"url": url, "status": 200, "headers": {"Content-Type": "text/html"}}
    if body is not None:
        (folder / "body.html").write_bytes(body)
        data["body"] = "body.html"
    data.update(spec)
    (folder / "response.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return folder


def proxy_get(server: ReplicaServer, url: str, method: str = "GET", headers: dict | None = None, timeout: float = 10):
    """Proxy-form request (``GET http://host/path``) over a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, url, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def unverified_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def https_conn(server: ReplicaServer, host: str, port: int = 443, timeout: float = 10) -> http.client.HTTPSConnection:
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=unverified_context(), timeout=timeout)
    conn.set_tunnel(host, port)
    return conn


def https_get(server: ReplicaServer, url: str, method: str = "GET", headers: dict | None = None):
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = https_conn(server, parts.hostname, parts.port or 443)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


@pytest.fixture
def fx(tmp_path: Path) -> Path:
    root = tmp_path / "fixtures"
    write_case(
        root,
        "www_chinalco_com_cn/article-gbk",
        "https://www.chinalco.com.cn/xwzx/202601/t20260105_1.html",
        body=GBK_BODY,
        headers=[
            ["Content-Type", "text/html; charset=GBK"],
            ["Set-Cookie", "a=1; path=/"],
            ["Set-Cookie", "b=2; path=/"],
            ["Last-Modified", "Mon, 05 Jan 2026 08:00:00 GMT"],
            ["ETag", '"abc-123"'],
            ["Content-Length", "999999"],
        ],
    )
    write_case(root, "plain_example/page", "http://plain.chinalco.com.cn/only-http.html", body=b"plain http page")
    write_case(root, "chalco_com_cn/list-xwdt", "https://www.chalco.com.cn/xwdt/", body=None, status=404)
    write_case(root, "chalco_com_cn/list-index", "https://www.chalco.com.cn/gsyw/index.html", body=b"<ul>list</ul>")
    write_case(root, "chalco_com_cn/robots", "https://www.chalco.com.cn/robots.txt", body=b"User-agent: *\n")
    write_case(
        root,
        "siblings/www_cnmc_com_cn/article-x",
        "https://www.cnmc.com.cn/art/2026/1/1/art_1.html",
        body=b"sibling",
    )
    return root


@pytest.fixture
def server(fx: Path):
    with ReplicaServer(fx) as srv:
        yield srv


# --------------------------------------------------------------------------- loading cases


def test_load_cases_reads_raw_bytes_and_siblings(fx: Path):
    cases = load_cases(fx)
    assert cases["https://www.chinalco.com.cn/xwzx/202601/t20260105_1.html"].body == GBK_BODY
    assert "https://www.cnmc.com.cn/art/2026/1/1/art_1.html" in cases
    robots = cases["https://www.chalco.com.cn/robots.txt"]
    assert robots.status == 200 and robots.delay == 0.0 and robots.source == fx / "chalco_com_cn" / "robots"
    assert cases["https://www.chalco.com.cn/xwdt/"].body == b""  # no body file → empty body


def test_case_accepts_dict_or_pairs():
    a = Case("https://x.chinalco.com.cn/", 200, {"A": "1", "B": "2"}, b"x", 0)
    b = Case("https://x.chinalco.com.cn/", 200, [("A", "1"), ("B", "2")], b"x", 0)
    assert a == b and a.headers == (("A", "1"), ("B", "2"))
    assert a.header("a") == "1"


def test_normalize_url():
    assert normalize_url("HTTPS://WWW.Chalco.com.cn:443") == "https://www.chalco.com.cn/"
    assert normalize_url("http://h.cn:80/a b/中?q=中") == "http://h.cn/a%20b/%E4%B8%AD?q=%E4%B8%AD"
    assert normalize_url("https://h.cn:8443/x#frag") == "https://h.cn:8443/x"


def test_duplicate_url_names_both_folders(tmp_path: Path):
    write_case(tmp_path, "site/a", "https://dup.chinalco.com.cn/x.html")
    write_case(tmp_path, "site/b", "https://DUP.chinalco.com.cn:443/x.html")
    with pytest.raises(DuplicateURLError) as info:
        load_cases(tmp_path)
    msg = str(info.value)
    assert str(tmp_path / "site" / "a") in msg and str(tmp_path / "site" / "b") in msg
    # Not a duplicate once one of them is absent in a state.
    (tmp_path / "site/b/response.json").write_text(
        json.dumps({"url": "https://dup.chinalco.com.cn/x.html", "body": "body.html", "only_in": ["t2"]})
    )
    assert len(load_cases(tmp_path, "t1")) == 1
    with pytest.raises(DuplicateURLError):
        load_cases(tmp_path, "t2")


def test_malformed_cases_are_skipped_with_reason(tmp_path: Path):
    write_case(tmp_path, "s/good", "https://ok.chinalco.com.cn/a.html")
    bad_json = tmp_path / "s" / "bad-json"
    bad_json.mkdir(parents=True)
    (bad_json / "response.json").write_text("{not json")
    no_body = write_case(tmp_path, "s/no-body", "https://ok.chinalco.com.cn/b.html")
    (no_body / "body.html").unlink()
    write_case(tmp_path, "s/rel-url", "/relative.html")
    write_case(tmp_path, "s/bad-status", "https://ok.chinalco.com.cn/c.html", status="200")
    write_case(tmp_path, "s/bad-state", "https://ok.chinalco.com.cn/d.html", states={"t2": {"staus": 404}})

    skipped = []
    cases = load_cases(tmp_path, skipped=skipped)
    assert list(cases) == ["https://ok.chinalco.com.cn/a.html"]
    reasons = {item.path.name: item.reason for item in skipped}
    assert set(reasons) == {"bad-json", "no-body", "rel-url", "bad-status", "bad-state"}
    assert "not valid JSON" in reasons["bad-json"]
    assert "does not exist" in reasons["no-body"]
    assert "absolute" in reasons["rel-url"]
    assert "status" in reasons["bad-status"]
    assert "staus" in reasons["bad-state"]
    # The server starts anyway and reports them.
    srv = ReplicaServer(tmp_path)
    assert len(srv.cases) == 1 and len(srv.skipped) == 5
    assert any("bad-json" in str(item) for item in srv.skipped)


def test_not_found_body_file_or_builtin(tmp_path: Path):
    assert load_not_found_body(tmp_path) == NOT_FOUND_BODY
    (tmp_path / "_replica").mkdir()
    (tmp_path / "_replica" / "404.html").write_bytes(b"<h1>\xd5\xd2\xb2\xbb\xb5\xbd</h1>")
    assert load_not_found_body(tmp_path) == b"<h1>\xd5\xd2\xb2\xbb\xb5\xbd</h1>"


def test_real_fixtures_serve_the_seed_article():
    assert (SEED_DIR / "response.json").exists(), "the seed fixture is part of the repository"
    skipped = []
    cases = load_cases(REAL_FIXTURES, skipped=skipped)
    assert SEED_URL in cases
    with ReplicaServer(REAL_FIXTURES) as srv:
        status, headers, body = https_get(srv, SEED_URL)
    assert status == 200
    assert body == (SEED_DIR / "body.html").read_bytes()


# --------------------------------------------------------------------------- serving


def test_http_proxy_form_exact_bytes_and_headers(server: ReplicaServer, fx: Path):
    write_case(fx, "plain2/p", "http://news.chinalco.com.cn/p.html", body=GBK_BODY,
               headers=[["Content-Type", "text/html; charset=GBK"], ["X-A", "1"], ["X-A", "2"]])
    server.reload()
    status, headers, body = proxy_get(server, "http://news.chinalco.com.cn/p.html")
    assert status == 200
    assert body == GBK_BODY
    assert headers == [
        ("Content-Type", "text/html; charset=GBK"),
        ("X-A", "1"),
        ("X-A", "2"),
        ("Content-Length", str(len(GBK_BODY))),
    ]
    assert server.requests[-1] == ("GET", "http://news.chinalco.com.cn/p.html", 200)


def test_https_connect_keep_alive_two_requests_one_tunnel(server: ReplicaServer):
    conn = https_conn(server, "www.chinalco.com.cn")
    try:
        conn.request("GET", "/xwzx/202601/t20260105_1.html")
        r1 = conn.getresponse()
        b1 = r1.read()
        conn.request("GET", "/xwzx/202601/t20260105_1.html?from=list")
        r2 = conn.getresponse()
        b2 = r2.read()
        cert = conn.sock.getpeercert(binary_form=True)
    finally:
        conn.close()
    assert (r1.status, r2.status) == (200, 200)
    assert b1 == b2 == GBK_BODY
    # Content-Length is recomputed, never the fixture's bogus value.
    assert r1.getheader("Content-Length") == str(len(GBK_BODY))
    assert r1.getheaders().count(("Set-Cookie", "a=1; path=/")) == 1
    assert server.connects == 1
    assert server.requests == [
        ("GET", "https://www.chinalco.com.cn/xwzx/202601/t20260105_1.html", 200),
        ("GET", "https://www.chinalco.com.cn/xwzx/202601/t20260105_1.html?from=list", 200),
    ]
    from cryptography import x509

    san = x509.load_der_x509_certificate(cert).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    names = san.value.get_values_for_type(x509.DNSName)
    assert {"*.chinalco.com.cn", "*.chalco.com.cn", "*.gov.cn", "localhost"} <= set(names)


def test_certificate_is_well_formed():
    from cryptography import x509

    cert_pem, key_pem = generate_certificate()
    cert = x509.load_pem_x509_certificate(cert_pem)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert set(SAN_NAMES) <= set(names)
    assert {"*.chinalco.com.cn", "chinalco.com.cn", "*.chalco.com.cn", "*.chalco.com", "*.gov.cn",
            "*.cnmc.com.cn", "*.cecep.cn", "localhost"} <= set(names)
    assert cert.not_valid_before_utc < cert.not_valid_after_utc
    assert b"PRIVATE KEY" in key_pem


def test_unknown_url_is_404_with_not_found_body(server: ReplicaServer, fx: Path):
    status, headers, body = https_get(server, "https://www.chinalco.com.cn/nope.html")
    assert status == 404
    assert dict(headers)["Content-Type"] == "text/html; charset=utf-8"
    assert body == NOT_FOUND_BODY
    (fx / "_replica").mkdir()
    (fx / "_replica" / "404.html").write_bytes(b"custom 404")
    server.reload()
    assert proxy_get(server, "http://unknown.example.gov.cn/")[2] == b"custom 404"
    assert server.requests[-1] == ("GET", "http://unknown.example.gov.cn/", 404)


def test_http_url_with_https_twin_redirects_301(server: ReplicaServer):
    status, headers, _ = proxy_get(server, "http://www.chinalco.com.cn/xwzx/202601/t20260105_1.html?a=1")
    assert status == 301
    assert dict(headers)["Location"] == "https://www.chinalco.com.cn/xwzx/202601/t20260105_1.html?a=1"
    # An http-only case is served as is, without redirect.
    status, _, body = proxy_get(server, "http://plain.chinalco.com.cn/only-http.html")
    assert (status, body) == (200, b"plain http page")


def test_query_string_fallback(server: ReplicaServer):
    status, _, body = https_get(server, "https://www.chalco.com.cn/robots.txt?v=2")
    assert (status, body) == (200, b"User-agent: *\n")
    assert server.requests[-1] == ("GET", "https://www.chalco.com.cn/robots.txt?v=2", 200)


def test_directory_falls_back_to_index_html(server: ReplicaServer):
    assert https_get(server, "https://www.chalco.com.cn/gsyw/")[2] == b"<ul>list</ul>"
    # An exact case for the directory URL wins over index.html.
    assert https_get(server, "https://www.chalco.com.cn/xwdt/")[0] == 404
    assert https_get(server, "https://www.chalco.com.cn/gsyw")[0] == 404


def test_origin_form_with_host_header_tries_https_then_http(server: ReplicaServer):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/gsyw/index.html", headers={"Host": "www.chalco.com.cn"})
        r = conn.getresponse()
        assert (r.status, r.read()) == (200, b"<ul>list</ul>")
        conn.request("GET", "/only-http.html", headers={"Host": "plain.chinalco.com.cn"})
        r = conn.getresponse()
        assert (r.status, r.read()) == (200, b"plain http page")
    finally:
        conn.close()


def test_states_override_absent_and_only_in(tmp_path: Path):
    write_case(tmp_path, "s/changed", "https://s.chinalco.com.cn/a.html", body=b"v1",
               states={"t2": {"body": "body2.html", "headers": {"Content-Type": "text/plain"}}})
    (tmp_path / "s/changed/body2.html").write_bytes(b"v2")
    write_case(tmp_path, "s/removed", "https://s.chinalco.com.cn/b.html", body=b"gone later",
               states={"t2": {"absent": True}})
    write_case(tmp_path, "s/new", "https://s.chinalco.com.cn/c.html", body=b"new in t2", only_in=["t2"])
    write_case(tmp_path, "s/status", "https://s.chinalco.com.cn/d.html", states={"t2": {"status": 500}})

    with ReplicaServer(tmp_path) as srv:
        assert srv.state == "t1"
        assert https_get(srv, "https://s.chinalco.com.cn/a.html")[2] == b"v1"
        assert https_get(srv, "https://s.chinalco.com.cn/b.html")[0] == 200
        assert https_get(srv, "https://s.chinalco.com.cn/c.html")[0] == 404
        srv.set_state("t2")
        assert srv.state == "t2"
        status, headers, body = https_get(srv, "https://s.chinalco.com.cn/a.html")
        assert (status, body, dict(headers)["Content-Type"]) == (200, b"v2", "text/plain")
        assert https_get(srv, "https://s.chinalco.com.cn/b.html")[0] == 404
        assert https_get(srv, "https://s.chinalco.com.cn/c.html")[2] == b"new in t2"
        assert https_get(srv, "https://s.chinalco.com.cn/d.html")[0] == 500

    with ReplicaServer(tmp_path, state="t2") as srv:
        assert len(srv.cases) == 3


def test_delay_is_per_url_and_does_not_block_others(tmp_path: Path):
    write_case(tmp_path, "s/slow", "https://s.chinalco.com.cn/slow.html", body=b"slow", delay=0.8)
    write_case(tmp_path, "s/fast", "https://s.chinalco.com.cn/fast.html", body=b"fast")
    done: list[str] = []
    with ReplicaServer(tmp_path) as srv:
        def fetch(name):
            https_get(srv, f"https://s.chinalco.com.cn/{name}.html")
            done.append(name)

        t0 = time.monotonic()
        slow = threading.Thread(target=fetch, args=("slow",))
        slow.start()
        while srv.connects < 1 and time.monotonic() - t0 < 5:
            time.sleep(0.01)  # the slow request is in (its tunnel is open)
        fetch("fast")
        slow.join(10)
        elapsed = time.monotonic() - t0
    assert done == ["fast", "slow"]
    assert elapsed >= 0.8  # a lower bound only: sleep never returns early


def test_stop_interrupts_a_delay(tmp_path: Path):
    write_case(tmp_path, "s/slow", "https://s.chinalco.com.cn/slow.html", delay=60)
    srv = ReplicaServer(tmp_path).start()
    errors = []

    def fetch():
        try:
            proxy_get(srv, "https://s.chinalco.com.cn/slow.html", timeout=30)
        except Exception as exc:  # connection closed by the stopping server
            errors.append(exc)

    t = threading.Thread(target=fetch)
    t.start()
    time.sleep(0.2)
    srv.stop()
    t.join(30)
    assert not t.is_alive() and errors  # returned long before the 60 s delay


def test_conditional_requests_304(server: ReplicaServer):
    url = "https://www.chinalco.com.cn/xwzx/202601/t20260105_1.html"
    status, headers, body = https_get(server, url, headers={"If-None-Match": '"abc-123"'})
    assert (status, body) == (304, b"")
    assert dict(headers)["ETag"] == '"abc-123"' and "Content-Length" not in dict(headers)
    assert https_get(server, url, headers={"If-None-Match": 'W/"zzz", W/"abc-123"'})[0] == 304
    assert https_get(server, url, headers={"If-None-Match": '"other"'})[0] == 200
    # If-Modified-Since: equal or later → 304; earlier → 200.
    assert https_get(server, url, headers={"If-Modified-Since": "Mon, 05 Jan 2026 08:00:00 GMT"})[0] == 304
    assert https_get(server, url, headers={"If-Modified-Since": "Tue, 06 Jan 2026 00:00:00 GMT"})[0] == 304
    assert https_get(server, url, headers={"If-Modified-Since": "Sun, 04 Jan 2026 23:59:59 GMT"})[0] == 200
    assert https_get(server, url, headers={"If-Modified-Since": "garbage"})[0] == 200
    assert [s for _, _, s in server.requests] == [304, 304, 200, 304, 304, 200, 200]


def test_head_has_headers_and_no_body(server: ReplicaServer):
    url = "https://www.chinalco.com.cn/xwzx/202601/t20260105_1.html"
    conn = https_conn(server, "www.chinalco.com.cn")
    try:
        conn.request("HEAD", "/xwzx/202601/t20260105_1.html")
        r = conn.getresponse()
        assert r.read() == b""
        assert r.getheader("Content-Length") == str(len(GBK_BODY))
        # The connection stays usable: the HEAD response carried no body bytes.
        conn.request("GET", "/xwzx/202601/t20260105_1.html")
        assert conn.getresponse().read() == GBK_BODY
    finally:
        conn.close()
    assert server.requests == [("HEAD", url, 200), ("GET", url, 200)]


def test_resolver_is_consulted_before_cases(fx: Path):
    seen = []

    def resolver(url):
        seen.append(url)
        if "/gen/" in url or url.endswith("robots.txt"):
            return Case(url, 200, {"Content-Type": "text/plain"}, f"generated {url}".encode(), 0)
        return None

    with ReplicaServer(fx, resolver=resolver) as srv:
        assert https_get(srv, "https://big.chinalco.com.cn/gen/1.html")[2] == b"generated https://big.chinalco.com.cn/gen/1.html"
        assert https_get(srv, "https://www.chalco.com.cn/robots.txt")[2].startswith(b"generated")
        assert https_get(srv, "https://www.chalco.com.cn/gsyw/")[2] == b"<ul>list</ul>"
    assert "https://www.chalco.com.cn/gsyw/" in seen


def test_request_log_and_counts(server: ReplicaServer):
    https_get(server, "https://www.chalco.com.cn/robots.txt")
    https_get(server, "https://www.chalco.com.cn/robots.txt")
    proxy_get(server, "http://www.chalco.com.cn/robots.txt")
    assert server.counts() == {"https://www.chalco.com.cn/robots.txt": 2, "http://www.chalco.com.cn/robots.txt": 1}
    assert server.requests[-1] == ("GET", "http://www.chalco.com.cn/robots.txt", 301)
    server.clear_log()
    assert server.requests == [] and server.connects == 0


# --------------------------------------------------------------------------- robustness


def _raw(server: ReplicaServer, data: bytes, read: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(data)
        if not read:
            return b""
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_malformed_requests_do_not_kill_the_server(server: ReplicaServer):
    assert _raw(server, b"this is not http\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert _raw(server, b"GET / HTTP/1.1\r\nno colon here\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert _raw(server, b"CONNECT nowhere HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert _raw(server, b"GET relative HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert _raw(server, b"POST http://www.chalco.com.cn/robots.txt HTTP/1.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc").startswith(
        b"HTTP/1.1 405"
    )
    _raw(server, b"GET http://www.chalco.com.cn/robo", read=False)  # half a request, then gone
    # TLS handshake failure: garbage that looks like a TLS record.
    out = _raw(server, b"CONNECT www.chalco.com.cn:443 HTTP/1.1\r\n\r\n\x16\x03\x01\x00\x05hello")
    assert out.startswith(b"HTTP/1.1 200 Connection established\r\n\r\n")
    # A client that disconnects in the middle of a large response.
    big = b"x" * (8 * 1024 * 1024)
    write_case(server.fixtures_dir, "s/big", "http://big.chinalco.com.cn/big.bin", body=big)
    server.reload()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET http://big.chinalco.com.cn/big.bin HTTP/1.1\r\nHost: big.chinalco.com.cn\r\n\r\n")
        s.recv(1024)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
    deadline = time.monotonic() + 5
    while not any("broken" in e for e in server.errors) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any("broken" in e for e in server.errors)  # the reset was logged, not raised
    assert any("TLS handshake failed" in e for e in server.errors)
    assert any("bad request" in e or "malformed" in e for e in server.errors)
    # Still serving, over both paths.
    assert https_get(server, "https://www.chalco.com.cn/robots.txt")[0] == 200
    assert proxy_get(server, "http://plain.chinalco.com.cn/only-http.html")[0] == 200


def test_pipelined_client_hello_after_connect(server: ReplicaServer):
    """Bytes sent right behind the CONNECT request (before the 200) still reach the TLS engine."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = unverified_context().wrap_bio(inc, out, server_hostname="www.chalco.com.cn")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"CONNECT www.chalco.com.cn:443 HTTP/1.1\r\nHost: www.chalco.com.cn:443\r\n\r\n" + out.read())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        head, rest = buf.split(b"\r\n\r\n", 1)
        assert head == b"HTTP/1.1 200 Connection established"
        inc.write(rest)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if out.pending:
                    s.sendall(out.read())
                data = s.recv(65536)
                assert data, "server closed the tunnel during the handshake"
                inc.write(data)
        tls.write(b"GET /robots.txt HTTP/1.1\r\nHost: www.chalco.com.cn\r\nConnection: close\r\n\r\n")
        s.sendall(out.read())
        response = b""
        while True:
            try:
                chunk = tls.read(65536)
            except ssl.SSLWantReadError:
                data = s.recv(65536)
                if not data:
                    break
                inc.write(data)
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
            if not chunk:
                break
            response += chunk
    assert response.startswith(b"HTTP/1.1 200 OK\r\n")
    assert response.endswith(b"\r\n\r\nUser-agent: *\n")


def test_plain_http_inside_a_tunnel(server: ReplicaServer):
    out = _raw(
        server,
        b"CONNECT plain.chinalco.com.cn:80 HTTP/1.1\r\n\r\n"
        b"GET /only-http.html HTTP/1.1\r\nHost: plain.chinalco.com.cn\r\nConnection: close\r\n\r\n",
    )
    assert out.startswith(b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert out.endswith(b"plain http page")


def test_binds_loopback_only(fx: Path):
    with pytest.raises(ValueError):
        ReplicaServer(fx, host="0.0.0.0")
    with ReplicaServer(fx) as srv:
        assert srv.proxy_url == f"http://127.0.0.1:{srv.port}" and srv.port > 0


# --------------------------------------------------------------------------- command line and Scrapy


def test_command_line_starts_and_stops_on_sigint(fx: Path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.replica", "--fixtures", str(fx), "--port", "0", "--state", "t1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("replica proxy on http://127.0.0.1:") and line.endswith("(6 cases, state t1)")
        assert proc.stdout.readline().startswith("export http_proxy=http://127.0.0.1:")
        port = int(line.split("127.0.0.1:")[1].split()[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "http://plain.chinalco.com.cn/only-http.html")
        assert conn.getresponse().read() == b"plain http page"
        conn.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


SPIDER = textwrap.dedent(
    """
    import hashlib, json, sys
    import scrapy
    from scrapy.crawler import CrawlerProcess

    OUT, URLS = sys.argv[1], sys.argv[2:]

    class FetchSpider(scrapy.Spider):
        name = "fetch"

        async def start(self):
            for url in URLS:
                yield scrapy.Request(url, callback=self.parse, dont_filter=True)

        def parse(self, response):
            with open(OUT, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({
                    "request": response.request.meta.get("redirect_urls", [response.request.url])[0],
                    "url": response.url,
                    "status": response.status,
                    "sha256": hashlib.sha256(response.body).hexdigest(),
                }) + "\\n")

    process = CrawlerProcess(settings={
        "ROBOTSTXT_OBEY": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": "WARNING",
    })
    process.crawl(FetchSpider)
    process.start()
    """
)


@pytest.mark.e2e
def test_real_scrapy_crawl_through_the_proxy(tmp_path: Path):
    assert (SEED_DIR / "response.json").exists(), "the seed fixture is part of the repository"
    fixtures = tmp_path / "fixtures"
    shutil.copytree(SEED_DIR, fixtures / "lzly_chinalco_com_cn" / SEED_DIR.name)
    script = tmp_path / "fetch_spider.py"
    script.write_text(SPIDER, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    expected = hashlib.sha256((SEED_DIR / "body.html").read_bytes()).hexdigest()
    http_seed = "http://" + SEED_URL[len("https://"):]

    with ReplicaServer(fixtures) as srv:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(https_proxy=srv.proxy_url, http_proxy=srv.proxy_url)
        proc = subprocess.run(
            [sys.executable, str(script), str(out), SEED_URL, SEED_URL + "?from=list", http_seed],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        log = srv.requests
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {row["request"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert rows[SEED_URL] == {"request": SEED_URL, "url": SEED_URL, "status": 200, "sha256": expected}
    assert rows[SEED_URL + "?from=list"]["sha256"] == expected
    # The http:// URL went through the proxy in proxy form, was redirected, and ended on the https URL.
    assert rows[http_seed]["url"] == SEED_URL and rows[http_seed]["sha256"] == expected
    assert ("GET", http_seed, 301) in log
    assert log.count(("GET", SEED_URL, 200)) == 2
