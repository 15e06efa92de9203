"""The liveness challenge (kiosk.door.challenge) and the door asking for it
(kiosk.door.decisions).

First on the five landmarks of a head and of its picture seen through a
pinhole camera (test_liveness's geometry), then closed loop through the real
detector: real heads made of real photos of one person at several angles
turning when asked, a print turned on cue, two prints swapped on cue
(tests/head_turns.py). The challenge's thresholds were chosen on the
celebrities' train photos (seeds 1000+); the attacks here are made from
their val photos, and every run uses other seeds (REPORT_SEED).
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

import attack_clips
import head_turns
from kiosk.door import challenge as ch
from kiosk.door.challenge import FAILED, LEFT, PASSED, RUNNING, Challenge
from kiosk.door.decisions import ANOTHER_FACE, PASSIVE_WAIT_S, DoorDecider, Sighting
from kiosk.common.door_events import GRANTED, SPOOF
from kiosk.vision.matcher import GalleryIndex, GalleryMatrix
from kiosk.vision.snapshot_quality import landmark_angles
from test_liveness import AXES, BOX, FPS, HEAD, PICTURE, SAME_FACE, head_turn, seen


def towards(points, side: str | None, degrees: float) -> np.ndarray:
    """The landmarks of `points` turned `degrees` to the visitor's `side` (None: facing)."""
    if side is None:
        return seen(points)
    return seen(points, -degrees if side == LEFT else degrees)   # their left: the nose goes image-right


class Visitor:
    """Answers the prompt it is shown: faces the camera until asked, then
    after `reaction` s turns `speed` degrees a second to 30 degrees (to the
    side `answer(side)`), and back when asked to look again."""

    def __init__(self, points=HEAD, reaction=0.4, speed=120.0, answer=lambda side: side, early=0.0):
        self.points, self.reaction, self.speed, self.answer, self.early = points, reaction, speed, answer, early
        self._asked = None

    def __call__(self, t: float, prompt: str | None) -> np.ndarray:
        side = head_turns.asked_side(prompt)
        if side is None:
            self._asked = None
            return towards(self.points, None, 0)
        self._asked = self._asked or (t, side)
        degrees = min(30.0, max(0.0, (t - self._asked[0] - self.reaction) * self.speed)) + self.early
        return towards(self.points, self.answer(side), degrees)


def answer(visitor, steps=1, seed=0, seconds=8.0) -> Challenge:
    challenge = Challenge(0.0, random.Random(seed), steps)
    for i in range(int(seconds * FPS)):
        if challenge.add(i / FPS, visitor(i / FPS, challenge.prompt)) != RUNNING:
            break
    return challenge


def test_it_asks_the_visitor_to_look_then_to_turn_to_a_random_side():
    sides = Counter(Challenge(0.0, random.Random(seed)).sides[0] for seed in range(200))
    assert set(sides) == {"left", "right"} and min(sides.values()) > 60
    challenge = Challenge(0.0, random.Random(1))
    prompts = [challenge.prompt]
    for i in range(15):
        challenge.add(i / FPS, seen(HEAD))
        prompts.append(challenge.prompt)
    assert prompts[0] == ch.LOOK_PROMPT
    assert ch.TURN_PROMPT.format(side=challenge.sides[0]) in prompts


def test_the_prompt_comes_at_a_random_moment():
    moments = set()
    for seed in range(20):
        challenge = Challenge(0.0, random.Random(seed))
        for i in range(30):
            challenge.add(i / FPS, seen(HEAD))
            if challenge.prompt != ch.LOOK_PROMPT:
                moments.add(i)
                break
    assert len(moments) >= 4 and min(moments) >= ch.PROMPT_DELAY_S[0] * FPS


@pytest.mark.parametrize("steps", [1, 2])
def test_a_head_that_turns_when_asked_passes(steps):
    for seed in range(10):
        challenge = answer(Visitor(), steps=steps, seed=seed)
        assert challenge.state == PASSED, (seed, challenge.reason)


def test_its_picture_turned_when_asked_fails():
    challenge = answer(Visitor(points=PICTURE, speed=200.0))
    assert challenge.state == FAILED and challenge.reason == ch.NO_TURN


class DriftingPrint(Visitor):
    """A print turned far (to 60 degrees) on cue, with the nose landmark
    drifting as MTCNN's does on a foreshortened print: where the nose of a
    head turned 2.5 times less would be (a print turned 60 degrees reads as
    a face turned about 25). Its eyes and mouth are the print's, squeezed by
    the turn."""

    def __call__(self, t: float, prompt: str | None) -> np.ndarray:
        side = head_turns.asked_side(prompt)
        self._asked = None if side is None else self._asked or (t, side)
        degrees = 0.0 if side is None else min(60.0, max(0.0, (t - self._asked[0] - self.reaction) * self.speed))
        points = towards(PICTURE, side, degrees)
        points[2] = towards(HEAD, side, degrees / 2.5)[2]
        return points


def test_a_print_turned_far_whose_nose_drifts_like_a_head_fails_as_flat():
    challenge = answer(DriftingPrint(speed=100.0))
    assert challenge.state == FAILED and challenge.reason == ch.FLAT_TURN


def test_a_face_turned_away_is_not_asked_to_turn():
    """A print of a face already turned: the prompt waits for a face looking at the camera."""
    challenge = answer(lambda t, prompt: seen(HEAD, 30.0))
    assert abs(landmark_angles(seen(HEAD, 30.0))[0]) > ch.FACING_DEG
    assert challenge.state == FAILED and challenge.reason == ch.NOT_STEADY


def test_turning_the_other_way_fails_and_says_so():
    challenge = answer(Visitor(answer=lambda side: "right" if side == LEFT else LEFT))
    assert challenge.state == FAILED and challenge.reason == ch.WRONG_WAY


def test_not_turning_fails_within_a_few_seconds():
    challenge = Challenge(0.0, random.Random(3))
    i = 0
    while challenge.add(i / FPS, seen(HEAD)) == RUNNING:
        i += 1
    assert challenge.reason == ch.NO_TURN
    assert i / FPS <= ch.PROMPT_DELAY_S[1] + ch.ONSET_S + 0.2


def test_a_turn_already_under_way_when_asked_is_no_answer():
    """A recording of a head turning, timed by luck: its turn began before the prompt."""
    challenge = answer(Visitor(reaction=0.0, speed=60.0, early=7.0))
    assert challenge.state == FAILED and challenge.reason == ch.TOO_EARLY


def test_a_face_that_jumps_to_turned_in_one_frame_fails():
    challenge = answer(Visitor(speed=1000.0))      # 0 to 30 degrees between two frames
    assert challenge.state == FAILED and challenge.reason == ch.JUMPED


def test_a_head_that_never_holds_still_is_not_asked():
    challenge = Challenge(0.0, random.Random(0))
    i = 0
    while challenge.add(i / FPS, seen(HEAD, 20 * np.sin(i))) == RUNNING:
        i += 1
    assert challenge.reason == ch.NOT_STEADY and challenge.prompt is None


def test_a_challenge_has_one_or_two_steps():
    with pytest.raises(ValueError):
        Challenge(0.0, random.Random(0), steps=3)


# ---- the door asking for it -----------------------------------------------------

INDEX = GalleryIndex(GalleryMatrix(AXES[:2], np.array([1, 2]), {1: "Ada", 2: "Bob"}))


def door_run(visitor, liveness="passive", seconds=10.0, embedding_at=lambda t: AXES[0], seed=0):
    """Ada's track (a perfect match) with landmarks from visitor(t, prompt),
    the prompt being what the door showed for her face the frame before.
    Returns the decisions (time, type, reason) and the prompts shown."""
    door = DoorDecider(lambda e: INDEX.match(e[None], 0.3, 0.05)[0], SAME_FACE, liveness=liveness,
                       rng=random.Random(seed))
    decisions, prompts, prompt = [], [], None
    for i in range(int(seconds * FPS)):
        t = i / FPS
        embedding = embedding_at(t)
        match = INDEX.match(embedding[None], 0.3, 0.05)[0]
        sighting = Sighting(BOX, match, embedding, 1.0, tuple(map(tuple, visitor(t, prompt))))
        decisions += [(round(t, 2), d.type, d.reason) for d in door.update(t, [sighting])]
        prompt = door.frame_tracks[0].prompt
        prompts.append(prompt)
    return decisions, prompts


def test_passive_a_still_visitor_is_asked_to_turn_and_is_let_in_when_they_do():
    decisions, prompts = door_run(Visitor())
    assert [kind for _, kind, _ in decisions] == [GRANTED]
    first_prompt = prompts.index(ch.LOOK_PROMPT) / FPS
    assert PASSIVE_WAIT_S <= first_prompt <= PASSIVE_WAIT_S + 0.5
    assert decisions[0][0] <= 3.5                # the target: within 3 s of the challenge
    assert prompts[-1] is None                   # granted: nothing more is asked


def test_passive_a_visitor_who_looks_about_is_let_in_without_being_asked():
    """Proven by the passive check before a turn is asked for (the door may
    have begun to ask: the head was not steady enough to be prompted)."""
    moving = head_turn(HEAD, seconds=3.0)
    decisions, prompts = door_run(lambda t, prompt: moving[min(int(round(t * FPS)), len(moving) - 1)][1],
                                  seconds=3.0)
    assert [kind for _, kind, _ in decisions] == [GRANTED] and decisions[0][0] <= 1.5
    assert not any(p and "turn" in p for p in prompts[:int(decisions[0][0] * FPS)])


def test_a_still_visitor_who_does_not_turn_is_told_why_twice_then_left():
    decisions, _ = door_run(lambda t, prompt: seen(HEAD), seconds=14.0)
    assert [(kind, reason) for _, kind, reason in decisions] == [(SPOOF, ch.NO_TURN)] * 2
    assert decisions[0][0] <= 4.0


def test_a_picture_turned_on_cue_is_refused():
    decisions, _ = door_run(Visitor(points=PICTURE, speed=200.0), seconds=14.0)
    assert decisions and all(kind == SPOOF for _, kind, _ in decisions)


def test_challenge_mode_asks_even_a_visitor_who_looks_about_and_asks_twice():
    moving = head_turn(HEAD, seconds=1.0)
    visitor = Visitor()
    def looks_about_then_answers(t, prompt):
        return moving[int(round(t * FPS))][1] if t < 1.0 and prompt is None else visitor(t, prompt)
    decisions, prompts = door_run(looks_about_then_answers, liveness="challenge")
    assert [kind for _, kind, _ in decisions] == [GRANTED]
    turns = [p for p, before in zip(prompts[1:], prompts) if p != before and p and "turn" in p]
    assert len(turns) == 2


def test_someone_else_after_the_turn_is_not_let_in():
    """The track goes on (the same place, a face still close enough to
    follow) but after the turn the gallery names Bob, not Ada."""
    bob = AXES[1]
    def ada_then_bob(t):
        v = AXES[0] if t < 2.0 else 0.75 * AXES[0] + bob
        return v / np.linalg.norm(v)
    decisions, _ = door_run(Visitor(reaction=0.9, speed=60.0), embedding_at=ada_then_bob, seconds=6.0)
    assert (SPOOF, ANOTHER_FACE) in [(kind, reason) for _, kind, reason in decisions]
    assert GRANTED not in [kind for _, kind, _ in decisions]


def test_a_turn_made_by_a_stranger_in_the_members_place_is_no_answer():
    """Ada's photo is asked to turn; a screen in its place morphs into a
    stranger (a small step a frame, so the door follows it as one face) who makes
    the turn; then it morphs back to Ada's photo. The stranger's frames vote
    for nobody, so the challenge never hears them: no turn was seen (it was
    granted before the challenge heard only the frames voting for Ada)."""
    stranger, steps = AXES[2], 14
    head, asked = Visitor(reaction=1.3), []
    def stranger_share(t):   # 0: Ada's photo, 1: the stranger
        if not asked:
            return 0.0
        since = (t - asked[0]) * FPS
        back = (t - asked[0] - 2.6) * FPS
        return min(1.0, max(0.0, since / steps)) - min(1.0, max(0.0, back / steps))
    def visitor(t, prompt):
        if head_turns.asked_side(prompt) and not asked:
            asked.append(t)
        turning = head(t, prompt)   # from the prompt on, seen once the screen shows the stranger
        return turning if stranger_share(t) == 1.0 else seen(PICTURE)
    def embedding_at(t):
        v = (1 - stranger_share(t)) * AXES[0] + stranger_share(t) * stranger
        return v / np.linalg.norm(v)
    decisions, _ = door_run(visitor, embedding_at=embedding_at, seconds=8.0)
    assert asked and (SPOOF, ch.NO_TURN) in [(kind, reason) for _, kind, reason in decisions]
    assert GRANTED not in [kind for _, kind, _ in decisions]


# ---- closed loop through the real detector ----------------------------------------

# 70_000 was retired (2026-12-01): its one print that passed was studied to
# shape the squeeze and facing rules, so its figures are no longer held out.
REPORT_SEED = 80_000


@pytest.fixture(scope="module")
def people(engine, celebrities):
    """Per celebrity: the poses of all their photos (a real head needs many
    angles: the val photos alone are 4-5 a person, too few to turn through),
    and prints of their val photos. The real heads' photos are those the
    thresholds were chosen on; only the seeds (timing, side, place) differ."""
    found = {}
    for folder in sorted((celebrities / "val").iterdir()):
        photos = sorted(folder.glob("*.jpg"))
        every = photos + sorted((celebrities / "train" / folder.name).glob("*.jpg"))
        found[folder.name] = (head_turns.poses_of(engine, every), attack_clips.cards_of(engine, photos))
    return found


def run_challenges(engine, people, make, per_person: int) -> Counter:
    outcomes = Counter()
    for p, (poses, cards) in enumerate(people.values()):
        for k in range(per_person):
            seed = REPORT_SEED + 100 * p + k
            challenge = Challenge(0.0, random.Random(seed))
            head_turns.run(engine, challenge, make(poses, cards, np.random.default_rng(seed)))
            outcomes[challenge.state if challenge.state == PASSED else challenge.reason] += 1
    return outcomes


def real_head(poses, cards, rng):
    return head_turns.RealHead(poses, rng, reaction=rng.uniform(0.25, 0.8), turn_frames=int(rng.integers(2, 7)))


def flat_turn(sign):
    """A print turned 30-60 degrees on cue: the further it turns, the more
    MTCNN's landmarks drift as if it were a head (60 degrees reads as about 25)."""
    return lambda poses, cards, rng: head_turns.FlatTurn(cards[int(rng.integers(len(cards)))], rng, sign=sign,
                                                         degrees=float(rng.uniform(30, 60)))


def print_swap(poses, cards, rng):
    return head_turns.PrintSwap(poses, rng)


def test_real_heads_turning_when_asked_pass(engine, people):
    outcomes = run_challenges(engine, people, real_head, per_person=4)
    assert outcomes[PASSED] >= 0.85 * sum(outcomes.values()), outcomes


@pytest.mark.parametrize("sign", [1, -1])
def test_a_print_turned_on_cue_never_passes(engine, people, sign):
    outcomes = run_challenges(engine, people, flat_turn(sign), per_person=3)
    assert outcomes[PASSED] == 0, outcomes


def test_most_swaps_of_two_prints_on_cue_fail(engine, people):
    outcomes = run_challenges(engine, people, print_swap, per_person=3)
    assert outcomes[PASSED] <= 0.5 * sum(outcomes.values()), outcomes


@pytest.mark.slow
def test_challenge_report(engine, people):
    """The figures of README "Liveness" (150 real heads, 300 turned prints,
    150 swaps)."""
    report = {"real head": run_challenges(engine, people, real_head, 30),
              "print turned (+)": run_challenges(engine, people, flat_turn(1), 30),
              "print turned (-)": run_challenges(engine, people, flat_turn(-1), 30),
              "two prints swapped": run_challenges(engine, people, print_swap, 30)}
    print(report)
    assert report["print turned (+)"][PASSED] + report["print turned (-)"][PASSED] == 0
    assert report["real head"][PASSED] >= 0.95 * 150     # the BPCER target: 5% at most
