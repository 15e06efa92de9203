"""The access-log writer: an event about a person deleted meanwhile must not block the log."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from kiosk.access_log import GRANTED, NewEvent
from kiosk.db import AccessEvent, open_database
from kiosk.event_writer import EventWriter
from kiosk.gallery import NewSample, add_samples, delete_person


def test_an_event_for_a_deleted_person_is_kept_by_name_and_the_rest_written(db_url):
    sessions = open_database(db_url)
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
