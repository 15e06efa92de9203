#!/usr/bin/env bash
# Set up on first use (see scripts/setup.sh), then start the kiosk.
# Arguments go to `kiosk run`, e.g. ./run.sh --demo --windowed
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/kiosk run "$@"
