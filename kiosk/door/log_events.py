"""A frame's decisions as access-log rows."""

from __future__ import annotations

from kiosk.common.door_events import NewEvent
from kiosk.store.db import utc_now
from kiosk.vision.images import encode_jpeg
from kiosk.door.decisions import Decision
from kiosk.door.recognizer import FrameResult


def decision_event(result: FrameResult, decision: Decision, kiosk_id: str) -> NewEvent:
    """The access-log row for one of a frame's decisions, with the face's crop."""
    face = result.faces[decision.face_index].face
    return NewEvent(decision=decision.type, person_id=decision.person_id, name=decision.name,
                    distance=None if decision.distance == float("inf") else decision.distance,
                    snapshot_jpeg=encode_jpeg(face.aligned, quality=80), kiosk_id=kiosk_id,
                    time=utc_now())   # decided now, not when written: a busy database may delay that
