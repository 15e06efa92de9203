"""`kiosk evaluate liveness`: the door's liveness rule over a folder of
labelled clips, reported as ISO/IEC 30107-3 reports presentation attacks.

    DIR/attack/<type>/*.mp4   attack presentations, one attack per clip
    DIR/live/*.mp4            real people; every face followed for at least
                              VISIT_S in a clip is one live visit

Each clip runs through the door as shipped (the recognizer's detection
schedule, its tracks, the decider with the settings' liveness mode and its
challenge), with one change: every face is taken to be an enrolled member,
so the only thing left between a face and the door is liveness. An attack is
accepted when any of its tracks is granted (APCER: accepted attacks of a
type / attacks of that type); a live visit is refused when its track is not
granted by the end of the clip (BPCER: refused visits / visits), whether it
was called a spoof, failed a challenge or was still waiting. Each live clip
also runs once with liveness off, so that a visit's time to pass is also
given as the time liveness added to its greeting (the issue's target: at
most 0.5 s more with passive evidence).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.calibration.calibrate import CalibrationError
from kiosk.common.config import Settings
from kiosk.door.recognizer import RecognizedFace, Recognizer
from kiosk.door.video import VideoSource
from kiosk.common.door_events import GRANTED
from kiosk.vision.engine import Face, FaceEngine
from kiosk.vision.matcher import GalleryIndex, GalleryMatrix, Match

# A live visit is a face the door followed this long: shorter tracks are
# passers-by at the edge of the frame, or a face lost and found again.
VISIT_S = 1.0
CLIP_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")

_MEMBER = Match("member", 1, 0.0, float("inf"), "member", 1)


class _EveryFaceAMember(Recognizer):
    """The door's recognizer with a gallery that names every face as one
    member: what is left of its rules is tracking and liveness."""

    def __init__(self, engine: FaceEngine, settings: Settings, scores, seed: int):
        # One placeholder row: the operating point wants a gallery of one person;
        # its embedding is never compared (every face is the member).
        gallery = GalleryIndex(GalleryMatrix(np.ones((1, 1), np.float32), np.array([1]), {1: _MEMBER.name}))
        super().__init__(engine, gallery, settings.replace(cooldown_s=0.0), scores=scores)
        self.decider.rng = random.Random(seed)

    def _match(self, faces: list[Face]) -> list[RecognizedFace]:
        return [RecognizedFace(f, _MEMBER) for f in faces]

    def _match_one(self, embedding: np.ndarray) -> Match:
        return _MEMBER


@dataclass(frozen=True)
class ClipTracks:
    """Per track of one clip: when it was first and last seen, and when it was granted (None: never)."""

    first_seen: dict[int, float]
    last_seen: dict[int, float]
    granted: dict[int, float]
    spoofed: set[int]


def run_clip(engine: FaceEngine, settings: Settings, scores, path: Path) -> ClipTracks:
    """One clip through the door; its challenge prompts are seeded by the
    clip's name, so a run is repeatable."""
    door = _EveryFaceAMember(engine, settings, scores, seed=zlib.crc32(path.name.encode()))
    first, last, granted, spoofed = {}, {}, {}, set()
    with VideoSource(path) as source:
        for frame in source.frames():
            result = door.process(frame.time, frame.rgb)
            for view in filter(None, result.tracks):
                first.setdefault(view.track_id, frame.time)
                last[view.track_id] = frame.time
            for decision in result.decisions:
                if decision.type == GRANTED:
                    granted.setdefault(decision.track_id, frame.time)
                else:
                    spoofed.add(decision.track_id)
    return ClipTracks(first, last, granted, spoofed)


def labelled_clips(folder: Path) -> tuple[dict[str, list[Path]], list[Path]]:
    """(attack clips by type, live clips) of DIR/attack/<type>/*, DIR/live/*."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CalibrationError(f"{folder}: no such folder")
    def clips(where: Path) -> list[Path]:
        return sorted(p for p in where.iterdir() if p.suffix.lower() in CLIP_SUFFIXES) if where.is_dir() else []
    attack_dir = folder / "attack"
    attacks = {d.name: clips(d) for d in sorted(attack_dir.iterdir()) if d.is_dir()} if attack_dir.is_dir() else {}
    attacks = {kind: found for kind, found in attacks.items() if found}
    live = clips(folder / "live")
    if not attacks and not live:
        raise CalibrationError(f"{folder}: no clips in attack/<type>/ or live/ "
                               f"({', '.join(CLIP_SUFFIXES)})")
    return attacks, live


def evaluate_liveness(engine: FaceEngine, settings: Settings, scores, folder: Path,
                      progress=lambda items, label: items) -> dict:
    attacks, live = labelled_clips(folder)
    result = {"liveness": settings.liveness, "attack_types": {}}
    for kind, clips in attacks.items():
        runs = [run_clip(engine, settings, scores, p) for p in progress(clips, f"attack/{kind}")]
        accepted = [p.name for p, r in zip(clips, runs) if r.granted]
        result["attack_types"][kind] = {
            "attacks": len(clips), "accepted": len(accepted), "apcer": round(len(accepted) / len(clips), 4),
            "refused_as_spoof": sum(bool(r.spoofed) for r in runs), "accepted_clips": accepted[:20]}
    runs = [run_clip(engine, settings, scores, p) for p in progress(live, "live")]
    unchecked = settings.replace(liveness="off")
    greeted = ([run_clip(engine, unchecked, scores, p) for p in progress(live, "live, liveness off")]
               if settings.liveness != "off" else runs)
    result["live"] = _live_visits(runs, greeted)
    return result


def _live_visits(runs: list[ClipTracks], greeted: list[ClipTracks]) -> dict:
    """greeted: the same clips with liveness off, when each track would have been greeted."""
    to_pass, added, refused, spoofed = [], [], 0, 0
    for run, unchecked in zip(runs, greeted):
        for track, seen in run.first_seen.items():
            if run.last_seen[track] - seen < VISIT_S and track not in run.granted:
                continue   # too short to be a visit (a granted track always is one)
            if track in run.granted:
                to_pass.append(run.granted[track] - seen)
                # The tracker does not depend on the decider: the same id is the same face.
                if track in unchecked.granted and unchecked.first_seen.get(track) == seen:
                    added.append(run.granted[track] - unchecked.granted[track])
            else:
                refused += 1
                spoofed += track in run.spoofed
    visits = len(to_pass) + refused
    return {"clips": len(runs), "visits": visits, "refused": refused, "refused_as_spoof": spoofed,
            "bpcer": round(refused / visits, 4) if visits else None,
            "seconds_to_pass": [round(s, 2) for s in sorted(to_pass)],
            "median_seconds_to_pass": round(float(np.median(to_pass)), 2) if to_pass else None,
            "seconds_after_greeting": [round(s, 2) for s in sorted(added)],
            "median_seconds_after_greeting": round(float(np.median(added)), 2) if added else None}
