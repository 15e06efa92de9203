"""kiosk.admin_auth on a real SQLite file: set, wrong, lock-out, audit."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from kiosk.admin_auth import MAX_FAILURES, PinError, check_pin, pin_is_set, set_pin
from kiosk.db import AdminAction, AdminSecret, open_database


@pytest.fixture
def sessions(db_url):
    return open_database(db_url)


def test_pin_is_stored_only_as_a_salted_hash(sessions):
    with sessions.begin() as s:
        assert not pin_is_set(s, "door-1")
        set_pin(s, "door-1", "482916")
    with sessions.begin() as s:
        secret = s.get(AdminSecret, "door-1")
        assert b"482916" not in secret.pin_hash + secret.salt
        assert check_pin(s, "door-1", "482916") is None
        assert [a.action for a in s.scalars(select(AdminAction))] == ["set-pin"]


def test_short_or_non_digit_pin_refused(sessions):
    with sessions.begin() as s:
        for bad in ("12", "abcd"):
            with pytest.raises(PinError):
                set_pin(s, "door-1", bad)


def test_wrong_pins_lock_the_panel(sessions):
    now = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    with sessions.begin() as s:
        set_pin(s, "door-1", "482916")
    for attempt in range(MAX_FAILURES):
        with sessions.begin() as s:  # each try its own transaction, as in the panel
            assert "wrong PIN" in check_pin(s, "door-1", "000000", now=now)
    with sessions.begin() as s:  # even the right PIN is refused while locked
        assert "locked" in check_pin(s, "door-1", "482916", now=now + timedelta(minutes=1))
    with sessions.begin() as s:
        assert check_pin(s, "door-1", "482916", now=now + timedelta(minutes=6)) is None
        assert "lockout" in [a.action for a in s.scalars(select(AdminAction))]
