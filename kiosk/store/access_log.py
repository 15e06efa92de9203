"""The access log: what each door decided, appended one short transaction at a time."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import IO, Iterable, Iterator

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from kiosk.common.door_events import DECISIONS, NewEvent
from kiosk.store.db import AccessEvent, checkpoint, utc_now

PAGE = 200
EXPORT_PAGE = 1000


@dataclass(frozen=True)
class LogFilter:
    """Which rows to show; None means any."""

    name: str | None = None          # substring of the name, case-insensitive
    decision: str | None = None      # one of DECISIONS
    since: datetime | None = None
    until: datetime | None = None


def append_event(session: Session, new: NewEvent) -> AccessEvent:
    if new.decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {new.decision!r}")
    row = AccessEvent(decision=new.decision, person_id=new.person_id, name=new.name,
                      distance=new.distance, snapshot=new.snapshot_jpeg, kiosk_id=new.kiosk_id)
    if new.time is not None:
        row.time = new.time
    session.add(row)
    session.flush()
    return row


def blank_old_snapshots(session: Session, before: datetime) -> int:
    """Blank the snapshot of every event logged before `before` (the rows stay,
    as the record of what the door decided). Returns how many were blanked."""
    blanked = session.execute(update(AccessEvent)
                              .where(AccessEvent.time < before, AccessEvent.snapshot.is_not(None))
                              .values(snapshot=None).execution_options(synchronize_session=False))
    return blanked.rowcount


def purge_snapshots(sessions: sessionmaker, retention_days: int, now: datetime | None = None) -> int:
    """Apply the snapshot retention (Settings.snapshot_retention_days) in one
    transaction; blanked crops then leave the SQLite file too. Returns the count."""
    with sessions.begin() as session:
        blanked = blank_old_snapshots(session, (now or utc_now()) - timedelta(days=retention_days))
    if blanked:
        checkpoint(sessions)
    return blanked


def _filtered(query: Select, where: LogFilter) -> Select:
    if where.name:
        query = query.where(AccessEvent.name.ilike(f"%{where.name}%"))
    if where.decision:
        query = query.where(AccessEvent.decision == where.decision)
    if where.since:
        query = query.where(AccessEvent.time >= where.since)
    if where.until:
        query = query.where(AccessEvent.time < where.until)
    return query


def list_events(session: Session, where: LogFilter = LogFilter(), offset: int = 0,
                limit: int | None = None) -> list[AccessEvent]:
    """Events newest first; a page of them when limit is given."""
    query = _filtered(select(AccessEvent), where).order_by(AccessEvent.time.desc(), AccessEvent.id.desc())
    return list(session.scalars(query.offset(offset).limit(limit)))


def count_events(session: Session, where: LogFilter) -> int:
    """How many events match the filter."""
    return session.scalar(_filtered(select(func.count(AccessEvent.id)), where)) or 0


class EventPager:
    """Walks the filtered log newest first, one page per call, each page in the caller's session.

    Events logged between two calls push older rows down, so a page may overlap
    the previous one: rows already returned are skipped, so none repeats or is
    missed (the log is only appended to).
    """

    def __init__(self, where: LogFilter, size: int = PAGE):
        self.where, self.size = where, size
        self.offset = 0
        self.more = True
        self._seen: set[int] = set()

    def next_page(self, session: Session) -> list[AccessEvent]:
        events = list_events(session, self.where, self.offset, self.size + 1)
        self.more = len(events) > self.size
        events = events[:self.size]
        self.offset += len(events)
        fresh = [e for e in events if e.id not in self._seen]
        self._seen.update(e.id for e in fresh)
        return fresh


def all_events(session: Session, where: LogFilter) -> Iterator[AccessEvent]:
    """Every matching event, newest first, a page in memory at a time (snapshots are large)."""
    pager = EventPager(where, EXPORT_PAGE)
    while pager.more:
        yield from pager.next_page(session)


def local_time(t: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; the log writes them in UTC.
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone()


CSV_COLUMNS = ["time", "kiosk_id", "decision", "name", "distance"]


def write_csv(events: Iterable[AccessEvent], out: IO[str]) -> int:
    """Write events as CSV (no snapshots: they stay on the machine). Returns the row count."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for e in events:
        writer.writerow([e.time.isoformat(), e.kiosk_id, e.decision, e.name or "",
                         "" if e.distance is None else f"{e.distance:.4f}"])
        count += 1
    return count
