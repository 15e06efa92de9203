"""Whether a recognised, live person may enter now: the door's access rules
(kiosk.store.access_rules) applied. DoorDecider asks refusal() before a grant.

Times of day are the door machine's local time (its clock and time zone, as
`date` shows them): a window of 07:00-19:00 is 07:00-19:00 on the wall clock
beside the door, summer time included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from kiosk.common.door_events import ANTI_PASSBACK, OUTSIDE_HOURS
from kiosk.store.access_rules import DoorRules, Window


def window_open(window: Window, when: datetime) -> bool:
    """Is the window open at local time `when`? A window past midnight
    (22:00-06:00) belongs to the day it starts: Friday's runs into Saturday."""
    minute, day = when.hour * 60 + when.minute, when.weekday()
    if window.start_minute < window.end_minute:
        return bool(window.days >> day & 1) and window.start_minute <= minute < window.end_minute
    yesterday = (day - 1) % 7
    return (bool(window.days >> day & 1) and minute >= window.start_minute) or \
        (bool(window.days >> yesterday & 1) and minute < window.end_minute)


class DoorAccess:
    """One door's rules. set_rules() swaps them whole (the gallery sync
    thread, after each gallery change); refusal() reads them (the recognizer's
    thread): one reference, replaced at once, so a decision never sees half a
    change.

    clock: the door's local time now (datetime.now; tests pass their own).
    """

    def __init__(self, kiosk_id: str, rules: DoorRules | None = None,
                 clock: Callable[[], datetime] = datetime.now):
        self.kiosk_id = kiosk_id
        self.rules = rules if rules is not None else DoorRules()
        self.clock = clock

    def set_rules(self, rules: DoorRules) -> None:
        self.rules = rules

    def admitted_now(self, person_id: int) -> bool:
        """A door never restricted: everyone. A restricted one: only a member
        of a group with a window open now (a person in no group, or a door
        whose last window went: no one)."""
        rules = self.rules
        if not rules.restricted:
            return True
        groups, now = rules.groups_of.get(person_id, frozenset()), self.clock()
        return any(w.group_id in groups and window_open(w, now) for w in rules.windows)

    def refusal(self, person_id: int, now: float, last_grant: float | None) -> str | None:
        """OUTSIDE_HOURS, ANTI_PASSBACK, or None to let them in. now and
        last_grant (this person's last grant here, None: none) are the decider's
        clock, in seconds."""
        if not self.admitted_now(person_id):
            return OUTSIDE_HOURS
        seconds = self.rules.anti_passback_s
        if seconds and last_grant is not None and now - last_grant < seconds:
            return ANTI_PASSBACK
        return None
