#!/usr/bin/env bash
# One-command setup on a fresh machine: a virtualenv in .venv with the project
# (editable) and its test dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
# Browser tests (pytest -m browser) drive Debian's Chromium; no browser is ever downloaded.
# A CJK font makes their screenshots readable.
missing=""
command -v chromium >/dev/null 2>&1 || missing="chromium"
# WARC tests (tests/test_warc_tools.py) capture the replica with Debian's wget.
command -v wget >/dev/null 2>&1 || missing="$missing wget"
# Distributed crawls (archiver crawl --redis, tests/test_distributed*.py) share a frontier on Debian's
# redis-server; the tests start their own on 127.0.0.1 (a free port, a temp dir) and stop it.
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  missing="$missing fonts-wqy-zenhei"
fi
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing for the browser, WARC and distributed-crawl tests (apt-get):$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "note: the browser, WARC and distributed-crawl tests need:$missing (as root: apt-get install$missing)" >&2
  fi
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip 'setuptools>=77,<81'      # setuptools: scrapyd-deploy builds the egg with it (PEP 639 license)
.venv/bin/python -m pip install --quiet -e '.[test]'
# The development harness (the replica, fixture tools, evaluation): a distribution of its own, so
# that the installed archiver holds none of it. `archiver crawl --replica` and `archiver fixtures`
# come from it.
.venv/bin/python -m pip install --quiet -e ./harness
# pywb replays exported WARCs in the tests; it pins redis 2.10 (scrapy-redis needs >= 4.2), so it
# lives in a virtualenv of its own, never in .venv.
if [ ! -x .venv-pywb/bin/wayback ]; then
  "$PYTHON" -m venv .venv-pywb
  .venv-pywb/bin/python -m pip install --quiet --upgrade pip
  .venv-pywb/bin/python -m pip install --quiet 'pywb==2.10.0'
fi
echo "setup done: .venv ready ($(.venv/bin/python -c 'import scrapy; print("scrapy", scrapy.__version__)'))"
