"""Fail-closed pulses of a relay, on the output's own thread, so a slow relay
(a program, a serial board) never holds up the recognizer."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from typing import Callable, Protocol

from kiosk.common.trouble import Trouble

log = logging.getLogger("kiosk.door")

OPEN, CLOSED = "open", "closed"
JOIN_S = 15.0   # longer than a command relay's own timeout


class Relay(Protocol):
    """One switch. on() and off() raise on failure; close() releases the device."""

    def on(self, seconds: float, event: dict | None) -> None: ...
    def off(self) -> None: ...
    def close(self) -> None: ...


class MessageRelay:
    """A relay told what to do in messages (a program, a webhook):
    {"action": "open", "seconds": float, "event": {...}} and {"action": "close"}."""

    def on(self, seconds: float, event: dict | None) -> None:
        self.send({"action": "open", "seconds": round(seconds, 3), "event": event})

    def off(self) -> None:
        self.send({"action": "close"})

    def close(self) -> None:
        pass

    def send(self, message: dict) -> None:
        raise NotImplementedError


class NoRelay:
    """No door hardware: the kiosk greets and logs only."""

    def on(self, seconds: float, event: dict | None) -> None:
        pass

    def off(self) -> None:
        pass

    def close(self) -> None:
        pass


class DoorOutput:
    """pulse(seconds) opens the lock for that long; close() forces it shut and
    releases the relay. Fail closed:

    - the relay is switched off at start (before any pulse), after each
      opening, after any error and at exit (close(), or the interpreter's exit);
    - a failed opening is logged, shown (`error`) and not retried; the next
      grant tries again only if switching off worked. If switching off fails
      too, the output is disabled (`broken`) until the kiosk restarts.

    A pulse during an opening extends it to the later end (two people in a row).
    on_state("open" | "closed") is called from the output's thread.
    """

    def __init__(self, relay: Relay, open_seconds: float = 3.0,
                 on_state: Callable[[str], None] | None = None, broken: Trouble | None = None):
        self.relay = relay
        self.open_seconds = open_seconds
        self.on_state = on_state
        self.error: Trouble | None = broken
        self.broken = broken is not None
        self.state = CLOSED
        self.closed_at: float | None = None  # time.monotonic() the lock last closed after an opening
        self._wake = threading.Condition()
        self._until: float | None = None     # when the current opening ends
        self._seconds = 0.0                   # the last pulse's length
        self._event: dict | None = None
        self._closing = False
        self._gave_up = False                 # close() stopped waiting for the thread
        self._switch_off("at start")
        self._thread = threading.Thread(target=self._run, name="kiosk-door-output", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def pulse(self, seconds: float | None = None, event: dict | None = None) -> bool:
        """Open for `seconds` (default: open_seconds) without waiting; False when
        the output is disabled or closed."""
        with self._wake:
            if self.broken or self._closing:
                return False
            self._seconds = self.open_seconds if seconds is None else seconds
            end = time.monotonic() + self._seconds
            self._until = max(self._until or end, end)
            self._event = event
            self._wake.notify()
        return True

    def close(self) -> None:
        """Stop the thread, switch off and release the relay (idempotent)."""
        with self._wake:
            if self._closing:
                return
            self._closing = True
            self._wake.notify()
        atexit.unregister(self.close)
        self._thread.join(JOIN_S)
        with self._wake:
            self._gave_up = self._thread.is_alive()
        self._switch_off("at exit")
        try:
            self.relay.close()
        except Exception as exc:   # releasing: nothing left to protect
            log.warning("door output not released: %s", exc)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._until is None and not self._closing:
                    self._wake.wait()
                if self._closing:
                    return
                seconds, event = self._seconds, self._event
            try:
                self.relay.on(seconds, event)
            except Exception as exc:   # any backend's failure: the door must not stay open
                self._failed("did not open", exc)
                with self._wake:
                    self._until = None
                self._switch_off("after a failed opening")
                continue
            with self._wake:
                # A relay slower than close()'s wait switched on after close()
                # switched it off: off again, or the door stays open. (Had
                # close() still waited, it switches off itself, after this.)
                late = self._gave_up
            if late:
                self._switch_off("after an opening that outlived the close")
                return
            self._set_state(OPEN)
            with self._wake:
                # Open time counted from the relay switching, not from the grant.
                self._until = max(self._until, time.monotonic() + self._seconds)
                while not self._closing and time.monotonic() < self._until:
                    self._wake.wait(self._until - time.monotonic())
                self._until = None
                if self._closing:
                    return   # close() switches off, once
            if self._switch_off("after opening") and self.error and not self.broken:
                log.warning("door output working again")
                self.error = None

    def _switch_off(self, when: str) -> bool:
        try:
            self.relay.off()
        except Exception as exc:   # any backend's failure
            self._failed(f"did not close {when}", exc)
            self.broken = True
            return False
        self._set_state(CLOSED)
        return True

    def _failed(self, what: str, exc: Exception) -> None:
        self.error = Trouble(f"door output {what}", f"{exc.__class__.__name__}: {exc}")
        log.error("%s", self.error)

    def _set_state(self, state: str) -> None:
        changed = state != self.state
        if changed and state == CLOSED:
            self.closed_at = time.monotonic()   # first: the door sensor reads state, then this
        self.state = state
        if changed and self.on_state is not None:
            try:
                self.on_state(state)
            except Exception:   # a reporter's trouble must not stop the door
                log.exception("door state not reported")
