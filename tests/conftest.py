"""Shared fixtures: the real models loaded once per session, the real sample photos.

Qt runs offscreen (set here, before any QApplication exists); engine tests never
create a QApplication.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from helpers import shared_faces_dir


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """../shared/faces: people/<name>/*.jpg, scenes/*.jpg, odd/*.png (see its README)."""
    return shared_faces_dir()


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """facenet_model/ with the weights fetched and every model converted."""
    from kiosk.config import model_dir as configured
    from kiosk.weights import fetch_model, prepare_models
    path = configured()
    fetch_model(path)
    prepare_models(path)
    return path


@pytest.fixture(scope="session")
def celebrities(model_dir) -> Path:
    """The 5-celebrity set from the weights archive: train/<name>/, val/<name>/."""
    return model_dir / "celebrities"


@pytest.fixture(scope="session")
def engine(model_dir):
    """The one FaceEngine of the test session (LiteRT interpreters are reused)."""
    from kiosk.engine import FaceEngine
    return FaceEngine.load(model_dir)


@pytest.fixture
def db_url(tmp_path) -> str:
    """A real SQLite file, new for each test."""
    return f"sqlite:///{tmp_path / 'gallery.db'}"
