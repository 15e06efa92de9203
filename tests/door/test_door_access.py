"""kiosk.door.access_rules: the door's time windows and anti-passback, from the
window arithmetic to a real door (real engine, real SQLite gallery and access
log, the relay on gpiozero's mock pins, the real mosquitto broker)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from helpers import FakeSpeaker, wait_for
from kiosk.common.config import DoorSettings, MqttSettings
from kiosk.door.access_rules import DoorAccess, window_open
from kiosk.door.runtime import DoorRuntime
from kiosk.store.event_writer import EventWriter
from kiosk.outputs.local_broker import Listener
from kiosk.store import access_rules as rules
from kiosk.common.door_events import ANTI_PASSBACK, GRANTED, OUTSIDE_HOURS
from kiosk.store.access_rules import DoorRules, Window
from kiosk.store.gallery import get_person
from kiosk.store.gallery_writes import COMMAND_LINE, Author
from test_decisions import BOX, decider_liveness_off, known, run
from test_runtime import (LIVENESS_OFF, NAME, banners, decision_types, gallery, log_rows,  # noqa: F401
                          obama_visit, obama_walk, step_all)

WEEKDAYS = 0b0011111
FRIDAY = 0b0010000
# 2026-12-04 is a Friday, 2026-12-05 a Saturday.
FRI = datetime(2026, 12, 4)
SAT = datetime(2026, 12, 5)
PIN = 17
ADMIN = Author(LIVENESS_OFF.kiosk_id, COMMAND_LINE)


def at(day: datetime, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return day.replace(hour=hour, minute=minute)


def window(days: int, hours: str, group_id: int = 1) -> Window:
    start, end = rules.parse_hours(hours)
    return Window(1, group_id, "staff", None, days, start, end)


def test_a_day_window_includes_its_start_and_excludes_its_end():
    office = window(WEEKDAYS, "07:00-19:00")
    assert [window_open(office, at(FRI, t)) for t in ("06:59", "07:00", "18:59", "19:00")] == \
        [False, True, True, False]
    assert not window_open(office, at(SAT, "12:00"))
    assert window_open(window(127, "00:00-24:00"), at(SAT, "23:59"))


def test_a_night_window_belongs_to_the_day_it_starts():
    night = window(FRIDAY, "22:00-06:00")
    assert [window_open(night, at(FRI, t)) for t in ("05:59", "21:59", "22:00", "23:59")] == \
        [False, False, True, True]   # Friday 05:59 is Thursday's night, and Thursday has none
    assert [window_open(night, at(SAT, t)) for t in ("00:00", "05:59", "06:00", "22:00")] == \
        [True, True, False, False]


def access_at(when: datetime, restricted_to: dict[int, set[int]] | None, anti_passback_s: int = 0,
              windows=(window(WEEKDAYS, "07:00-19:00"),)) -> DoorAccess:
    """Person 1 (Ada) and 2 (Bob) of test_decisions' gallery; restricted_to: person -> groups."""
    if restricted_to is None:
        return DoorAccess("door-1", DoorRules(anti_passback_s=anti_passback_s), clock=lambda: when)
    groups = {p: frozenset(g) for p, g in restricted_to.items()}
    return DoorAccess("door-1", DoorRules(tuple(windows), groups, anti_passback_s, restricted=True),
                      clock=lambda: when)


def test_with_no_rules_everyone_enrolled_is_admitted_at_any_time():
    access = access_at(at(SAT, "03:00"), None)
    assert access.refusal(1, 0.0, None) is None and access.refusal(2, 0.0, None) is None


def test_in_a_restricted_door_only_members_in_their_window_are_admitted():
    assert access_at(at(FRI, "08:00"), {1: {1}}).refusal(1, 0.0, None) is None
    assert access_at(at(FRI, "20:00"), {1: {1}}).refusal(1, 0.0, None) == OUTSIDE_HOURS
    assert access_at(at(FRI, "08:00"), {1: {1}}).refusal(2, 0.0, None) == OUTSIDE_HOURS   # Bob: in no group
    assert access_at(at(FRI, "08:00"), {1: {2}}).refusal(1, 0.0, None) == OUTSIDE_HOURS   # a group with no window


def test_the_decider_refuses_a_person_outside_their_window_and_never_grants_them():
    door = decider_liveness_off(access=access_at(at(FRI, "20:00"), {1: {1}}))
    decisions = run(door, [[(BOX, known())]] * 30)
    assert [(d.type, d.name) for d in decisions] == [(OUTSIDE_HOURS, "Ada")]   # once a track
    back = run(door, [[(BOX, known())]] * 10, start=40.0)                     # a new visit: told again
    assert [d.type for d in back] == [OUTSIDE_HOURS]


def test_anti_passback_refuses_a_second_grant_within_its_seconds_and_logs_it():
    door = decider_liveness_off(cooldown_s=30, access=access_at(at(FRI, "08:00"), None, anti_passback_s=300))
    assert [d.type for d in run(door, [[(BOX, known())]] * 20)] == [GRANTED]
    assert run(door, [[(BOX, known())]] * 5, start=10.0) == []      # the same visit (cooldown): said nothing
    again = run(door, [[(BOX, known())]] * 5, start=60.0)           # back a minute later
    assert [(d.type, d.name) for d in again] == [(ANTI_PASSBACK, "Ada")]
    later = run(door, [[(BOX, known())]] * 5, start=301.0)          # 5 minutes after the grant
    assert [d.type for d in later] == [GRANTED]


# ---- the real door ------------------------------------------------------------------

def restrict(sessions, hours: str, member: bool = True) -> None:
    """A staff group, Obama in it (or not), admitted on weekdays in these hours."""
    with sessions.begin() as s:
        rules.create_group(s, ADMIN, "staff")
        if member:
            rules.set_member(s, ADMIN, NAME, "staff", True)
        rules.add_window(s, ADMIN, "staff", WEEKDAYS, *rules.parse_hours(hours))


@pytest.fixture
def door_with_rules(engine):
    """door_with_rules(sessions, access, settings) -> the window's door: its
    gallery sync loads the gallery and the rules together. Closed after the test."""
    doors = []

    def make(sessions, access: DoorAccess, settings=LIVENESS_OFF) -> DoorRuntime:
        doors.append(DoorRuntime(engine, settings, EventWriter(sessions), FakeSpeaker(), sessions=sessions,
                                 access=access))
        return doors[-1]
    yield make
    for door in doors:
        door.close()


def test_a_person_outside_their_window_is_not_let_in_until_the_rules_change(door_with_rules, gallery, obama_visit,
                                                                             pins):
    restrict(gallery, "07:00-19:00")
    access = DoorAccess(LIVENESS_OFF.kiosk_id, clock=lambda: at(FRI, "19:30"))
    pin = pins.pin(PIN)
    door = door_with_rules(gallery, access,
                           LIVENESS_OFF.replace(door=DoorSettings(type="gpio", pin=PIN, open_seconds=1.0)))
    pin.clear_states()
    updates = step_all(door, obama_visit)
    assert decision_types(updates) == [OUTSIDE_HOURS]
    assert banners(updates) == [[f"Sorry, {NAME}: this door is not open to you at this time"]]
    (row,) = log_rows(gallery)
    assert (row.decision, row.name, row.snapshot is not None) == (OUTSIDE_HOURS, NAME, True)
    assert [bool(s.state) for s in pin.states] == [False]     # the relay never moved
    # The admin widens the window; the door follows the gallery's change.
    with gallery.begin() as s:
        rules.add_window(s, ADMIN, "staff", FRIDAY, *rules.parse_hours("19:00-21:00"))
    assert door.sync.check()
    step_all(door, obama_visit, first_index=len(obama_visit) + 60)   # after the cooldown: a new visit
    assert [r.decision for r in log_rows(gallery)] == [OUTSIDE_HOURS, GRANTED]
    assert wait_for(lambda: [bool(s.state) for s in pin.states] == [False, True, False])


def test_a_person_in_no_group_is_refused_once_a_door_has_rules(door_with_rules, gallery, obama_visit):
    restrict(gallery, "00:00-24:00", member=False)
    door = door_with_rules(gallery, DoorAccess(LIVENESS_OFF.kiosk_id, clock=lambda: at(FRI, "12:00")))
    step_all(door, obama_visit)
    assert [r.decision for r in log_rows(gallery)] == [OUTSIDE_HOURS]


def test_a_restricted_door_whose_last_window_went_admits_no_one(door_with_rules, gallery, obama_visit):
    """Revoking the last window (or deleting the last group) never opens the
    door to everyone: it stays restricted until `groups open-door`."""
    restrict(gallery, "00:00-24:00")
    with gallery.begin() as s:
        rules.remove_windows(s, ADMIN, "staff")
    access = DoorAccess(LIVENESS_OFF.kiosk_id, clock=lambda: at(FRI, "12:00"))
    door = door_with_rules(gallery, access)
    step_all(door, obama_visit)
    assert [r.decision for r in log_rows(gallery)] == [OUTSIDE_HOURS]
    assert access.rules.restricted and access.rules.windows == ()


def test_anti_passback_at_the_real_door(door_with_rules, gallery, obama_visit):
    with gallery.begin() as s:
        rules.set_anti_passback(s, ADMIN, 600)
    door = door_with_rules(gallery, DoorAccess(LIVENESS_OFF.kiosk_id))
    for visit in range(3):   # a minute apart (30 fps): past the 30 s cooldown, within the 600 s
        step_all(door, obama_visit, first_index=visit * 1800)
    assert [r.decision for r in log_rows(gallery)] == [GRANTED, ANTI_PASSBACK, ANTI_PASSBACK]


def test_a_door_given_another_kiosk_id_applies_that_doors_rules_from_the_next_frame(door_with_rules, gallery,
                                                                                   obama_visit):
    """Anti-passback at "front" only; the door starts as door-1, and an admin
    renames it "front": the very next visit is that door's."""
    with gallery.begin() as s:
        rules.set_anti_passback(s, ADMIN, 600, kiosk_id="front", new_door=True)
    door = door_with_rules(gallery, DoorAccess(LIVENESS_OFF.kiosk_id))
    assert door.recognizer.decider.access.rules.anti_passback_s == 0   # door-1's
    door.apply_settings(LIVENESS_OFF.replace(kiosk_id="front"))
    for visit in range(2):   # a minute apart: past the cooldown, within the 600 s
        step_all(door, obama_visit, first_index=visit * 1800)
    assert door.recognizer.decider.access.kiosk_id == "front"
    assert [(r.decision, r.kiosk_id) for r in log_rows(gallery)] == [(GRANTED, "front"), (ANTI_PASSBACK, "front")]


def test_outside_hours_is_published_as_such(door_with_rules, gallery, obama_visit, broker):
    restrict(gallery, "07:00-19:00")
    listener = Listener(broker.url, ["kiosk/#", "homeassistant/event/#"])
    door = door_with_rules(gallery, DoorAccess(LIVENESS_OFF.kiosk_id, clock=lambda: at(SAT, "10:00")),
                           LIVENESS_OFF.replace(mqtt=MqttSettings(url=broker.url)))
    step_all(door, obama_visit)
    topic = f"kiosk/{LIVENESS_OFF.kiosk_id}/event"
    assert wait_for(lambda: listener.payloads(topic))
    (event,) = [json.loads(p) for p in listener.payloads(topic)]
    assert (event["type"], event["name"]) == (OUTSIDE_HOURS, NAME)
    assert listener.payloads(f"kiosk/{LIVENESS_OFF.kiosk_id}/last_person") == []   # nobody was let in
    config = json.loads(listener.payloads(f"homeassistant/event/{LIVENESS_OFF.kiosk_id}/access/config")[0])
    assert OUTSIDE_HOURS in config["event_types"] and ANTI_PASSBACK in config["event_types"]
    listener.close()


def test_kiosk_context_gives_the_door_its_rules(engine, gallery, db_url, tmp_path, kiosk_context):
    from kiosk.common.config import Settings
    restrict(gallery, "07:00-19:00")
    ctx = kiosk_context(Settings(kiosk_id="front"), db_url, tmp_path, engine=engine)
    recognizer = ctx.recognizer()
    assert recognizer.decider.access is ctx.door_access
    with gallery.begin() as s:
        obama = get_person(s, NAME).id
    assert ctx.door_access.rules.restricted and obama in ctx.door_access.rules.groups_of


def test_a_door_renamed_while_its_database_does_not_answer_admits_nobody(tmp_path):
    """The new door's rules cannot be read (here: a database without the
    gallery's tables): until they are, nobody is let in, not by the old door's."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker
    from kiosk.door.gallery_sync import GallerySync
    access = DoorAccess("door-1")                 # no rules: everyone enrolled
    assert access.admitted_now(1)
    engine = create_engine(f"sqlite:///{tmp_path / 'not-a-gallery.db'}")
    sync = GallerySync(sessionmaker(engine), "model", on_index=lambda index: None, access=access)
    assert not sync.follow("front")
    assert access.kiosk_id == "front" and not access.admitted_now(1)
    engine.dispose()
