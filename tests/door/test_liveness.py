"""The passive liveness check (kiosk.door.liveness) and the door's use of it.

Geometry first (a pinhole camera looking at a head and at a flat picture of
it), then the door's rules on landmark sequences, then synthetic attacks made
from real photos and seen through the real detector (tests/attack_clips.py).

Tune and report sets are apart: the thresholds in kiosk.door.liveness were chosen
on attacks made from tests/data/faces/people (seeds from 1000); the attacks
here are made from the 5-celebrity photos (seeds from 50000), never tuned on.
"""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

import attack_clips
from kiosk.common.door_events import DENIED, GRANTED, SPOOF
from kiosk.door.decisions import DoorDecider, Sighting
from kiosk.vision.matcher import GalleryMatrix
from kiosk.door.liveness import (LIVE, OFF, SPOOF as LOOKS_FLAT, UNPROVEN, TrackLiveness, nose_miss,
                            shape_change)
from kiosk.vision.matcher import GalleryIndex

# Five landmarks of an adult head in metres (x right, y down, z away from
# the camera): eyes, nose tip 2.5 cm in front of them, mouth corners.
HEAD = np.array([[-0.032, -0.03, 0.0], [0.032, -0.03, 0.0], [0.0, 0.005, -0.025],
                 [-0.025, 0.035, -0.005], [0.025, 0.035, -0.005]])
PICTURE = HEAD * [1, 1, 0]          # the same face, printed: every point in one plane
FOCAL, DISTANCE, FPS = 600.0, 0.5, 12.5


def seen(points: np.ndarray, yaw_deg: float = 0.0, pitch_deg: float = 0.0, shift=(0.0, 0.0)) -> np.ndarray:
    """The (5, 2) image points of `points` turned by yaw and pitch, 0.5 m away."""
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    yaw = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    pitch = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    world = points @ (pitch @ yaw).T + [shift[0], shift[1], DISTANCE]
    return np.column_stack([FOCAL * world[:, 0] / world[:, 2] + 320, FOCAL * world[:, 1] / world[:, 2] + 240])


def test_a_flat_picture_puts_the_nose_where_its_homography_says_however_it_is_held():
    for yaw, pitch, shift in ((35, 0, (0, 0)), (-30, 20, (0.05, -0.02)), (10, -25, (-0.04, 0.03))):
        assert nose_miss(seen(PICTURE), seen(PICTURE, yaw, pitch, shift)) < 1e-6


def test_a_real_head_turned_25_degrees_misses_it_by_about_a_sixth_of_the_eye_distance():
    miss = nose_miss(seen(HEAD), seen(HEAD, 25))
    assert 0.12 < miss < 0.25
    assert nose_miss(seen(HEAD), seen(HEAD, 0, 20)) > 0.12    # nodding too


def test_shape_change_ignores_moving_scaling_and_rolling():
    points = seen(PICTURE)
    angle = math.radians(20)
    rolled = (points - points.mean(0)) @ np.array([[math.cos(angle), -math.sin(angle)],
                                                   [math.sin(angle), math.cos(angle)]]).T * 1.3 + [40, -10]
    assert shape_change(points, rolled) < 1e-9
    assert shape_change(points, seen(PICTURE, 40, 25)) > 0.03


def test_degenerate_landmarks_give_no_evidence():
    assert nose_miss(np.zeros((5, 2)), seen(HEAD)) is None
    liveness = TrackLiveness()
    for i in range(20):
        liveness.add(i / FPS, np.zeros((5, 2)))
    assert liveness.evidence().pairs == 0 and liveness.verdict == UNPROVEN


def head_turn(points: np.ndarray, seconds: float = 2.0, degrees: float = 25.0) -> list[tuple[float, np.ndarray]]:
    """A visitor looking about as they walk up: yaw swings, a little nod."""
    times = np.arange(int(seconds * FPS)) / FPS
    return [(t, seen(points, degrees * math.sin(2 * math.pi * 0.5 * t), 5 * math.sin(2 * math.pi * 0.3 * t)))
            for t in times]


def verdict_of(sequence) -> str:
    liveness = TrackLiveness()
    for t, points in sequence:
        liveness.add(t, points)
    return liveness.verdict


def test_a_head_looking_about_is_live_and_its_picture_moved_alike_is_not():
    assert verdict_of(head_turn(HEAD)) == LIVE
    assert verdict_of(head_turn(PICTURE)) != LIVE
    assert verdict_of(head_turn(PICTURE, seconds=4.0, degrees=40.0)) == LOOKS_FLAT


def test_depth_is_not_judged_on_a_face_squeezed_like_a_print_turned_far():
    """A print swung from facing to 60 degrees and back, its nose landmark
    drifting as MTCNN's does on a foreshortened print (where the nose of a
    head turned 2.5 times less would be): proves nothing."""
    def print_at(t):
        turn = 60 * abs(math.sin(2 * math.pi * 0.4 * t))
        points = seen(PICTURE, turn)
        points[2] = seen(HEAD, turn / 2.5)[2]
        return points
    assert verdict_of([(i / FPS, print_at(i / FPS)) for i in range(int(3 * FPS))]) == UNPROVEN


def test_depth_is_not_judged_on_a_face_narrower_than_any_real_one():
    """A print held turned 45-55 degrees, never facing the camera (so the
    track has never seen it wider), its face frontal in the picture and its
    nose landmark drifting as if it had depth: narrower than a real face
    facing that way can be, it proves nothing."""
    def print_at(t):
        turn = 50 + 5 * math.sin(2 * math.pi * 0.5 * t)
        points = seen(PICTURE, turn)
        points[2] = seen(HEAD, 20 * math.sin(2 * math.pi * 0.5 * t))[2] - seen(HEAD)[2] + points[2]
        return points
    assert verdict_of([(i / FPS, print_at(i / FPS)) for i in range(int(3 * FPS))]) == UNPROVEN


def test_depth_is_not_judged_across_a_jump_of_the_landmarks():
    """A print whose nose landmark flips between two placements (as MTCNN's
    sometimes does) every few frames: no head turns 20 degrees in a frame
    and back, so those pairs prove nothing (a head turning as far, in its
    own time, is live: test_a_head_looking_about_is_live...)."""
    def flipping(frames_a_side):
        sequence = []
        for i in range(int(3 * FPS)):
            points = seen(PICTURE, 5 * math.sin(i / FPS))
            if (i // frames_a_side) % 2:
                points[2] += (seen(HEAD, 20)[2] - seen(HEAD)[2])
            sequence.append((i / FPS, points))
        return sequence
    assert verdict_of(flipping(4)) == UNPROVEN


def test_a_still_face_proves_nothing_either_way():
    assert verdict_of([(i / FPS, seen(HEAD)) for i in range(40)]) == UNPROVEN


def test_the_verdict_stays_once_reached():
    liveness = TrackLiveness()
    for t, points in head_turn(HEAD):
        liveness.add(t, points)
    for i in range(40):                 # then the visitor stands still
        liveness.add(2.0 + i / FPS, seen(HEAD))
    assert liveness.verdict == LIVE and liveness.evidence().live_pairs == 0


# ---- the door's rules ----------------------------------------------------------

AXES = np.eye(4, dtype=np.float32)
INDEX = GalleryIndex(GalleryMatrix(AXES[:1], np.array([1]), {1: "Ada"}))
SAME_FACE = 0.5   # the 1:1 same-person threshold's order of magnitude (as the recognizer passes)
BOX = (280.0, 200.0, 80.0, 80.0)


def door_run(sequence, liveness: str = "passive", embedding_at=lambda t: AXES[0]) -> list:
    """Ada's face (a perfect match) on the given landmarks, frame after frame;
    or whose embedding_at(t) it is."""
    door = DoorDecider(lambda e: INDEX.match(e[None], 0.3, 0.05)[0], SAME_FACE, liveness=liveness,
                       rng=random.Random(0))
    decisions = []
    for t, points in sequence:
        embedding = embedding_at(t)
        match = INDEX.match(embedding[None], 0.3, 0.05)[0]
        decisions += [(round(t, 2), d.type, d.name)
                      for d in door.update(t, [Sighting(BOX, match, embedding, 1.0, tuple(map(tuple, points)))])]
    return decisions


def test_a_recognised_head_is_granted_once_it_shows_liveness():
    decisions = door_run(head_turn(HEAD))
    assert [(kind, name) for _, kind, name in decisions] == [(GRANTED, "Ada")]
    assert decisions[0][0] >= 0.3           # not before one frame pair could be compared


def test_a_recognised_picture_moved_about_is_refused_once_as_spoof():
    decisions = door_run(head_turn(PICTURE, seconds=4.0, degrees=40.0))
    assert [(kind, name) for _, kind, name in decisions] == [(SPOOF, "Ada")]


def test_a_recognised_still_face_is_never_granted():
    """It waits, then is asked to turn its head (test_challenge.py), and is
    refused when it does not."""
    assert door_run([(i / FPS, seen(HEAD)) for i in range(20)]) == []
    assert {kind for _, kind, _ in door_run([(i / FPS, seen(HEAD)) for i in range(60)])} == {SPOOF}


def test_a_stranger_who_looked_about_proves_nothing_for_a_members_photo_in_their_place():
    """A stranger looks about (a live head, never close to Ada), then a screen
    in the same place morphs from the stranger's face into Ada's photo, a
    step at a time so the door follows it as one face, and holds it still.
    The head was live; it was not Ada's (it was granted before liveness was
    kept per person the frames vote for)."""
    stranger, steps = AXES[1], 12
    def embedding_at(t):
        blend = min(1.0, max(0.0, (t - 2.0) * FPS / steps))
        v = (1 - blend) * stranger + blend * AXES[0]
        return v / np.linalg.norm(v)
    looking_about = head_turn(HEAD, seconds=2.0)
    still_photo = [(2.0 + i / FPS, seen(PICTURE)) for i in range(int(2.5 * FPS))]
    decisions = door_run(looking_about + still_photo, embedding_at=embedding_at)
    assert (DENIED, None) in [(kind, name) for _, kind, name in decisions]   # the stranger, first
    assert GRANTED not in [kind for _, kind, _ in decisions]


def test_with_liveness_off_the_picture_is_granted():
    decisions = door_run(head_turn(PICTURE, seconds=4.0, degrees=40.0), liveness=OFF)
    assert [(kind, name) for _, kind, name in decisions] == [(GRANTED, "Ada")]


def test_an_unknown_liveness_mode_is_refused():
    with pytest.raises(ValueError, match="liveness"):
        DoorDecider(lambda e: None, SAME_FACE, liveness="maybe")


# ---- synthetic attacks from real photos, through the real detector ----------------

# Retired report sets (2026-12-01), no longer held out: 90_000 (a print swept
# 25-65 degrees was accepted while the squeeze and yaw limits were set) and
# 95_000 (its one accepted handheld print was studied while the frontal-width
# and jump limits were set).
REPORT_SEED = 100_000


def report_photos(celebrities):
    """The report set: the celebrities' val photos (the tune set was
    tests/data/faces/people and the celebrities' train photos)."""
    return sorted((celebrities / "val").rglob("*.jpg"))


def test_attack_clips_are_deterministic(engine, faces_dir):
    card = attack_clips.cards_of(engine, [faces_dir / "people" / "biden" / "biden.jpg"])[0]
    for kind in attack_clips.TYPES:
        a, b = attack_clips.attack_clip(card, kind, 7), attack_clips.attack_clip(card, kind, 7)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
        assert not np.array_equal(a[5], attack_clips.attack_clip(card, kind, 8)[5])


def assert_no_attack_accepted(engine, photos, count: int):
    accepted = {}
    for kind in attack_clips.TYPES:
        evidence = attack_clips.attack_evidence(engine, photos, kind, count, first_seed=REPORT_SEED)
        verdicts = Counter(e.verdict for e in evidence)
        print(kind, dict(verdicts))     # README "Liveness" quotes the 150-a-type run
        accepted[kind] = verdicts[LIVE]
        # the faces were found and compared: zero accepted is not zero looked at
        # (a fake turn keeps ~20 pairs: its widest-turned frames are not judged)
        assert np.median([e.pairs for e in evidence]) >= 10, kind
    assert not any(accepted.values()), accepted


@pytest.mark.parametrize("count", [6])
def test_flat_attacks_are_never_live(engine, celebrities, count):
    """A few attacks of each type (the full 150 a type is marked slow)."""
    assert_no_attack_accepted(engine, report_photos(celebrities), count)


@pytest.mark.slow
def test_150_flat_attacks_of_each_type_are_never_live(engine, celebrities):
    """Zero of 150 bounds each type's APCER below 2% (3/N at 95%)."""
    assert_no_attack_accepted(engine, report_photos(celebrities), 150)
