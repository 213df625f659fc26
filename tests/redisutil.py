"""A private Redis for a test: Debian's ``redis-server`` on 127.0.0.1, a free port, a temp dir,
no persistence; stopped (and its files removed) when the test is done."""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, proc: subprocess.Popen, port: int, workdir: str):
        self.proc, self.port, self.workdir = proc, port, workdir

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis
        return redis.Redis.from_url(self.url)

    def kill(self) -> None:
        """Stop the server at once (a lost Redis, mid-crawl)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_redis(attempts: int = 5) -> RedisServer:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed (setup.sh installs Debian's redis-server)")
    last = ""
    for _ in range(attempts):
        port, workdir = _free_port(), tempfile.mkdtemp(prefix="redis-test-")
        proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--save", "",
                                 "--appendonly", "no", "--protected-mode", "yes"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        server = RedisServer(proc, port, workdir)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                try:
                    if server.client().ping():
                        return server
                except Exception:
                    pass
            time.sleep(0.05)
        last = proc.stdout.read().decode(errors="replace")[-500:] if proc.poll() is not None else "no answer"
        server.stop()              # the port was taken between the probe and the start: try another
    pytest.fail(f"could not start redis-server: {last}")


@pytest.fixture
def redis_server():
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()
