"""A door decision as the JSON message the outside world gets (MQTT, a command relay)."""

from __future__ import annotations

from kiosk.common.door_events import NewEvent


def event_message(event: NewEvent) -> dict:
    """{"type", "name", "kiosk_id", "time" (ISO-8601, UTC), "distance"}."""
    return {"type": event.decision, "name": event.name, "kiosk_id": event.kiosk_id,
            "time": event.time.isoformat(timespec="milliseconds") if event.time else None,
            "distance": None if event.distance is None else round(event.distance, 4)}
