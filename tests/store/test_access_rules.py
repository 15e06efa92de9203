"""kiosk.store.access_rules on a real SQLite file and a real PostgreSQL database:
groups, memberships, windows, anti-passback, and what a door loads of them."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kiosk.store import access_rules as rules
from kiosk.common.door_events import NewEvent
from kiosk.store.access_log import append_event
from kiosk.store.access_rules import AccessRuleError, UnknownDoor
from kiosk.store.db import AccessWindow, AdminAction, DoorPolicy, PersonGroup
from kiosk.store.gallery import GalleryError, NewSample, add_samples, delete_person, gallery_version, get_person
from kiosk.store.gallery_writes import ADMIN_PANEL, COMMAND_LINE, Author

WEEKDAYS = 0b0011111
ADMIN = Author("front", COMMAND_LINE)


@pytest.fixture
def sessions(any_db_url, open_gallery):
    sessions = open_gallery(any_db_url)
    with sessions.begin() as s:
        for seed, name in enumerate(["Ada", "Bob", "Zoë"]):
            v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
            add_samples(s, name, [NewSample(v / np.linalg.norm(v), b"\xff\xd8", 1.0)], "m")
    return sessions


def ids(sessions, *names) -> list[int]:
    with sessions.begin() as s:
        return [get_person(s, n).id for n in names]


@pytest.mark.parametrize("text, mask", [("mon-fri", WEEKDAYS), ("Sat,Sun", 0b1100000), ("daily", 127),
                                        ("mon,wed,fri", 0b10101), ("fri-mon", 0b1110001),
                                        ("monday-tuesday", 0b11)])
def test_days_in_words(text, mask):
    assert rules.parse_days(text) == mask


def test_days_back_in_words():
    assert [rules.days_text(m) for m in (WEEKDAYS, 0b1100000, 127, 0b10101, 0b1110001)] == \
        ["Mon-Fri", "Sat-Sun", "daily", "Mon,Wed,Fri", "Mon,Fri-Sun"]


@pytest.mark.parametrize("text", ["", "weekdays", "mon-xyz", ","])
def test_days_that_are_not_days_are_refused(text):
    with pytest.raises(AccessRuleError, match="not days like mon-fri"):
        rules.parse_days(text)


def test_hours():
    assert rules.parse_hours("07:00-19:00") == (420, 1140)
    assert rules.parse_hours("22:00-06:00") == (1320, 360)
    assert rules.parse_hours("0:00-24:00") == (0, 1440)
    for bad, why in [("7-19", "not a time of day"), ("07:00", "not hours like"), ("24:00-06:00", "00:00 to 23:59"),
                     ("07:60-08:00", "not a time of day"), ("08:00-08:00", "for the whole day give 00:00-24:00"),
                     ("00:00-00:00", "whole day")]:
        with pytest.raises(AccessRuleError, match=why):
            rules.parse_hours(bad)


def test_no_rule_means_everyone_at_any_time(sessions):
    with sessions.begin() as s:
        door = rules.load_door_rules(s, "front")
    assert not door.restricted and door.anti_passback_s == 0


def test_a_door_loads_its_windows_and_every_doors_and_its_members(sessions):
    ada, bob, zoe = ids(sessions, "Ada", "Bob", "Zoë")
    with sessions.begin() as s:
        rules.create_group(s, ADMIN, "staff")
        rules.create_group(s, ADMIN, "night")
        rules.set_member(s, ADMIN, "Ada", "staff", True)
        rules.set_member(s, ADMIN, "Bob", "staff", True)
        rules.set_member(s, ADMIN, "Bob", "night", True)
        rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140)                 # every door
        rules.add_window(s, ADMIN, "night", 127, 1320, 360, kiosk_id="back", new_door=True)   # the back door only
    with sessions.begin() as s:
        front, back = rules.load_door_rules(s, "front"), rules.load_door_rules(s, "back")
        staff, night = rules.get_group(s, "staff").id, rules.get_group(s, "night").id
    assert [w.describe() for w in front.windows] == ["Mon-Fri 07:00-19:00 (every door)"]
    assert [w.describe() for w in back.windows] == ["daily 22:00-06:00 (back)", "Mon-Fri 07:00-19:00 (every door)"]
    assert front.restricted and back.groups_of == {ada: {staff}, bob: {staff, night}}
    assert zoe not in back.groups_of
    with sessions.begin() as s:
        assert [(g.name, g.members, len(g.windows)) for g in rules.list_groups(s)] == \
            [("night", ["Bob"], 1), ("staff", ["Ada", "Bob"], 1)]
        assert rules.groups_of_people(s) == {"Ada": ["staff"], "Bob": ["night", "staff"]}


def test_every_change_bumps_the_gallery_version(sessions):
    steps = [lambda s: rules.create_group(s, ADMIN, "staff"),
             lambda s: rules.set_member(s, ADMIN, "Ada", "staff", True),
             lambda s: rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140),
             lambda s: rules.set_anti_passback(s, ADMIN, 120), lambda s: rules.remove_windows(s, ADMIN, "staff"),
             lambda s: rules.delete_group(s, ADMIN, "staff")]
    with sessions.begin() as s:
        before = gallery_version(s)
    for n, step in enumerate(steps, start=1):
        with sessions.begin() as s:
            step(s)
        with sessions.begin() as s:
            assert gallery_version(s) == before + n


def test_anti_passback_of_a_door_overrides_every_doors(sessions):
    with sessions.begin() as s:
        rules.set_anti_passback(s, ADMIN, 300)
        rules.set_anti_passback(s, ADMIN, 0, kiosk_id="lobby", new_door=True)
        rules.set_anti_passback(s, ADMIN, 60, kiosk_id="back", new_door=True)
        rules.set_anti_passback(s, ADMIN, 90, kiosk_id="back")   # changes, never a second row
    with sessions.begin() as s:
        assert [rules.load_door_rules(s, d).anti_passback_s for d in ("front", "lobby", "back")] == [300, 0, 90]
        assert rules.policies(s) == {None: 300, "lobby": 0, "back": 90}
        with pytest.raises(AccessRuleError, match="0 \\(off\\) to 86400 seconds"):
            rules.set_anti_passback(s, ADMIN, -1)


def test_refusals_name_the_problem(sessions):
    with sessions.begin() as s:
        rules.create_group(s, ADMIN, " staff ")
        with pytest.raises(AccessRuleError, match="'staff' exists already"):
            rules.create_group(s, ADMIN, "staff")
        with pytest.raises(AccessRuleError, match="no group named 'cleaners'"):
            rules.set_member(s, ADMIN, "Ada", "cleaners", True)
        with pytest.raises(GalleryError, match="no enrolled person named 'Eve'"):
            rules.set_member(s, ADMIN, "Eve", "staff", True)
        with pytest.raises(AccessRuleError, match="one line"):
            rules.create_group(s, ADMIN, "a\nb")
        with pytest.raises(AccessRuleError, match="at least one day"):
            rules.add_window(s, ADMIN, "staff", 0, 420, 1140)
        assert rules.set_member(s, ADMIN, "Ada", "staff", True) and not rules.set_member(s, ADMIN, "Ada", "staff", True)


def test_the_database_refuses_a_window_it_cannot_apply(sessions):
    with sessions.begin() as s:
        group = rules.create_group(s, ADMIN, "staff").id
    with pytest.raises(IntegrityError):
        with sessions.begin() as s:
            s.add(AccessWindow(group_id=group, kiosk_id=None, days=WEEKDAYS, start_minute=600, end_minute=600))


def test_deleting_a_person_or_a_group_takes_their_memberships_and_windows(sessions):
    with sessions.begin() as s:
        rules.create_group(s, ADMIN, "staff")
        rules.set_member(s, ADMIN, "Ada", "staff", True)
        rules.set_member(s, ADMIN, "Bob", "staff", True)
        rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140)
    with sessions.begin() as s:
        delete_person(s, "Ada")
    with sessions.begin() as s:
        assert rules.list_groups(s)[0].members == ["Bob"]
        gone = rules.delete_group(s, ADMIN, "staff")
    assert (gone.members, len(gone.windows)) == (["Bob"], 1)
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(PersonGroup)) == 0
        assert s.scalar(select(func.count()).select_from(AccessWindow)) == 0
        assert [p for p in ("Bob", "Zoë") if get_person(s, p)] == ["Bob", "Zoë"]   # the people stay


def test_revoke_removes_one_doors_windows_or_all(sessions):
    with sessions.begin() as s:
        rules.create_group(s, ADMIN, "staff")
        rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140)
        rules.add_window(s, ADMIN, "staff", 0b1100000, 600, 720, kiosk_id="back", new_door=True)
        one = rules.add_window(s, ADMIN, "staff", 0b1100000, 800, 900, kiosk_id="front")
    with sessions.begin() as s:
        assert rules.remove_windows(s, ADMIN, "staff", window_id=one.id) == 1
        assert rules.remove_windows(s, ADMIN, "staff", kiosk_id="back") == 1
        assert [w.describe() for w in rules.list_groups(s)[0].windows] == ["Mon-Fri 07:00-19:00 (every door)"]
        assert rules.remove_windows(s, ADMIN, "staff") == 1


def test_the_database_holds_one_every_door_policy(sessions):
    """A second every-door row (two admins at once, or a hand-made insert) is
    refused by the database itself, so set_anti_passback never finds two."""
    with sessions.begin() as s:
        rules.set_anti_passback(s, ADMIN, 60)
    with sessions.begin() as s:
        every_door = s.scalar(select(DoorPolicy.kiosk_id))   # as access_rules stores "every door"
    with pytest.raises(IntegrityError):
        with sessions.begin() as s:
            s.add(DoorPolicy(kiosk_id=every_door, anti_passback_s=5))
    with sessions.begin() as s:
        rules.set_anti_passback(s, ADMIN, 120)
    with sessions.begin() as s:
        assert rules.policies(s) == {None: 120} and rules.load_door_rules(s, "front").anti_passback_s == 120


def test_each_change_is_recorded_as_its_author_with_it(sessions):
    """The audit line is written in the change's transaction, prefixed with
    where it came from (like kiosk.store.gallery_writes); a refused change
    leaves neither."""
    panel = Author("front", ADMIN_PANEL)
    with sessions.begin() as s:
        rules.create_group(s, ADMIN, "staff")
        rules.set_member(s, panel, "Zoë", "staff", True)
        assert not rules.set_member(s, panel, "Zoë", "staff", True)     # nothing changed: nothing recorded
        rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140, kiosk_id="front")
        rules.set_anti_passback(s, panel, 60)
        rules.remove_windows(s, ADMIN, "staff", kiosk_id="front")
    with pytest.raises(AccessRuleError):
        with sessions.begin() as s:
            rules.delete_group(s, ADMIN, "staff")
            rules.create_group(s, ADMIN, "a\nb")
    with sessions.begin() as s:
        assert [(a.kiosk_id, a.action, a.detail) for a in s.scalars(select(AdminAction).order_by(AdminAction.id))] == [
            ("front", "groups create", "command line: created group staff"),
            ("front", "people join", "admin panel: Zoë joined staff"),
            ("front", "groups allow", "command line: staff may enter Mon-Fri 07:00-19:00 (front)"),
            ("front", "groups anti-passback", "admin panel: anti-passback at every door: 60 s"),
            ("front", "groups revoke", "command line: removed 1 window(s) of staff at front")]


def test_removing_windows_groups_or_members_never_opens_a_door(sessions):
    """A restricted door stays restricted whatever is taken away: with no
    window left it admits no one, never everyone."""
    with sessions.begin() as s:
        rules.create_group(s, ADMIN, "staff")
        rules.set_member(s, ADMIN, "Ada", "staff", True)
        rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140)                              # every door
        rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140, kiosk_id="back", new_door=True)
    with sessions.begin() as s:
        assert rules.remove_windows(s, ADMIN, "staff") == 2
    with sessions.begin() as s:
        front, back, other = (rules.load_door_rules(s, d) for d in ("front", "back", None))
    assert front.restricted and back.restricted and other.restricted and front.windows == ()
    assert front.admits() == "no one (restricted, and no group has a window here)"
    with sessions.begin() as s:
        rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140, kiosk_id="back")
        rules.delete_group(s, ADMIN, "staff")
    with sessions.begin() as s:
        assert rules.load_door_rules(s, "back").restricted
        assert rules.what_doors_admit(s, ("front",)) == {
            "back": "no one (restricted, and no group has a window here)",
            "front": "no one (restricted, and no group has a window here)",
            None: "no one (restricted, and no group has a window here)"}


def test_only_open_door_opens_a_door_and_only_once_its_windows_are_gone(sessions):
    with sessions.begin() as s:
        rules.create_group(s, ADMIN, "staff")
        rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140)
        rules.add_window(s, ADMIN, "staff", 127, 0, 1440, kiosk_id="back", new_door=True)
    with sessions.begin() as s:
        with pytest.raises(AccessRuleError, match=r"windows still apply at every door: staff Mon-Fri 07:00-19:00 "
                                                  r"\(every door\): revoke them first"):
            rules.open_door(s, ADMIN)
        rules.remove_windows(s, ADMIN, "staff")
    with sessions.begin() as s:
        with pytest.raises(AccessRuleError, match="back stays restricted while every door is"):
            rules.open_door(s, ADMIN, "back")
        assert rules.open_door(s, ADMIN) and not rules.open_door(s, ADMIN)   # the second: nothing to open
    with sessions.begin() as s:
        assert rules.what_doors_admit(s, ("front",)) == {
            "back": "no one (restricted, and no group has a window here)",
            "front": "everyone enrolled, at any time", None: "everyone enrolled, at any time"}
        assert rules.open_door(s, ADMIN, "back")
    with sessions.begin() as s:
        assert not rules.load_door_rules(s, "back").restricted
        assert [(a.action, a.detail) for a in s.scalars(select(AdminAction).where(
            AdminAction.action == "groups open-door").order_by(AdminAction.id))] == [
            ("groups open-door", "command line: opened every door to everyone enrolled, at any time"),
            ("groups open-door", "command line: opened back to everyone enrolled, at any time")]


def test_a_door_nothing_names_is_refused_unless_new_on_purpose(sessions):
    """Door ids match exactly: a mis-typed one would restrict a door that does
    not exist and leave the real one as it was."""
    with sessions.begin() as s:
        rules.create_group(s, ADMIN, "staff")
        append_event(s, NewEvent("granted", None, "Ada", 0.5, None, "Back-Door"))   # a log row names it
    with sessions.begin() as s:
        for write in (lambda: rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140, kiosk_id="back-door"),
                      lambda: rules.set_anti_passback(s, ADMIN, 60, kiosk_id="back-door"),
                      lambda: rules.remove_windows(s, ADMIN, "staff", kiosk_id="back-door"),
                      lambda: rules.open_door(s, ADMIN, "back-door")):
            with pytest.raises(UnknownDoor, match=r"no log row, policy or setting names a door 'back-door' "
                                                  r"\(did you mean 'Back-Door'\?\); known doors: Back-Door, front"):
                write()
        with pytest.raises(AccessRuleError, match="'\\*' is not a door id"):
            rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140, kiosk_id="*")
        rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140, kiosk_id="Back-Door")   # as the log names it
        rules.set_anti_passback(s, ADMIN, 60, kiosk_id="front")                          # this door: known
        rules.add_window(s, ADMIN, "staff", WEEKDAYS, 420, 1140, kiosk_id="side", new_door=True)
    with sessions.begin() as s:
        assert rules.known_doors(s) == ["Back-Door", "front", "side"]
