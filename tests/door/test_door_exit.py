"""The door output at the process's end: `kiosk run` stopped by SIGTERM (what
systemd sends) in the middle of an opening switches it off on its way out;
after kill -9, which nothing can catch, the next start switches it off first.
A real kiosk process, a real gallery and video, a real program as the door."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from helpers import PROJECT_DIR, wait_for
from kiosk.enrollment.draft import sample_from_face, the_subject
from kiosk.store.gallery import add_samples
from kiosk.vision.images import load_rgb
from kiosk.door.video import write_video
from kiosk.demo.walk_in import walk_in_frames

DOOR_PROGRAM = "import sys\nopen(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')\n"


@pytest.fixture
def door_kiosk(tmp_path, engine, model_dir, faces_dir, open_gallery):
    """Starts `kiosk run` on a video of an enrolled person (looped: a busy machine
    may miss a visit), the door a program
    that appends each message it gets to door.jsonl; returns (start, actions)."""
    db_url = f"sqlite:///{tmp_path / 'gallery.db'}"
    face = the_subject(engine, load_rgb(faces_dir / "people" / "obama" / "obama.jpg"), "obama.jpg").face
    with open_gallery(db_url).begin() as session:
        add_samples(session, "Barack Obama", [sample_from_face(face, "obama.jpg")], engine.model_name)
    video = write_video(tmp_path / "door.avi",
                        walk_in_frames(load_rgb(faces_dir / "people" / "obama" / "obama2.jpg"), frames=45), fps=30)
    (tmp_path / "door.py").write_text(DOOR_PROGRAM, encoding="utf-8")
    calls = tmp_path / "door.jsonl"
    # The clip is a photo sliding in, which the liveness check rightly never
    # lets in: the door output's life cycle is tested with it off.
    (tmp_path / "kiosk.json").write_text(json.dumps({"liveness": "off", "door": {
        "type": "command", "command": [sys.executable, str(tmp_path / "door.py"), str(calls)],
        "open_seconds": 30}}), encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "KIOSK_HOME": str(tmp_path),
           "PYTHONPATH": str(PROJECT_DIR)}
    command = [sys.executable, "-m", "ui.cli", "--db", db_url, "--model-dir", str(model_dir),
               "--config", str(tmp_path / "kiosk.json"), "run", "--source", str(video), "--loop", "--windowed", "--mute"]
    started = []

    def start() -> subprocess.Popen:
        started.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        return started[-1]

    def actions() -> list[str]:
        return [json.loads(line)["action"] for line in calls.read_text().splitlines()] if calls.exists() else []

    yield start, actions
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()


def test_sigterm_mid_opening_closes_the_door_on_the_way_out(door_kiosk):
    start, actions = door_kiosk
    kiosk = start()
    assert wait_for(lambda: actions() == ["close", "open"], timeout=120), (actions(), kiosk.poll())
    kiosk.send_signal(signal.SIGTERM)                 # 30 s before the door would close by itself
    assert kiosk.wait(30) == 0, kiosk.stderr.read().decode()
    assert actions() == ["close", "open", "close"]


def test_after_kill_9_the_next_start_closes_the_door_first(door_kiosk):
    start, actions = door_kiosk
    kiosk = start()
    assert wait_for(lambda: actions() == ["close", "open"], timeout=120), (actions(), kiosk.poll())
    kiosk.kill()                                      # SIGKILL: no handler runs, the door is left open
    kiosk.wait(30)
    assert actions() == ["close", "open"]
    again = start()
    assert wait_for(lambda: len(actions()) >= 3, timeout=120)
    assert actions()[2] == "close"                    # before anything else
    again.send_signal(signal.SIGTERM)
    again.wait(30)
    assert actions()[-1] == "close"
