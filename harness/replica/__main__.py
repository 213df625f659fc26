"""``python -m harness.replica [--fixtures DIR] [--port N] [--state NAME] [--generated N [--new K]] [-v]``

With ``--generated N`` it serves a generated network of N articles (K of them new since the
snapshot) instead of the fixture cases (see :mod:`harness.replica.generated`).

Starts the replica proxy in the foreground on 127.0.0.1, prints

    replica proxy on http://127.0.0.1:PORT (N cases, state t1)
    export http_proxy=http://127.0.0.1:PORT https_proxy=http://127.0.0.1:PORT

and serves until SIGINT/SIGTERM. Malformed cases are listed on stderr and skipped.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from .cases import DEFAULT_STATE, FixtureError
from .server import ReplicaServer


def default_fixtures_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "fixtures"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.replica",
        description="Serve the fixture cases at their real URLs through an HTTP/HTTPS forward proxy on 127.0.0.1.",
    )
    parser.add_argument("--fixtures", type=Path, default=default_fixtures_dir(), help="fixtures folder (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: an ephemeral port)")
    parser.add_argument("--state", default=DEFAULT_STATE, help="network state to serve (default: %(default)s)")
    parser.add_argument("--generated", type=int, default=0, metavar="N",
                        help="serve a generated network of N articles instead of the fixtures")
    parser.add_argument("--new", type=int, default=0, metavar="K",
                        help="with --generated: K more articles published since the snapshot")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request on stderr")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )

    try:
        if args.generated:
            from .generated import GeneratedNetwork
            gen = GeneratedNetwork(args.generated, new=args.new)
            server = ReplicaServer(None, port=args.port, resolver=gen.resolve)
        else:
            server = ReplicaServer(args.fixtures, state=args.state, port=args.port)
    except FixtureError as exc:
        print(f"replica: {exc}", file=sys.stderr)
        return 2
    for item in server.skipped:
        print(f"replica: skipped malformed case {item}", file=sys.stderr)

    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    try:
        server.start()
    except OSError as exc:
        print(f"replica: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        what = (f"generated network of {args.generated} articles, {args.new} new" if args.generated
                else f"{len(server.cases)} cases, state {server.state}")
        print(f"replica proxy on {server.proxy_url} ({what})", flush=True)
        print(f"export http_proxy={server.proxy_url} https_proxy={server.proxy_url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
