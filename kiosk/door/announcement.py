"""What the door does about one decision, decided once: what it shows, what it
says aloud, whether it opens. Everything downstream (the lock, the speaker, the
window's banner) reads this record instead of testing the decision again."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.door.decisions import Box, Decision
from kiosk.store.access_log import GRANTED, SPOOF

NOT_RECOGNISED = "Not recognised"
LIVE_FACE_NEEDED = "Not opened: a photo or a screen is not a visitor"


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
    banner = LIVE_FACE_NEEDED if decision.type == SPOOF else NOT_RECOGNISED
    return Announcement(decision, box, banner, None, opens_door=False)


def greeting_text(template: str, name: str) -> str:
    """The greeting template with the person's name in it."""
    try:
        return template.format(name=name)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return f"Welcome, {name}"  # a broken template must not silence the door
