"""A non-editable install is a whole kiosk: the wheel carries every module, the
migrations' template and resources/ (sample faces, the CJK font), and once
installed the kiosk finds them, and its data folder, without a checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from helpers import PROJECT_DIR

# What a wheel is built from: the project without its environment, models and tests.
NOT_SHIPPED = shutil.ignore_patterns(".venv", ".git", "facenet_model", "tests", "build", "*.egg-info",
                                     "__pycache__", ".pytest_cache", "gallery.db*", "kiosk.json", "*.spool.jsonl")


PROBE = """
from PySide6.QtGui import QGuiApplication
from kiosk.common import paths
from kiosk.demo.build import MEMBERS, SAMPLE_FACES
from kiosk.vision.operating_point import ImpostorScores
from ui.fonts import load_bundled_cjk_font
app = QGuiApplication([])
assert ImpostorScores.shipped().pairs > 1_000_000   # the door's thresholds come from the installed file
print(paths.__file__, paths.project_dir(), paths.resources_dir(), paths.data_dir(create=True),
      paths.default_model_dir(), SAMPLE_FACES, load_bundled_cjk_font(), sep="\\n")
assert all((SAMPLE_FACES / photo).is_file() for photo in MEMBERS.values())
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from a copy of this tree (the build leaves build/ behind)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(PROJECT_DIR, source, ignore=NOT_SHIPPED)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
                            "-q", "-w", str(root / "dist"), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    # Quiet set-up: no packaging warnings (license as an SPDX string, setuptools >= 77).
    assert "Warning" not in built.stderr and "deprecated" not in built.stderr.lower(), built.stderr
    (found,) = (root / "dist").glob("door_kiosk-*.whl")
    return found


def test_the_wheel_holds_every_module_and_resource(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(PROJECT_DIR).as_posix() for package in ("kiosk", "ui")
               for p in (PROJECT_DIR / package).rglob("*.py") if "__pycache__" not in p.parts}
    assert modules - names == set()
    resources = {"kiosk/resources/" + p.relative_to(PROJECT_DIR / "resources").as_posix()
                 for p in (PROJECT_DIR / "resources").rglob("*") if p.is_file()}
    assert "kiosk/resources/fonts/DroidSansFallbackFull.ttf" in resources
    assert "kiosk/resources/faces/obama.jpg" in resources
    assert resources - names == set()
    assert "kiosk/store/migrations/script.py.mako" in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata


def test_an_installed_kiosk_finds_its_resources_and_data_folder(wheel, tmp_path):
    """Installed with --no-deps into a scratch venv: kiosk.common.paths needs only the
    standard library, so the paths can be checked there for real."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    target = next((venv / "lib").glob("python3*")) / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                    "--target", str(target), str(wheel)], check=True, capture_output=True, timeout=120)
    # kiosk from the wheel; numpy, OpenCV and PySide6 from this environment (after it on sys.path)
    env = {k: v for k, v in os.environ.items() if k != "KIOSK_HOME"}
    env.update(XDG_DATA_HOME=str(tmp_path / "share"), PYTHONPATH=sysconfig.get_paths()["purelib"])
    done = subprocess.run([str(venv / "bin" / "python"), "-c", PROBE], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    code, project, resources, data, models, demo, font = done.stdout.splitlines()
    assert Path(code) == target / "kiosk" / "common" / "paths.py"
    assert project == "None"
    assert Path(resources) == target / "kiosk" / "resources"
    assert (Path(resources) / "fonts" / "DroidSansFallbackFull.ttf").stat().st_size == \
        (PROJECT_DIR / "resources" / "fonts" / "DroidSansFallbackFull.ttf").stat().st_size
    assert sorted(p.name for p in (Path(resources) / "faces").glob("*.jpg")) == \
        ["biden.jpg", "kit_harington.jpg", "obama.jpg", "rose_leslie.jpg"]
    assert Path(data) == tmp_path / "share" / "door-kiosk" and Path(data).is_dir()
    assert Path(models) == tmp_path / "share" / "door-kiosk" / "facenet_model"
    # the demo's sample people and the window's font are the installed ones
    assert Path(demo) == Path(resources) / "faces" and font == "Droid Sans Fallback"
