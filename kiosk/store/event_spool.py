"""Access events the database could not take yet, kept on disk (JSON lines) so a
kiosk that loses its database, and then its power, still loses no entry."""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from kiosk.common.door_events import NewEvent
from kiosk.common.files import write_atomically

log = logging.getLogger("kiosk.log")

# Every kiosk's spool file in a folder (KioskContext names them events-<kiosk_id>.spool.jsonl).
SPOOL_FILES = "events-*.spool.jsonl"


def _to_json(event: NewEvent) -> str:
    return json.dumps({
        "decision": event.decision, "person_id": event.person_id, "name": event.name,
        "distance": event.distance, "kiosk_id": event.kiosk_id,
        "time": event.time.isoformat() if event.time else None,
        "snapshot": base64.b64encode(event.snapshot_jpeg).decode("ascii") if event.snapshot_jpeg else None,
    }, ensure_ascii=False)


def _from_json(line: str) -> NewEvent:
    row = json.loads(line)
    return NewEvent(decision=row["decision"], person_id=row["person_id"], name=row["name"],
                    distance=row["distance"], kiosk_id=row["kiosk_id"],
                    time=datetime.fromisoformat(row["time"]) if row["time"] else None,
                    snapshot_jpeg=base64.b64decode(row["snapshot"]) if row["snapshot"] else None)


class EventSpool:
    """An append-only file of waiting events; emptied once they are in the database."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self) -> list[NewEvent]:
        """The events waiting from before (a restart during an outage); a torn last
        line (power cut mid-write) is skipped, not fatal."""
        if not self.path.exists():
            return []
        events = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                events.append(_from_json(line))
            except (ValueError, KeyError, TypeError):
                log.warning("%s:%d: unreadable spooled event skipped", self.path, number)
        return events

    def add(self, events: list[NewEvent]) -> None:
        if not events:
            return
        with open(self.path, "a", encoding="utf-8") as spool:
            spool.write("".join(_to_json(e) + "\n" for e in events))
            spool.flush()
            os.fsync(spool.fileno())

    def replace(self, events: list[NewEvent]) -> None:
        """Rewrite with exactly these events (after the oldest were dropped)."""
        write_atomically(self.path, "".join(_to_json(e) + "\n" for e in events).encode("utf-8"))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def purge_person(folder: Path, person_id: int) -> int:
    """Blank the face crop, and drop the link, of every spooled event of a
    person just deleted, in the spool files of all kiosks kept in folder; the
    events stay, under their name, as deleted people's log rows do. Returns
    how many crops were removed. (A running kiosk's writer drops them from
    memory itself when it writes them: kiosk.store.event_writer.)"""
    removed = 0
    for path in sorted(Path(folder).glob(SPOOL_FILES)):
        spool = EventSpool(path)
        events = spool.load()
        theirs = [e for e in events if e.person_id == person_id]
        if theirs:
            spool.replace([replace(e, person_id=None, snapshot_jpeg=None) if e.person_id == person_id else e
                           for e in events])
            removed += sum(1 for e in theirs if e.snapshot_jpeg)
    return removed
