"""Many doors, one gallery: a change made by one kiosk process is seen by another
within two seconds, on SQLite and on PostgreSQL, with real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from helpers import PROJECT_DIR
from kiosk.door.gallery_sync import GallerySync

KIOSK = [sys.executable, "-m", "ui.cli"]
PHOTO = PROJECT_DIR / "resources" / "faces" / "obama.jpg"


class Watcher:
    """The other door (tests/gallery_watcher.py) in its own process."""

    def __init__(self, db_url: str, model_name: str):
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).parents[1] / "gallery_watcher.py"),
                                      db_url, model_name], stdout=subprocess.PIPE, text=True, cwd=PROJECT_DIR)
        self.first = self.next_state()

    def next_state(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("the watcher process ended")
        return json.loads(line)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


def kiosk(db_url: str, model_dir: Path, *args: str) -> float:
    """Run a kiosk command in its own process; the wall-clock time it finished."""
    done = subprocess.run([*KIOSK, "--db", db_url, "--model-dir", str(model_dir), *args],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return time.time()


def test_enrollment_and_deletion_at_one_door_reach_another_within_two_seconds(any_db_url, engine, model_dir,
                                                                             open_gallery):
    open_gallery(any_db_url)                           # the shared gallery exists, empty
    watcher = Watcher(any_db_url, engine.model_name)
    try:
        assert watcher.first["people"] == []
        enrolled_at = kiosk(any_db_url, model_dir, "enroll", "Barack Obama", str(PHOTO))
        seen = watcher.next_state()
        assert seen["people"] == ["Barack Obama"]
        assert seen["time"] - enrolled_at < 2.0
        deleted_at = kiosk(any_db_url, model_dir, "people", "delete", "Barack Obama")
        gone = watcher.next_state()
        assert gone["people"] == []
        assert gone["time"] - deleted_at < 2.0
    finally:
        watcher.close()


def test_an_unreachable_database_keeps_the_last_gallery(tmp_path, engine):
    # A database that cannot be opened (its folder is gone): the check fails quietly.
    unreachable = sessionmaker(create_engine(f"sqlite:///{tmp_path}/gone/gallery.db"))
    handed = []
    sync = GallerySync(unreachable, engine.model_name, on_index=handed.append)
    sync.version = 7                                   # what it had loaded before
    assert sync.check() is False
    assert handed == [] and "unable to open" in sync.error.details
