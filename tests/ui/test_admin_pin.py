"""ui.admin.pin_dialog on a real SQLite file: first-run set, right, wrong, lock-out."""

import pytest
from PySide6.QtGui import QValidator
from sqlalchemy import select

from kiosk.store.admin_auth import MAX_FAILURES, pin_is_set, set_pin
from kiosk.store.db import AdminAction, AdminSecret
from ui.admin.pin_dialog import PinDialog

PIN = "482916"


@pytest.fixture
def dialog(qtbot, sessions):
    def make() -> PinDialog:
        d = PinDialog(sessions, "door-1")
        qtbot.addWidget(d)
        return d
    return make


def with_pin(sessions):
    with sessions.begin() as s:
        set_pin(s, "door-1", PIN)


def enter(d: PinDialog, pin: str, repeat: str | None = None) -> None:
    d.pin_edit.setText(pin)
    d.repeat_edit.setText(pin if repeat is None else repeat)
    d.submit()


def test_first_run_sets_a_pin_stored_only_as_a_hash(dialog, sessions):
    d = dialog()
    assert d.setting and not d.repeat_edit.isHidden()
    enter(d, PIN)
    assert d.result() == PinDialog.DialogCode.Accepted
    with sessions.begin() as s:
        secret = s.get(AdminSecret, "door-1")
        assert PIN.encode() not in secret.pin_hash + secret.salt
        assert [a.action for a in s.scalars(select(AdminAction))] == ["set-pin"]


@pytest.mark.parametrize("pin, repeat, says", [("12", "12", "at least"), (PIN, "482917", "differ")])
def test_unusable_new_pin_is_refused_inline(dialog, sessions, pin, repeat, says):
    d = dialog()
    enter(d, pin, repeat)
    assert says in d.message.text()
    assert d.result() != PinDialog.DialogCode.Accepted and d.pin_edit.text() == ""
    with sessions.begin() as s:
        assert not pin_is_set(s, "door-1")


def test_right_pin_accepts(dialog, sessions):
    with_pin(sessions)
    d = dialog()
    assert not d.setting and d.repeat_edit.isHidden()
    enter(d, PIN)
    assert d.result() == PinDialog.DialogCode.Accepted
    assert d.message.text() == ""


def test_wrong_pin_is_refused_and_the_dialog_stays_open(qtbot, dialog, sessions):
    with_pin(sessions)
    d = dialog()
    with qtbot.assertNotEmitted(d.finished):  # what accept() and reject() emit
        enter(d, "000000")
    assert "wrong PIN" in d.message.text()
    assert d.result() != PinDialog.DialogCode.Accepted
    assert d.pin_edit.text() == ""


def test_wrong_pins_lock_out_even_the_right_one(dialog, sessions):
    with_pin(sessions)
    d = dialog()
    for _ in range(MAX_FAILURES):
        enter(d, "000000")
    assert "locked" in d.message.text()
    enter(d, PIN)
    assert "locked" in d.message.text()
    assert d.result() != PinDialog.DialogCode.Accepted
    # The lock-out was committed, not just shown: a new dialog is refused too.
    fresh = dialog()
    enter(fresh, PIN)
    assert "locked" in fresh.message.text()
    with sessions.begin() as s:
        assert "lockout" in [a.action for a in s.scalars(select(AdminAction))]


def test_the_pin_fields_take_only_ascii_digits(dialog):
    d = dialog()
    validator = d.pin_edit.validator()
    assert validator.validate("482916", 6)[0] == QValidator.State.Acceptable
    for typed in ("١٢٣٤٥٦", "48291a"):
        assert validator.validate(typed, len(typed))[0] == QValidator.State.Invalid
