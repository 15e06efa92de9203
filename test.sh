#!/usr/bin/env bash
# Set up on first use (see scripts/setup.sh), then run the whole test suite.
# Arguments go to pytest, e.g. ./test.sh -m slow for the soak tests.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
.venv/bin/lint-imports
QT_QPA_PLATFORM=offscreen exec .venv/bin/python -m pytest "$@"
