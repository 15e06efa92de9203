"""The door's rules over time (kiosk.door.decisions), on a hand-made gallery of
unit vectors: Ada, Bob, and faces of nobody enrolled."""

import numpy as np

from kiosk.common.door_events import DENIED, GRANTED
from kiosk.door.decisions import DoorDecider, Sighting, iou
from kiosk.door.liveness import OFF
from kiosk.vision.matcher import GalleryMatrix
from kiosk.vision.matcher import GalleryIndex

BOX = (100.0, 100.0, 80.0, 80.0)
FAR_BOX = (400.0, 100.0, 80.0, 80.0)
THRESHOLD, MARGIN = 0.25, 0.05
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


SAME_FACE = 0.5   # the 1:1 same-person threshold's order of magnitude


def decider_liveness_off(**rules) -> DoorDecider:
    """The tracking, fusing and voting rules alone: these sightings carry no
    landmarks, so liveness is off (its own tests are in test_liveness.py)."""
    return DoorDecider(lambda e: INDEX.match(e[None], THRESHOLD, MARGIN)[0], SAME_FACE, liveness=OFF, **rules)


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
    """Ada's frames each lie just beyond the threshold (0.27 against 0.25),
    blurred in different directions: no single frame matches, their mean does."""
    noisy = []
    for axis in (3, 4, 5, 6):
        v = AXES[0] + 0.95 * AXES[axis]   # 0.27 from Ada, 0.47 from each other
        noisy.append(v / np.linalg.norm(v))
    assert all(INDEX.match(v[None], THRESHOLD, MARGIN)[0].name is None for v in noisy)
    door = decider_liveness_off(vote_k=2, vote_n=3)
    decisions = run(door, [[(BOX, v)] for v in noisy])
    assert [(d.type, d.name) for d in decisions] == [(GRANTED, "Ada")]


def test_a_single_lucky_frame_is_no_grant():
    """One frame that matches Ada in the middle of a stranger's track is a
    different face: it starts a track of its own, which one frame cannot win."""
    door = decider_liveness_off(vote_k=2, vote_n=3)
    frames = [[(BOX, unknown())]] * 6 + [[(BOX, known())]] + [[(BOX, unknown())]] * 3
    assert [d.type for d in run(door, frames)] == [DENIED, DENIED]


def test_two_faces_tracked_separately():
    door = decider_liveness_off(vote_k=2, vote_n=3)
    frames = [[(BOX, known(1, "Ada")), (FAR_BOX, known(2, "Bob"))]] * 3
    decisions = run(door, frames)
    assert sorted((d.name, d.face_index) for d in decisions) == [("Ada", 0), ("Bob", 1)]
    assert len({d.track_id for d in decisions}) == 2


def test_two_strangers_in_one_place_are_two_tracks_and_never_a_member():
    """A queue at the door: stranger 1, then stranger 2 steps into the same
    place within the track timeout. Each is 0.34 from Ada alone (beyond the
    threshold); their mean would be 0.22 from her. The second face starts a
    track of its own, so the two are never averaged into Ada."""
    s1 = AXES[0] + 1.15 * AXES[3]
    s2 = AXES[0] + 1.15 * AXES[4]
    s1, s2 = s1 / np.linalg.norm(s1), s2 / np.linalg.norm(s2)
    assert INDEX.match(s1[None], THRESHOLD, MARGIN)[0].name is None
    mean = (s1 + s2) / np.linalg.norm(s1 + s2)
    assert INDEX.match(mean[None], THRESHOLD, MARGIN)[0].name == "Ada"   # what fusing both would do
    door = decider_liveness_off(vote_k=2, vote_n=3)
    decisions = run(door, [[(BOX, s1)]] * 4 + [[(BOX, s2)]] * 4)
    assert [d.type for d in decisions] == [DENIED, DENIED]
    assert decisions[0].track_id != decisions[1].track_id


def test_a_frame_far_from_everyone_casts_no_vote():
    """Votes go to a frame's nearest person only when it is near them at all:
    in a small gallery everybody's nearest person is the same one."""
    door = decider_liveness_off(vote_k=2, vote_n=3)
    far = face_of(5)   # nobody: 1.0 from Ada and Bob alike
    run(door, [[(BOX, far)]] * 3)
    (track,) = door._tracks
    assert list(track.votes) == [None, None, None]


def test_a_new_vote_window_applies_to_the_faces_already_followed():
    """Settings changed while Ada stands at the door: her track votes by the
    new k-of-n (a window of the new n, its most recent votes kept), as a new
    track would."""
    door = decider_liveness_off(vote_k=2, vote_n=3)
    assert run(door, [[(BOX, known())]]) == []
    door.configure(SAME_FACE, vote_k=4, vote_n=5, cooldown_s=30.0, liveness=OFF)
    assert run(door, [[(BOX, known())]] * 2, start=0.1) == []   # 3 of 4 votes
    decisions = run(door, [[(BOX, known())]], start=0.3)
    assert [(d.type, d.name) for d in decisions] == [(GRANTED, "Ada")]


def test_a_smaller_vote_window_forgets_the_votes_beyond_it():
    """Ada's track, whose later frames lean towards Bob (they vote for him; the
    fused template is still hers): shrunk to the last two frames, her track's
    window holds no vote of hers, so a 1-of-2 vote does not grant her."""
    leaning = AXES[0] + 1.2 * AXES[1]
    leaning /= np.linalg.norm(leaning)
    assert INDEX.match(leaning[None], THRESHOLD, MARGIN)[0].name == "Bob"
    door = decider_liveness_off(vote_k=2, vote_n=5)
    assert run(door, [[(BOX, known())]] + [[(BOX, leaning)]] * 2) == []
    door.configure(SAME_FACE, vote_k=1, vote_n=2, cooldown_s=30.0, liveness=OFF)
    assert run(door, [[(BOX, leaning)]], start=0.3) == []
    (track,) = door._tracks
    assert list(track.votes) == [2, 2]
