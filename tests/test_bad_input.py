"""Bad input and faults at the command line: one line naming the file or
setting, a non-zero exit, and nothing written; and what is kept, for how long
(real models, real photos, real SQLite)."""

import json
import shutil
import sqlite3
import time
from contextlib import contextmanager
from datetime import timedelta

import cv2
import pytest
from sqlalchemy import select
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

from kiosk.common.door_events import DENIED, NewEvent

from kiosk.store.access_log import append_event
from kiosk.store.db import AccessEvent, engine_of, open_database, utc_now
from kiosk.store.event_writer import BackgroundWriter, EventWriter
from helpers import png_declaring


def test_an_image_bomb_is_refused_and_the_batch_goes_on(kiosk, faces_dir, tmp_path):
    bomb = png_declaring(tmp_path / "bomb.png", 33000, 33000)
    obama = faces_dir / "people" / "obama" / "obama.jpg"
    assert kiosk("enroll", "obama", obama)[0] == 0
    code, out, _ = kiosk("identify", bomb, faces_dir / "people" / "obama" / "obama2.jpg")
    bad, good = json.loads(out)["results"]
    assert code == 1 and "bomb.png: 33000 x 33000 pixels" in bad["error"]
    assert [f["name"] for f in good["faces"]] == ["obama"]

    code, _, err = kiosk("enroll", "biden", faces_dir / "people" / "biden" / "biden.jpg", bomb)
    assert code == 1 and "bomb.png: 33000 x 33000 pixels, over the limit" in err
    assert "Traceback" not in err
    assert json.loads(kiosk("people")[1])["people"] == [{"name": "obama", "samples": 1}]

    folders = tmp_path / "photos"
    shutil.copytree(faces_dir / "people" / "biden", folders / "biden")
    shutil.copy(bomb, folders / "biden" / "bomb.png")
    shutil.copytree(faces_dir / "people" / "rose_leslie", folders / ("R" * 101))   # a name too long
    code, out, err = kiosk("import", folders)
    assert code == 1 and "bomb.png: 33000 x 33000 pixels" in err and "at most 100" in err  # skipped: exit 1
    assert json.loads(out)["people"] == [{"name": "R" * 101, "added": 0, "already_enrolled": 0, "skipped": 2},
                                         {"name": "biden", "added": 2, "already_enrolled": 0, "skipped": 1}]
    assert [p["name"] for p in json.loads(kiosk("people")[1])["people"]] == ["biden", "obama"]


def test_json_boxes_are_in_the_original_images_pixels(kiosk, faces_dir, tmp_path):
    original = faces_dir / "people" / "obama" / "obama-1080p.jpg"
    image = cv2.imread(str(original))
    factor = 2.5   # 1920 px wide becomes 4800: shrunk to 2000 on load
    cv2.imwrite(str(tmp_path / "big.jpg"), cv2.resize(image, None, fx=factor, fy=factor,
                                                       interpolation=cv2.INTER_CUBIC))
    code, out, _ = kiosk("identify", original, tmp_path / "big.jpg")
    small, big = (max(r["faces"], key=lambda f: f["confidence"]) for r in json.loads(out)["results"])
    expected, found = [v * factor for v in small["box"]], big["box"]
    # The detector ran on a 2000-px copy of big.jpg, about as sharp as the
    # 1920-px original: the box agrees to within a few per cent of its width.
    assert code == 0 and all(abs(b - e) <= 0.03 * expected[2] for b, e in zip(found, expected)), (found, expected)


def test_a_bad_name_is_one_line_and_writes_nothing(kiosk, faces_dir):
    obama = faces_dir / "people" / "obama" / "obama.jpg"
    for name, words in (("Ada\nnobody\t9 sample(s)", "control character (U+000A)"),
                        ("A" * 10_000, "at most 100")):
        code, _, err = kiosk("enroll", name, obama)
        assert code == 1 and words in err and err.count("\n") == 1
    assert kiosk("enroll", "Zoe\u0308", obama)[0] == 0            # "Zoë", decomposed
    code, out, err = kiosk("people", "rename", "Zo\u00eb", "Zoë\n")  # composed; a trailing newline is trimmed
    assert code == 0 and json.loads(out)["renamed"] == json.loads(out)["to"] == "Zoë"
    code, _, err = kiosk("people", "rename", "Zoë", "Zoë\rB")
    assert code == 1 and "U+000D" in err and err.count("\n") == 1
    assert json.loads(kiosk("people")[1])["people"] == [{"name": "Zo\u00eb", "samples": 1}]


def test_people_delete_says_nothing_was_deleted_when_the_commit_fails(kiosk, faces_dir, tmp_path):
    assert kiosk("enroll", "obama", faces_dir / "people" / "obama" / "obama.jpg")[0] == 0
    with refused_commits():
        code, out, err = kiosk("people", "delete", "obama")
    assert code == 1 and out == "" and "database or disk is full" in err and err.count("\n") == 1
    assert json.loads(kiosk("people")[1])["people"] == [{"name": "obama", "samples": 1}]
    code, out, _ = kiosk("people", "delete", "obama")
    assert code == 0 and (json.loads(out)["deleted"], json.loads(out)["samples"]) == ("obama", 1)


@contextmanager
def refused_commits():
    """A fake fault: every SQLite COMMIT fails as it does on a full disk (a
    real full disk needs a small filesystem mounted, which needs root)."""
    def full_disk(_dialect, _dbapi_connection):
        raise sqlite3.OperationalError("database or disk is full")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SQLiteDialect_pysqlite, "do_commit", full_disk)
        yield


def test_a_locked_gallery_not_in_wal_mode_is_one_line_within_seconds(kiosk, db_url):
    """Each WAL switch retry used to wait the busy timeout: 50 tries, minutes."""
    engine_of(open_database(db_url)).dispose()          # a gallery, no connection left open
    path = db_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)  # another program, in rollback-journal mode
    other.execute("PRAGMA journal_mode=DELETE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        code, out, err = kiosk("people")
        waited = time.monotonic() - started
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert code == 1 and out == "" and err.count("\n") == 1
    assert f"{path}: database is locked (another program is using it; gave up after 5 s)" in err
    assert waited < 30, waited


def log_with_snapshots(db_url: str, ages_in_days: list[float]) -> None:
    sessions = open_database(db_url)
    with sessions.begin() as s:
        for n, age in enumerate(ages_in_days):
            append_event(s, NewEvent(DENIED, None, None, None, b"crop-%d" % n, "door-1",
                                     time=utc_now() - timedelta(days=age)))
    engine_of(sessions).dispose()


def snapshots(db_url: str) -> list[bytes | None]:
    sessions = open_database(db_url)
    with sessions.begin() as s:
        found = [e.snapshot for e in s.scalars(select(AccessEvent).order_by(AccessEvent.id))]
    engine_of(sessions).dispose()
    return found


def test_log_purge_blanks_snapshots_past_the_retention_and_keeps_the_rows(kiosk, db_url, tmp_path):
    log_with_snapshots(db_url, [400, 31, 29, 0])
    code, out, _ = kiosk("log", "purge")
    assert code == 0 and json.loads(out) == {"blanked": 2, "retention_days": 30}
    assert snapshots(db_url) == [None, None, b"crop-2", b"crop-3"]
    (tmp_path / "kiosk.json").write_text('{"snapshot_retention_days": 0}')
    code, out, err = kiosk("log", "purge")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "kiosk.json: snapshot_retention_days must be between 1 and 3650, not 0" in err
    assert snapshots(db_url) == [None, None, b"crop-2", b"crop-3"]


def test_a_running_kiosks_log_writer_applies_the_retention_at_start(db_url, open_gallery):
    log_with_snapshots(db_url, [45, 2])
    writer = BackgroundWriter(EventWriter(open_gallery(db_url)), snapshot_retention_days=7)
    try:
        deadline = time.monotonic() + 10
        while snapshots(db_url)[0] is not None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        writer.close()
    assert snapshots(db_url) == [None, b"crop-1"]
