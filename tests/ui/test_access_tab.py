"""ui.admin.access_tab on a real SQLite file: groups, members, windows and
anti-passback written with their audit lines, and what the door then loads."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from kiosk.store import access_rules as rules
from kiosk.store.db import AdminAction
from kiosk.store.gallery import NewSample, add_samples, gallery_version
from ui.admin.access_tab import AccessTab

KIOSK = "front-door"


@pytest.fixture
def sessions(db_url, open_gallery):
    sessions = open_gallery(db_url)
    with sessions.begin() as s:
        for seed, name in enumerate(["Ada", "Zoë"]):
            v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
            add_samples(s, name, [NewSample(v / np.linalg.norm(v), b"\xff\xd8", 1.0)], "m")
    return sessions


@pytest.fixture
def tab(qtbot, sessions):
    tab = AccessTab(sessions, KIOSK)
    qtbot.addWidget(tab)
    # The real dialogs would wait for a click: a test that means one to open replaces them.
    tab.confirm_new_door = lambda parent, door, known: pytest.fail(f"asked about a new door {door!r}")
    tab.confirm_open_door = lambda parent, door: pytest.fail(f"asked to open {door}")
    return tab


def actions(sessions) -> list[tuple[str, str]]:
    with sessions.begin() as s:
        return [(a.action, a.detail) for a in s.scalars(select(AdminAction).order_by(AdminAction.id))]


def door_rules(sessions):
    with sessions.begin() as s:
        return rules.load_door_rules(s, KIOSK)


def test_no_rules_says_everyone_is_admitted(tab):
    assert tab.group_names() == []
    assert tab.door_status.text().splitlines() == [f"This door ({KIOSK}) admits everyone enrolled, at any time.",
                                                   "Any other door admits everyone enrolled, at any time."]
    assert not tab.add_window_button.isEnabled() and not tab.delete_button.isEnabled()


def test_a_group_with_members_and_a_window_restricts_the_door(qtbot, tab, sessions):
    tab.ask_group_name = lambda parent: "staff"
    with qtbot.waitSignal(tab.gallery_changed, timeout=2000):
        qtbot.mouseClick(tab.new_button, Qt.MouseButton.LeftButton)
    assert tab.group_names() == ["staff"] and tab.selected_group() == "staff"
    # Ticking a person in the members list puts them in the group.
    zoe = tab.members.findItems("Zoë", Qt.MatchFlag.MatchExactly)[0]
    with qtbot.waitSignal(tab.gallery_changed, timeout=2000):
        zoe.setCheckState(Qt.CheckState.Checked)
    assert tab.member_names() == ["Zoë"]
    # Saturday and Sunday ticked, the weekdays not: the form's days are what is stored.
    for i, box in enumerate(tab.day_boxes):
        box.setChecked(i >= 5)
    tab.hours_edit.setText("09:00-13:00")
    with qtbot.waitSignal(tab.gallery_changed, timeout=2000):
        qtbot.mouseClick(tab.add_window_button, Qt.MouseButton.LeftButton)
    assert tab.window_texts() == ["Sat-Sun 09:00-13:00 (every door)"]
    assert f"This door ({KIOSK}) admits only the members of staff, in their windows." in tab.door_status.text()
    door = door_rules(sessions)
    assert door.restricted and [w.describe() for w in door.windows] == ["Sat-Sun 09:00-13:00 (every door)"]
    assert list(door.groups_of.values()) == [frozenset({door.windows[0].group_id})]
    assert actions(sessions) == [("groups create", "admin panel: created group staff"),
                                 ("people join", "admin panel: Zoë joined staff"),
                                 ("groups allow", "admin panel: staff may enter Sat-Sun 09:00-13:00 (every door)")]


def test_bad_hours_are_refused_inline_and_nothing_is_written(qtbot, tab, sessions):
    tab.create_group("staff")
    with sessions.begin() as s:
        version = gallery_version(s)
    tab.hours_edit.setText("9-5")
    with qtbot.assertNotEmitted(tab.gallery_changed):
        qtbot.mouseClick(tab.add_window_button, Qt.MouseButton.LeftButton)
    assert "not a time of day" in tab.message.text() and tab.window_texts() == []
    with sessions.begin() as s:
        assert gallery_version(s) == version


def test_a_window_at_another_door_leaves_this_door_open_to_all(tab, sessions):
    tab.create_group("night")
    asked = []
    tab.confirm_new_door = lambda parent, door, known: asked.append((door, known)) or True
    assert tab.add_window(0b11111, "22:00-06:00", door="back-door")
    assert asked == [("back-door", [KIOSK])]      # a door nothing named yet: asked once, and said yes
    assert tab.window_texts() == ["Mon-Fri 22:00-06:00 (back-door)"]
    assert not door_rules(sessions).restricted
    window_id = tab.windows.item(0).data(Qt.ItemDataRole.UserRole)
    assert tab.remove_window(window_id) and tab.window_texts() == []
    assert "back-door admits no one (restricted, and no group has a window here)." in tab.door_status.text()


def test_a_door_nothing_names_is_not_written_unless_confirmed(qtbot, tab, sessions):
    tab.create_group("staff")
    tab.confirm_new_door = lambda parent, door, known: False
    with qtbot.assertNotEmitted(tab.gallery_changed):
        assert not tab.add_window(0b11111, "07:00-19:00", door="Front-door")
    assert "did you mean 'front-door'?" in tab.message.text() and tab.window_texts() == []
    with sessions.begin() as s:
        assert rules.policies(s) == {} and rules.what_doors_admit(s) == {None: "everyone enrolled, at any time"}


def test_removing_the_last_window_admits_no_one_until_the_door_is_opened(qtbot, tab, sessions):
    tab.create_group("staff")
    assert tab.add_window(0b1111111, "00:00-24:00")
    tab.windows.setCurrentRow(0)
    with qtbot.waitSignal(tab.gallery_changed, timeout=2000):
        qtbot.mouseClick(tab.remove_window_button, Qt.MouseButton.LeftButton)
    assert door_rules(sessions).restricted and door_rules(sessions).windows == ()
    assert f"This door ({KIOSK}) admits no one (restricted, and no group has a window here)." in \
        tab.door_status.text()
    tab.confirm_open_door = lambda parent, door: door == "every door"
    with qtbot.waitSignal(tab.gallery_changed, timeout=2000):
        qtbot.mouseClick(tab.open_door_button, Qt.MouseButton.LeftButton)
    assert not door_rules(sessions).restricted
    assert f"This door ({KIOSK}) admits everyone enrolled, at any time." in tab.door_status.text()
    assert actions(sessions)[-1] == ("groups open-door",
                                     "admin panel: opened every door to everyone enrolled, at any time")


def test_anti_passback_of_this_door(qtbot, tab, sessions):
    tab.anti_passback.setValue(120)
    with qtbot.waitSignal(tab.gallery_changed, timeout=2000):
        qtbot.mouseClick(tab.anti_passback_button, Qt.MouseButton.LeftButton)
    assert door_rules(sessions).anti_passback_s == 120
    with sessions.begin() as s:
        assert rules.policies(s) == {KIOSK: 120}
    assert actions(sessions) == [("groups anti-passback", f"admin panel: anti-passback at {KIOSK}: 120 s")]


def test_deleting_a_group_asks_first(qtbot, tab, sessions):
    tab.create_group("staff")
    tab.confirm_delete_group = lambda parent, name: False
    with qtbot.assertNotEmitted(tab.gallery_changed):
        qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    tab.confirm_delete_group = lambda parent, name: True
    with qtbot.waitSignal(tab.gallery_changed, timeout=2000):
        qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    assert tab.group_names() == [] and actions(sessions)[-1] == ("groups delete", "admin panel: deleted group staff "
                                                                 "(0 member(s), 0 window(s))")


def test_a_group_name_taken_is_refused_inline(tab):
    assert tab.create_group("staff")
    assert not tab.create_group("staff")
    assert "exists already" in tab.message.text() and tab.group_names() == ["staff"]
