"""Visitors answering the liveness challenge (kiosk.door.challenge), closed
loop: each frame is chosen from what the door asks at that moment, then
seen through the real detector.

- A real head: real photos of one person at several angles (the yaw of each
  photo's face estimated from its landmarks; mirrored photos give the other
  side), placed so that the eyes and mouth stay where the head is, shown in
  order of yaw: frontal while asked to look, then turning towards the side
  asked after a human reaction time. The geometry in each frame is a real
  head's; only the motion between photos is made up.
- A flat attack: a print of the person (tests/attack_clips.py) held up and
  turned smoothly about its vertical axis towards the side asked, on cue:
  an attacker imitating the turn.
- Two prints swapped on cue: a frontal photo, then a photo of the same
  person already turned towards the side asked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

import attack_clips
from kiosk.door.challenge import LEFT, RUNNING, TURN_PROMPT
from kiosk.vision.snapshot_quality import frontal_angles

FPS = attack_clips.FPS
SIZE = attack_clips.SIZE


@dataclass(frozen=True)
class Pose:
    yaw: float            # degrees, positive: nose towards the image's right
    rgb: np.ndarray       # the photo (mirrored when the yaw was flipped)
    landmarks: np.ndarray  # (5, 2)


def poses_of(engine, photos) -> list[Pose]:
    """Every photo's biggest face, and its mirror image: both sides of each angle."""
    poses = []
    for rgb, face in attack_clips.biggest_faces(engine, photos):
        points = np.asarray(face.landmarks, np.float64)
        yaw = frontal_angles(face)[0]
        poses.append(Pose(yaw, rgb, points))
        mirrored = points.copy()
        mirrored[:, 0] = rgb.shape[1] - 1 - mirrored[:, 0]
        poses.append(Pose(-yaw, np.ascontiguousarray(rgb[:, ::-1]), mirrored))
    return poses


def placed(pose: Pose, where: np.ndarray, face_px: float) -> np.ndarray:
    """The photo moved, scaled and rotated so that the eyes' midpoint lands on
    `where` and the mouth lies face_px straight below it: a head that turns
    keeps its eyes and mouth where they were."""
    eyes, mouth = pose.landmarks[:2].mean(axis=0), pose.landmarks[3:].mean(axis=0)
    src = complex(*(mouth - eyes))
    factor = complex(0, face_px) / src          # scale and rotation as one complex number
    a, b = factor.real, factor.imag
    shift = where - np.array([a * eyes[0] - b * eyes[1], b * eyes[0] + a * eyes[1]])
    matrix = np.array([[a, -b, shift[0]], [b, a, shift[1]]], np.float64)
    return cv2.warpAffine(pose.rgb, matrix, SIZE, borderMode=cv2.BORDER_REPLICATE)


def turn_path(poses: list[Pose], side: str, frames: int) -> list[Pose]:
    """Poses of one turn towards `side`, from frontal to about 35 degrees in
    `frames` even steps (2 frames at 12.5 frames/s: 220 degrees/s, a very fast turn)."""
    sign = 1.0 if side == LEFT else -1.0
    frontal = min(poses, key=lambda p: abs(p.yaw))
    targets = frontal.yaw + sign * 35.0 * np.arange(1, frames + 1) / frames
    return [min(poses, key=lambda p: abs(p.yaw - y)) for y in targets]


def asked_side(prompt: str | None) -> str | None:
    for side in ("left", "right"):
        if prompt == TURN_PROMPT.format(side=side):
            return side
    return None


def run(engine, challenge, frame_for, start: float = 0.0, seconds: float = 10.0):
    """Feed the challenge frames (frame_for(t, prompt) -> rgb) through the
    detector until it ends; returns the time it ended (None: still running)."""
    t = start
    while t < start + seconds:
        prompt = challenge.prompt
        faces = engine.detect(frame_for(t, prompt))
        if faces:
            face = max(faces, key=lambda d: d.box[2] * d.box[3])
            if challenge.add(t, face.landmarks) != RUNNING:
                return t
        t += 1 / FPS
    return None


class RealHead:
    """A real head (photos of one person) that turns when asked: the turn
    begins `reaction` s after the prompt and takes `turn_frames` frames."""

    def __init__(self, poses: list[Pose], rng: np.random.Generator, reaction: float = 0.45,
                 turn_frames: int = 5, answer=lambda side: side):
        self.poses, self.rng, self.reaction, self.turn_frames = poses, rng, reaction, turn_frames
        self.answer = answer          # which way it turns when asked (a confused visitor turns the other way)
        self.frontal = min(poses, key=lambda p: abs(p.yaw))
        self.where = np.array([SIZE[0] / 2, SIZE[1] * 0.4]) + rng.uniform(-30, 30, 2)
        self.face_px = rng.uniform(45, 65)
        self._asked: tuple[float, str] | None = None

    def __call__(self, t: float, prompt: str | None) -> np.ndarray:
        side = asked_side(prompt)
        if side is None:
            self._asked = None
            pose = self.frontal
        else:
            if self._asked is None:
                self._asked = (t, side)
            into = int(round((t - self._asked[0] - self.reaction) * FPS))
            path = turn_path(self.poses, self.answer(side), self.turn_frames)
            pose = self.frontal if into < 0 else path[min(into, len(path) - 1)]
        jitter = self.rng.normal(0, 1.0, 2)      # a head is never quite still
        return placed(pose, self.where + jitter, self.face_px)


class FlatTurn:
    """A print held up, turned smoothly towards the side asked, on cue."""

    def __init__(self, card: np.ndarray, rng: np.random.Generator, reaction: float = 0.4, degrees: float = 40.0,
                 turn_s: float = 0.6, sign: int = 1):
        self.card, self.rng = attack_clips.printed(card, rng), rng
        self.background = attack_clips.background(rng)
        self.width_m = rng.uniform(0.12, 0.25)
        self.base = {"yaw": 0.0, "pitch": math.radians(rng.uniform(-8, 8)), "roll": math.radians(rng.uniform(-5, 5)),
                     "x": rng.uniform(-0.03, 0.03), "y": rng.uniform(-0.02, 0.02), "z": rng.uniform(0.35, 0.5)}
        self.reaction, self.degrees, self.turn_s = reaction, degrees, turn_s
        self.sign = sign     # which way the print is turned for "left": an attacker may try either
        self._asked: tuple[float, str] | None = None

    def __call__(self, t: float, prompt: str | None) -> np.ndarray:
        side = asked_side(prompt)
        if side is None:
            self._asked = None
            yaw = 0.0
        else:
            if self._asked is None:
                self._asked = (t, side)
            progress = float(np.clip((t - self._asked[0] - self.reaction) / self.turn_s, 0, 1))
            yaw = self.sign * (1 if side == LEFT else -1) * self.degrees * (0.5 - 0.5 * math.cos(math.pi * progress))
        pose = dict(self.base, yaw=math.radians(yaw) + self.rng.normal(0, 0.01))
        return attack_clips.render(self.card, self.background, self.width_m, pose)


class PrintSwap:
    """A frontal photo, swapped on cue for a photo of the same person turned
    about 25 degrees towards the side asked (both held still): two prints."""

    def __init__(self, poses: list[Pose], rng: np.random.Generator, reaction: float = 0.5):
        self.head = RealHead(poses, rng)
        self.reaction = reaction
        self.turned = {side: min(poses, key=lambda p: abs(p.yaw - self.head.frontal.yaw - (25 if side == LEFT else -25)))
                       for side in ("left", "right")}
        self._asked: float | None = None

    def __call__(self, t: float, prompt: str | None) -> np.ndarray:
        side = asked_side(prompt)
        if side is None:
            self._asked = None
            return placed(self.head.frontal, self.head.where, self.head.face_px)
        if self._asked is None:
            self._asked = t
        pose = self.turned[side] if t - self._asked >= self.reaction else self.head.frontal
        return placed(pose, self.head.where, self.head.face_px)
