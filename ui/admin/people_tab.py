"""The admin panel's people: each enrolled person with a face thumbnail; rename, delete, add samples."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QInputDialog, QLabel, QListView, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout, QWidget)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kiosk.store import gallery, gallery_writes
from kiosk.store.gallery_writes import ADMIN_PANEL, Author
from ui.admin.dialogs import ask_yes
from ui.frames import jpeg_pixmap

THUMBNAIL = QSize(96, 96)
T = TypeVar("T")


def ask_new_name(parent: QWidget, old: str) -> str | None:
    new, ok = QInputDialog.getText(parent, "Rename", f"New name for {old}:", text=old)
    return new if ok else None


def confirm_delete(parent: QWidget, name: str) -> bool:
    return ask_yes(parent, "Delete", f"Delete {name} and every face sample of theirs? This cannot be undone.")


class PeopleTab(QWidget):
    """Enrolled people. `rename` and `delete` write the gallery and the audit trail in
    one transaction, then emit gallery_changed; refusals show in `message`.
    `ask_new_name` and `confirm_delete` are the dialogs the buttons open (replaceable)."""

    gallery_changed = Signal()
    add_samples_requested = Signal(str)

    def __init__(self, sessions: sessionmaker, kiosk_id: str, spool_dir: Path | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._sessions, self._author = sessions, Author(kiosk_id, ADMIN_PANEL)
        self._spool_dir = spool_dir   # where the kiosks' spooled access events are (purged on delete)
        self.ask_new_name: Callable[[QWidget, str], str | None] = ask_new_name
        self.confirm_delete: Callable[[QWidget, str], bool] = confirm_delete
        self.people = QListWidget(self, viewMode=QListView.ViewMode.IconMode, iconSize=THUMBNAIL,
                                  movement=QListView.Movement.Static,
                                  resizeMode=QListView.ResizeMode.Adjust, wordWrap=True)
        self.message = QLabel(self, wordWrap=True)
        self.message.setStyleSheet("color: #c00")
        self.rename_button = QPushButton("Rename…", self, clicked=self._rename_clicked)
        self.add_button = QPushButton("Add samples…", self, clicked=self._add_clicked)
        self.delete_button = QPushButton("Delete…", self, clicked=self._delete_clicked)
        buttons = QHBoxLayout()
        for button in (self.rename_button, self.add_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(self.people)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.people.currentItemChanged.connect(self._update_buttons)
        self.refresh()

    def refresh(self, select_name: str | None = None) -> None:
        """Reload the list from the gallery, selecting select_name (or what was selected)."""
        selected = select_name or self.selected_name()
        try:
            with self._sessions.begin() as session:
                people, thumbnails = gallery.list_people(session), gallery.first_thumbnails(session)
        except OperationalError as exc:
            self.message.setText(f"cannot read the gallery ({exc.orig})")
            return
        self.people.clear()
        for person in people:
            item = QListWidgetItem(_icon(thumbnails.get(person.id)),
                                   f"{person.name}\n{person.samples} sample(s)", self.people)
            item.setData(Qt.ItemDataRole.UserRole, person.name)
            if person.name == selected:
                self.people.setCurrentItem(item)
        self._update_buttons()

    def names(self) -> list[str]:
        return [self.people.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.people.count())]

    def selected_name(self) -> str | None:
        item = self.people.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def rename(self, old: str, new: str) -> bool:
        renamed = self._change(lambda s: gallery_writes.rename(s, self._author, old, new))
        if renamed:
            self._changed(select_name=renamed)
        return renamed is not None

    def delete(self, name: str) -> bool:
        deleted = self._change(lambda s: gallery_writes.delete(s, self._author, name))
        if deleted:
            self._changed()
            if self._spool_dir is not None:
                try:
                    gallery.erase_traces(self._sessions, self._spool_dir, deleted)
                except (OSError, OperationalError) as exc:   # the deletion stands
                    self.message.setText(f"{deleted.name} deleted, but their spooled snapshots "
                                         f"could not be blanked ({exc})")
        return deleted is not None

    def _change(self, write: Callable[[Session], T]) -> T | None:
        """write(session) changes the gallery and its audit trail
        (kiosk.store.gallery_writes); the result once committed, None when
        refused (said in message)."""
        try:
            with self._sessions.begin() as session:
                done = write(session)
        except gallery.GalleryError as exc:
            self.message.setText(str(exc))
            return None
        except OperationalError as exc:  # locked or full database: the kiosk stays up
            self.message.setText(f"the gallery database refused the change ({exc.orig})")
            return None
        self.message.clear()
        return done

    def _changed(self, select_name: str | None = None) -> None:
        self.refresh(select_name)
        self.gallery_changed.emit()

    def _rename_clicked(self) -> None:
        old = self.selected_name()
        new = old and self.ask_new_name(self, old)
        if new and new != old:
            self.rename(old, new)

    def _delete_clicked(self) -> None:
        name = self.selected_name()
        if name and self.confirm_delete(self, name):
            self.delete(name)

    def _add_clicked(self) -> None:
        name = self.selected_name()
        if name:
            self.add_samples_requested.emit(name)

    def _update_buttons(self) -> None:
        chosen = self.selected_name() is not None
        for button in (self.rename_button, self.add_button, self.delete_button):
            button.setEnabled(chosen)


def _icon(jpeg: bytes | None) -> QIcon:
    pixmap = jpeg_pixmap(jpeg, THUMBNAIL.height())
    if pixmap is None:
        pixmap = QPixmap(THUMBNAIL)
        pixmap.fill(Qt.GlobalColor.lightGray)  # a damaged crop still leaves the person listed
    return QIcon(pixmap)
