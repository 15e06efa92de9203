"""Turning per-frame faces into door decisions: follow faces, fuse, vote, greet once.

The kiosk window and ``kiosk replay`` both feed frames through DoorDecider, so
they decide alike.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from kiosk.common.door_events import DENIED, GRANTED, SPOOF
from kiosk.door.challenge import FAILED, PASSED, RUNNING, Challenge
from kiosk.door.liveness import (CHALLENGE, LIVE, MODES, OFF, PASSIVE, SPOOF as LOOKS_FLAT, UNPROVEN, Evidence,
                                 TrackLiveness)
from kiosk.door.spoof_cues import REASONS as CUE_REASONS, CueScores, TrackCues
from kiosk.vision.matcher import Match

if TYPE_CHECKING:   # the rules' loading needs the database; deciding does not
    from kiosk.door.access_rules import DoorAccess

Box = tuple[float, float, float, float]  # x, y, width, height in pixels

# A track's fused template is the quality-weighted mean of its last this many
# faces: about a second at the door, long enough to average out blur and
# pose, short enough to follow a face that sharpens as it comes closer.
FUSED_FRAMES = 15
# Liveness "passive": a recognised track the passive check has not proven
# live after this long is asked to turn its head (most live visitors walking
# in prove themselves within a second, README "Liveness").
PASSIVE_WAIT_S = 0.8
# A track that fails a challenge may try again after a pause, this many times in all.
MAX_CHALLENGES = 2
RETRY_PAUSE_S = 1.5
FLAT_PICTURE = "A photo or a screen is not a visitor"
ANOTHER_FACE = "Another face after the head turn"


@dataclass(frozen=True)
class Sighting:
    """One face in one frame, as the door's rules see it."""

    box: Box
    match: Match              # the frame's own match: its best person is the frame's vote
    embedding: np.ndarray     # (D,) L2-normalised
    quality: float            # its weight in the track's fused template (> 0)
    landmarks: tuple | None = None   # MTCNN's five (x, y) points: the liveness check's input
    cues: CueScores | None = None    # the screen and print cues of the face's neighbourhood


@dataclass(frozen=True)
class Decision:
    """Something to announce and log: one per person per cooldown, one per unknown track."""

    # GRANTED, DENIED, SPOOF (the person named was not shown live), or the access
    # rules' refusals of a person recognised and live: OUTSIDE_HOURS, ANTI_PASSBACK
    type: str
    name: str | None
    person_id: int | None
    distance: float           # of the track's fused template to the person
    track_id: int
    face_index: int           # which of this frame's faces it is about
    reason: str | None = None  # SPOOF: why the door did not open, in words for the visitor


@dataclass(frozen=True)
class TrackView:
    """A face's track this frame, as the window and `kiosk replay` see it."""

    track_id: int
    liveness: Evidence        # what the passive check has seen in the frames voting as this one did
    prompt: str | None = None  # what the door asks of this visitor now (a challenge); None: nothing
    cue: str | None = None     # the screen or print cue that fired on this track (it is refused if recognised)


@dataclass
class _Track:
    id: int
    box: Box
    last_seen: float
    votes: deque = field(default_factory=deque)   # the best person of each recent frame
    faces: deque = field(default_factory=lambda: deque(maxlen=FUSED_FRAMES))  # (quality, embedding)
    granted: bool = False
    denied: bool = False
    spoofed: bool = False     # refused for liveness for good: no more decisions
    # The passive check's evidence, kept apart per person the track's frames
    # voted for (None: nobody): a person is shown live only by frames that are
    # theirs, not by a stranger's head that was followed in the same place.
    evidence: dict[int | None, TrackLiveness] = field(default_factory=dict)
    cues: TrackCues = field(default_factory=TrackCues)
    recognised_at: float | None = None     # first frame whose template and votes named someone
    challenge: Challenge | None = None
    challenged_person: int | None = None   # the person named when the challenge began
    failed_challenges: int = 0   # failed attempts: challenges, and refusals by a cue
    cue_refused: bool = False    # a cue refused it once: only a head turn can prove it live now
    cues_cleared_at: float = float("-inf")   # the retry_at whose pause ended with the cues forgotten
    retry_at: float = float("-inf")
    refusal: str | None = None             # why liveness refused it, for the SPOOF decision

    def liveness(self, person_id: int | None) -> TrackLiveness:
        """What the frames voting for this person have shown."""
        return self.evidence.setdefault(person_id, TrackLiveness())

    def fused(self) -> np.ndarray:
        weights = np.array([q for q, _ in self.faces], np.float32)
        mean = (weights[:, None] * np.stack([e for _, e in self.faces])).sum(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two x, y, w, h boxes (0 when disjoint)."""
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


class DoorDecider:
    """Stateful rules over time. Feed it every processed frame in order.

    - A face is followed across frames by box overlap (a track).
    - The track's faces are fused (quality-weighted mean of the last
      FUSED_FRAMES embeddings) and the fused template is matched at the door's
      operating point: one blurred or turned frame can neither admit nor
      refuse anyone on its own.
    - Voting stays as a guard: the person the template matches must also be
      the nearest person in k of the track's last n frames.
    - A track whose template matches nobody after n frames is denied once;
      if it is recognised later (the face turned to the camera), it is still
      granted, and the log shows both.
    - A person is granted at most once per track and once per cooldown
      (standing at the door is not a second visit).
    - Liveness (kiosk.door.liveness), unless it is "off": a recognised track is
      granted only once it has shown a real head (it waits until then); a
      recognised track that stays flat while it is turned or tilted is
      refused once as SPOOF and never granted. "passive": live when the
      passive check says so; after PASSIVE_WAIT_S without a verdict, a
      one-step challenge (kiosk.door.challenge). "challenge": a two-step
      challenge always, the passive check only refuses. A challenge passes
      only if the same person is named after the turn as before it; a
      failed one is a SPOOF with its reason, and may be tried again after
      RETRY_PAUSE_S, MAX_CHALLENGES times a track. A track on which a screen or
      print cue fired (kiosk.door.spoof_cues) is refused as SPOOF with the
      cue's reason, whatever the passive check or a challenge said: the cues
      only ever refuse. Liveness is the person's, not the place's: only the
      frames that vote for a person show them live or answer their
      challenge, so a stranger who looked about, or turned when asked,
      proves nothing for the member's photo shown in the same place.
    - Access rules (kiosk.door.access_rules), when given: a person recognised
      and live, outside the cooldown, is refused once a track as OUTSIDE_HOURS
      or ANTI_PASSBACK instead of granted when the rules say so.
    """

    def __init__(self, match_template: Callable[[np.ndarray], Match], same_face: float, vote_k: int = 2,
                 vote_n: int = 3, cooldown_s: float = 30.0, track_timeout_s: float = 1.0, min_iou: float = 0.2,
                 liveness: str = PASSIVE, rng: random.Random | None = None, access: DoorAccess | None = None):
        self._tracks: list[_Track] = []
        self.configure(same_face, vote_k, vote_n, cooldown_s, liveness)
        # The challenges' sides and timing: unpredictable at the door; seeded to replay an evaluation.
        self.rng = rng or random.SystemRandom()
        self.access = access
        # Face index of the last frame -> its track: for the window and `kiosk replay --json`.
        self.frame_tracks: dict[int, TrackView] = {}
        self.match_template = match_template
        self.track_timeout_s, self.min_iou = track_timeout_s, min_iou
        self._next_track_id = 1
        self._last_granted: dict[int, float] = {}

    def configure(self, same_face: float, vote_k: int, vote_n: int, cooldown_s: float, liveness: str) -> None:
        """The door's rules, at construction and when the settings change: the
        faces followed and who was granted lately are kept, and vote by the
        new rules from now on (a track's window of n votes keeps its most
        recent ones)."""
        if not 1 <= vote_k <= vote_n:
            raise ValueError("need 1 <= k <= n for a k-of-n vote")
        if liveness not in MODES:
            raise ValueError(f"liveness must be one of {', '.join(MODES)}, not {liveness!r}")
        # A face farther than this from its track's template is someone else
        # who stepped into the same place (a queue at the door): a new track.
        # It also bounds a frame's vote: a frame votes for its nearest person
        # only when it is this close to them.
        self.same_face = same_face
        self.vote_k, self.vote_n, self.cooldown_s, self.liveness = vote_k, vote_n, cooldown_s, liveness
        for track in self._tracks:
            track.votes = deque(track.votes, maxlen=vote_n)

    def update(self, now: float, sightings: Sequence[Sighting]) -> list[Decision]:
        """The decisions this frame (time in seconds, its faces) brings."""
        self._tracks = [t for t in self._tracks if now - t.last_seen <= self.track_timeout_s]
        decisions = []
        self.frame_tracks = {}
        for index, track in self._assign(now, [s.box for s in sightings]):
            sighting = sightings[index]
            if track.faces and float(sighting.embedding @ track.fused()) < 1.0 - self.same_face:
                track = self._new_track(now, sighting.box, replacing=track)
            close = sighting.match.distance <= self.same_face
            vote = sighting.match.best_person_id if close else None
            track.votes.append(vote)
            track.faces.append((max(sighting.quality, 1e-3), sighting.embedding))
            if sighting.landmarks is not None:
                track.liveness(vote).add(now, sighting.landmarks)
                # The turn must be made by the person asked, not by someone in their place.
                if track.challenge is not None and vote == track.challenged_person:
                    track.challenge.add(now, sighting.landmarks)
            if sighting.cues is not None:
                track.cues.add(sighting.cues)
            decision = self._decide(now, track, index)
            if decision:
                decisions.append(decision)
            self.frame_tracks[index] = TrackView(track.id, track.liveness(vote).evidence(),
                                                 track.challenge.prompt if track.challenge else None,
                                                 track.cues.refusal)
        return decisions

    def _assign(self, now: float, boxes: Sequence[Box]) -> list[tuple[int, _Track]]:
        """Pair each face with the track it overlaps most (greedy), or a new track."""
        pairs = sorted(((iou(b, t.box), i, t) for i, b in enumerate(boxes) for t in self._tracks),
                       key=lambda p: -p[0])
        taken_faces, taken_tracks, assigned = set(), set(), []
        for overlap, index, track in pairs:
            if overlap < self.min_iou or index in taken_faces or track.id in taken_tracks:
                continue
            taken_faces.add(index)
            taken_tracks.add(track.id)
            assigned.append((index, track))
        for index in range(len(boxes)):
            if index not in taken_faces:
                assigned.append((index, self._new_track(now, boxes[index])))
        for index, track in assigned:
            track.box, track.last_seen = boxes[index], now
        return sorted(assigned, key=lambda p: p[0])

    def _new_track(self, now: float, box: Box, replacing: _Track | None = None) -> _Track:
        track = _Track(id=self._next_track_id, box=box, last_seen=now, votes=deque(maxlen=self.vote_n))
        self._next_track_id += 1
        if replacing is not None:
            self._tracks.remove(replacing)
        self._tracks.append(track)
        return track

    def _decide(self, now: float, track: _Track, index: int) -> Decision | None:
        if track.granted or track.spoofed:
            return None
        fused = self.match_template(track.fused())
        if fused.person_id is None:
            if track.denied or len(track.faces) < self.vote_n:
                return None
            track.denied = True
            return Decision(DENIED, None, None, fused.distance, track.id, index)
        if Counter(track.votes)[fused.person_id] < self.vote_k:
            return None
        if self.liveness != OFF:
            shown = self._liveness_shown(now, track, fused.person_id)
            if shown == UNPROVEN:
                return None   # recognised, not yet live: wait for the head to move (or the challenge)
            if shown == LOOKS_FLAT:
                return Decision(SPOOF, fused.name, fused.person_id, fused.distance, track.id, index,
                                track.refusal)
        track.granted = True
        if now - self._last_granted.get(fused.person_id, float("-inf")) < self.cooldown_s:
            return None
        last = self._last_granted.get(fused.person_id)
        refused = self.access.refusal(fused.person_id, now, last) if self.access is not None else None
        if refused is not None:
            return Decision(refused, fused.name, fused.person_id, fused.distance, track.id, index)
        self._last_granted[fused.person_id] = now
        return Decision(GRANTED, fused.name, fused.person_id, fused.distance, track.id, index)

    def _liveness_shown(self, now: float, track: _Track, person_id: int) -> str:
        """LIVE, UNPROVEN (wait) or SPOOF (track.refusal says why) for a
        recognised track; starts and judges its challenge."""
        if track.liveness(person_id).verdict == LOOKS_FLAT:
            track.spoofed, track.refusal = True, FLAT_PICTURE
            return LOOKS_FLAT
        if now < track.retry_at:
            return UNPROVEN   # the pause after a refusal
        if track.cue_refused and track.cues_cleared_at < track.retry_at:
            track.cues.clear()   # the retry is judged on frames after the pause only
            track.cues_cleared_at = track.retry_at
        if track.cues.refusal is not None:   # a screen's or a print's cue refuses even a live verdict
            # Refused now; a member framed by a doorway behind them may try
            # again after the pause, but only by a head turn: the passive
            # check, which a screen may have fooled, no longer vouches for it.
            track.cue_refused = True
            track.challenge = None
            return self._refused(now, track, CUE_REASONS[track.cues.refusal])
        if self.liveness == PASSIVE and track.liveness(person_id).verdict == LIVE and not track.cue_refused:
            return LIVE
        if track.recognised_at is None:
            track.recognised_at = now
        challenge = track.challenge
        if challenge is None:
            waiting = self.liveness == PASSIVE and now - track.recognised_at < PASSIVE_WAIT_S
            if not waiting and now >= track.retry_at:
                track.challenge = Challenge(now, self.rng, steps=2 if self.liveness == CHALLENGE else 1)
                track.challenged_person = person_id
            return UNPROVEN
        same_person = person_id == track.challenged_person
        if challenge.state == RUNNING and same_person:
            return UNPROVEN
        track.challenge = None
        if challenge.state == PASSED and same_person:
            return LIVE
        # Someone else is named now: their frames never reached this challenge, so it cannot end by itself.
        return self._refused(now, track, challenge.reason if challenge.state == FAILED else ANOTHER_FACE)

    def _refused(self, now: float, track: _Track, reason: str) -> str:
        """A failed attempt (a challenge, or a cue): SPOOF with its reason; the
        visitor may try again after RETRY_PAUSE_S, MAX_CHALLENGES times a track."""
        track.failed_challenges += 1
        track.retry_at = now + RETRY_PAUSE_S
        track.spoofed = track.failed_challenges >= MAX_CHALLENGES
        track.refusal = reason
        return LOOKS_FLAT
