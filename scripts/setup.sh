#!/usr/bin/env bash
# Create .venv (Python 3.11) and install Peyvand with its pinned dependencies.
#   bash scripts/setup.sh          # the package
#   bash scripts/setup.sh --test   # the package and the test tools
# torch is installed first and alone: `pip install torch==2.13.0` takes the local CPU build; letting
# another package pull torch would fetch the CUDA build (gigabytes).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null \
  || .venv/bin/python -m pip install -q torch==2.13.0
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install -q -e '.[test]'
  # the report test renders the HTML report in Debian's headless Chromium, with a font for Persian
  if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core >/dev/null) \
      || echo "setup: could not install chromium; the report test will be skipped" >&2
  fi
else
  .venv/bin/python -m pip install -q -e .
fi
