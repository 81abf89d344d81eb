#!/usr/bin/env bash
# The whole test suite: lint, then unit and integration tests, then the mapping cases.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check bridge adapters tests bench
.venv/bin/python -m pytest "$@"
.venv/bin/bridge mapping lint
.venv/bin/bridge mapping test
