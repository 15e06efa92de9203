"""ui.admin.people_tab on a real SQLite file, with real face crops as thumbnails."""

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from helpers import PROJECT_DIR
from kiosk.common.door_events import NewEvent
from kiosk.store.db import AdminAction, FaceSample, Person
from kiosk.store.event_spool import EventSpool
from kiosk.store.gallery import NewSample, add_samples
from kiosk.vision.images import encode_jpeg, load_rgb
from ui.admin.people_tab import PeopleTab

MODEL = "test-model"


@pytest.fixture(scope="module")
def crop_jpeg() -> bytes:
    face = load_rgb(PROJECT_DIR / "resources" / "faces" / "obama.jpg")
    return encode_jpeg(cv2.resize(face, (160, 160), interpolation=cv2.INTER_AREA))


def sample(seed: int, jpeg: bytes) -> NewSample:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return NewSample(embedding=v / np.linalg.norm(v), thumbnail_jpeg=jpeg, quality=1.0, source=None)


@pytest.fixture
def sessions(sessions, crop_jpeg):
    """The gallery with Obama (two samples) and Zoë (one)."""
    with sessions.begin() as s:
        add_samples(s, "Obama", [sample(1, crop_jpeg), sample(2, crop_jpeg)], MODEL)
        add_samples(s, "Zoë", [sample(3, crop_jpeg)], MODEL)
    return sessions


@pytest.fixture
def tab(qtbot, sessions, tmp_path):
    tab = PeopleTab(sessions, "door-1", spool_dir=tmp_path)
    qtbot.addWidget(tab)
    return tab


def actions(sessions) -> list[tuple[str, str]]:
    with sessions.begin() as s:
        return [(a.action, a.detail) for a in s.scalars(select(AdminAction).order_by(AdminAction.id))]


def select_person(tab: PeopleTab, name: str) -> None:
    tab.people.setCurrentRow(tab.names().index(name))


def test_lists_people_with_thumbnails_and_counts(tab):
    assert tab.names() == ["Obama", "Zoë"]
    item = tab.people.item(0)
    assert "2 sample" in item.text()
    pixmap = item.icon().pixmap(96, 96)
    assert not pixmap.isNull()
    # The real crop, not the grey placeholder: a face has more than one colour.
    image = pixmap.toImage()
    assert len({image.pixel(x, y) for x in range(0, 96, 8) for y in range(0, 96, 8)}) > 10


def test_buttons_need_a_selection(tab):
    assert not tab.rename_button.isEnabled() and not tab.delete_button.isEnabled()
    select_person(tab, "Zoë")
    assert tab.rename_button.isEnabled() and tab.delete_button.isEnabled()


def test_rename_writes_the_gallery_and_the_audit_trail(qtbot, tab, sessions):
    select_person(tab, "Obama")
    tab.ask_new_name = lambda parent, old: "Barack"
    with qtbot.waitSignal(tab.gallery_changed, timeout=2000):
        qtbot.mouseClick(tab.rename_button, Qt.MouseButton.LeftButton)
    with sessions.begin() as s:
        assert sorted(s.scalars(select(Person.name))) == ["Barack", "Zoë"]
    assert actions(sessions) == [("rename", "admin panel: Obama -> Barack")]
    assert tab.names() == ["Barack", "Zoë"] and tab.selected_name() == "Barack"


def test_rename_to_a_taken_name_is_refused_inline(qtbot, tab, sessions):
    with qtbot.assertNotEmitted(tab.gallery_changed):
        assert not tab.rename("Obama", "Zoë")
    assert "already enrolled" in tab.message.text()
    assert actions(sessions) == [] and tab.names() == ["Obama", "Zoë"]


def test_delete_removes_every_sample_and_is_recorded(qtbot, tab, sessions, tmp_path, crop_jpeg):
    with sessions.begin() as s:
        obama = s.scalar(select(Person.id).where(Person.name == "Obama"))
    spool = EventSpool(tmp_path / "events-door-1.spool.jsonl")   # waiting from a database outage
    spool.add([NewEvent("granted", obama, "Obama", 0.2, crop_jpeg, "door-1")])
    select_person(tab, "Obama")
    tab.confirm_delete = lambda parent, name: True
    with qtbot.waitSignal(tab.gallery_changed, timeout=2000):
        qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    with sessions.begin() as s:
        assert s.scalars(select(Person.name)).all() == ["Zoë"]
        assert s.scalar(select(func.count()).select_from(FaceSample)) == 1
    assert actions(sessions) == [("delete", "admin panel: Obama (2 samples)")]
    assert tab.names() == ["Zoë"]
    assert [(e.name, e.person_id, e.snapshot_jpeg) for e in spool.load()] == [("Obama", None, None)]


def test_delete_not_confirmed_changes_nothing(qtbot, tab, sessions):
    select_person(tab, "Obama")
    tab.confirm_delete = lambda parent, name: False
    with qtbot.assertNotEmitted(tab.gallery_changed):
        qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    assert tab.names() == ["Obama", "Zoë"] and actions(sessions) == []


def test_deleting_an_unknown_person_is_refused_inline(qtbot, tab):
    with qtbot.assertNotEmitted(tab.gallery_changed):
        assert not tab.delete("Nobody")
    assert "Nobody" in tab.message.text()


def test_add_samples_asks_for_the_selected_person(qtbot, tab):
    select_person(tab, "Zoë")
    with qtbot.waitSignal(tab.add_samples_requested, timeout=2000,
                          check_params_cb=lambda name: name == "Zoë"):
        qtbot.mouseClick(tab.add_button, Qt.MouseButton.LeftButton)


def test_refresh_shows_people_enrolled_meanwhile(tab, sessions, crop_jpeg):
    with sessions.begin() as s:
        add_samples(s, "Ada", [sample(4, crop_jpeg)], MODEL)
    tab.refresh()
    assert tab.names() == ["Ada", "Obama", "Zoë"]
