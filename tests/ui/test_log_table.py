"""ui.admin.log_model and ui.admin.log_tab on a real SQLite file."""

from __future__ import annotations

import csv
import time
from datetime import datetime, timedelta, timezone

import cv2
import pytest
from PySide6.QtCore import QDate, QModelIndex, Qt
from PySide6.QtGui import QColor, QPixmap
from sqlalchemy import insert, text

from kiosk.common.door_events import DENIED, GRANTED, SPOOF

from kiosk.store.access_log import LogFilter
from kiosk.store.db import AccessEvent, engine_of
from kiosk.vision.images import encode_jpeg, load_rgb
from ui.admin import log_model
from kiosk.store.access_log import PAGE, EventPager
from ui.admin.log_model import THUMBNAIL_HEIGHT, Column, LogRole, LogTableModel
from ui.admin.log_tab import LogTab

BASE = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
DISPLAY = Qt.ItemDataRole.DisplayRole


@pytest.fixture
def kolkata(monkeypatch):
    """Local time UTC+05:30, so local and UTC dates differ in the evening."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def face_jpeg(faces_dir) -> bytes:
    """A real face crop as the door stores it: 160x160 JPEG."""
    rgb = load_rgb(faces_dir / "people" / "obama" / "obama.jpg")
    h, w = rgb.shape[:2]
    side = min(h, w) // 2
    crop = rgb[h // 4: h // 4 + side, (w - side) // 2: (w + side) // 2]
    return encode_jpeg(cv2.resize(crop, (160, 160), interpolation=cv2.INTER_AREA), quality=80)


def event(minute: int, name: str | None = "Ada", decision: str = GRANTED, distance: float | None = 0.3,
          snapshot: bytes | None = None, kiosk_id: str = "door-1") -> dict:
    return dict(time=BASE + timedelta(minutes=minute), name=name, decision=decision, distance=distance,
                snapshot=snapshot, kiosk_id=kiosk_id, person_id=None)


def insert_events(sessions, rows: list[dict]) -> None:
    with sessions.begin() as session:
        session.execute(insert(AccessEvent), rows)


def loaded(sessions, where: LogFilter = LogFilter()) -> LogTableModel:
    model = LogTableModel(sessions)
    model.set_filter(where)
    return model


def column(model: LogTableModel, col: Column) -> list:
    return [model.data(model.index(r, col), DISPLAY) for r in range(model.rowCount())]


def row_times(model: LogTableModel) -> list[datetime]:
    return [model.data(model.index(r, 0), LogRole.ROW).time for r in range(model.rowCount())]


def fetch_all(model: LogTableModel) -> None:
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())


# --- the model ---------------------------------------------------------------

def test_model_passes_the_qt_model_tester(qtmodeltester, sessions, face_jpeg):
    insert_events(sessions, [event(i, name=None if i % 4 == 0 else "Ada", decision=DENIED if i % 4 == 0 else GRANTED,
                                   distance=None if i % 5 == 0 else 0.25, snapshot=face_jpeg if i % 3 == 0 else None)
                             for i in range(PAGE + 30)])
    model = loaded(sessions)
    assert model.canFetchMore(QModelIndex())
    qtmodeltester.check(model)
    assert model.rowCount() == PAGE + 30  # the tester fetched the rest


def test_rows_are_newest_first_in_local_time(qtbot, sessions, kolkata):
    minutes = [5, 700, 0, 42, 699]  # inserted out of order
    insert_events(sessions, [event(m, name=None if m == 42 else f"P{m}", distance=None if m == 0 else m / 1000)
                             for m in minutes])
    model = loaded(sessions)
    assert column(model, Column.NAME) == ["P700", "P699", "unknown", "P5", "P0"]
    # 08:00 UTC + 700 min = 19:40 UTC = 01:10 next day in Kolkata
    assert column(model, Column.TIME)[0] == "2026-11-02 01:10:00"
    assert column(model, Column.DISTANCE) == ["0.700", "0.699", "0.042", "0.005", ""]
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in Column] == [
        "Time", "Kiosk", "Name", "Decision", "Distance", "Snapshot"]
    assert model.total == 5


def test_decision_column_is_green_or_red(qtbot, sessions):
    insert_events(sessions, [event(0, decision=DENIED, name=None), event(1, decision=GRANTED)])
    model = loaded(sessions)
    granted, denied = (model.data(model.index(r, Column.DECISION), Qt.ItemDataRole.ForegroundRole)
                       for r in range(2))
    assert column(model, Column.DECISION) == [GRANTED, DENIED]
    assert isinstance(granted, QColor) and granted.green() > granted.red()
    assert isinstance(denied, QColor) and denied.red() > denied.green()
    assert model.data(model.index(0, Column.NAME), Qt.ItemDataRole.ForegroundRole) is None


def test_pages_of_200_until_the_end(qtbot, sessions):
    insert_events(sessions, [event(i) for i in range(450)])
    model = loaded(sessions)
    counts = [model.rowCount()]
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        counts.append(model.rowCount())
    assert counts == [200, 400, 450]
    times = row_times(model)
    assert times == sorted(times, reverse=True) and len(set(times)) == 450


def test_events_logged_between_pages_are_neither_repeated_nor_skipped(qtbot, sessions):
    insert_events(sessions, [event(i) for i in range(250)])
    model = loaded(sessions)
    insert_events(sessions, [event(1000 + i) for i in range(7)])  # newer: push every row down
    model.fetchMore(QModelIndex())
    assert row_times(model) == [BASE.astimezone() + timedelta(minutes=i) for i in reversed(range(250))]
    model.refresh()
    assert model.rowCount() == PAGE and model.total == 257
    assert row_times(model)[0] == BASE.astimezone() + timedelta(minutes=1006)


def test_filters_by_name_decision_and_dates(qtbot, sessions):
    names = ["Ada", "Vladimir", "BRADLEY", None, "Bob"]
    insert_events(sessions, [event(i, name=names[i % 5], decision=DENIED if names[i % 5] is None else GRANTED)
                             for i in range(50)])
    model = loaded(sessions, LogFilter(name="aD"))
    assert sorted(set(column(model, Column.NAME))) == ["Ada", "BRADLEY", "Vladimir"] and model.total == 30
    model.set_filter(LogFilter(decision=DENIED))
    assert set(column(model, Column.NAME)) == {"unknown"} and model.rowCount() == 10
    model.set_filter(LogFilter(since=BASE + timedelta(minutes=10), until=BASE + timedelta(minutes=20)))
    assert row_times(model) == [BASE.astimezone() + timedelta(minutes=i) for i in range(19, 9, -1)]


def test_a_database_error_is_emitted_not_raised(qtbot, sessions):
    insert_events(sessions, [event(i) for i in range(PAGE + 1)])
    model = loaded(sessions)
    with engine_of(sessions).begin() as conn:
        conn.execute(text("DROP TABLE access_event"))
    with qtbot.waitSignal(model.errored) as blocker:
        model.fetchMore(QModelIndex())
    assert "no such table" in str(blocker.args[0])
    assert model.rowCount() == PAGE and not model.canFetchMore(QModelIndex())


# --- snapshots -----------------------------------------------------------------

def test_a_thumbnail_is_made_once_when_first_shown(qtbot, sessions, face_jpeg, monkeypatch):
    insert_events(sessions, [event(0, snapshot=None), event(1, snapshot=face_jpeg), event(2, snapshot=b"not a jpeg")])
    made = []
    real = log_model.jpeg_pixmap
    monkeypatch.setattr(log_model, "jpeg_pixmap", lambda jpeg, height: made.append(jpeg) or real(jpeg, height))
    model = loaded(sessions)
    assert made == []  # nothing decoded until a view asks
    decoration = Qt.ItemDataRole.DecorationRole
    broken, face, none = (model.index(r, Column.SNAPSHOT) for r in range(3))
    picture = model.data(face, decoration)
    assert isinstance(picture, QPixmap) and not picture.isNull() and picture.height() == THUMBNAIL_HEIGHT
    assert model.data(face, decoration).cacheKey() == picture.cacheKey() and made == [face_jpeg]
    assert model.data(none, decoration) is None and model.data(broken, decoration) is None
    assert model.data(face, DISPLAY) is None  # the picture only, no text


# --- the tab ---------------------------------------------------------------------

@pytest.fixture
def tab(qtbot, sessions):
    errors = []

    def make() -> LogTab:
        widget = LogTab(sessions)
        widget.show_error = lambda parent, message: errors.append(message)
        widget.errors = errors
        qtbot.addWidget(widget)
        return widget
    return make


def test_tab_widgets_drive_the_filter(qtbot, sessions, tab, kolkata):
    # UTC 18:00 is 23:30 in Kolkata, 18:45 is 00:15 the next day
    utc = [(1, 18, 0), (1, 18, 45), (2, 18, 0), (2, 19, 0)]
    insert_events(sessions, [dict(event(0, name=f"Ada{i}", decision=DENIED if i % 2 else GRANTED),
                                  time=datetime(2026, 11, d, h, m, tzinfo=timezone.utc))
                             for i, (d, h, m) in enumerate(utc)])
    log = tab()
    assert log.model.rowCount() == 4 and log.count_label.text() == "4 events"
    with qtbot.waitSignal(log.model.modelReset):
        log.since_check.setChecked(True)
        log.since_edit.setDate(QDate(2026, 11, 2))
        log.until_check.setChecked(True)
        log.until_edit.setDate(QDate(2026, 11, 2))
    assert column(log.model, Column.NAME) == ["Ada2", "Ada1"]  # 2 Nov local, not UTC
    with qtbot.waitSignal(log.model.modelReset):
        log.decision_box.setCurrentIndex(log.decision_box.findData(DENIED))
    assert column(log.model, Column.NAME) == ["Ada1"]
    with qtbot.waitSignal(log.model.modelReset):
        log.until_check.setChecked(False)
        log.name_edit.setText(" ADA3 ")
    assert column(log.model, Column.NAME) == ["Ada3"] and log.count_label.text() == "1 event"
    assert log.errors == []


def test_the_tab_filters_refused_photos_and_screens(qtbot, sessions, tab):
    insert_events(sessions, [event(0, decision=SPOOF), event(1, name="Bob")])
    log = tab()
    with qtbot.waitSignal(log.model.modelReset):
        log.decision_box.setCurrentIndex(log.decision_box.findData(SPOOF))
    assert column(log.model, Column.NAME) == ["Ada"] and column(log.model, Column.DECISION) == [SPOOF]


def test_count_label_says_how_many_are_fetched(qtbot, sessions, tab):
    insert_events(sessions, [event(i) for i in range(450)])
    log = tab()
    assert log.count_label.text() == "200 of 450 events shown"
    log.model.fetchMore(QModelIndex())
    assert log.count_label.text() == "400 of 450 events shown"


def test_refresh_shows_new_events(qtbot, sessions, tab):
    insert_events(sessions, [event(0)])
    log = tab()
    insert_events(sessions, [event(1, name="Bob")])
    assert log.model.rowCount() == 1
    log.refresh_button.click()
    assert column(log.model, Column.NAME) == ["Bob", "Ada"]


def test_export_writes_every_filtered_row_not_only_the_fetched_ones(qtbot, sessions, tab, tmp_path):
    insert_events(sessions, [event(i, name=None if i % 2 else "Ada", decision=DENIED if i % 2 else GRANTED,
                                   distance=None if i % 2 else 0.123456) for i in range(600)])
    log = tab()
    with qtbot.waitSignal(log.model.modelReset):
        log.decision_box.setCurrentIndex(log.decision_box.findData(DENIED))
    assert log.model.rowCount() == PAGE and log.model.total == 300
    out = tmp_path / "denied.csv"
    assert log.export_csv(out) == 300
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    expected = [(BASE + timedelta(minutes=i)).replace(tzinfo=None).isoformat() for i in range(599, 0, -2)]
    assert [r["time"] for r in rows] == expected
    assert {(r["decision"], r["name"], r["distance"], r["kiosk_id"]) for r in rows} == {(DENIED, "", "", "door-1")}


def test_export_button_asks_for_the_path(qtbot, sessions, tab, tmp_path):
    insert_events(sessions, [event(i, name="Ada" if i < 3 else "Bob") for i in range(5)])
    log = tab()
    log.name_edit.setText("ada")
    log.apply_filter()
    out = tmp_path / "ada.csv"
    log.ask_export_path = lambda parent: out
    with qtbot.waitSignal(log.exported) as blocker:
        log.export_button.click()
    assert blocker.args == [out, 3]
    assert out.read_text(encoding="utf-8").splitlines()[1:] == [
        f"2026-11-01T08:0{i}:00,door-1,granted,Ada,0.3000" for i in (2, 1, 0)]
    assert "exported 3" in log.count_label.text()


def test_export_cancelled_writes_nothing(qtbot, sessions, tab, tmp_path):
    log = tab()
    log.ask_export_path = lambda parent: None
    log.export_button.click()
    assert list(tmp_path.glob("*.csv")) == [] and log.errors == []


@pytest.mark.parametrize("target", ["missing-dir/log.csv", "a-folder"])
def test_an_unwritable_export_path_shows_one_message(qtbot, sessions, tab, tmp_path, target):
    insert_events(sessions, [event(0)])
    (tmp_path / "a-folder").mkdir()
    log = tab()
    before = sorted(tmp_path.rglob("*"))
    path = tmp_path / target
    log.ask_export_path = lambda parent: path
    log.export_button.click()
    assert len(log.errors) == 1 and str(path) in log.errors[0]
    assert sorted(tmp_path.rglob("*")) == before  # no half-written file or temporary left behind


def test_a_database_error_in_the_tab_is_one_message(qtbot, sessions, tab, tmp_path):
    log = tab()
    with engine_of(sessions).begin() as conn:
        conn.execute(text("DROP TABLE access_event"))
    log.refresh_button.click()
    assert len(log.errors) == 1 and "no such table" in log.errors[0]
    log.ask_export_path = lambda parent: tmp_path / "log.csv"
    log.export_button.click()
    assert len(log.errors) == 2 and not (tmp_path / "log.csv").exists()


# --- 100,000 rows -----------------------------------------------------------------

def test_100k_rows_are_paged_not_loaded(qtbot, sessions):
    n = 100_000
    started = time.perf_counter()
    insert_events(sessions, [event(i, name=f"P{i}", decision=DENIED if i % 3 == 0 else GRANTED) for i in range(n)])
    inserted = time.perf_counter()
    model = loaded(sessions)
    first = time.perf_counter()
    assert model.rowCount() == PAGE and model.total == n
    assert column(model, Column.NAME)[:2] == [f"P{n - 1}", f"P{n - 2}"]
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 2 * PAGE
    deep = EventPager(LogFilter())
    deep.offset = n - PAGE
    t0 = time.perf_counter()
    with sessions.begin() as session:
        page = [log_model.LogRow.of(e) for e in deep.next_page(session)]
    t1 = time.perf_counter()
    assert [r.name for r in page[:2]] == [f"P{PAGE - 1}", f"P{PAGE - 2}"] and len(page) == PAGE
    assert not deep.more
    print(f"\n100k rows: insert {inserted - started:.2f} s, first page + count {1000 * (first - inserted):.1f} ms, "
          f"page at offset {n - PAGE} {1000 * (t1 - t0):.1f} ms")
