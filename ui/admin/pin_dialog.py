"""The admin PIN prompt: sets the PIN on a kiosk's first use, checks it afterwards."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit,
                               QVBoxLayout, QWidget)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from kiosk.store import admin_auth


class PinDialog(QDialog):
    """Accepts once the PIN is set (first use) or the right PIN is entered; a
    refusal (wrong PIN, lock-out, PIN too short) is shown inline and the dialog
    stays open. `submit()` is what OK does."""

    def __init__(self, sessions: sessionmaker, kiosk_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._sessions, self._kiosk_id = sessions, kiosk_id
        with sessions.begin() as session:
            self.setting = not admin_auth.pin_is_set(session, kiosk_id)
        self.setWindowTitle("Admin PIN")
        self.pin_edit, self.repeat_edit = _pin_edit(self), _pin_edit(self)
        self.message = QLabel(self, wordWrap=True)
        self.message.setStyleSheet("color: #c00")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        self._form = form = QFormLayout()
        form.addRow("PIN", self.pin_edit)
        form.addRow("Repeat", self.repeat_edit)
        form.setRowVisible(self.repeat_edit, self.setting)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self._prompt(), self, wordWrap=True))
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def _prompt(self) -> str:
        if self.setting:
            return (f"No admin PIN is set on this kiosk yet. Choose one of at least "
                    f"{admin_auth.MIN_PIN_LENGTH} digits.")
        return "Enter the admin PIN."

    def submit(self) -> None:
        pin = self.pin_edit.text()
        try:
            refusal = self._set(pin) if self.setting else self._check(pin)
        except OperationalError as exc:  # locked or full database: say so, keep the kiosk up
            refusal = f"the gallery database is unavailable ({exc.orig})"
        if refusal is None:
            self.accept()
            return
        self.message.setText(refusal)
        self.pin_edit.clear()
        self.repeat_edit.clear()
        self.pin_edit.setFocus()

    def _set(self, pin: str) -> str | None:
        if pin != self.repeat_edit.text():
            return "the two PINs differ"
        try:
            with self._sessions.begin() as session:
                # Another admin may have set it since this dialog opened: never overwrite.
                if admin_auth.pin_is_set(session, self._kiosk_id):
                    self.setting = False
                    self._form.setRowVisible(self.repeat_edit, False)
                    return "a PIN has just been set elsewhere: enter that one"
                admin_auth.set_pin(session, self._kiosk_id, pin)
        except admin_auth.PinError as exc:
            return str(exc)
        return None

    def _check(self, pin: str) -> str | None:
        # check_pin returns its refusal so this transaction commits the failure count.
        with self._sessions.begin() as session:
            return admin_auth.check_pin(session, self._kiosk_id, pin)


def _pin_edit(parent: QWidget) -> QLineEdit:
    edit = QLineEdit(parent, echoMode=QLineEdit.EchoMode.Password)
    # [0-9], not \d: Qt's \d also takes other scripts' digits ('١٢٣٤').
    edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"[0-9]*"), edit))
    edit.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)  # the on-screen keypad
    return edit


def ask_pin(parent: QWidget | None, sessions: sessionmaker, kiosk_id: str) -> bool:
    """True once the admin has set a PIN (first use) or entered the right one."""
    dialog = PinDialog(sessions, kiosk_id, parent)
    try:
        return dialog.exec() == QDialog.DialogCode.Accepted
    finally:
        dialog.deleteLater()
