"""The recognizer's one writer to the access log: short transactions, and events
kept in memory while the database refuses them, so a locked or full database
costs no entry."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import replace

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
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
            self._write(list(self.pending))
        except IntegrityError:
            # One event refers to a person deleted meanwhile: write the others,
            # that one under its name without the link, rather than block the log.
            try:
                while self.pending:
                    self._write_alone(self.pending[0])
                    self.pending.popleft()
            except (SQLAlchemyError, OSError) as exc:
                return self._failed(exc)
        except (SQLAlchemyError, OSError) as exc:
            return self._failed(exc)
        self.pending.clear()
        self.error = None
        return None

    def _write(self, events: list[NewEvent]) -> None:
        with self.sessions.begin() as session:
            for event in events:
                append_event(session, event)

    def _write_alone(self, event: NewEvent) -> None:
        try:
            self._write([event])
        except IntegrityError:
            self._write([replace(event, person_id=None)])

    def _failed(self, exc: Exception) -> str:
        reason = getattr(exc, "orig", None) or exc  # the driver's words, not the SQL
        message = f"access log not written ({len(self.pending)} waiting): {exc.__class__.__name__}: {reason}"
        if self.error is None:  # warn once per outage, not once per frame
            log.warning("%s", message)
        self.error = message
        return message
