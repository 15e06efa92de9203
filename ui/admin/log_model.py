"""The access log as a Qt table model: newest first, read from the database a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from kiosk.common.door_events import (ANTI_PASSBACK, DENIED, DOOR_FORCED, DOOR_HELD, GRANTED, OUTSIDE_HOURS,
                                      REMOTE_UNLOCK, SPOOF)
from kiosk.store.access_log import EventPager, LogFilter, count_events, local_time
from kiosk.store.db import AccessEvent
from ui.frames import jpeg_pixmap

THUMBNAIL_HEIGHT = 48  # px; the tab sizes its rows to fit

DECISION_COLOURS = {GRANTED: QColor("#1b7f3b"), DENIED: QColor("#c62828"), SPOOF: QColor("#8a2be2"),
                    OUTSIDE_HOURS: QColor("#b35c00"), ANTI_PASSBACK: QColor("#b35c00"),
                    DOOR_HELD: QColor("#c62828"), DOOR_FORCED: QColor("#c62828"), REMOTE_UNLOCK: QColor("#1b7f3b")}

Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    TIME = 0
    KIOSK = 1
    NAME = 2
    DECISION = 3
    DISTANCE = 4
    SNAPSHOT = 5


HEADERS = {Column.TIME: "Time", Column.KIOSK: "Kiosk", Column.NAME: "Name",
           Column.DECISION: "Decision", Column.DISTANCE: "Distance", Column.SNAPSHOT: "Snapshot"}


class LogRole(IntEnum):
    ROW = Qt.ItemDataRole.UserRole + 1  # the row's LogRow


@dataclass(frozen=True)
class LogRow:
    """One access event, copied out of its transaction (time in local time)."""

    id: int
    time: datetime
    kiosk_id: str
    name: str | None
    decision: str
    distance: float | None
    snapshot: bytes | None

    @classmethod
    def of(cls, event: AccessEvent) -> LogRow:
        return cls(event.id, local_time(event.time), event.kiosk_id, event.name, event.decision,
                   event.distance, event.snapshot)


class LogTableModel(QAbstractTableModel):
    """The access log, newest first. Empty until refresh() or set_filter(); further pages
    come through fetchMore as a view scrolls. Database errors are emitted by `errored`
    (with the exception) and leave the model empty or as it was."""

    errored = Signal(object)

    def __init__(self, sessions: sessionmaker, parent=None):
        super().__init__(parent)
        self._sessions = sessions
        self._where = LogFilter()
        self._pager = EventPager(self._where)
        self._pager.more = False  # nothing to fetch before the first refresh()
        self._rows: list[LogRow] = []
        self._total = 0
        self._thumbnails: dict[int, QPixmap | None] = {}

    @property
    def filter(self) -> LogFilter:
        return self._where

    @property
    def total(self) -> int:
        """Events matching the filter at the last refresh (rowCount is how many are fetched)."""
        return self._total

    def set_filter(self, where: LogFilter) -> None:
        self._where = where
        self.refresh()

    def refresh(self) -> None:
        """Reload from the newest event: the first page and the count."""
        pager, rows, total, error = EventPager(self._where), [], 0, None
        try:
            with self._sessions.begin() as session:
                total = count_events(session, self._where)
                rows = [LogRow.of(e) for e in pager.next_page(session)]
        except OperationalError as exc:
            pager.more, error = False, exc
        self.beginResetModel()
        self._pager, self._rows, self._total = pager, rows, total
        self._thumbnails.clear()
        self.endResetModel()
        if error is not None:
            self.errored.emit(error)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and self._pager.more

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if parent.isValid() or not self._pager.more:
            return
        try:
            with self._sessions.begin() as session:
                rows = [LogRow.of(e) for e in self._pager.next_page(session)]
        except OperationalError as exc:
            self._pager.more = False  # one message, not one per scroll; refresh() retries
            self.errored.emit(exc)
            return
        if rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if (orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole
                or not 0 <= section < len(Column)):
            return None
        return HEADERS[Column(section)]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not self.checkIndex(index, QAbstractTableModel.CheckIndexOption.IndexIsValid):
            return None
        row, column = self._rows[index.row()], Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return _text(row, column)
        if role == Qt.ItemDataRole.DecorationRole and column == Column.SNAPSHOT:
            return self._thumbnail(row)
        if role == Qt.ItemDataRole.ForegroundRole and column == Column.DECISION:
            return DECISION_COLOURS.get(row.decision)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == Column.DISTANCE:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == LogRole.ROW:
            return row
        return None

    def _thumbnail(self, row: LogRow) -> QPixmap | None:
        # Decoding every JPEG of a page up front would cost more than the page
        # itself, so each is decoded when a view first paints it.
        if row.snapshot is None:
            return None
        if row.id not in self._thumbnails:
            self._thumbnails[row.id] = jpeg_pixmap(row.snapshot, THUMBNAIL_HEIGHT)
        return self._thumbnails[row.id]


def _text(row: LogRow, column: Column) -> str | None:
    if column == Column.TIME:
        return row.time.strftime("%Y-%m-%d %H:%M:%S")
    if column == Column.KIOSK:
        return row.kiosk_id
    if column == Column.NAME:
        return row.name or "unknown"
    if column == Column.DECISION:
        return row.decision
    if column == Column.DISTANCE:
        return "" if row.distance is None else f"{row.distance:.3f}"
    return None
