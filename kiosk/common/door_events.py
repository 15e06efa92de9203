"""What a door records: the kinds of event, and one event as the access log,
the spool and MQTT carry it. Plain values, so the door's decisions and the
outputs name them without loading the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

GRANTED = "granted"
DENIED = "denied"
SPOOF = "spoof"      # a flat picture (print, screen) of an enrolled person, refused
OUTSIDE_HOURS = "outside_hours"   # a person recognised outside their groups' windows at this door, refused
ANTI_PASSBACK = "anti_passback"   # a person granted too recently at this door (its anti-passback), refused
DOOR_HELD = "door_held"           # the door sensor: open longer than door.held_open_s
DOOR_FORCED = "door_forced"       # the door sensor: opened with no grant
REMOTE_UNLOCK = "remote_unlock"   # opened from Home Assistant's lock entity (mqtt.remote_unlock on)
DECISIONS = (GRANTED, DENIED, SPOOF, OUTSIDE_HOURS, ANTI_PASSBACK, DOOR_HELD, DOOR_FORCED, REMOTE_UNLOCK)


@dataclass(frozen=True)
class NewEvent:
    decision: str
    person_id: int | None
    name: str | None
    distance: float | None
    snapshot_jpeg: bytes | None
    kiosk_id: str
    time: datetime | None = None
