"""A frame's decisions as access-log rows."""

from __future__ import annotations

from kiosk.common.door_events import NewEvent
from kiosk.store.db import utc_now
from kiosk.vision.images import encode_jpeg
from kiosk.door.recognizer import FrameResult


def events_of(result: FrameResult, kiosk_id: str) -> list[NewEvent]:
    """The access-log rows for a frame's decisions, each with the face's crop."""
    events = []
    decided = utc_now()  # not when it is written: a busy database may delay that
    for d in result.decisions:
        face = result.faces[d.face_index].face
        events.append(NewEvent(decision=d.type, person_id=d.person_id, name=d.name,
                               distance=None if d.distance == float("inf") else d.distance,
                               snapshot_jpeg=encode_jpeg(face.aligned, quality=80), kiosk_id=kiosk_id,
                               time=decided))
    return events
