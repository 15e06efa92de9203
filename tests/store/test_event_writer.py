"""The access-log writer: an event about a person deleted meanwhile must not block the log."""

from __future__ import annotations

import base64
import time
from dataclasses import replace

import numpy as np
from sqlalchemy import select

from helpers import impatient, write_locked

from kiosk.common.door_events import GRANTED, NewEvent
from kiosk.store.db import AccessEvent, utc_now
from kiosk.store.event_spool import EventSpool, purge_person
from kiosk.store.event_writer import BackgroundWriter, EventWriter
from kiosk.vision.images import encode_jpeg
from kiosk.store.gallery import NewSample, add_samples, delete_person


def test_an_event_for_a_deleted_person_is_kept_by_name_and_the_rest_written(sessions):
    vector = np.ones(128, np.float32) / np.sqrt(128)
    with sessions.begin() as session:
        gone = add_samples(session, "Gone", [NewSample(vector, b"", 1.0)], "m").id
        kept = add_samples(session, "Kept", [NewSample(-vector, b"", 1.0)], "m").id
    with sessions.begin() as session:
        delete_person(session, "Gone")
    writer = EventWriter(sessions)
    events = [NewEvent(GRANTED, gone, "Gone", 0.1, None, "door-1"),
              NewEvent(GRANTED, kept, "Kept", 0.2, None, "door-1")]
    assert writer.append(events) is None
    assert not writer.pending
    assert writer.append([NewEvent(GRANTED, kept, "Kept", 0.3, None, "door-1")]) is None
    with sessions.begin() as session:
        rows = [(e.name, e.person_id) for e in session.scalars(select(AccessEvent).order_by(AccessEvent.id))]
    assert rows == [("Gone", None), ("Kept", kept), ("Kept", kept)]


def event_named(name: str, snapshot: bytes | None = None) -> NewEvent:
    return NewEvent(GRANTED, None, name, 0.25, snapshot, "door-1", time=utc_now())


def names_in_log(sessions) -> list[str]:
    with sessions.begin() as session:
        return [e.name for e in session.scalars(select(AccessEvent).order_by(AccessEvent.id))]


def test_events_spooled_during_an_outage_survive_a_restart(db_url, tmp_path, sessions):
    sessions = impatient(sessions)
    spool = EventSpool(tmp_path / "events.spool.jsonl")
    jpeg = encode_jpeg(np.full((160, 160, 3), 128, np.uint8))
    writer = EventWriter(sessions, spool)
    with write_locked(db_url):
        assert writer.append([event_named("Zoë", jpeg), event_named("胡歌")])
        assert writer.append([event_named("third")])
        assert len(spool.load()) == 3               # on disk, not only in memory
    # The kiosk restarts before the database took them: a new writer picks them up.
    restarted = EventWriter(sessions, EventSpool(spool.path))
    assert [e.name for e in restarted.pending] == ["Zoë", "胡歌", "third"]
    assert restarted.append([event_named("fourth")]) is None
    assert names_in_log(sessions) == ["Zoë", "胡歌", "third", "fourth"]
    assert not spool.path.exists()
    with sessions.begin() as session:
        first = session.scalars(select(AccessEvent).order_by(AccessEvent.id)).first()
        assert first.snapshot == jpeg


def test_a_torn_last_line_is_skipped_not_fatal(tmp_path):
    spool = EventSpool(tmp_path / "events.spool.jsonl")
    spool.add([event_named("kept")])
    with open(spool.path, "a", encoding="utf-8") as f:
        f.write('{"decision": "granted", "na')        # power cut mid-write
    assert [e.name for e in spool.load()] == ["kept"]


def test_the_background_writer_never_makes_the_door_wait_for_a_locked_database(db_url, open_gallery):
    sessions = open_gallery(db_url)                   # the kiosk's own 5 s busy_timeout
    writer = BackgroundWriter(EventWriter(sessions))
    try:
        with write_locked(db_url):
            start = time.monotonic()
            for i in range(5):
                writer.append([event_named(f"visitor {i}")])
            handed_over = time.monotonic() - start
            assert names_in_log(sessions) == []
        assert handed_over < 1.0                      # a blocking write would take 5 s or more
    finally:
        writer.close()
    assert names_in_log(sessions) == [f"visitor {i}" for i in range(5)]


def test_a_deleted_persons_spooled_crops_go_with_them(db_url, tmp_path, sessions):
    """Deleting a person blanks the crops of their events still waiting in the
    spool files (this kiosk's and others' in the folder), and a writer that
    still holds such an event writes it without its crop."""
    sessions = impatient(sessions)
    jpeg = encode_jpeg(np.full((160, 160, 3), 77, np.uint8))
    vector = np.ones(128, np.float32) / np.sqrt(128)
    with sessions.begin() as session:
        gone = add_samples(session, "Gone", [NewSample(vector, b"", 1.0)], "m").id
    theirs = NewEvent(GRANTED, gone, "Gone", 0.1, jpeg, "door-1", time=utc_now())
    strangers_crop = encode_jpeg(np.full((160, 160, 3), 200, np.uint8))
    stranger = NewEvent("denied", None, None, None, strangers_crop, "door-1", time=utc_now())
    writer = EventWriter(sessions, EventSpool(tmp_path / "events-door-1.spool.jsonl"))
    other_door = EventSpool(tmp_path / "events-door-2.spool.jsonl")
    other_door.add([replace(theirs, kiosk_id="door-2")])
    with write_locked(db_url):
        assert writer.append([theirs, stranger])          # spooled: the database is locked
    with sessions.begin() as session:
        deleted = delete_person(session, "Gone")
    assert purge_person(tmp_path, deleted.id) == 2
    spooled = "".join(p.read_text() for p in tmp_path.glob("events-*.spool.jsonl"))
    assert base64.b64encode(jpeg).decode() not in spooled
    assert base64.b64encode(strangers_crop).decode() in spooled
    assert [(e.name, e.person_id) for e in other_door.load()] == [("Gone", None)]
    # The running writer still holds the event in memory: written without the crop.
    assert writer.append([]) is None
    with sessions.begin() as session:
        rows = [(e.name, e.person_id, e.snapshot) for e in session.scalars(select(AccessEvent).order_by(AccessEvent.id))]
    assert rows == [("Gone", None, None), (None, None, strangers_crop)]
