"""Real strangers walking towards a camera (tests/data/video/walk-in-crowd.mp4):
the door greets nobody, whichever gallery it holds."""

from __future__ import annotations

from collections import Counter

import pytest

from helpers import PROJECT_DIR
from kiosk.access_log import DENIED, GRANTED
from kiosk.calibration_set import embed_folders
from kiosk.config import Settings
from kiosk.gallery import GalleryMatrix
from kiosk.matcher import GalleryIndex
from kiosk.recognizer import Recognizer
from kiosk.video import VideoSource

import numpy as np

STREET = PROJECT_DIR / "tests" / "data" / "video" / "walk-in-crowd.mp4"


@pytest.fixture(scope="module")
def gallery(engine, faces_dir, celebrities) -> GalleryIndex:
    """Everyone the test suite has photos of: the four sample people and the
    five celebrities, every photo a sample (103 samples of 9 people)."""
    embeddings, labels = [], []
    for folder in (faces_dir / "people", celebrities):
        e, names, _ = embed_folders(engine, folder)
        embeddings.append(e)
        labels += names
    names = sorted(set(labels))
    ids = np.array([names.index(n) + 1 for n in labels])
    order = np.argsort(ids, kind="stable")
    return GalleryIndex(GalleryMatrix(np.concatenate(embeddings)[order], ids[order],
                                      {i + 1: n for i, n in enumerate(names)}))


def test_the_street_crowd_is_never_greeted(engine, gallery):
    recognizer = Recognizer(engine, gallery, Settings())
    decisions, faces = Counter(), 0
    with VideoSource(str(STREET)) as source:
        for frame in source.frames():
            result = recognizer.process(frame.time, frame.rgb)
            faces += len(result.faces)
            decisions.update(d.type for d in result.decisions)
    assert gallery.people == 9
    assert faces > 100                   # the crowd was seen ...
    assert decisions[DENIED] >= 3        # ... and turned away, track by track
    assert decisions[GRANTED] == 0
