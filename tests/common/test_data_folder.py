"""The data folder: the default gallery, settings file and event spool are
found in one documented place whatever the current directory ($KIOSK_HOME, else
the checkout, else ~/.local/share/door-kiosk), and the commands say which
gallery they use."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kiosk.common import config, paths
from kiosk.common.config import Settings
from kiosk.context import KioskContext
from kiosk.door.video import write_video
from kiosk.demo.walk_in import walk_in_frames
from kiosk.vision.images import load_rgb
from helpers import PROJECT_DIR
from ui.cli import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    """KIOSK_HOME=tmp/home, the current directory tmp/elsewhere, no other overrides."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("KIOSK_HOME", str(folder))
    for var in ("KIOSK_DB_URL", "KIOSK_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return folder


def test_the_default_gallery_settings_and_spool_are_in_the_data_folder(home, capsys, model_dir, faces_dir):
    obama = faces_dir / "people" / "obama" / "obama.jpg"
    assert main(["--model-dir", str(model_dir), "enroll", "obama", str(obama)]) == 0
    assert main(["people"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"gallery: sqlite:///{home / 'gallery.db'}"]
    assert "obama\t1 sample(s)" in out
    assert (home / "gallery.db").is_file() and os.listdir(".") == []   # nothing in the current directory
    assert config.config_path() == home / "kiosk.json"
    assert config.save_settings(Settings(threshold=0.6)) == home / "kiosk.json"
    assert main(["--json", "people"]) == 0
    assert capsys.readouterr().out.startswith(f'{{"gallery": "sqlite:///{home / "gallery.db"}"')
    ctx = KioskContext(Settings(kiosk_id="front"), "sqlite://", model_dir)
    assert ctx.spool_path == home / "events-front.spool.jsonl"


def test_an_explicit_relative_sqlite_path_stays_relative_to_the_current_directory(home, capsys):
    assert main(["people", "--db", "sqlite:///mine.db"]) == 0
    assert capsys.readouterr().err == "gallery: sqlite:///mine.db\n"
    assert "mine.db" in os.listdir(".") and not (home / "gallery.db").exists()


def test_a_kiosk_home_that_is_not_there_is_refused_and_nothing_is_made(home, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_HOME", str(tmp_path / "typo"))
    assert main(["people"]) == 2
    assert capsys.readouterr().err == \
        f"kiosk: KIOSK_HOME={tmp_path / 'typo'}: no such folder (create it, or unset KIOSK_HOME)\n"
    assert not (tmp_path / "typo").exists() and os.listdir(".") == []


def test_a_checkout_keeps_its_data_in_the_project_folder(monkeypatch):
    monkeypatch.delenv("KIOSK_HOME")
    assert paths.project_dir() == PROJECT_DIR
    assert paths.data_dir() == PROJECT_DIR
    assert config.default_db_url() == f"sqlite:///{PROJECT_DIR / 'gallery.db'}"
    assert paths.resources_dir() == PROJECT_DIR / "resources"


def test_an_installed_kiosk_keeps_its_data_in_the_user_data_folder(monkeypatch, tmp_path):
    # (tests/test_packaging.py checks the same from a real install of the wheel)
    monkeypatch.delenv("KIOSK_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setattr(paths, "project_dir", lambda: None)
    assert config.default_db_url() == f"sqlite:///{tmp_path / 'share' / 'door-kiosk' / 'gallery.db'}"
    assert (tmp_path / "share" / "door-kiosk").is_dir()   # made for the gallery to be created in
    assert paths.resources_dir() == paths.PACKAGE_DIR / "resources"
    assert paths.default_model_dir() == tmp_path / "share" / "door-kiosk" / "facenet_model"


def test_kiosk_run_says_which_gallery_it_uses(home, tmp_path, model_dir, faces_dir):
    person = load_rgb(faces_dir / "people" / "obama" / "obama.jpg")
    video = write_video(tmp_path / "door.avi", walk_in_frames(person, frames=10), fps=10)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "KIOSK_MODEL_DIR": str(model_dir)}
    done = subprocess.run([sys.executable, "-m", "ui.cli", "run", "--source", str(video), "--windowed",
                           "--mute", "--duration", "1"], env={**env, "PYTHONPATH": str(PROJECT_DIR)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"kiosk run: gallery sqlite:///{home / 'gallery.db'}" in done.stderr.splitlines()
    assert "liveness" not in done.stderr


def test_kiosk_run_warns_when_liveness_is_off(home, tmp_path, model_dir, faces_dir):
    person = load_rgb(faces_dir / "people" / "obama" / "obama.jpg")
    video = write_video(tmp_path / "door.avi", walk_in_frames(person, frames=10), fps=10)
    (tmp_path / "kiosk.json").write_text('{"liveness": "off"}')
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "KIOSK_MODEL_DIR": str(model_dir),
           "KIOSK_CONFIG": str(tmp_path / "kiosk.json"), "PYTHONPATH": str(PROJECT_DIR)}
    done = subprocess.run([sys.executable, "-m", "ui.cli", "run", "--source", str(video), "--windowed",
                           "--mute", "--duration", "1"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stderr.splitlines() if "liveness" in line] == [
        "kiosk run: warning: liveness is off: a photo or a screen showing a member opens the door"]
