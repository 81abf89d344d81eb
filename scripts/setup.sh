#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install the bridge with its dev tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# Yonyou's SDK drives the Yonyou simulator in a test; its install_requires names stdlib modules
# (random, re, hmac, hashlib), so it goes in without dependencies, and its real ones beside it.
if ! .venv/bin/python -c 'import yonbip_open_api_sdk.token_opt' 2>/dev/null; then
  .venv/bin/python -m pip install --quiet --no-deps yonyouopenapisdk1==0.0.2
  .venv/bin/python -m pip install --quiet pycryptodomex requests
fi
