#!/usr/bin/env bash
# Set up on first use (see scripts/setup.sh), then run the kiosk command.
# With no arguments it lists what the kiosk can do; e.g.
#   ./run.sh run               the kiosk window at the door (camera 0)
#   ./run.sh run --demo        the same with sample people and a generated clip
#   ./run.sh replay 0          recognise faces from camera 0 in the terminal
#   ./run.sh import photos/    enroll everyone in photos/<name>/*.jpg
# Paths in ARGS are relative to where you are (no cd here); the gallery and
# the settings are in the data folder whatever the current directory (README).
set -euo pipefail
here=$(dirname "$0")
"$here/scripts/setup.sh"
exec "$here/.venv/bin/kiosk" "$@"
