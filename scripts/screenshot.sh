#!/bin/sh
# The README's screenshot: the demo in a real (Xvfb) X11 window, saved at the first greeting.
set -e
cd "$(dirname "$0")/.."
xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/kiosk run --demo --stats --mute --duration 8 \
    --screenshot docs/kiosk.png "$@"
echo "saved docs/kiosk.png"
