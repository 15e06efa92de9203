"""kiosk.store.admin_auth on a real SQLite file: set, wrong, lock-out, audit."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from kiosk.store.admin_auth import MAX_FAILURES, PinError, _hash, check_pin, pin_is_set, set_pin
from kiosk.store.db import AdminAction, AdminSecret


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
        for bad in ("12", "abcd", "12345", "١٢٣٤٥٦", "12345²"):
            with pytest.raises(PinError, match="at least 6 digits 0-9"):
                set_pin(s, "door-1", bad)
        assert not pin_is_set(s, "door-1")


def test_a_four_digit_pin_set_before_still_opens_the_panel(sessions):
    with sessions.begin() as s:
        salt = b"0123456789abcdef"
        s.add(AdminSecret(kiosk_id="door-1", salt=salt, pin_hash=_hash("4821", salt), failures=0))
    with sessions.begin() as s:
        assert check_pin(s, "door-1", "4821") is None


def test_each_further_lockout_doubles_up_to_a_day_and_the_right_pin_resets(sessions):
    now = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    with sessions.begin() as s:
        set_pin(s, "door-1", "482916")
    lockouts = []
    for _ in range(12):
        for attempt in range(MAX_FAILURES):
            with sessions.begin() as s:
                refusal = check_pin(s, "door-1", "000000", now=now)
        with sessions.begin() as s:
            locked_until = s.get(AdminSecret, "door-1").locked_until.replace(tzinfo=timezone.utc)
        assert "locked for" in refusal
        lockouts.append((locked_until - now) / timedelta(minutes=1))
        now = locked_until + timedelta(seconds=1)
    assert lockouts == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 1440, 1440, 1440]
    with sessions.begin() as s:
        assert check_pin(s, "door-1", "482916", now=now) is None
        assert "4 tries left" in check_pin(s, "door-1", "000000", now=now)


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
