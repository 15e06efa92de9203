"""`kiosk run --demo`: the whole door on a machine with no camera. Three of the
bundled sample people are enrolled in a throw-away gallery; a generated clip
shows them, and one stranger, walking up to the door in turn."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.common.config import DoorSettings, Settings
from kiosk.common.paths import resources_dir
from kiosk.store.db import engine_of, open_database
from kiosk.vision.engine import FaceEngine
from kiosk.enrollment.draft import sample_from_face, the_subject
from kiosk.store.gallery_writes import DEMO, Author, enroll
from kiosk.vision.images import load_rgb
from kiosk.door.video import write_video
from kiosk.demo.walk_in import walk_in_frames

SAMPLE_FACES = resources_dir() / "faces"
MEMBERS = {"Barack Obama": "obama.jpg", "Joe Biden": "biden.jpg", "Kit Harington": "kit_harington.jpg"}
STRANGER = "rose_leslie.jpg"  # not enrolled: the door must say "Not recognised"
FPS = 30.0
# The clip's visitors are flat photos, which the liveness check rightly
# refuses: the demo runs with it off (the window and `kiosk run` say so).
DEMO_LIVENESS = "off"
SIZE = (640, 480)
DEMO_KIOSK_ID = "demo"   # the demo door's id, in its log and audit trail


def demo_settings(settings: Settings) -> Settings:
    """The machine's settings as the demo runs them: its own kiosk id, liveness
    off (its visitors are photos), and no lock. Every photo it greets would
    otherwise open this machine's real door; its broker still gets the demo
    door's events and states, but its lock entity never opens anything."""
    mqtt = dataclasses.replace(settings.mqtt, remote_unlock=False) if settings.mqtt is not None else None
    return settings.replace(kiosk_id=DEMO_KIOSK_ID, liveness=DEMO_LIVENESS, door=DoorSettings(), mqtt=mqtt)


@dataclass(frozen=True)
class Demo:
    db_url: str
    video: Path
    members: list[str]


def visit(photo: np.ndarray, from_left: bool) -> list[np.ndarray]:
    """One visitor: a second of empty doorway, a walk-in of 1.5 s, 1.5 s standing still."""
    walk = walk_in_frames(photo, size=SIZE, frames=int(1.5 * FPS), start_scale=0.5, end_scale=0.85,
                          empty_frames=int(FPS), from_left=from_left)
    return walk + [walk[-1]] * int(1.5 * FPS)


def build_demo(folder: Path, engine: FaceEngine) -> Demo:
    """Write folder/demo.db (the members enrolled) and folder/demo.avi (everyone's visit)."""
    folder.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{folder / 'demo.db'}"
    sessions = open_database(db_url)
    clip: list[np.ndarray] = []
    try:
        for i, (name, file) in enumerate(MEMBERS.items()):
            photo = load_rgb(SAMPLE_FACES / file)
            face = the_subject(engine, photo, file).face
            with sessions.begin() as session:
                enroll(session, Author(DEMO_KIOSK_ID, DEMO), name,
                       [sample_from_face(face, f"resources/faces/{file}")], engine.model_name)
            clip += visit(photo, from_left=i % 2 == 0)
            if i == 0:
                clip += visit(load_rgb(SAMPLE_FACES / STRANGER), from_left=False)
    finally:
        engine_of(sessions).dispose()
    video = write_video(folder / "demo.avi", clip, fps=FPS)
    return Demo(db_url, video, list(MEMBERS))
