"""The admin PIN: set once, kept only as a salted scrypt hash, locked after wrong tries."""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from kiosk.db import AdminAction, AdminSecret

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=5)
MIN_PIN_LENGTH = 4
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
    if len(pin) < MIN_PIN_LENGTH or not pin.isdigit():
        raise PinError(f"the PIN must be at least {MIN_PIN_LENGTH} digits")
    salt = os.urandom(16)
    secret = session.get(AdminSecret, kiosk_id) or AdminSecret(kiosk_id=kiosk_id)
    secret.salt, secret.pin_hash, secret.failures, secret.locked_until = salt, _hash(pin, salt), 0, None
    session.add(secret)
    record_action(session, kiosk_id, "set-pin", "admin PIN set")


def check_pin(session: Session, kiosk_id: str, pin: str, now: datetime | None = None) -> str | None:
    """None when the PIN is right, else why it was refused. After MAX_FAILURES
    wrong PINs in a row the panel is locked for LOCKOUT, right PIN or not.

    A refusal is returned, not raised, so the caller's transaction commits the
    failure count (an exception would roll it back and undo the lock-out).
    """
    now = now or datetime.now(timezone.utc)
    secret = session.get(AdminSecret, kiosk_id)
    if secret is None:
        return "no admin PIN is set yet"
    if secret.locked_until and now < _as_utc(secret.locked_until):
        wait = int((_as_utc(secret.locked_until) - now).total_seconds()) + 1
        return f"too many wrong PINs: locked for {wait} more seconds"
    if hmac.compare_digest(_hash(pin, secret.salt), secret.pin_hash):
        secret.failures, secret.locked_until = 0, None
        return None
    secret.failures += 1
    if secret.failures >= MAX_FAILURES:
        secret.failures, secret.locked_until = 0, now + LOCKOUT
        record_action(session, kiosk_id, "lockout", f"{MAX_FAILURES} wrong PINs")
        return f"wrong PIN: locked for {int(LOCKOUT.total_seconds())} seconds"
    return f"wrong PIN ({MAX_FAILURES - secret.failures} tries left)"


def record_action(session: Session, kiosk_id: str, action: str, detail: str) -> None:
    session.add(AdminAction(action=action, detail=detail[:1000], kiosk_id=kiosk_id))
