"""The recognizer's one writer to the access log: short transactions, and events
kept in memory while the database refuses them, so a locked or full database
costs no entry."""

from __future__ import annotations

import logging
from collections import deque

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from kiosk.access_log import NewEvent, append_event

log = logging.getLogger("kiosk.log")

MAX_PENDING = 10_000  # about a week of a busy door; beyond that the oldest go first


class EventWriter:
    """append() writes the new events with any that failed before, oldest first,
    in one transaction. On failure they stay pending for the next call."""

    def __init__(self, sessions: sessionmaker, max_pending: int = MAX_PENDING):
        self.sessions = sessions
        self.pending: deque[NewEvent] = deque(maxlen=max_pending)
        self.error: str | None = None

    def append(self, events: list[NewEvent]) -> str | None:
        """None when everything pending is written, else why not (already logged)."""
        self.pending.extend(events)
        if not self.pending:
            return None
        try:
            with self.sessions.begin() as session:
                for event in self.pending:
                    append_event(session, event)
        except (SQLAlchemyError, OSError) as exc:
            message = f"access log not written ({len(self.pending)} waiting): {exc.__class__.__name__}: {exc}"
            if message.split(":")[0] != (self.error or "").split(":")[0]:
                log.warning("%s", message)
            self.error = message
            return message
        self.pending.clear()
        self.error = None
        return None
