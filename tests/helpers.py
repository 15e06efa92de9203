"""Where the tests find the real models and photos (shared by conftest and the test modules)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=None)
def shared_faces_dir() -> Path:
    """../shared/faces beside the checkout (or $KIOSK_SHARED_FACES)."""
    env = os.environ.get("KIOSK_SHARED_FACES")
    if env:
        return Path(env)
    for candidate in (PROJECT_DIR.parent / "shared" / "faces", PROJECT_DIR.parent.parent / "shared" / "faces"):
        if candidate.is_dir():
            return candidate
    raise RuntimeError("the shared sample faces are not beside this checkout; set KIOSK_SHARED_FACES")


@lru_cache(maxsize=None)
def ready_model_dir() -> Path:
    """The project's model folder ($KIOSK_MODEL_DIR or facenet_model/), fetched and
    with FaceNet converted (once per session)."""
    from kiosk.config import model_dir
    from kiosk.weights import fetch_model, prepare_facenet
    path = model_dir()
    fetch_model(path)
    prepare_facenet(path)
    return path
