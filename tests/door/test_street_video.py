"""Real strangers walking towards a camera (tests/data/video/walk-in-crowd.mp4):
the door greets nobody, whichever gallery it holds."""

from __future__ import annotations

from collections import Counter

import pytest

from helpers import PROJECT_DIR
from kiosk.common.door_events import DENIED, GRANTED
from kiosk.calibration.calibration_set import embed_folders
from kiosk.common.config import Settings
from kiosk.vision.matcher import GalleryMatrix
from kiosk.door.liveness import LIVE
from kiosk.vision.matcher import GalleryIndex
from kiosk.door.recognizer import Recognizer
from kiosk.door.video import VideoSource

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


@pytest.fixture(scope="module")
def street(engine, gallery):
    """The video through the door once: its decisions, how many faces were
    seen, and per track the time it was first seen and first shown liveness."""
    recognizer = Recognizer(engine, gallery, Settings())
    decisions, faces, first_seen, first_live, cues = Counter(), 0, {}, {}, {}
    with VideoSource(str(STREET)) as source:
        for frame in source.frames():
            result = recognizer.process(frame.time, frame.rgb)
            faces += len(result.faces)
            decisions.update(d.type for d in result.decisions)
            for view in filter(None, result.tracks):
                first_seen.setdefault(view.track_id, frame.time)
                if view.liveness.verdict == LIVE:
                    first_live.setdefault(view.track_id, frame.time)
                if view.cue is not None:
                    cues[view.track_id] = view.cue
            last = frame.time
    return decisions, faces, first_seen, first_live, last, cues


def test_the_street_crowd_is_never_greeted(gallery, street):
    decisions, faces, *_ = street
    assert gallery.people == 9
    assert faces > 100                   # the crowd was seen ...
    assert decisions[DENIED] >= 3        # ... and turned away, track by track
    assert decisions[GRANTED] == 0


def test_most_real_people_walking_in_show_liveness_within_a_second_or_so(street):
    """Real heads, walking: the passive check's live side (BPCER). A track
    counts when it was followed for at least a second."""
    _, _, first_seen, first_live, last, _ = street
    followed = [t for t, seen in first_seen.items() if last - seen >= 1.0]
    live = [t for t in followed if t in first_live]
    assert len(followed) >= 4
    # 3 of 8 (December 2026): since depth is judged only on pairs MTCNN places
    # well (kiosk.door.liveness.JUDGED_YAW, SQUEEZE_MIN), a walker seen in
    # profile, or turning far, is asked to turn at the door instead
    # (4-5 of 7-8 before). Fewer than 3 would be a loss to look into.
    print("street:", len(live), "of", len(followed), "live,", sorted(round(first_live[t] - first_seen[t], 2) for t in live))
    assert len(live) >= 3
    assert np.median([first_live[t] - first_seen[t] for t in live]) <= 1.5


def test_no_real_face_in_the_street_looks_like_a_screen_or_a_print(street):
    """The screen and print cues (kiosk.door.spoof_cues) only refuse: on real
    heads they must never fire (their thresholds were set with this clip in
    the tune set, README "Liveness")."""
    _, faces, first_seen, _, _, cues = street
    assert len(first_seen) >= 8 and cues == {}
