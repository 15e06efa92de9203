"""Start at boot: the systemd unit as shipped passes `systemd-analyze verify`,
and the kiosk speaks systemd's notify protocol (READY=1, then WATCHDOG=1 only
while its recognizer runs) over a real datagram socket."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading

import pytest

from helpers import PROJECT_DIR
from kiosk.door.watchdog import sd_notify, watchdog_interval_s

UNIT = PROJECT_DIR / "scripts" / "door-kiosk.service"


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    """What systemd listens on: $NOTIFY_SOCKET, a datagram socket; yields the received messages."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(0)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    received = []

    def read() -> list[str]:
        while True:
            try:
                received.append(sock.recv(4096).decode())
            except BlockingIOError:
                return received
    yield read
    sock.close()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_unit_file_passes_systemd_analyze_verify(tmp_path):
    # As installed: ExecStart pointing at a kiosk that exists on this machine.
    unit = tmp_path / "door-kiosk.service"
    unit.write_text(UNIT.read_text().replace("/opt/door-kiosk/.venv/bin/kiosk", sys.executable))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # verify exits 0 on many problems (an unknown Type=, say) and names the file in each line.
    problems = [line for line in (done.stdout + done.stderr).splitlines() if "door-kiosk.service" in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr
    text = UNIT.read_text()
    assert all(line in text.splitlines() for line in ("Type=notify", "WatchdogSec=30", "Restart=always"))


def test_notifications_reach_the_socket(notify_socket):
    assert sd_notify("READY=1") and sd_notify("WATCHDOG=1")
    assert notify_socket() == ["READY=1", "WATCHDOG=1"]


def test_without_systemd_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sd_notify("READY=1") is False
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None   # another process's


def test_the_window_says_ready_and_pings_only_while_it_recognises(qtbot, notify_socket, monkeypatch, db_url,
                                                                  engine, model_dir, tmp_path, kiosk_context):
    from kiosk.common.config import Settings
    from kiosk.door.video import write_video
    from helpers import FakeSpeaker
    from ui.kiosk_window import KioskWindow
    import numpy as np
    monkeypatch.setenv("WATCHDOG_USEC", "400000")     # 0.4 s: pinged every 0.2 s
    video = write_video(tmp_path / "empty.avi", [np.full((480, 640, 3), 90, np.uint8)] * 30)
    window = KioskWindow(kiosk_context(Settings(), db_url, model_dir, engine=engine), str(video), FakeSpeaker(),
                         loop_files=True)
    qtbot.addWidget(window)
    window.start()
    qtbot.waitUntil(lambda: notify_socket().count("WATCHDOG=1") >= 3, timeout=10_000)
    assert notify_socket()[0] == "READY=1"
    window.recognition.stop()                         # the recognizer's loop ends: as good as hung
    qtbot.wait(600)
    before = notify_socket().count("WATCHDOG=1")
    qtbot.wait(600)
    assert notify_socket().count("WATCHDOG=1") == before   # no more pings: systemd would restart it
    window.close()
    assert notify_socket()[-1] == "STOPPING=1"


def test_a_door_thread_that_fails_is_shown_and_no_longer_pinged(qtbot, notify_socket, monkeypatch, db_url,
                                                                 engine, model_dir, tmp_path, kiosk_context):
    """The door's step raises: the video would go on while nobody is
    recognised. The window says it is out of order and stops the pings."""
    from kiosk.common.config import Settings
    from kiosk.door.video import write_video
    from helpers import FakeSpeaker
    from ui.kiosk_window import DOOR_FAILED_TEXT, KioskWindow
    import numpy as np
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    video = write_video(tmp_path / "empty.avi", [np.full((480, 640, 3), 90, np.uint8)] * 30)
    window = KioskWindow(kiosk_context(Settings(), db_url, model_dir, engine=engine), str(video), FakeSpeaker(),
                         loop_files=True)
    qtbot.addWidget(window)
    banners = []
    window.banner_changed.connect(lambda kind, text: banners.append((kind, text)))
    fail = threading.Event()
    process = window.door.recognizer.process

    def failing_process(*args):   # an injected fault in the door's step, once the kiosk runs
        if fail.is_set():
            raise RuntimeError("injected fault")
        return process(*args)
    window.door.recognizer.process = failing_process
    window.start()
    qtbot.waitUntil(lambda: notify_socket().count("WATCHDOG=1") >= 2, timeout=10_000)
    fail.set()
    qtbot.waitUntil(lambda: ("failed", DOOR_FAILED_TEXT) in banners, timeout=5_000)
    assert window.banner.text() == DOOR_FAILED_TEXT and "injected fault" in window.banner.toolTip()
    before = notify_socket().count("WATCHDOG=1")
    qtbot.wait(600)
    assert notify_socket().count("WATCHDOG=1") == before   # systemd would restart it
    window.close()
