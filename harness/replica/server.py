"""The replica: an HTTP/HTTPS forward proxy on 127.0.0.1 that serves fixture cases at real URLs.

A crawler configured with ``http_proxy``/``https_proxy=http://127.0.0.1:PORT`` talks to the replica
exactly as it would to a corporate proxy:

* ``GET http://host/path HTTP/1.1`` (proxy form) → the case for that absolute URL;
* ``CONNECT host:443`` → ``200 Connection established``; the replica then terminates TLS itself
  with a self-signed certificate (see :mod:`harness.replica.tls`) and serves the origin-form
  requests inside the tunnel as ``https://host/path``. If the first byte in the tunnel is not a TLS
  record (a client tunnelling plain HTTP), the tunnel is served as ``http://host:port/path``;
* ``GET /path`` with a ``Host`` header sent straight to the replica (curl without a proxy) →
  ``https://host/path``, then ``http://host/path``.

Connections are persistent (HTTP/1.1 keep-alive, in and out of tunnels) and each one runs in its own
daemon thread, so a slow case never blocks other requests.

URL lookup for a request URL ``u`` (see :meth:`ReplicaServer.lookup`): ``u``; ``u`` without its
query string (static TRS hosts ignore queries); ``index.html`` appended when the path ends in ``/``.
At each step the optional ``resolver`` is consulted before the fixture cases. An ``http://`` URL that
is not found but whose ``https://`` twin is → ``301`` to the twin (the real sites redirect).
Everything else → ``404`` with the not-found body.
"""

from __future__ import annotations

import collections
import datetime as _dt
import email.utils
import http
import ipaddress
import logging
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .cases import (
    DEFAULT_STATE,
    Case,
    SkippedCase,
    load_cases,
    load_not_found_body,
    normalize_url,
)
from .tls import server_context

logger = logging.getLogger("harness.replica")

__all__ = ["ReplicaServer", "Resolver"]

Resolver = Callable[[str], "Case | None"]

MAX_HEAD_BYTES = 64 * 1024
_HOP_BY_HOP = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection"}
)


class _ClientGone(Exception):
    """The peer closed the connection (or it timed out, or the server is stopping)."""


class _BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------- byte streams


class _PlainStream:
    def __init__(self, sock: socket.socket):
        self.sock = sock

    def recv(self, n: int) -> bytes:
        return self.sock.recv(n)

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        pass


class _TLSStream:
    """Server-side TLS over an already-connected socket, via memory BIOs.

    Memory BIOs (rather than ``SSLContext.wrap_socket``) let bytes the client sent right after the
    CONNECT request, already read into the plain-text buffer, be fed to the TLS engine.
    """

    def __init__(self, sock: socket.socket, ctx: ssl.SSLContext, initial: bytes):
        self.sock = sock
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        if initial:
            self.incoming.write(initial)
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)

    def _flush(self) -> None:
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            self.incoming.write_eof()
            return False
        self.incoming.write(data)
        return True

    def handshake(self) -> None:
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                if not self._fill():
                    raise _ClientGone("EOF during TLS handshake") from None
        self._flush()

    def recv(self, n: int) -> bytes:
        while True:
            try:
                data = self.obj.read(n)
                self._flush()
                return data
            except ssl.SSLWantReadError:
                self._flush()
                if not self._fill():
                    return b""
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = self.obj.write(view)
            view = view[n:]
            self._flush()
        self._flush()

    def close(self) -> None:
        try:
            self.obj.unwrap()
        except (ssl.SSLError, OSError, ValueError):
            pass
        try:
            self._flush()
        except OSError:
            pass


class _Reader:
    def __init__(self, stream: _PlainStream | _TLSStream):
        self.stream = stream
        self.buf = bytearray()

    def fill(self) -> bool:
        try:
            data = self.stream.recv(65536)
        except (TimeoutError, ConnectionError, OSError) as exc:
            raise _ClientGone(str(exc)) from exc
        if not data:
            return False
        self.buf += data
        return True

    def read_head(self) -> bytes | None:
        """Bytes of the next request head (without the blank line), or None on a clean EOF."""
        while True:
            # Tolerate empty lines before a request line (RFC 9112 §2.2).
            while self.buf[:2] == b"\r\n" or self.buf[:1] == b"\n":
                del self.buf[: 2 if self.buf[:2] == b"\r\n" else 1]
            ends = [(i, n) for i, n in ((self.buf.find(b"\r\n\r\n"), 4), (self.buf.find(b"\n\n"), 2)) if i >= 0]
            if ends:
                idx, n = min(ends)
                head = bytes(self.buf[:idx])
                del self.buf[: idx + n]
                return head
            if len(self.buf) > MAX_HEAD_BYTES:
                raise _BadRequest(431, "request head too large")
            if not self.fill():
                if self.buf:
                    raise _ClientGone("EOF in the middle of a request head")
                return None

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self.fill():
                raise _ClientGone("EOF in the middle of a request body")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_line(self) -> bytes:
        while True:
            idx = self.buf.find(b"\n")
            if idx >= 0:
                line = bytes(self.buf[: idx + 1])
                del self.buf[: idx + 1]
                return line
            if len(self.buf) > MAX_HEAD_BYTES:
                raise _BadRequest(400, "line too long")
            if not self.fill():
                raise _ClientGone("EOF in the middle of a line")


class _Request:
    __slots__ = ("method", "target", "version", "headers")

    def __init__(self, method: str, target: str, version: str, headers: dict[str, str]):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # lower-cased names; repeated headers joined with ", "

    def tokens(self, name: str) -> set[str]:
        return {t.strip().lower() for t in self.headers.get(name, "").split(",") if t.strip()}


def _parse_head(head: bytes) -> _Request:
    text = head.decode("latin-1")
    lines = text.replace("\r\n", "\n").split("\n")
    parts = lines[0].split()
    if len(parts) != 3:
        raise _BadRequest(400, f"malformed request line {lines[0][:200]!r}")
    method, target, version = parts
    if not version.startswith("HTTP/1.") or not method.isalpha() or not method.isupper():
        raise _BadRequest(400, f"malformed request line {lines[0][:200]!r}")
    headers: dict[str, str] = {}
    last: str | None = None
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":  # obsolete line folding
            if last is None:
                raise _BadRequest(400, "continuation line before any header")
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if not sep or not name or " " in name:
            raise _BadRequest(400, f"malformed header line {line[:200]!r}")
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
        last = name
    return _Request(method, target, version, headers)


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return {521: "Web Server Is Down", 520: "Unknown Error", 522: "Connection Timed Out"}.get(status, "Unknown")


def _simple_page(status: int, extra: str = "") -> bytes:
    title = f"{status} {_reason(status)}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        f"{extra}<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


def _parse_http_date(value: str | None):
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_dt.timezone.utc)
    return dt


def _etag_matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True

    def weak(t: str) -> str:
        t = t.strip()
        return t[2:] if t.startswith("W/") else t

    # Split on commas outside quotes.
    tags, cur, quoted = [], [], False
    for ch in if_none_match:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            tags.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    tags.append("".join(cur))
    target = weak(etag)
    return any(weak(t) == target for t in tags if t.strip())


def _not_modified(case: Case, req: _Request) -> bool:
    if case.status != 200:
        return False
    inm = req.headers.get("if-none-match")
    etag = case.header("ETag")
    if inm is not None:
        # RFC 9110 §13.1.3: If-None-Match takes precedence; If-Modified-Since is then ignored.
        return bool(etag) and _etag_matches(inm, etag)
    lm = _parse_http_date(case.header("Last-Modified"))
    ims = _parse_http_date(req.headers.get("if-modified-since"))
    return lm is not None and ims is not None and ims >= lm


def _split_authority(authority: str) -> tuple[str, int]:
    host, port_s = authority, ""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise _BadRequest(400, f"bad CONNECT target {authority!r}")
        host, rest = authority[1:end], authority[end + 1 :]
        if rest.startswith(":"):
            port_s = rest[1:]
    elif ":" in authority:
        host, port_s = authority.rsplit(":", 1)
    if not host or not port_s.isdigit() or not 0 < int(port_s) < 65536:
        raise _BadRequest(400, f"bad CONNECT target {authority!r}")
    return host.lower(), int(port_s)


def _netloc(host: str, port: int | None) -> str:
    h = f"[{host}]" if ":" in host else host
    return h if port is None else f"{h}:{port}"


# --------------------------------------------------------------------------- server


class _ThreadingServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    replica: ReplicaServer

    def handle_error(self, request: Any, client_address: Any) -> None:  # never print to stderr
        logger.exception("replica: unhandled error on connection from %s", client_address)


class _Handler(socketserver.BaseRequestHandler):
    server: _ThreadingServer

    def handle(self) -> None:
        threading.current_thread().name = f"replica-conn-{self.client_address[1]}"
        self.server.replica._serve_connection(self.request, self.client_address)


class ReplicaServer:
    """HTTP/HTTPS forward proxy on 127.0.0.1 serving fixture cases at their real URLs.

    ``fixtures_dir`` may be ``None`` (serve only what ``resolver`` returns). ``resolver(url)`` is
    called with a normalised absolute URL and returns a :class:`Case` or ``None``.
    """

    def __init__(
        self,
        fixtures_dir: Path | str | None,
        state: str = DEFAULT_STATE,
        host: str = "127.0.0.1",
        port: int = 0,
        resolver: Resolver | None = None,
        *,
        idle_timeout: float = 60.0,
    ):
        if host == "localhost":
            host = "127.0.0.1"
        try:
            if not ipaddress.IPv4Address(host).is_loopback:
                raise ValueError
        except ValueError:
            raise ValueError(f"the replica binds a loopback IPv4 address only, not {host!r}") from None
        self.fixtures_dir = Path(fixtures_dir) if fixtures_dir is not None else None
        self.host = host
        self._requested_port = port
        self.resolver = resolver
        self.idle_timeout = idle_timeout

        self._state_lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._conn_lock = threading.Lock()
        self._requests: list[tuple[str, str, int]] = []
        self._errors: list[str] = []
        self._connects = 0
        self._conns: set[socket.socket] = set()
        self._stop_event = threading.Event()
        self._server: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None
        self._ssl_context: ssl.SSLContext | None = None

        self.state = state
        self.skipped: list[SkippedCase] = []
        self._cases: dict[str, Case] = {}
        self._not_found_body = load_not_found_body(self.fixtures_dir)
        self._load(state)

    # ------------------------------------------------------------------ cases and state

    def _load(self, state: str) -> None:
        skipped: list[SkippedCase] = []
        cases = load_cases(self.fixtures_dir, state, skipped=skipped) if self.fixtures_dir is not None else {}
        not_found = load_not_found_body(self.fixtures_dir)
        with self._state_lock:  # swap atomically; in-flight requests keep the old dict
            self._cases = cases
            self.skipped = skipped
            self.state = state
            self._not_found_body = not_found

    def set_state(self, name: str) -> None:
        """Serve the cases of state *name* from now on (re-reads the fixtures folder).

        On error (e.g. a duplicate URL) the previous state stays in force and the error is raised.
        """
        self._load(name)

    def reload(self) -> None:
        """Re-read the fixtures folder for the current state."""
        self._load(self.state)

    @property
    def cases(self) -> MappingProxyType[str, Case]:
        """The cases of the current state, keyed by normalised URL (read-only)."""
        return MappingProxyType(self._cases)

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("replica server not started")
        return self._server.server_address[1]

    @property
    def proxy_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def proxy_env(self) -> dict[str, str]:
        """Environment variables that route a client (Scrapy, curl, requests) through the replica."""
        url = self.proxy_url
        return {
            "http_proxy": url,
            "https_proxy": url,
            "HTTP_PROXY": url,
            "HTTPS_PROXY": url,
            "no_proxy": "",
            "NO_PROXY": "",
        }

    def start(self) -> ReplicaServer:
        if self._server is not None:
            raise RuntimeError("replica server already started")
        if self._stop_event.is_set():
            raise RuntimeError("a stopped replica server cannot be restarted; create a new one")
        self._ssl_context = server_context()
        srv = _ThreadingServer((self.host, self._requested_port), _Handler, bind_and_activate=True)
        srv.replica = self
        self._server = srv
        self._thread = threading.Thread(
            target=srv.serve_forever, kwargs={"poll_interval": 0.1}, name="replica-accept", daemon=True
        )
        self._thread.start()
        logger.info("replica proxy on %s (%d cases, state %s)", self.proxy_url, len(self._cases), self.state)
        return self

    def stop(self) -> None:
        if self._stop_event.is_set():
            return
        self._stop_event.set()
        srv = self._server
        if srv is not None:
            srv.shutdown()
            srv.server_close()
        with self._conn_lock:
            conns = list(self._conns)
        for sock in conns:  # wake threads blocked in recv(); delays end via the stop event
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplicaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ request log

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """Snapshot of the request log: ``(method, absolute_url, status)`` in arrival order.

        CONNECT requests are not in it (see :attr:`connects`).
        """
        with self._log_lock:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        """Snapshot of connection-level problems (malformed requests, TLS failures, resets)."""
        with self._log_lock:
            return list(self._errors)

    @property
    def connects(self) -> int:
        """Number of CONNECT tunnels opened."""
        with self._log_lock:
            return self._connects

    def counts(self) -> collections.Counter[str]:
        """Number of requests per absolute URL."""
        with self._log_lock:
            return collections.Counter(url for _, url, _ in self._requests)

    def clear_log(self) -> None:
        with self._log_lock:
            self._requests.clear()
            self._errors.clear()
            self._connects = 0

    def _record(self, method: str, url: str, status: int) -> None:
        with self._log_lock:
            self._requests.append((method, url, status))
        logger.debug("replica: %s %s -> %d", method, url, status)

    def _error(self, message: str, level: int = logging.WARNING) -> None:
        with self._log_lock:
            self._errors.append(message)
        logger.log(level, "replica: %s", message)

    # ------------------------------------------------------------------ lookup

    def _find(self, url: str) -> Case | None:
        """Resolver then cases, for *url* and its fallbacks (no redirects)."""
        parts = urlsplit(url)
        candidates = [url]
        if parts.query:
            candidates.append(urlunsplit(parts._replace(query="")))
        if parts.path.endswith("/"):
            candidates.append(urlunsplit(parts._replace(path=parts.path + "index.html", query="")))
        cases = self._cases
        for cand in candidates:
            if self.resolver is not None:
                found = self.resolver(cand)
                if found is not None:
                    return found
            found = cases.get(cand)
            if found is not None:
                return found
        return None

    def lookup(self, url: str) -> Case | None:
        """The case the replica answers *url* with, including the http→https 301; None → 404."""
        key = normalize_url(url)
        found = self._find(key)
        if found is not None:
            return found
        parts = urlsplit(key)
        if parts.scheme == "http":
            host = parts.hostname or ""
            port = parts.port
            twin_netloc = _netloc(host, None if port in (None, 80) else port)
            twin = urlunsplit(("https", twin_netloc, parts.path, parts.query, ""))
            if self._find(twin) is not None:
                return Case(
                    url=key,
                    status=301,
                    headers=[("Server", "nginx"), ("Content-Type", "text/html"), ("Location", twin)],
                    body=_simple_page(301),
                )
        return None

    def _not_found(self, url: str) -> Case:
        return Case(
            url=url,
            status=404,
            headers=[("Content-Type", "text/html; charset=utf-8")],
            body=self._not_found_body,
        )

    # ------------------------------------------------------------------ connection handling

    def _serve_connection(self, sock: socket.socket, addr: Any) -> None:
        with self._conn_lock:
            self._conns.add(sock)
        stream: _PlainStream | _TLSStream = _PlainStream(sock)
        try:
            sock.settimeout(self.idle_timeout)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            reader = _Reader(stream)
            tunnel: tuple[str, str, int] | None = None  # (scheme, host, port)
            while not self._stop_event.is_set():
                try:
                    head = reader.read_head()
                    if head is None:
                        return
                    req = _parse_head(head)
                    self._discard_body(reader, req)
                except _BadRequest as exc:
                    self._error(f"bad request from {addr[0]}:{addr[1]}: {exc}")
                    self._send_simple(stream, exc.status, close=True)
                    return

                if req.method == "CONNECT":
                    if tunnel is not None:
                        self._error(f"nested CONNECT {req.target} inside a tunnel from {addr[1]}")
                        self._send_simple(stream, 400, close=True)
                        return
                    try:
                        host, port = _split_authority(req.target)
                    except _BadRequest as exc:
                        self._error(str(exc))
                        self._send_simple(stream, 400, close=True)
                        return
                    with self._log_lock:
                        self._connects += 1
                    stream.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    # Sniff: a TLS record starts with 0x16 (handshake).
                    if not reader.buf and not reader.fill():
                        return
                    if reader.buf[0] == 0x16:
                        assert self._ssl_context is not None
                        tls = _TLSStream(sock, self._ssl_context, bytes(reader.buf))
                        reader.buf.clear()
                        try:
                            tls.handshake()
                        except ssl.SSLError as exc:
                            self._error(f"TLS handshake failed in tunnel to {req.target}: {exc}")
                            return
                        stream = tls
                        reader.stream = tls
                        tunnel = ("https", host, port)
                    else:
                        tunnel = ("http", host, port)
                    continue

                keep_alive = self._keep_alive(req)
                try:
                    self._respond(stream, req, tunnel, keep_alive)
                except _StopServing:
                    return
                if not keep_alive:
                    return
        except _ClientGone as exc:
            logger.debug("replica: connection from %s closed: %s", addr, exc)
        except (ConnectionError, TimeoutError, ssl.SSLError, OSError) as exc:
            if not self._stop_event.is_set():
                self._error(f"connection from {addr[0]}:{addr[1]} broken: {exc!r}", logging.INFO)
        except Exception:  # never let one connection kill the server
            logger.exception("replica: unexpected error on connection from %s", addr)
            with self._log_lock:
                self._errors.append(f"unexpected error on connection from {addr}")
        finally:
            try:
                stream.close()
            except Exception:
                pass
            with self._conn_lock:
                self._conns.discard(sock)

    @staticmethod
    def _discard_body(reader: _Reader, req: _Request) -> None:
        te = req.headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            while True:
                line = reader.read_line().split(b";")[0].strip()
                try:
                    size = int(line, 16)
                except ValueError:
                    raise _BadRequest(400, f"bad chunk size {line[:20]!r}") from None
                if size == 0:
                    while reader.read_line().strip():  # trailers
                        pass
                    return
                reader.read_exact(size)
                reader.read_line()
        cl = req.headers.get("content-length")
        if cl:
            if not cl.strip().isdigit():
                raise _BadRequest(400, f"bad Content-Length {cl!r}")
            reader.read_exact(int(cl))

    @staticmethod
    def _keep_alive(req: _Request) -> bool:
        tokens = req.tokens("connection") | req.tokens("proxy-connection")
        if "close" in tokens:
            return False
        if req.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return True

    def _target_urls(self, req: _Request, tunnel: tuple[str, str, int] | None) -> list[str]:
        target = req.target
        low = target[:8].lower()
        if low.startswith("http://") or low.startswith("https://"):
            parts = urlsplit(target)
            if not parts.hostname:
                raise _BadRequest(400, f"bad absolute URL {target[:200]!r}")
            return [normalize_url(target)]
        if not target.startswith("/"):
            raise _BadRequest(400, f"unsupported request target {target[:200]!r}")
        if tunnel is not None:
            scheme, host, port = tunnel
            return [normalize_url(f"{scheme}://{_netloc(host, port)}{target}")]
        host_header = req.headers.get("host", "").strip()
        if not host_header or any(c in host_header for c in "/?#@ "):
            raise _BadRequest(400, "origin-form request without a usable Host header")
        return [normalize_url(f"https://{host_header}{target}"), normalize_url(f"http://{host_header}{target}")]

    def _respond(
        self, stream: _PlainStream | _TLSStream, req: _Request, tunnel: tuple[str, str, int] | None, keep_alive: bool
    ) -> None:
        try:
            urls = self._target_urls(req, tunnel)
        except _BadRequest as exc:
            self._error(str(exc))
            self._send_simple(stream, exc.status, close=True)
            raise _StopServing from None

        url = urls[0]
        if req.method not in ("GET", "HEAD"):
            self._record(req.method, url, 405)
            self._write(stream, req, _method_not_allowed(url), 405, keep_alive)
            return

        case: Case | None = None
        try:
            for candidate in urls:
                case = self.lookup(candidate)
                if case is not None:
                    url = candidate
                    break
        except Exception as exc:
            logger.exception("replica: resolver failed for %s", url)
            self._error(f"resolver failed for {url}: {exc!r}")
            case = Case(url=url, status=500, headers=[("Content-Type", "text/html")], body=_simple_page(500))
        if case is None:
            case = self._not_found(url)

        status = 304 if _not_modified(case, req) else case.status
        # Logged on arrival, before any delay: a slow case whose client gave up is in the log of the
        # crawl that asked for it, never in the next one's (a cleared log stays cleared).
        self._record(req.method, url, status)
        if case.delay > 0:
            if self._stop_event.wait(case.delay):
                raise _StopServing
        self._write(stream, req, case, status, keep_alive)

    def _write(self, stream: _PlainStream | _TLSStream, req: _Request, case: Case, status: int, keep_alive: bool) -> None:
        lines = [f"HTTP/1.1 {status} {_reason(status)}"]
        for name, value in case.headers:
            if name.lower() in _HOP_BY_HOP:
                continue
            lines.append(f"{name}: {value}")
        bodyless_status = status == 304 or status == 204 or 100 <= status < 200
        if not bodyless_status:
            lines.append(f"Content-Length: {len(case.body)}")
        if not keep_alive:
            lines.append("Connection: close")
        elif req.version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n")
        try:
            head_bytes = head.encode("latin-1")
        except UnicodeEncodeError:
            head_bytes = head.encode("utf-8")
        if req.method == "HEAD" or bodyless_status:
            stream.sendall(head_bytes)
        else:
            stream.sendall(head_bytes + case.body)

    def _send_simple(self, stream: _PlainStream | _TLSStream, status: int, close: bool) -> None:
        body = _simple_page(status)
        head = f"HTTP/1.1 {status} {_reason(status)}\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n"
        if close:
            head += "Connection: close\r\n"
        try:
            stream.sendall(head.encode() + b"\r\n" + body)
        except (OSError, ssl.SSLError):
            pass


class _StopServing(Exception):
    """Close this connection now (server stopping, or the request cannot be answered)."""


def _method_not_allowed(url: str) -> Case:
    return Case(
        url=url,
        status=405,
        headers=[("Content-Type", "text/html"), ("Allow", "GET, HEAD")],
        body=_simple_page(405),
    )
