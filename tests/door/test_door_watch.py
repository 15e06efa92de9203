"""kiosk.door.door_watch: the door sensor's alarms and Home Assistant's remote
unlock, through a real SQLite access log and the real mosquitto broker, the
relay and the door contact on gpiozero's mock pins."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from helpers import wait_for
from kiosk.common.config import DoorSettings, MqttSettings, Settings
from kiosk.door.door_watch import DoorWatch
from kiosk.outputs import open_output
from kiosk.outputs.local_broker import Listener
from kiosk.outputs.mqtt_reporter import MqttReporter
from kiosk.common.door_events import DOOR_FORCED, DOOR_HELD, REMOTE_UNLOCK
from kiosk.store.db import AccessEvent
from kiosk.store.event_writer import BackgroundWriter, EventWriter

KIOSK = "side-door"
RELAY, CONTACT = 17, 27


def rows(sessions) -> list[tuple]:
    with sessions.begin() as s:
        return [(e.decision, e.name, e.kiosk_id, e.snapshot) for e in s.scalars(select(AccessEvent).order_by(AccessEvent.id))]


@pytest.fixture
def kiosk_door(sessions, broker, pins):
    """make(remote_unlock, sensor) -> (watch, listener, relay pin, contact pin,
    sessions), wired as the window wires them; everything closed afterwards."""
    writer = BackgroundWriter(EventWriter(sessions))
    listener = Listener(broker.url, [f"kiosk/{KIOSK}/#", "homeassistant/lock/#"])
    opened = []

    def make(remote_unlock: bool = False, sensor: bool = False):
        door = DoorSettings(type="gpio", pin=RELAY, open_seconds=1.0, held_open_s=1.0,
                            sensor_pin=CONTACT if sensor else None)
        settings = Settings(kiosk_id=KIOSK, door=door, mqtt=MqttSettings(url=broker.url, remote_unlock=remote_unlock))
        reporter = MqttReporter(settings.mqtt, KIOSK)
        output = open_output(door, reporter.door)
        watch = DoorWatch(settings, output, writer, reporter)
        opened.append((watch, output, reporter))
        contact = pins.pin(CONTACT)
        if sensor:
            contact.drive_low()     # an NC contact: the door is shut
        assert wait_for(lambda: reporter.connected)
        assert wait_for(lambda: listener.payloads(f"kiosk/{KIOSK}/door") == [b"closed"])
        return watch, listener, pins.pin(RELAY), contact, sessions
    yield make
    for watch, output, reporter in opened:
        watch.close()
        output.close()
        reporter.close()
    writer.close()
    listener.close()


def events(listener) -> list[dict]:
    return [json.loads(p) for p in listener.payloads(f"kiosk/{KIOSK}/event")]


def test_a_forced_door_and_a_door_held_open_are_logged_and_published(kiosk_door):
    watch, listener, relay, contact, sessions = kiosk_door(sensor=True)
    contact.drive_high()
    assert wait_for(lambda: [e["type"] for e in events(listener)] == [DOOR_FORCED, DOOR_HELD], timeout=5)
    assert all(e["name"] is None and e["kiosk_id"] == KIOSK and e["time"] for e in events(listener))
    assert wait_for(lambda: rows(sessions) == [(DOOR_FORCED, None, KIOSK, None), (DOOR_HELD, None, KIOSK, None)])
    assert relay.state == 0


def test_remote_unlock_when_enabled_pulses_the_door_and_is_logged(kiosk_door):
    watch, listener, relay, contact, sessions = kiosk_door(remote_unlock=True, sensor=True)
    config = json.loads(listener.payloads(f"homeassistant/lock/{KIOSK}/lock/config")[0])
    assert config["command_topic"] == f"kiosk/{KIOSK}/lock/set" and config["icon"] == "mdi:door-closed-lock"
    relay.clear_states()
    listener.client.publish(config["command_topic"], "UNLOCK", qos=1)
    assert wait_for(lambda: [bool(s.state) for s in relay.states] == [False, True], timeout=3)
    contact.drive_high()   # walked through while it is open: not forced
    contact.drive_low()
    assert wait_for(lambda: [bool(s.state) for s in relay.states] == [False, True, False], timeout=3)
    assert 1.0 <= relay.states[2].timestamp < 1.5    # the door's open time
    assert wait_for(lambda: listener.payloads(f"kiosk/{KIOSK}/door") == [b"closed", b"open", b"closed"])
    assert wait_for(lambda: rows(sessions) == [(REMOTE_UNLOCK, None, KIOSK, None)])
    assert [e["type"] for e in events(listener)] == [REMOTE_UNLOCK]


def test_remote_unlock_is_refused_when_off(kiosk_door, caplog):
    watch, listener, relay, contact, sessions = kiosk_door(remote_unlock=False)
    relay.clear_states()
    listener.client.publish(f"kiosk/{KIOSK}/lock/set", "UNLOCK", qos=1)
    assert wait_for(lambda: "remote unlock refused" in caplog.text, timeout=3)
    time.sleep(0.3)
    assert [bool(s.state) for s in relay.states] == [False] and rows(sessions) == []


def test_a_retained_unlock_is_never_obeyed(kiosk_door, broker, caplog):
    """A retained UNLOCK would open the door at every reconnection of the kiosk."""
    stale = Listener(broker.url, ["nothing/here"])
    stale.client.publish(f"kiosk/{KIOSK}/lock/set", "UNLOCK", qos=1, retain=True).wait_for_publish(3)
    stale.close()
    watch, listener, relay, contact, sessions = kiosk_door(remote_unlock=True)
    assert wait_for(lambda: "lock command ignored: b'UNLOCK' (retained)" in caplog.text, timeout=3)
    relay.clear_states()
    time.sleep(0.3)
    assert [bool(s.state) for s in relay.states] == [False] and rows(sessions) == []
    listener.client.publish(f"kiosk/{KIOSK}/lock/set", "", qos=1, retain=True)   # the retained one cleared
    listener.client.publish(f"kiosk/{KIOSK}/lock/set", "UNLOCK", qos=1)           # a live one is obeyed
    assert wait_for(lambda: [bool(s.state) for s in relay.states] == [False, True], timeout=3)
