"""The admin panel's access rules: groups, who is in them, when each may enter,
and this door's anti-passback (kiosk.store.access_rules)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QHBoxLayout, QInputDialog, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QSpinBox, QVBoxLayout, QWidget)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kiosk.store import access_rules as rules
from kiosk.store.gallery import GalleryError, list_people
from kiosk.store.gallery_writes import ADMIN_PANEL, Author
from ui.admin.dialogs import ask_yes

T = TypeVar("T")


def ask_group_name(parent: QWidget) -> str | None:
    name, ok = QInputDialog.getText(parent, "New group", "Name of the new group:")
    return name if ok else None


def confirm_new_door(parent: QWidget, door: str, known: list[str]) -> bool:
    return ask_yes(parent, "New door", f"No log row, policy or setting names a door {door!r} (known doors: "
                   f"{', '.join(known)}). Door ids must match exactly. Use {door!r} as a new door?")


def confirm_open_door(parent: QWidget, door: str) -> bool:
    return ask_yes(parent, "Open door", f"Open {door} to everyone enrolled, at any time?")


def confirm_delete_group(parent: QWidget, name: str) -> bool:
    return ask_yes(parent, "Delete group", f"Delete the group {name} with its windows? Its people stay enrolled.")


class AccessTab(QWidget):
    """Each change is written with its audit line (by kiosk.store.access_rules,
    as the admin panel) in one transaction, then gallery_changed is emitted (the door reloads its rules with the gallery);
    a refusal shows in `message`, and `door_status` says what each door now
    admits. `ask_group_name`, `confirm_delete_group`, `confirm_open_door` and
    `confirm_new_door` (a door id the gallery never named: likely mis-typed)
    are the dialogs the buttons open (replaceable)."""

    gallery_changed = Signal()

    def __init__(self, sessions: sessionmaker, kiosk_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._sessions, self._kiosk_id = sessions, kiosk_id
        self.author = Author(kiosk_id, ADMIN_PANEL)
        self.ask_group_name: Callable[[QWidget], str | None] = ask_group_name
        self.confirm_delete_group: Callable[[QWidget, str], bool] = confirm_delete_group
        self.confirm_open_door: Callable[[QWidget, str], bool] = confirm_open_door
        self.confirm_new_door: Callable[[QWidget, str, list[str]], bool] = confirm_new_door
        self.groups = QListWidget(self)
        self.members = QListWidget(self)      # everyone enrolled, checked when in the selected group
        self.windows = QListWidget(self)      # the selected group's windows
        self.new_button = QPushButton("New group…", self, clicked=self._new_clicked)
        self.delete_button = QPushButton("Delete group…", self, clicked=self._delete_clicked)
        self.day_boxes = [QCheckBox(day.title(), self, checked=i < 5) for i, day in enumerate(rules.DAY_NAMES)]
        self.hours_edit = QLineEdit("07:00-19:00", self)
        self.door_edit = QLineEdit(self, placeholderText="every door")
        self.add_window_button = QPushButton("Add window", self, clicked=self._add_window_clicked)
        self.remove_window_button = QPushButton("Remove window", self, clicked=self._remove_window_clicked)
        self.open_door_button = QPushButton("Open door…", self, clicked=self._open_door_clicked)
        self.anti_passback = QSpinBox(self, suffix=" s", specialValueText="off")
        self.anti_passback.setRange(0, rules.MAX_ANTI_PASSBACK_S)
        self.anti_passback_button = QPushButton("Apply", self, clicked=lambda: self.set_anti_passback(
            self.anti_passback.value()))
        self.door_status = QLabel(self, wordWrap=True)
        self.message = QLabel(self, wordWrap=True)
        self.message.setStyleSheet("color: #c00")
        self._layout()
        self.groups.currentItemChanged.connect(lambda *_: self._show_group())
        self.members.itemChanged.connect(self._member_toggled)
        self.refresh()

    def _layout(self) -> None:
        lists = QGridLayout()
        for column, (title, widget) in enumerate([("Groups", self.groups), ("Members", self.members),
                                                  ("Windows (this machine's local time)", self.windows)]):
            lists.addWidget(QLabel(title, self), 0, column)
            lists.addWidget(widget, 1, column)
        group_buttons = QHBoxLayout()
        for button in (self.new_button, self.delete_button):
            group_buttons.addWidget(button)
        lists.addLayout(group_buttons, 2, 0)
        window_form = QHBoxLayout()
        for widget in [*self.day_boxes, QLabel("hours", self), self.hours_edit, QLabel("door", self),
                       self.door_edit, self.add_window_button, self.remove_window_button, self.open_door_button]:
            window_form.addWidget(widget)
        passback = QHBoxLayout()
        passback.addWidget(QLabel(f"Anti-passback at this door ({self._kiosk_id}): no second grant to one "
                                  "person within", self))
        passback.addWidget(self.anti_passback)
        passback.addWidget(self.anti_passback_button)
        passback.addStretch()
        layout = QVBoxLayout(self)
        layout.addLayout(lists, 1)
        layout.addLayout(window_form)
        layout.addLayout(passback)
        layout.addWidget(self.door_status)
        layout.addWidget(self.message)

    # ---- reading ------------------------------------------------------------------

    def refresh(self, select_group: str | None = None) -> None:
        selected = select_group or self.selected_group()
        try:
            with self._sessions.begin() as session:
                self._summaries = {g.name: g for g in rules.list_groups(session)}
                self._people = [p.name for p in list_people(session)]
                here = rules.load_door_rules(session, self._kiosk_id)
                admit = rules.what_doors_admit(session, (self._kiosk_id,))
        except OperationalError as exc:
            self.message.setText(f"cannot read the gallery ({exc.orig})")
            return
        self.groups.blockSignals(True)
        self.groups.clear()
        for name in self._summaries:
            item = QListWidgetItem(name, self.groups)
            if name == selected:
                self.groups.setCurrentItem(item)
        self.groups.blockSignals(False)
        self.anti_passback.setValue(here.anti_passback_s)
        self.door_status.setText("\n".join(
            f"{'This door (' + door + ')' if door == self._kiosk_id else door or 'Any other door'} admits {text}."
            for door, text in admit.items()))
        self._show_group()

    def group_names(self) -> list[str]:
        return [self.groups.item(i).text() for i in range(self.groups.count())]

    def selected_group(self) -> str | None:
        item = self.groups.currentItem()
        return item.text() if item else None

    def member_names(self) -> list[str]:
        """The people checked as members of the selected group."""
        return [self.members.item(i).text() for i in range(self.members.count())
                if self.members.item(i).checkState() == Qt.CheckState.Checked]

    def window_texts(self) -> list[str]:
        return [self.windows.item(i).text() for i in range(self.windows.count())]

    def _show_group(self) -> None:
        summary = self._summaries.get(self.selected_group() or "")
        self.members.blockSignals(True)
        self.members.clear()
        self.windows.clear()
        if summary is not None:
            for person in self._people:
                item = QListWidgetItem(person, self.members)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if person in summary.members else Qt.CheckState.Unchecked)
            for window in summary.windows:
                item = QListWidgetItem(window.describe(), self.windows)
                item.setData(Qt.ItemDataRole.UserRole, window.id)
        self.members.blockSignals(False)
        for widget in (self.delete_button, self.add_window_button, self.remove_window_button, self.members):
            widget.setEnabled(summary is not None)

    # ---- writing ------------------------------------------------------------------

    def create_group(self, name: str) -> bool:
        ok, made = self._change(lambda s: rules.create_group(s, self.author, name).name)
        if ok:
            self._changed(made)
        return ok

    def delete_group(self, name: str) -> bool:
        ok, _ = self._change(lambda s: rules.delete_group(s, self.author, name))
        if ok:
            self._changed()
        return ok

    def set_member(self, person: str, group: str, member: bool) -> bool:
        """True when it changed; a refusal puts the tick back as it was."""
        ok, changed = self._change(lambda s: rules.set_member(s, self.author, person, group, member))
        if ok and changed:
            self._changed(group)
        elif not ok:
            self.refresh(group)
        return bool(ok and changed)

    def add_window(self, days: int, hours: str, door: str = "") -> bool:
        """A window for the selected group (door "": every door)."""
        group = self.selected_group()

        def write(session: Session, new_door: bool):
            return rules.add_window(session, self.author, group, days, *rules.parse_hours(hours),
                                    kiosk_id=door.strip() or None, new_door=new_door)
        ok, _ = self._change_at_door(write)
        if ok:
            self._changed(group)
        return ok

    def remove_window(self, window_id: int) -> bool:
        group = self.selected_group()
        ok, _ = self._change(lambda s: rules.remove_windows(s, self.author, group, window_id=window_id))
        if ok:
            self._changed(group)
        return ok

    def set_anti_passback(self, seconds: int) -> bool:
        """This door's anti-passback (0: off)."""
        ok, _ = self._change(lambda s: rules.set_anti_passback(s, self.author, seconds, self._kiosk_id))
        if ok:
            self._changed(self.selected_group())
        return ok

    def open_door(self, door: str = "") -> bool:
        """Lift the door's restriction (door "": every door's): everyone
        enrolled, at any time. True when it was restricted and now is not."""
        ok, opened = self._change_at_door(
            lambda s, new_door: rules.open_door(s, self.author, door.strip() or None, new_door))
        if ok and opened:
            self._changed(self.selected_group())
        elif ok:
            self.message.setText(f"{door.strip() or 'every door'} was not restricted")
        return bool(ok and opened)

    def _change_at_door(self, write: Callable[[Session, bool], T]) -> tuple[bool, T | None]:
        """_change for a write naming a door (write(session, new_door)): a door
        the gallery never named is asked about first (confirm_new_door)."""
        try:
            return self._change(lambda session: write(session, False), passing=rules.UnknownDoor)
        except rules.UnknownDoor as unknown:
            if self.confirm_new_door(self, unknown.kiosk_id, unknown.known):
                return self._change(lambda session: write(session, True))
            self.message.setText(str(unknown))
            return False, None

    def _change(self, write: Callable[[Session], T],
                passing: type[Exception] | tuple[()] = ()) -> tuple[bool, T | None]:
        """write(session) (which records its audit line) in one transaction:
        (True, its result) once committed, (False, None) when refused, said in
        message (a refusal of the type `passing` is raised instead)."""
        try:
            with self._sessions.begin() as session:
                done = write(session)
        except GalleryError as exc:
            if isinstance(exc, passing):
                raise
            self.message.setText(str(exc))
            return False, None
        except OperationalError as exc:  # locked or full database: the kiosk stays up
            self.message.setText(f"the gallery database refused the change ({exc.orig})")
            return False, None
        self.message.clear()
        return True, done

    def _changed(self, select_group: str | None = None) -> None:
        self.refresh(select_group)
        self.gallery_changed.emit()

    # ---- the buttons ----------------------------------------------------------------

    def _new_clicked(self) -> None:
        name = self.ask_group_name(self)
        if name:
            self.create_group(name)

    def _delete_clicked(self) -> None:
        name = self.selected_group()
        if name and self.confirm_delete_group(self, name):
            self.delete_group(name)

    def _member_toggled(self, item: QListWidgetItem) -> None:
        group = self.selected_group()
        if group:
            self.set_member(item.text(), group, item.checkState() == Qt.CheckState.Checked)

    def _add_window_clicked(self) -> None:
        days = sum(1 << i for i, box in enumerate(self.day_boxes) if box.isChecked())
        if not days:
            self.message.setText("tick at least one day for the window")
            return
        self.add_window(days, self.hours_edit.text(), self.door_edit.text())

    def _open_door_clicked(self) -> None:
        door = self.door_edit.text().strip()
        if self.confirm_open_door(self, door or "every door"):
            self.open_door(door)

    def _remove_window_clicked(self) -> None:
        item = self.windows.currentItem()
        if item is not None:
            self.remove_window(item.data(Qt.ItemDataRole.UserRole))
