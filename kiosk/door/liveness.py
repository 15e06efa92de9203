"""Liveness: is a track a real head, or a flat picture (a print, a phone screen)?

The passive 3-D check, from the five landmarks MTCNN already gives. However a
flat picture is held (turned, tilted, rolled, brought closer), one frame's
eyes and mouth corners map onto a later frame's by a homography, and that
homography also predicts where the picture's nose goes. A real head is not
flat: when it turns or nods even a little, the nose misses the prediction
(about 0.16 of the eye distance at 25 degrees, ../shared/FACTS.md). One frame
pair proves little (landmarks jitter), so a track gathers evidence over
several pairs:

- live: the last LIVE_PAIRS pairs all missed by more than LIVE_MISS;
- spoof: many pairs in which the eyes and mouth changed shape beyond their
  jitter (the picture was turned or tilted, not just moved) while the nose
  stayed where a flat picture puts it, and the track has not shown liveness.

A track that shows neither (a still face, a picture slid in without a turn)
stays unproven: the door waits. A head that does not move cannot be told
from its photo by geometry, so "unproven" is never called a spoof. The
thresholds were chosen on synthetic attack clips (tests/attack_clips.py) of
a tune set and reported on others (README "Liveness").
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from kiosk.common.config import LIVENESS_MODES
from kiosk.vision.snapshot_quality import landmark_angles

MODES = LIVENESS_MODES
PASSIVE, CHALLENGE, OFF = MODES

LIVE, SPOOF, UNPROVEN = "live", "spoof", "unproven"

# Landmark order (kiosk.vision.detector.Detection): left eye, right eye, nose, mouth left, mouth right.
_QUAD = [0, 1, 3, 4]
_NOSE = 2

# A pair compares a frame with one at least this long before it in the same
# track: about 8 frames of a 25 fps camera, long enough for a head to turn a
# few degrees, short enough to stay within one approach.
PAIR_GAP_S = 0.3
HISTORY_S = 1.0
# Nose misses in eye distances. Flat prints: median 0.02-0.03 but a long
# tail (99th percentile 0.15-0.2 on prints of small, blurred web photos:
# landmark jitter); real heads walking in: median 0.14. A turning head misses
# for several pairs running, jitter mostly does not: live takes LIVE_PAIRS of
# the last LIVE_WINDOW pairs above LIVE_MISS. On the tune set (450 attacks)
# this accepted 8 attacks and 6 of 8 real tracks; 3 of 4 above 0.12
# accepted 26. 5 of 5 was tried with the judged-pair limits below: it took
# one more print of 300 on the tune set, but a head looking about no longer
# passed, and on the report set a print still did.
LIVE_MISS = 0.14
LIVE_PAIRS = 4
LIVE_WINDOW = 4
# A pair "stays flat while the picture moves" when the nose is within
# FLAT_MISS of a flat picture's and the eyes and mouth changed shape by more
# than SHAPE_CHANGE (eye distances) beyond a move, scale and roll: the
# picture was turned or tilted. SHAPE_CHANGE sits above the shape jitter of
# a picture that only slides and grows (95th percentile 0.024, 99th 0.05):
# standing still must never add up to a spoof. Spoof: SPOOF_PAIRS such pairs,
# at least SPOOF_SHARE of all pairs, and a median miss below FLAT_MISS.
FLAT_MISS = 0.04
SHAPE_CHANGE = 0.035
SPOOF_PAIRS = 8
SPOOF_SHARE = 0.25
# Depth is judged only on pairs MTCNN places well. On a face squeezed below
# SQUEEZE_MIN of the widest the track has shown (a print turned 40 degrees
# or more), the nose landmark drifts as if the picture had depth; a print of
# a face already turned far drifts most, so one frame of a pair must be
# within JUDGED_YAW of frontal. Prints swept 45-65 degrees side to side (tune
# set) were taken for live 9 times in 100; with both limits, with handheld
# and smooth turns, 1 in 300. A visitor walking in profile is then asked to
# turn instead (1 of the street's 7 walkers).
JUDGED_YAW = 30.0
SQUEEZE_MIN = 0.75
# Two more limits, set on 1,200 tune attacks (12 taken for live without
# them, 2 with them) and kept clear of real faces:
# - A frame's width over the cosine of its yaw is the width the face would
#   have facing the camera. Of 1,549 real faces (LFW calibration photos),
#   4 are below FRONTAL_WIDTH_MIN; a print turned far, its face still
#   frontal, is (MTCNN keeps its nose in the middle of a squeezed face), even
#   when the track has never seen it wider.
# - MTCNN's landmarks on a print sometimes flip between two placements from
#   one frame to the next, a yaw jump no head makes while walking in (over
#   JUMP_DEG in a frame of JUMP_FRAME_S): pairs across such a jump are not
#   judged.
FRONTAL_WIDTH_MIN = 0.78
JUMP_DEG = 15.0
JUMP_FRAME_S = 0.08


def nose_miss(reference: np.ndarray, current: np.ndarray) -> float | None:
    """How far the nose lands from where a flat picture would put it, in eye
    distances of `current` (both (5, 2) landmark arrays); None when the eyes
    and mouth corners are degenerate (a homography cannot be fitted)."""
    eye = float(np.linalg.norm(current[1] - current[0]))
    if eye < 1.0 or float(np.linalg.norm(reference[1] - reference[0])) < 1.0:
        return None
    try:
        h = cv2.getPerspectiveTransform(reference[_QUAD].astype(np.float32), current[_QUAD].astype(np.float32))
    except cv2.error:
        return None
    x, y, w = h @ np.array([reference[_NOSE, 0], reference[_NOSE, 1], 1.0])
    if not np.isfinite(w) or abs(w) < 1e-9:
        return None
    return float(np.hypot(x / w - current[_NOSE, 0], y / w - current[_NOSE, 1])) / eye


def shape_change(reference: np.ndarray, current: np.ndarray) -> float:
    """RMS distance, in eye distances of `current`, between the eyes and mouth
    corners of `current` and those of `reference` moved, scaled and rotated to
    fit them best: 0 when the face (or picture) only moved in its own plane."""
    a, b = reference[_QUAD].astype(np.float64), current[_QUAD].astype(np.float64)
    a0, b0 = a - a.mean(axis=0), b - b.mean(axis=0)
    za, zb = a0[:, 0] + 1j * a0[:, 1], b0[:, 0] + 1j * b0[:, 1]
    denom = float(np.vdot(za, za).real)
    eye = float(np.linalg.norm(current[1] - current[0]))
    if denom < 1e-9 or eye < 1.0:
        return 0.0
    s = np.vdot(za, zb) / denom          # the best similarity, as one complex factor
    return float(np.sqrt(np.mean(np.abs(zb - s * za) ** 2))) / eye


def face_width(points: np.ndarray) -> float:
    """The eye span over the distance from the eyes to the mouth: how wide the
    face looks; turning (a head or a picture) narrows it."""
    height = float(np.linalg.norm(points[3:].mean(axis=0) - points[:2].mean(axis=0)))
    return float(np.linalg.norm(points[1] - points[0])) / height if height > 0 else 0.0


class _Seen(NamedTuple):
    """One frame of a track: its landmarks, their width and yaw (found once, not once a pair)."""

    time: float
    points: np.ndarray
    width: float
    yaw: float

    @property
    def frontal_width(self) -> float:
        """The width this face would have facing the camera, were it a head."""
        return self.width / math.cos(math.radians(min(abs(self.yaw), 60.0)))


@dataclass(frozen=True)
class Evidence:
    """What a track has shown so far."""

    verdict: str        # LIVE or SPOOF once reached (it stays), else UNPROVEN
    pairs: int          # frame pairs compared
    live_pairs: int     # of the last LIVE_WINDOW pairs, those whose nose missed by more than LIVE_MISS
    flat_moving: int    # pairs that changed shape but stayed flat
    median_miss: float | None   # over the last MEDIAN_PAIRS pairs

    def as_json(self) -> dict:
        return {"verdict": self.verdict, "pairs": self.pairs, "live_pairs": self.live_pairs,
                "flat_moving_pairs": self.flat_moving,
                "median_miss": None if self.median_miss is None else round(self.median_miss, 3)}


MEDIAN_PAIRS = 100


class TrackLiveness:
    """One track's landmarks over time and the evidence they give. Feed it
    each frame's landmarks of the track, in order; the verdict only ever
    moves from unproven to live or spoof, never back."""

    def __init__(self):
        self._history: deque[_Seen] = deque()
        self._jumps: deque[float] = deque()     # times of frames whose yaw jumped from the one before
        self._widest = 0.0
        self._misses: deque[float] = deque(maxlen=MEDIAN_PAIRS)
        self._pairs = self._flat_moving = 0
        self._verdict = UNPROVEN

    def add(self, now: float, landmarks) -> Evidence:
        points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
        current = _Seen(now, points, face_width(points), landmark_angles(points)[0])
        if self._history and self._jumped(self._history[-1], current):
            self._jumps.append(now)
        reference = None
        while self._history and now - self._history[0].time > HISTORY_S:
            self._history.popleft()
        while self._jumps and now - self._jumps[0] > HISTORY_S:
            self._jumps.popleft()
        for seen in self._history:   # the latest frame at least PAIR_GAP_S old
            if now - seen.time >= PAIR_GAP_S:
                reference = seen
        self._history.append(current)
        self._widest = max(self._widest, current.width)
        if (reference is not None and self._judged(reference, current)
                and (miss := nose_miss(reference.points, points)) is not None):
            self._pairs += 1
            self._misses.append(miss)
            if miss < FLAT_MISS and shape_change(reference.points, points) > SHAPE_CHANGE:
                self._flat_moving += 1
            if self._verdict == UNPROVEN:
                self._verdict = self._judge()
        return self.evidence()

    def _judged(self, reference: _Seen, current: _Seen) -> bool:
        """A pair whose frames are neither squeezed nor narrower than a real
        face, one of them close enough to frontal, and no jump between them."""
        squeezed = min(reference.width, current.width) < SQUEEZE_MIN * self._widest
        narrow = min(reference.frontal_width, current.frontal_width) < FRONTAL_WIDTH_MIN
        jumped = any(reference.time < jump <= current.time for jump in self._jumps)
        return (not squeezed and not narrow and not jumped
                and min(abs(reference.yaw), abs(current.yaw)) <= JUDGED_YAW)

    @staticmethod
    def _jumped(previous: _Seen, current: _Seen) -> bool:
        frames = max(1.0, (current.time - previous.time) / JUMP_FRAME_S)
        return abs(current.yaw - previous.yaw) > JUMP_DEG * frames

    def _judge(self) -> str:
        if self._live_pairs() >= LIVE_PAIRS:
            return LIVE
        if (self._flat_moving >= SPOOF_PAIRS and self._flat_moving >= SPOOF_SHARE * self._pairs
                and self._median() < FLAT_MISS):
            return SPOOF
        return UNPROVEN

    def _live_pairs(self) -> int:
        return sum(m > LIVE_MISS for m in list(self._misses)[-LIVE_WINDOW:])

    def _median(self) -> float | None:
        return float(np.median(self._misses)) if self._misses else None

    def evidence(self) -> Evidence:
        return Evidence(self._verdict, self._pairs, self._live_pairs(), self._flat_moving, self._median())

    @property
    def verdict(self) -> str:
        return self._verdict
