"""Recognizer: frames in, recognised faces and door decisions out (no Qt, no I/O)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from kiosk.common.config import Settings
from kiosk.door.access_rules import DoorAccess
from kiosk.door.decisions import Decision, DoorDecider, Sighting, TrackView, iou
from kiosk.door.liveness import OFF
from kiosk.door.spoof_cues import cue_scores
from kiosk.vision.engine import Face, FaceEngine, face_quality
from kiosk.vision.matcher import GalleryIndex, Match
from kiosk.vision.operating_point import (CalibrationDataError, ImpostorScores, OperatingPoint, operating_point,
                                   thresholds_for)


@dataclass(frozen=True)
class RecognizedFace:
    face: Face
    match: Match


@dataclass(frozen=True)
class StageTimes:
    """Where one frame's recognition time went, in milliseconds."""

    detect_ms: float = 0.0
    embed_ms: float = 0.0     # crop + FaceNet, all faces of the frame in one batch
    match_ms: float = 0.0     # 1:N match + the door's decision rules


@dataclass(frozen=True)
class FrameResult:
    time: float                       # seconds (video time, or the camera clock)
    faces: list[RecognizedFace]       # left to right
    decisions: list[Decision] = field(default_factory=list)
    times: StageTimes = StageTimes()
    tracks: list[TrackView | None] = field(default_factory=list)   # per face: its track, liveness, prompt


class Recognizer:
    """Runs the engine over a stream of frames and applies the door's rules.

    A face seen in the last frame is re-found in its neighbourhood
    (FaceDetector.detect_near) rather than by the full scale pyramid; the full
    detector still runs every ``full_detect_every`` frames to notice newcomers.
    access: the door's access rules (None: everyone enrolled, at any time).
    """

    def __init__(self, engine: FaceEngine, index: GalleryIndex, settings: Settings,
                 full_detect_every: int = 5, scores: ImpostorScores | None = None,
                 access: DoorAccess | None = None):
        self.engine = engine
        self.settings = settings
        self.scores = scores or ImpostorScores.shipped()
        self.full_detect_every = full_detect_every
        if self.scores.model_name != engine.model_name:
            raise CalibrationDataError(f"the impostor scores are of {self.scores.model_name}, not of this "
                                       f"engine's {engine.model_name}: regenerate them (README, Operating point)")
        self._previous: list[Face] = []
        self._frames = 0
        self.set_index(index)
        self.decider = DoorDecider(self._match_one, self._same_face(), settings.vote_k, settings.vote_n,
                                   settings.cooldown_s, liveness=settings.liveness, access=access)

    def set_index(self, index: GalleryIndex) -> None:
        """Swap in a refreshed gallery (after an enrollment or deletion); the
        threshold follows its size."""
        self.index = index
        self.point: OperatingPoint = operating_point(self.settings, index.people, self.scores)

    def apply_settings(self, settings: Settings) -> None:
        """New settings for the running door: thresholds, votes, cooldown and
        liveness change in place, so the faces being followed and who was
        greeted lately are kept (someone standing at the door is not greeted
        again). The engine's min_face_size is fixed when it is loaded."""
        self.settings = settings
        self.set_index(self.index)
        self.decider.configure(self._same_face(), settings.vote_k, settings.vote_n, settings.cooldown_s,
                               settings.liveness)

    def _same_face(self) -> float:
        # "Still the same face?" is asked at the 1:1 same-person threshold.
        return thresholds_for(self.settings, 1, self.scores).verify

    def identify(self, rgb: np.ndarray) -> list[RecognizedFace]:
        """Every face of one still image with its match; no tracking, no decisions."""
        return self._match(self.engine.faces(rgb))

    def process(self, now: float, rgb: np.ndarray) -> FrameResult:
        """One frame of a stream: faces, matches and what the door should do."""
        start = time.perf_counter()
        detections = self._detections(rgb)
        detected = time.perf_counter()
        faces = self.engine.faces(rgb, detections)
        embedded = time.perf_counter()
        self._previous = faces
        self._frames += 1
        recognized = self._match(faces)
        cues = self.settings.liveness != OFF
        decisions = self.decider.update(now, [Sighting(r.face.box, r.match, r.face.embedding, face_quality(r.face),
                                                       r.face.detection.landmarks,
                                                       cue_scores(rgb, r.face.box) if cues else None)
                                              for r in recognized])
        matched = time.perf_counter()
        times = StageTimes(1000 * (detected - start), 1000 * (embedded - detected), 1000 * (matched - embedded))
        if not faces:  # nothing was embedded or matched: report no time, not overhead
            times = StageTimes(times.detect_ms)
        tracks = [self.decider.frame_tracks.get(i) for i in range(len(recognized))]
        return FrameResult(now, recognized, decisions, times, tracks)

    def _detections(self, rgb: np.ndarray):
        if not self._previous or self._frames % self.full_detect_every == 0:
            return self.engine.detect(rgb)
        found = []
        for face in self._previous:
            found += self.engine.detector.detect_near(rgb, face.box)
        return sorted(_unique(found), key=lambda d: d.box[0])

    def _match(self, faces: list[Face]) -> list[RecognizedFace]:
        if not faces:
            return []
        matches = self.index.match(np.stack([f.embedding for f in faces]),
                                   self.point.threshold, self.settings.margin)
        return [RecognizedFace(f, m) for f, m in zip(faces, matches)]

    def _match_one(self, embedding: np.ndarray) -> Match:
        return self.index.match(embedding[None], self.point.threshold, self.settings.margin)[0]


def _unique(detections):
    """Drop a detection that repeats an earlier one (two tracks re-finding one face)."""
    kept = []
    for d in detections:
        if all(iou(d.box, k.box) < 0.5 for k in kept):
            kept.append(d)
    return kept
