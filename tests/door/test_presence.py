"""kiosk.door.presence on generated frames of a real photo walking into an empty wall."""

import numpy as np

from kiosk.vision.images import load_rgb
from kiosk.door.presence import PresenceGate
from kiosk.demo.walk_in import walk_in_frames


def test_empty_scene_runs_recognition_rarely_and_wakes_on_arrival(faces_dir):
    photo = load_rgb(faces_dir / "people" / "biden" / "biden.jpg")
    clip = walk_in_frames(photo, frames=30, empty_frames=300)  # 10 s empty at 30 fps
    rng = np.random.default_rng(0)
    gate = PresenceGate()
    decisions = []
    for i, frame in enumerate(clip):
        noisy = np.clip(frame.astype(np.int16) + rng.integers(-4, 5, frame.shape), 0, 255).astype(np.uint8)
        decisions.append(gate.should_recognise(i / 30.0, noisy, faces_in_view=False))
    empty, arrival = decisions[:300], decisions[300:]
    assert empty[0]                         # the first frame is looked at (someone may be there)
    assert sum(empty) <= 6                  # then a check every 2 s: frames 0, 60, 120, 180, 240
    assert all(arrival[1:])                 # every frame once someone moves in


def test_a_face_in_view_keeps_recognition_on():
    gate = PresenceGate()
    still = np.full((360, 640, 3), 128, np.uint8)
    gate.should_recognise(0.0, still, faces_in_view=False)
    assert all(gate.should_recognise(t / 30.0, still, faces_in_view=True) for t in range(1, 60))
