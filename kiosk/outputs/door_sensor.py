"""The door sensor (optional): a door contact on a GPIO input (gpiozero; its
mock pins in tests). Two alarms, each once per opening:

- DOOR_FORCED: the door opened while the lock was not released (no grant,
  no remote unlock), allowing FORCED_GRACE_S after the release ended for the
  push that began in time;
- DOOR_HELD: the door stayed open longer than held_open_s.

on_alarm(kind) is called from the sensor's own thread, never the recognizer's.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from kiosk.common.config import DoorSettings
from kiosk.outputs.door_output import OPEN, DoorOutput
from kiosk.common.door_events import DOOR_FORCED, DOOR_HELD

log = logging.getLogger("kiosk.door")

# A door pushed just as the lock re-engages (the open time ended while the
# visitor's hand was on it) is no break-in.
FORCED_GRACE_S = 2.0
BOUNCE_S = 0.05   # a reed contact chatters for a few ms as it closes


def released(output: DoorOutput, now: float | None = None) -> bool:
    """Is the lock released now, or was it within FORCED_GRACE_S?"""
    now = time.monotonic() if now is None else now
    return output.state == OPEN or (output.closed_at is not None and now - output.closed_at < FORCED_GRACE_S)


class DoorSensor:
    """Watches is_open (a callable reading the contact) through changed(), which
    the input's callbacks call; a thread of its own times the held-open alarm.
    A door already open at start is timed from then, not called forced."""

    def __init__(self, is_open: Callable[[], bool], held_open_s: float, lock_released: Callable[[], bool],
                 on_alarm: Callable[[str], None], release: Callable[[], None] | None = None):
        self.is_open = is_open
        self.held_open_s = held_open_s
        self.lock_released = lock_released
        self.on_alarm = on_alarm
        self._release = release   # frees the input at close()
        self.open = bool(is_open())
        self.opened_at: float | None = time.monotonic() if self.open else None
        self._held_reported = False
        self._closing = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="kiosk-door-sensor", daemon=True)
        self._thread.start()

    def changed(self) -> None:
        """The contact moved (the input's thread): note it; the held-open alarm is timed by ours."""
        is_open = bool(self.is_open())
        with self._wake:
            if is_open == self.open:
                return   # a bounce, or a repeat
            self.open = is_open
            self.opened_at = time.monotonic() if is_open else None
            self._held_reported = False
            self._wake.notify()
        if is_open and not self.lock_released():
            self._alarm(DOOR_FORCED)

    def close(self) -> None:
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join(5)
        if self._release is not None:
            self._release()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closing and (not self.open or self._held_reported):
                    self._wake.wait()
                if self._closing:
                    return
                opened_at = self.opened_at
                due = opened_at + self.held_open_s
                while not self._closing and self.opened_at == opened_at and time.monotonic() < due:
                    self._wake.wait(due - time.monotonic())
                held = not self._closing and self.opened_at == opened_at
                if held:
                    self._held_reported = True
            if held:
                self._alarm(DOOR_HELD)

    def _alarm(self, kind: str) -> None:
        log.warning("door alarm: %s", kind)
        try:
            self.on_alarm(kind)
        except Exception:   # the log's or the broker's trouble must not stop the watch
            log.exception("door alarm %s not passed on", kind)


def open_sensor(door: DoorSettings, output: DoorOutput, on_alarm: Callable[[str], None]) -> DoorSensor | None:
    """The sensor door.sensor_pin names (None: no sensor). A GPIO input that
    cannot be claimed (no GPIO on this machine) is logged, and the door runs
    without its alarms."""
    if door.sensor_pin is None:
        return None
    from gpiozero import DigitalInputDevice   # on use: a door without a sensor needs no gpiozero
    try:
        contact = DigitalInputDevice(door.sensor_pin, pull_up=True, bounce_time=BOUNCE_S)
    except Exception as exc:   # gpiozero's own errors: no pin factory, pin in use
        log.error("door sensor on pin %s unavailable: %s: %s", door.sensor_pin, exc.__class__.__name__, exc)
        return None
    # With the pull-up, the input is active (low) while the contact is closed:
    # an "nc" contact is closed while the door is shut.
    open_when_active = door.sensor_contact == "no"
    sensor = DoorSensor(lambda: contact.is_active == open_when_active, door.held_open_s,
                        lambda: released(output), on_alarm, release=contact.close)
    contact.when_activated = contact.when_deactivated = sensor.changed
    return sensor
