"""The admin panel's access log: filter by name, decision and dates; export to CSV."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from PySide6.QtCore import QDate, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDateEdit, QFileDialog,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox, QPushButton,
                               QTableView, QVBoxLayout, QWidget)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from kiosk.common.door_events import (ANTI_PASSBACK, DENIED, DOOR_FORCED, DOOR_HELD, GRANTED, OUTSIDE_HOURS,
                                      REMOTE_UNLOCK, SPOOF)
from kiosk.store.access_log import LogFilter, all_events, write_csv
from kiosk.common.files import write_atomically
from ui.admin.log_model import THUMBNAIL_HEIGHT, Column, LogTableModel

# Typing in the name box waits this long for the next key before re-querying.
FILTER_DELAY_MS = 250


def ask_export_path(parent: QWidget) -> Path | None:
    name, _ = QFileDialog.getSaveFileName(parent, "Export access log", str(Path.home() / "access-log.csv"),
                                          "CSV files (*.csv)")
    return Path(name) if name else None


def show_error(parent: QWidget, text: str) -> None:
    QMessageBox.warning(parent, "Access log", text)


def local_midnight(day: date) -> datetime:
    """The start of a local calendar day, in UTC (how the log stores times)."""
    return datetime.combine(day, time()).astimezone().astimezone(timezone.utc)


class LogTab(QWidget):
    """The access log, newest first, filtered live. `export_csv` writes every filtered row;
    `ask_export_path` and `show_error` are the dialogs it opens (replaceable)."""

    exported = Signal(object, int)  # path, rows

    def __init__(self, sessions: sessionmaker, parent: QWidget | None = None):
        super().__init__(parent)
        self._sessions = sessions
        self.ask_export_path: Callable[[QWidget], Path | None] = ask_export_path
        self.show_error: Callable[[QWidget, str], None] = show_error
        self.model = LogTableModel(sessions, self)
        self._build_filters()
        self._build_table()
        self.count_label = QLabel(self)
        self.refresh_button = QPushButton("Refresh", self, clicked=self.refresh)
        self.export_button = QPushButton("Export CSV…", self, clicked=self._export_clicked)
        bottom = QHBoxLayout()
        for widget in (self.count_label, self.refresh_button, self.export_button):
            bottom.addWidget(widget)
        bottom.insertStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(self._filter_row)
        layout.addWidget(self.table)
        layout.addLayout(bottom)
        self.model.errored.connect(self._read_failed)
        for signal in (self.model.modelReset, self.model.rowsInserted):
            signal.connect(self._update_count)
        self.model.set_filter(self.current_filter())

    def _build_filters(self) -> None:
        self.name_edit = QLineEdit(self, placeholderText="Name contains…", clearButtonEnabled=True)
        self.decision_box = QComboBox(self)
        for label, value in (("any decision", None), ("granted", GRANTED), ("denied", DENIED),
                             ("spoof (photo or screen)", SPOOF), ("outside hours", OUTSIDE_HOURS),
                             ("anti-passback", ANTI_PASSBACK), ("door held open", DOOR_HELD),
                             ("door forced", DOOR_FORCED), ("remote unlock", REMOTE_UNLOCK)):
            self.decision_box.addItem(label, value)
        today = QDate.currentDate()
        self.since_check, self.since_edit = QCheckBox("From", self), QDateEdit(today, self)
        self.until_check, self.until_edit = QCheckBox("To", self), QDateEdit(today, self)
        self._filter_row = QHBoxLayout()
        self._filter_row.addWidget(self.name_edit, 1)
        self._filter_row.addWidget(self.decision_box)
        for check, edit in ((self.since_check, self.since_edit), (self.until_check, self.until_edit)):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)  # unchecked means any date
            check.toggled.connect(edit.setEnabled)
            self._filter_row.addWidget(check)
            self._filter_row.addWidget(edit)
        self._filter_timer = QTimer(self, singleShot=True, interval=FILTER_DELAY_MS, timeout=self.apply_filter)
        for signal in (self.name_edit.textChanged, self.decision_box.currentIndexChanged,
                       self.since_check.toggled, self.since_edit.dateChanged,
                       self.until_check.toggled, self.until_edit.dateChanged):
            signal.connect(self._filter_timer.start)
        self.name_edit.returnPressed.connect(self.apply_filter)

    def _build_table(self) -> None:
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(THUMBNAIL_HEIGHT, THUMBNAIL_HEIGHT))  # the default would shrink them
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(THUMBNAIL_HEIGHT + 6)
        header, metrics = self.table.horizontalHeader(), self.table.fontMetrics()
        samples = {Column.TIME: "0000-00-00 00:00:00", Column.KIOSK: "front-door-1",
                   Column.DECISION: "Decision", Column.DISTANCE: "Distance"}
        for column, sample in samples.items():
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 24)
        header.resizeSection(Column.SNAPSHOT, THUMBNAIL_HEIGHT + 24)
        header.setSectionResizeMode(Column.NAME, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)

    def current_filter(self) -> LogFilter:
        """The filter the widgets describe (the To date is included)."""
        since = local_midnight(self.since_edit.date().toPython()) if self.since_check.isChecked() else None
        until = (local_midnight(self.until_edit.date().toPython() + timedelta(days=1))
                 if self.until_check.isChecked() else None)
        return LogFilter(name=self.name_edit.text().strip() or None, decision=self.decision_box.currentData(),
                         since=since, until=until)

    def apply_filter(self) -> None:
        self._filter_timer.stop()
        where = self.current_filter()
        if where != self.model.filter:
            self.model.set_filter(where)

    def refresh(self) -> None:
        """Show events logged since the last look (the filter's newest first)."""
        self._filter_timer.stop()
        self.model.set_filter(self.current_filter())

    def export_csv(self, path: Path) -> int:
        """Write every event matching the current filter (not only the fetched ones) to path as CSV,
        replacing it whole or not at all. Returns the row count; raises OSError or OperationalError."""
        out = io.StringIO()
        with self._sessions.begin() as session:
            count = write_csv(all_events(session, self.model.filter), out)
        write_atomically(path, out.getvalue().encode("utf-8"))
        return count

    def _export_clicked(self) -> None:
        path = self.ask_export_path(self)
        if path is None:
            return
        try:
            with _busy_cursor():
                count = self.export_csv(path)
        except (OSError, OperationalError) as exc:
            self.show_error(self, f"Could not export to {path}:\n{_reason(exc)}")
            return
        self.count_label.setText(f"{self.count_label.text()} · exported {count:,} to {path.name}")
        self.exported.emit(path, count)

    def _read_failed(self, exc: Exception) -> None:
        self.show_error(self, f"Could not read the access log:\n{_reason(exc)}")

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), self.model.total
        events = "event" if total == 1 else "events"
        self.count_label.setText(f"{total:,} {events}" if shown >= total else f"{shown:,} of {total:,} {events} shown")


@contextmanager
def _busy_cursor() -> Iterator[None]:
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QGuiApplication.restoreOverrideCursor()


def _reason(exc: Exception) -> str:
    # SQLAlchemy's message carries the whole SQL statement; the driver's is the readable part.
    return str(getattr(exc, "orig", None) or exc)
