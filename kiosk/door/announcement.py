"""What the door does about one decision, decided once: what it shows, what it
says aloud, whether it opens. Everything downstream (the lock, the speaker, the
window's banner) reads this record instead of testing the decision again."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.door.decisions import Box, Decision
from kiosk.common.door_events import ANTI_PASSBACK, GRANTED, OUTSIDE_HOURS, SPOOF

NOT_RECOGNISED = "Not recognised"
LIVE_FACE_NEEDED = "Not opened: a photo or a screen is not a visitor"
# The access rules' refusals (kiosk.door.access_rules), said to the person recognised.
REFUSALS = {OUTSIDE_HOURS: "Sorry, {name}: this door is not open to you at this time",
            ANTI_PASSBACK: "Sorry, {name}: you were let in a moment ago"}


@dataclass(frozen=True)
class Announcement:
    """One decision as the door announces it."""

    decision: Decision
    box: Box                  # the face it is about, in the frame's pixels
    banner: str               # the status line on the screen
    spoken: str | None        # what is said aloud; None: nothing
    opens_door: bool          # a grant: the lock opens (when there is one)

    @property
    def name(self) -> str | None:
        return self.decision.name


def announce(decision: Decision, box: Box, greeting: str) -> Announcement:
    """The one place a decision's type is turned into what the door does."""
    if decision.type == GRANTED:
        text = greeting_text(greeting, decision.name or "")
        return Announcement(decision, box, text, text, opens_door=True)
    if decision.type in REFUSALS:
        text = REFUSALS[decision.type].format(name=decision.name)
        return Announcement(decision, box, text, text, opens_door=False)
    if decision.type == SPOOF:
        # The challenge says why it failed ("No head turn was seen in time").
        reason = decision.reason
        banner = f"Not opened: {reason[0].lower()}{reason[1:]}" if reason else LIVE_FACE_NEEDED
        return Announcement(decision, box, banner, None, opens_door=False)
    return Announcement(decision, box, NOT_RECOGNISED, None, opens_door=False)


def greeting_text(template: str, name: str) -> str:
    """The greeting template with the person's name in it."""
    try:
        return template.format(name=name)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return f"Welcome, {name}"  # a broken template must not silence the door
