"""The admin PIN: set once, kept only as a salted scrypt hash, locked after wrong tries."""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from kiosk.store.db import AdminAction, AdminSecret

MAX_FAILURES = 5                    # wrong PINs in a row before each lock-out
FIRST_LOCKOUT = timedelta(minutes=5)
LONGEST_LOCKOUT = timedelta(hours=24)
# Each further lock-out (5 more wrong PINs) lasts twice the one before, up to
# LONGEST_LOCKOUT: 45 wrong PINs cost about 42 hours, and after that 5 tries a
# day, so a 6-digit PIN holds for centuries at the door (a fixed 5 minutes let
# a 4-digit PIN fall in about a week).
MIN_PIN_LENGTH = 6   # for a new PIN; one set before (4 digits were allowed) still opens the panel
# scrypt at n=2**14, r=8: about 50 ms and 16 MB a try here, so guessing a
# 6-digit PIN offline from a stolen gallery costs hours, not seconds.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class PinError(ValueError):
    """A PIN that cannot be set (too short, not digits)."""


def _hash(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, **_SCRYPT)


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def pin_is_set(session: Session, kiosk_id: str) -> bool:
    return session.get(AdminSecret, kiosk_id) is not None


def set_pin(session: Session, kiosk_id: str, pin: str) -> None:
    # ASCII only: str.isdigit() also takes '١٢٣٤' and '²', which no keypad at the door types.
    if len(pin) < MIN_PIN_LENGTH or not (pin.isascii() and pin.isdigit()):
        raise PinError(f"the PIN must be at least {MIN_PIN_LENGTH} digits 0-9")
    salt = os.urandom(16)
    secret = session.get(AdminSecret, kiosk_id) or AdminSecret(kiosk_id=kiosk_id)
    secret.salt, secret.pin_hash, secret.failures, secret.locked_until = salt, _hash(pin, salt), 0, None
    session.add(secret)
    record_action(session, kiosk_id, "set-pin", "admin PIN set")


def lockout_after(failures: int) -> timedelta | None:
    """How long the panel locks after this many wrong PINs in a row (None: not now)."""
    if failures == 0 or failures % MAX_FAILURES:
        return None
    return min(FIRST_LOCKOUT * 2 ** (failures // MAX_FAILURES - 1), LONGEST_LOCKOUT)


def check_pin(session: Session, kiosk_id: str, pin: str, now: datetime | None = None) -> str | None:
    """None when the PIN is right, else why it was refused. Every MAX_FAILURES
    wrong PINs in a row lock the panel, right PIN or not, for lockout_after's
    time; the right PIN resets the count.

    A refusal is returned, not raised, so the caller's transaction commits the
    failure count (an exception would roll it back and undo the lock-out).
    """
    now = now or datetime.now(timezone.utc)
    secret = session.get(AdminSecret, kiosk_id)
    if secret is None:
        return "no admin PIN is set yet"
    if secret.locked_until and now < _as_utc(secret.locked_until):
        return f"too many wrong PINs: locked for {_duration(_as_utc(secret.locked_until) - now)} more"
    if hmac.compare_digest(_hash(pin, secret.salt), secret.pin_hash):
        secret.failures, secret.locked_until = 0, None
        return None
    secret.failures += 1
    lockout = lockout_after(secret.failures)
    if lockout:
        secret.locked_until = now + lockout
        record_action(session, kiosk_id, "lockout", f"{secret.failures} wrong PINs in a row: "
                                                    f"locked for {_duration(lockout)}")
        return f"wrong PIN: locked for {_duration(lockout)}"
    return f"wrong PIN ({MAX_FAILURES - secret.failures % MAX_FAILURES} tries left)"


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds() + 0.999)
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 2 * 3600:
        return f"{(seconds + 59) // 60} minutes"
    return f"{seconds / 3600:.1f} hours"


def record_action(session: Session, kiosk_id: str, action: str, detail: str) -> None:
    session.add(AdminAction(action=action, detail=detail[:1000], kiosk_id=kiosk_id))
