"""The door's one writer to the access log: short transactions, and events kept
(in memory and, when given a spool file, on disk) while the database refuses
them, so a locked, full or unreachable database costs no entry."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import replace

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from kiosk.common.trouble import Trouble
from kiosk.common.door_events import NewEvent
from kiosk.store.access_log import append_event, purge_snapshots
from kiosk.store.event_spool import EventSpool

log = logging.getLogger("kiosk.log")

MAX_PENDING = 10_000  # about a week of a busy door; beyond that the oldest go first
RETRY_EVERY_S = 2.0   # while events wait, how often flush() tries the database again
PURGE_EVERY_S = 3600.0  # how often a running kiosk applies the snapshot retention


class EventWriter:
    """append() writes the new events with any that failed before, oldest first,
    in one transaction. On failure they stay pending for the next call (or
    flush()), and are spooled to disk so a restart does not lose them."""

    def __init__(self, sessions: sessionmaker, spool: EventSpool | None = None,
                 max_pending: int = MAX_PENDING):
        self.sessions = sessions
        self.spool = spool
        self.pending: deque[NewEvent] = deque(spool.load() if spool else (), maxlen=max_pending)
        self.error: Trouble | None = None
        self._last_try = float("-inf")

    def append(self, events: list[NewEvent]) -> Trouble | None:
        """None when everything pending is written, else why not (logged once per outage)."""
        overflow = len(self.pending) + len(events) > (self.pending.maxlen or 0)
        self.pending.extend(events)
        if not self.pending:
            return None
        try:
            self._write(list(self.pending))
        except IntegrityError:
            # One event refers to a person deleted meanwhile: write the others,
            # that one under its name without the link or the face crop (as the
            # deletion did to their logged events), rather than block the log.
            try:
                while self.pending:
                    self._write_alone(self.pending[0])
                    self.pending.popleft()
            except (SQLAlchemyError, OSError) as exc:
                return self._failed(exc, events, rewrite=True)
        except (SQLAlchemyError, OSError) as exc:
            return self._failed(exc, events, rewrite=overflow)
        self.pending.clear()
        if self.spool:
            self.spool.clear()
        if self.error:
            log.warning("access log written again")
        self.error = None
        return None

    def flush(self) -> Trouble | None:
        """Retry waiting events, at most every RETRY_EVERY_S (call it every frame)."""
        if not self.pending or time.monotonic() - self._last_try < RETRY_EVERY_S:
            return self.error
        return self.append([])

    def close(self) -> None:
        """Nothing to wait for: append() writes before it returns (BackgroundWriter's interface)."""

    def _write(self, events: list[NewEvent]) -> None:
        with self.sessions.begin() as session:
            for event in events:
                append_event(session, event)

    def _write_alone(self, event: NewEvent) -> None:
        try:
            self._write([event])
        except IntegrityError:   # the person was deleted: their crop goes with them
            self._write([replace(event, person_id=None, snapshot_jpeg=None)])

    def _failed(self, exc: Exception, new: list[NewEvent], rewrite: bool) -> Trouble:
        # Counted from the failure, not the attempt: a locked database takes
        # busy_timeout (5 s) to refuse, and retrying at once would never pause.
        self._last_try = time.monotonic()
        if self.spool:
            try:
                self.spool.replace(list(self.pending)) if rewrite else self.spool.add(new)
            except OSError as disk:
                log.error("cannot spool access events to %s: %s", self.spool.path, disk)
        reason = getattr(exc, "orig", None) or exc  # the driver's words, not the SQL
        trouble = Trouble(f"access log not written ({len(self.pending)} waiting)",
                          f"{exc.__class__.__name__}: {reason}")
        if self.error is None:
            log.warning("%s", trouble)
        self.error = trouble
        return trouble


class BackgroundWriter:
    """The door's one log-writer thread, with EventWriter's append()/flush()
    interface: the recognizer hands events over and never waits for the
    database (a locked SQLite file holds a writer for busy_timeout, 5 s).

    Given snapshot_retention_days, the same thread also blanks older log
    snapshots: at start, then every PURGE_EVERY_S."""

    _STOP = object()

    def __init__(self, writer: EventWriter, snapshot_retention_days: int | None = None):
        self.writer = writer
        self.retention_days = snapshot_retention_days
        self._next_purge = time.monotonic()
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="kiosk-log-writer", daemon=True)
        self._thread.start()

    def append(self, events: list[NewEvent]) -> Trouble | None:
        """Queue events for writing; the last known trouble, if any."""
        if events:
            self._queue.put(events)
        return self.writer.error

    def flush(self) -> Trouble | None:
        return self.writer.error

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (or spool it), then stop the thread."""
        self._queue.put(self._STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._purge_if_due()
            try:
                events = self._queue.get(timeout=RETRY_EVERY_S)
            except queue.Empty:
                self.writer.flush()
                continue
            if events is self._STOP:
                return
            self.writer.append(events)

    def _purge_if_due(self) -> None:
        if self.retention_days is None or time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + PURGE_EVERY_S
        try:
            blanked = purge_snapshots(self.writer.sessions, self.retention_days)
        except SQLAlchemyError as exc:   # the database is away: again at the next hour
            log.warning("old log snapshots not blanked: %s", getattr(exc, "orig", None) or exc)
            return
        if blanked:
            log.info("blanked %d log snapshot(s) older than %d days", blanked, self.retention_days)
