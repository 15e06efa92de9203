#!/usr/bin/env bash
# Set up on first use (see scripts/setup.sh), then run the whole test suite.
# Arguments go to pytest, e.g. ./test.sh -m slow for the soak tests.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
.venv/bin/lint-imports
# A real PostgreSQL server for the shared-gallery tests (KIOSK_TEST_PG_URL set
# beforehand: that server instead; KIOSK_SKIP_POSTGRES=1: skip those tests).
if [ -z "${KIOSK_TEST_PG_URL:-}" ] && [ "${KIOSK_SKIP_POSTGRES:-}" != 1 ]; then
  scripts/postgres.sh
  export KIOSK_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:${KIOSK_PG_PORT:-54329}/postgres"
fi
QT_QPA_PLATFORM=offscreen exec .venv/bin/python -m pytest "$@"
