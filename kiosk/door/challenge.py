"""The liveness challenge: "Please turn your head to the left", and a check
that the head really did, in depth, when asked.

The door asks when the passive check (kiosk.door.liveness) has not proven a
recognised track live after a moment (setting `liveness: "passive"`), or
always (`"challenge"`). Each step:

1. "Please look at the camera": the head's yaw is followed; after a random
   delay, once it is steady and facing the camera (within FACING_DEG), the
   prompt appears and that frame's landmarks become the step's baseline.
2. "Please turn your head to the <left|right>" (random side): the turn must
   start (yaw past ONSET_DEG towards the side asked) no sooner than
   REACTION_S after the prompt (a turn already under way is not an answer)
   and no later than ONSET_S, and reach TURN_DEG for HOLD_FRAMES frames
   running within STEP_S, with the nose missing a flat picture's place by
   at least TURN_MISS eye distances against the baseline (depth: a photo
   turned about its vertical axis keeps its nose where a flat picture
   puts it, and its yaw estimate barely moves) and the face keeping
   SQUEEZE_MIN of its width (a print turned far enough to fool the
   landmarks is squeezed like no head is). The first frame past
   ONSET_DEG must be short of JUMP_DEG: a photo of the person already well
   turned, swapped in for a frontal one, jumps there in one frame; a head
   turning, even fast, passes through.

Yaw comes from the five landmarks (kiosk.vision.snapshot_quality's
estimate): positive when the nose moves towards the image's right. The
camera is assumed not mirrored, so a visitor turning to their own left
moves their nose to the image's right.

Qt-free and clock-free: feed it each frame's time and landmarks of its
track; the door reads `prompt` for the window and `state` for its rules.
"""

from __future__ import annotations

import random
from collections import deque

import numpy as np

from kiosk.door.liveness import SQUEEZE_MIN, face_width, nose_miss
from kiosk.vision.snapshot_quality import landmark_angles

LEFT, RIGHT = "left", "right"
RUNNING, PASSED, FAILED = "running", "passed", "failed"

LOOK_PROMPT = "Please look at the camera"
TURN_PROMPT = "Please turn your head to the {side}"
NO_TURN = "No head turn was seen in time"
WRONG_WAY = "The head turned the other way"
TOO_EARLY = "The head turned before it was asked"
FLAT_TURN = "The face turned like a flat picture, not like a head"
JUMPED = "The face changed at once instead of turning"
NOT_STEADY = "The head did not hold still facing the camera"

# The prompt comes this long after the step starts (random, so that a
# recorded answer cannot be timed to it), or later if the head is moving then.
PROMPT_DELAY_S = (0.3, 0.9)
STEADY_DEG = 6.0         # the yaw of the last 3 frames spans less than this: steady
SETTLE_S = 1.5           # the head may take this long past the delay to be steady (and facing)
REACTION_S = 0.2         # a turn seen sooner than this after the prompt began before it (people
                         # take 0.25 s or more to read and react)
ONSET_DEG = 6.0          # a turn has started
ONSET_S = 1.6            # ... by this long after the prompt
JUMP_DEG = 22.0          # the first frame past ONSET_DEG is short of this (raw yaw, not the median)
TURN_DEG = 20.0          # a turn reached: yaw beyond the baseline's, towards the side asked.
                         # A print turned 40-60 degrees moves MTCNN's landmarks as if the face
                         # had turned up to about 15 (the nose drifts with the foreshortening,
                         # missing the flat place by 0.1 or more): at 14 one print in 150 passed.
TURN_MISS = 0.08         # and the nose misses a flat picture's place by this (eye distances)
# ... and the face keeps liveness.SQUEEZE_MIN of its width at the prompt: a head turned
# 20-35 degrees keeps 0.8 or more (cos 35), a print turned far enough to move the
# landmarks that much is squeezed to about 0.7 (turned 40-60 degrees)
HOLD_FRAMES = 2          # all three, this many frames running
FACING_DEG = 12.0        # the prompt waits for a face this close to frontal: a print of a face
                         # already turned drifts furthest when turned again
STEP_S = 2.6             # from the prompt to the turn reached


class Challenge:
    """One challenge of `steps` steps on one track, started at `start`."""

    def __init__(self, start: float, rng: random.Random, steps: int = 1):
        if steps not in (1, 2):
            raise ValueError("a challenge has one or two steps")
        self.sides = [rng.choice((LEFT, RIGHT)) for _ in range(steps)]
        self._rng = rng
        self.state, self.reason = RUNNING, None
        self._step = 0
        self._yaws: deque[float] = deque(maxlen=3)
        self._front_yaw: float | None = None   # the first step's baseline: later steps start from it
        self._begin_step(start)

    def _begin_step(self, now: float) -> None:
        self._prompt_due = now + self._rng.uniform(*PROMPT_DELAY_S)
        self._settle_by = now + PROMPT_DELAY_S[1] + SETTLE_S
        self._prompted_at: float | None = None
        self._baseline: tuple[float, np.ndarray, float] | None = None   # yaw, landmarks, face width
        self._onset: float | None = None     # since the prompt, when the (median) yaw passed ONSET_DEG
        self._raw_onset = False               # a frame's own yaw has passed ONSET_DEG
        self._held = 0
        self._turned_flat = False   # the yaw turned far enough, the nose stayed flat

    @property
    def prompt(self) -> str | None:
        """What the window should show now (None once the challenge is over)."""
        if self.state != RUNNING:
            return None
        if self._prompted_at is None:
            return LOOK_PROMPT
        return TURN_PROMPT.format(side=self.sides[self._step])

    def add(self, now: float, landmarks) -> str:
        """One frame of the track; returns the state (RUNNING, PASSED or FAILED)."""
        if self.state != RUNNING:
            return self.state
        points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
        self._yaws.append(landmark_angles(points)[0])
        yaw = float(np.median(self._yaws))
        if self._prompted_at is None:
            if self._ready_for_prompt(now, yaw):
                self._prompted_at, self._baseline = now, (yaw, points, face_width(points))
                if self._front_yaw is None:
                    self._front_yaw = yaw
            elif now > self._settle_by:
                self._fail(NOT_STEADY)
            return self.state
        self._follow_turn(now, yaw, points)
        return self.state

    def _ready_for_prompt(self, now: float, yaw: float) -> bool:
        """Due, the head steady, and (after the first step) back facing the way it started."""
        steady = len(self._yaws) == self._yaws.maxlen and max(self._yaws) - min(self._yaws) < STEADY_DEG
        if self._front_yaw is None:
            facing = abs(yaw) <= FACING_DEG
        else:
            facing = abs(yaw - self._front_yaw) < ONSET_DEG
        return now >= self._prompt_due and steady and facing

    def _follow_turn(self, now: float, yaw: float, points: np.ndarray) -> None:
        base_yaw, base_points, base_width = self._baseline
        sign = 1.0 if self.sides[self._step] == LEFT else -1.0
        towards, raw_towards = (yaw - base_yaw) * sign, (self._yaws[-1] - base_yaw) * sign
        since = now - self._prompted_at
        if -towards >= TURN_DEG:
            return self._fail(WRONG_WAY)
        if not self._raw_onset and raw_towards >= ONSET_DEG:
            self._raw_onset = True
            if since < REACTION_S:
                return self._fail(TOO_EARLY)
            if raw_towards >= JUMP_DEG:     # from facing to well turned between two frames: a picture swapped
                return self._fail(JUMPED)
        if self._onset is None and towards >= ONSET_DEG:
            self._onset = since
        if self._onset is None and since > ONSET_S or since > STEP_S:
            return self._fail(FLAT_TURN if self._turned_flat else NO_TURN)
        miss = nose_miss(base_points, points)
        turned = towards >= TURN_DEG
        like_a_head = miss is not None and miss >= TURN_MISS and face_width(points) >= SQUEEZE_MIN * base_width
        self._turned_flat |= turned and not like_a_head
        self._held = self._held + 1 if turned and like_a_head else 0
        if self._held >= HOLD_FRAMES:
            self._step += 1
            if self._step == len(self.sides):
                self.state = PASSED
            else:
                self._begin_step(now)

    def _fail(self, reason: str) -> None:
        self.state, self.reason = FAILED, reason
