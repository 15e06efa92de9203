#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine: system packages, the
# virtualenv with the project installed, and the model weights. Quiet when
# there is nothing to do, so ./run.sh and ./test.sh can call it every time.
set -euo pipefail
cd "$(dirname "$0")/.."

# libGL/EGL/xkbcommon/glib/fontconfig/dbus: Qt (offscreen too) and OpenCV.
# libespeak-ng1 + espeak-ng-data: pyttsx3's speech; alsa-utils: its `aplay`.
# xvfb/xauth + libxcb-*: a real Qt window on a virtual screen (screenshots).
# fonts-wqy-microhei: CJK names; sox: measuring the greeting WAV.
# mosquitto (+ clients): the MQTT broker the tests and `kiosk bench` start on
# a free loopback port (the kiosk itself reports to the site's broker).
APT_PACKAGES=(
  libgl1 libegl1 libxkbcommon0 libglib2.0-0 libfontconfig1 libdbus-1-3
  libespeak-ng1 espeak-ng-data espeak-ng alsa-utils sox
  xvfb xauth libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1
  libxcb-shape0 libxcb-xkb1 libxcb-randr0 libxcb-render-util0 libxcb-image0
  fonts-wqy-microhei mosquitto mosquitto-clients
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
# pip's output, warnings included (this machine's index configuration, say),
# goes to .venv/pip.log; it is shown only when pip fails.
pip_install() {
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check "$@" >>.venv/pip.log 2>&1; then
    echo "setup: pip install $* failed; the end of .venv/pip.log:" >&2
    tail -n 30 .venv/pip.log >&2
    exit 1
  fi
}
# Reinstall only when the declared dependencies change.
stamp=.venv/.kiosk-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages (about a minute)"
  : > .venv/pip.log
  pip_install --upgrade pip
  pip_install -e '.[test]'
  echo "$want" > "$stamp"
fi

# Downloads the FaceNet weights (checked by SHA-256) and converts the models
# once, a line a step (TensorFlow's own output: facenet_model/conversion.log);
# says nothing when they are already in facenet_model/.
.venv/bin/kiosk fetch-model --quiet
