#!/bin/sh
# The README's screenshots, in real (Xvfb) X11 windows: the demo kiosk saved at
# its first greeting, and the admin panel's Enroll tab.
set -e
cd "$(dirname "$0")/.."
xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/kiosk run --demo --stats --mute --duration 8 \
    --screenshot docs/kiosk.png "$@"
xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/admin_screenshot.py docs/admin.png
echo "saved docs/kiosk.png docs/admin.png"
