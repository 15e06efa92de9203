"""The door's rules over time (kiosk.decisions), on a hand-made gallery of
unit vectors: Ada, Bob, and faces of nobody enrolled."""

import numpy as np

from kiosk.access_log import DENIED, GRANTED
from kiosk.decisions import DoorDecider, Sighting, iou
from kiosk.liveness import OFF
from kiosk.gallery import GalleryMatrix
from kiosk.matcher import GalleryIndex

BOX = (100.0, 100.0, 80.0, 80.0)
FAR_BOX = (400.0, 100.0, 80.0, 80.0)
THRESHOLD, MARGIN = 0.3, 0.05
AXES = np.eye(8, dtype=np.float32)
INDEX = GalleryIndex(GalleryMatrix(AXES[:2], np.array([1, 2]), {1: "Ada", 2: "Bob"}))


def face_of(axis: int, wobble: float = 0.0) -> np.ndarray:
    """A unit vector near gallery axis `axis` (0 Ada, 1 Bob, 2+ nobody)."""
    v = AXES[axis] + wobble * AXES[7]
    return v / np.linalg.norm(v)


def known(pid=1, name="Ada"):
    return face_of(pid - 1)


def unknown():
    return face_of(3)


def decider_liveness_off(**rules) -> DoorDecider:
    """The tracking, fusing and voting rules alone: these sightings carry no
    landmarks, so liveness is off (its own tests are in test_liveness.py)."""
    return DoorDecider(lambda e: INDEX.match(e[None], THRESHOLD, MARGIN)[0], liveness=OFF, **rules)


def run(door, frames, fps=10.0, start=0.0, quality=1.0):
    out = []
    for i, faces in enumerate(frames):
        sightings = [Sighting(box, INDEX.match(e[None], THRESHOLD, MARGIN)[0], e, quality) for box, e in faces]
        out += door.update(start + i / fps, sightings)
    return out


def test_iou():
    assert iou(BOX, BOX) == 1.0
    assert iou(BOX, FAR_BOX) == 0.0
    assert 0.3 < iou(BOX, (120.0, 100.0, 80.0, 80.0)) < 0.7


def test_k_of_n_needs_k_agreeing_frames():
    door = decider_liveness_off(vote_k=2, vote_n=3)
    assert run(door, [[(BOX, known())]]) == []
    decisions = run(door, [[(BOX, known())]], start=0.1)
    assert [(d.type, d.name) for d in decisions] == [(GRANTED, "Ada")]


def test_alternating_people_are_never_granted():
    door = decider_liveness_off(vote_k=2, vote_n=3)
    frames = [[(BOX, known(1, "Ada"))], [(BOX, known(2, "Bob"))]] * 1 + [[(BOX, unknown())]]
    assert GRANTED not in [d.type for d in run(door, frames)]


def test_one_greeting_per_cooldown():
    door = decider_liveness_off(vote_k=2, vote_n=3, cooldown_s=30)
    first = run(door, [[(BOX, known())]] * 20)          # two seconds at the door
    assert [d.type for d in first] == [GRANTED]
    # Leaves, comes back 5 s later as a new track: still in the cooldown.
    again = run(door, [[(BOX, known())]] * 5, start=7.0)
    assert again == []
    # Back after the cooldown: greeted again.
    later = run(door, [[(BOX, known())]] * 5, start=40.0)
    assert [d.type for d in later] == [GRANTED]


def test_unknown_denied_once_per_track():
    door = decider_liveness_off(vote_k=2, vote_n=3)
    decisions = run(door, [[(BOX, unknown())]] * 30)
    assert [d.type for d in decisions] == [DENIED]
    # A different stranger (a new track after the old one timed out).
    decisions = run(door, [[(BOX, unknown())]] * 3, start=10.0)
    assert [d.type for d in decisions] == [DENIED]


def test_denied_track_is_granted_when_later_recognised():
    """Turned away at first (weak faces), then facing the camera (good ones)."""
    door = decider_liveness_off(vote_k=2, vote_n=3)
    decisions = run(door, [[(BOX, unknown())]] * 3, quality=0.05)
    decisions += run(door, [[(BOX, known())]] * 2, start=0.3)
    assert [d.type for d in decisions] == [DENIED, GRANTED]


def test_the_fused_template_decides_not_one_frame():
    """Ada's frames each lie just beyond the threshold, blurred in different
    directions: no single frame matches, but their mean does."""
    noisy = []
    for axis in (3, 4, 5, 6):
        v = AXES[0] + 1.2 * AXES[axis]
        noisy.append(v / np.linalg.norm(v))
    assert all(INDEX.match(v[None], THRESHOLD, MARGIN)[0].name is None for v in noisy)
    door = decider_liveness_off(vote_k=2, vote_n=3)
    decisions = run(door, [[(BOX, v)] for v in noisy])
    assert [(d.type, d.name) for d in decisions] == [(GRANTED, "Ada")]


def test_a_single_lucky_frame_cannot_outvote_the_track():
    """One frame that matches Ada in a track of a stranger's face: the fused
    template stays a stranger's, so no grant."""
    door = decider_liveness_off(vote_k=1, vote_n=3)
    frames = [[(BOX, unknown())]] * 6 + [[(BOX, known())]] + [[(BOX, unknown())]] * 3
    assert [d.type for d in run(door, frames)] == [DENIED]


def test_two_faces_tracked_separately():
    door = decider_liveness_off(vote_k=2, vote_n=3)
    frames = [[(BOX, known(1, "Ada")), (FAR_BOX, known(2, "Bob"))]] * 3
    decisions = run(door, frames)
    assert sorted((d.name, d.face_index) for d in decisions) == [("Ada", 0), ("Bob", 1)]
    assert len({d.track_id for d in decisions}) == 2
