"""kiosk.outputs.door_sensor on gpiozero's mock pins: a door contact on one pin,
the relay (kiosk.outputs) on another; door forced and door held open."""

from __future__ import annotations

import time

import pytest

from helpers import wait_for
from kiosk.common.config import DoorSettings
from kiosk.outputs import open_output
from kiosk.outputs.door_sensor import FORCED_GRACE_S, open_sensor
from kiosk.common.door_events import DOOR_FORCED, DOOR_HELD

RELAY, CONTACT = 17, 27


@pytest.fixture
def door(pins):
    """(the relay's output, the contact's mock pin, a function making the
    sensor, the alarms it raised). The input's pull-up drives the mock pin
    high as it is claimed (an NC contact: the door open); sensor() then shuts
    the door unless told it starts open."""
    output = open_output(DoorSettings(type="gpio", pin=RELAY, open_seconds=1.0))
    alarms: list[str] = []
    made = []
    contact = pins.pin(CONTACT)

    def sensor(start_open: bool = False, **settings):
        door_settings = DoorSettings(type="gpio", pin=RELAY, sensor_pin=CONTACT, **settings)
        made.append(open_sensor(door_settings, output, alarms.append))
        if not start_open:
            contact.drive_high() if door_settings.sensor_contact == "no" else contact.drive_low()
        assert made[-1].open == start_open
        return made[-1]
    yield output, contact, sensor, alarms
    for s in made:
        s.close()
    output.close()


def test_no_sensor_pin_no_sensor(pins):
    output = open_output(DoorSettings(type="none"))
    assert open_sensor(DoorSettings(), output, print) is None
    output.close()


def test_a_door_opened_without_a_grant_is_forced(door):
    output, contact, sensor, alarms = door
    watch = sensor()
    assert not watch.open
    contact.drive_high()            # the NC contact opens: the door opens
    assert wait_for(lambda: alarms == [DOOR_FORCED], timeout=2)
    assert watch.open
    contact.drive_low()
    time.sleep(0.2)
    assert alarms == [DOOR_FORCED] and not watch.open


def test_a_door_opened_on_a_grant_or_just_after_is_not_forced(door, pins):
    output, contact, sensor, alarms = door
    sensor()
    output.pulse(0.3)
    assert wait_for(lambda: pins.pin(RELAY).state == 1, timeout=2)
    contact.drive_high()            # pushed while the lock is released
    contact.drive_low()
    assert wait_for(lambda: pins.pin(RELAY).state == 0, timeout=2)
    contact.drive_high()            # pushed just as the lock re-engaged: within the grace
    contact.drive_low()
    time.sleep(FORCED_GRACE_S + 0.2)
    assert alarms == []
    contact.drive_high()            # long after: forced
    assert wait_for(lambda: alarms == [DOOR_FORCED], timeout=2)


def test_a_door_held_open_past_its_time_is_reported_once_an_opening(door):
    output, contact, sensor, alarms = door
    sensor(held_open_s=1.0)
    output.pulse(1.0)
    assert wait_for(lambda: output.state == "open", timeout=2)
    opened = time.monotonic()
    contact.drive_high()
    assert wait_for(lambda: alarms == [DOOR_HELD], timeout=3)
    assert 1.0 <= time.monotonic() - opened < 1.5
    time.sleep(1.2)
    assert alarms == [DOOR_HELD]          # once, however long it stays open
    contact.drive_low()
    time.sleep(FORCED_GRACE_S)
    contact.drive_high()                  # a new opening (forced: the lock is long shut), timed anew
    assert wait_for(lambda: alarms == [DOOR_HELD, DOOR_FORCED, DOOR_HELD], timeout=3)


def test_a_door_closed_in_time_is_not_held(door):
    output, contact, sensor, alarms = door
    sensor(held_open_s=1.0)
    output.pulse(1.0)
    assert wait_for(lambda: output.state == "open", timeout=2)
    contact.drive_high()
    time.sleep(0.5)
    contact.drive_low()
    time.sleep(1.0)
    assert alarms == []


def test_a_normally_open_contact_reads_the_other_way(door):
    output, contact, sensor, alarms = door
    watch = sensor(sensor_contact="no")   # an NO contact is open while the door is shut: pulled up, high
    assert contact.state == 1 and not watch.open
    contact.drive_low()
    assert wait_for(lambda: alarms == [DOOR_FORCED], timeout=2) and watch.open


def test_a_door_open_at_start_is_timed_not_called_forced(door):
    output, contact, sensor, alarms = door
    sensor(start_open=True, held_open_s=1.0)
    assert wait_for(lambda: alarms == [DOOR_HELD], timeout=3)


def test_the_sensor_settings_are_checked():
    from kiosk.common.config import Settings, settings_problem
    problems = [settings_problem(Settings(door=DoorSettings(type="gpio", pin=RELAY, **bad)))
                for bad in ({"sensor_pin": RELAY}, {"sensor_pin": 40}, {"sensor_contact": "open"},
                            {"held_open_s": 0.5})]
    assert problems == [f"door.sensor_pin must not be the relay's pin ({RELAY})",
                        "door.sensor_pin must be between 0 and 27, not 40",
                        "door.sensor_contact must be one of nc, no, not 'open'",
                        "door.held_open_s must be between 1 and 3600, not 0.5"]
    assert settings_problem(Settings(door=DoorSettings(type="gpio", pin=RELAY, sensor_pin=CONTACT))) is None
