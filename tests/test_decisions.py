"""The door's rules over time (kiosk.decisions), on hand-made matches."""

from kiosk.access_log import DENIED, GRANTED
from kiosk.decisions import DoorDecider, iou
from kiosk.matcher import Match

BOX = (100.0, 100.0, 80.0, 80.0)
FAR_BOX = (400.0, 100.0, 80.0, 80.0)


def known(pid=1, name="Ada", distance=0.2):
    return Match(name, pid, distance, 0.9, name)


def unknown(distance=0.8):
    return Match(None, None, distance, 0.9, "Ada")


def run(decider, frames, fps=10.0, start=0.0):
    out = []
    for i, faces in enumerate(frames):
        boxes = [b for b, _ in faces]
        matches = [m for _, m in faces]
        out += decider.update(start + i / fps, boxes, matches)
    return out


def test_iou():
    assert iou(BOX, BOX) == 1.0
    assert iou(BOX, FAR_BOX) == 0.0
    assert 0.3 < iou(BOX, (120.0, 100.0, 80.0, 80.0)) < 0.7


def test_k_of_n_needs_k_agreeing_frames():
    decider = DoorDecider(vote_k=2, vote_n=3)
    assert run(decider, [[(BOX, known())]]) == []
    decisions = run(decider, [[(BOX, known())]], start=0.1)
    assert [(d.type, d.name) for d in decisions] == [(GRANTED, "Ada")]


def test_alternating_people_are_never_granted():
    decider = DoorDecider(vote_k=2, vote_n=3)
    frames = [[(BOX, known(1, "Ada"))], [(BOX, known(2, "Bob"))]] * 1 + [[(BOX, unknown())]]
    assert run(decider, frames) == []


def test_one_greeting_per_cooldown():
    decider = DoorDecider(vote_k=2, vote_n=3, cooldown_s=30)
    first = run(decider, [[(BOX, known())]] * 20)          # two seconds at the door
    assert [d.type for d in first] == [GRANTED]
    # Leaves, comes back 5 s later as a new track: still in the cooldown.
    again = run(decider, [[(BOX, known())]] * 5, start=7.0)
    assert again == []
    # Back after the cooldown: greeted again.
    later = run(decider, [[(BOX, known())]] * 5, start=40.0)
    assert [d.type for d in later] == [GRANTED]


def test_unknown_denied_once_per_track():
    decider = DoorDecider(vote_k=2, vote_n=3)
    decisions = run(decider, [[(BOX, unknown())]] * 30)
    assert [d.type for d in decisions] == [DENIED]
    # A different stranger (a new track after the old one timed out).
    decisions = run(decider, [[(BOX, unknown())]] * 3, start=10.0)
    assert [d.type for d in decisions] == [DENIED]


def test_denied_track_is_granted_when_later_recognised():
    decider = DoorDecider(vote_k=2, vote_n=3)
    decisions = run(decider, [[(BOX, unknown())]] * 3 + [[(BOX, known())]] * 2)
    assert [d.type for d in decisions] == [DENIED, GRANTED]


def test_two_faces_tracked_separately():
    decider = DoorDecider(vote_k=2, vote_n=3)
    frames = [[(BOX, known(1, "Ada")), (FAR_BOX, known(2, "Bob"))]] * 3
    decisions = run(decider, frames)
    assert sorted((d.name, d.face_index) for d in decisions) == [("Ada", 0), ("Bob", 1)]
    assert len({d.track_id for d in decisions}) == 2
