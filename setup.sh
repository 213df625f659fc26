#!/usr/bin/env bash
# One-command setup on a fresh machine: a virtualenv in .venv with the project
# (editable) and its test dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
echo "setup done: .venv ready ($(.venv/bin/python -c 'import scrapy; print("scrapy", scrapy.__version__)'))"
