"""The door's events that are not a face's decision: the door sensor's alarms
(door_held, door_forced) and Home Assistant's remote unlocks. Each is an
access-log row (no person, no snapshot) and an MQTT event, like a decision."""

from __future__ import annotations

import logging

from kiosk.common.config import Settings
from kiosk.door.event_message import event_message
from kiosk.outputs import DoorOutput
from kiosk.outputs.door_sensor import DoorSensor, open_sensor
from kiosk.outputs.mqtt_reporter import MqttReporter
from kiosk.common.door_events import NewEvent, REMOTE_UNLOCK
from kiosk.store.db import utc_now
from kiosk.store.event_writer import BackgroundWriter, EventWriter

log = logging.getLogger("kiosk.door")


class DoorWatch:
    """Wires the door sensor (door.sensor_pin) and the lock entity's remote
    unlock (mqtt.remote_unlock) to the log and the broker. Called from the
    sensor's and paho's threads: the writer must be a BackgroundWriter there
    (its append only queues); an EventWriter is for tests."""

    def __init__(self, settings: Settings, output: DoorOutput, writer: BackgroundWriter | EventWriter,
                 reporter: MqttReporter | None):
        self.kiosk_id = settings.kiosk_id
        self.output, self.writer, self.reporter = output, writer, reporter
        self.sensor: DoorSensor | None = open_sensor(settings.door, output, self.record)
        if reporter is not None and settings.mqtt is not None and settings.mqtt.remote_unlock:
            reporter.on_unlock = self.remote_unlock

    def record(self, kind: str) -> None:
        """Log and report one event of the door itself (the sensor's alarms)."""
        self._pass_on(self._event(kind))

    def remote_unlock(self) -> None:
        """Home Assistant's UNLOCK: one opening of the door's open time, logged."""
        event = self._event(REMOTE_UNLOCK)
        if not self.output.pulse(self.output.open_seconds, event_message(event)):
            log.warning("remote unlock not done: %s", self.output.error or "the door output is closed")
            return
        self._pass_on(event)

    def _event(self, kind: str) -> NewEvent:
        return NewEvent(decision=kind, person_id=None, name=None, distance=None, snapshot_jpeg=None,
                        kiosk_id=self.kiosk_id, time=utc_now())

    def _pass_on(self, event: NewEvent) -> None:
        self.writer.append([event])
        if self.reporter is not None:
            self.reporter.event(event_message(event))

    def close(self) -> None:
        if self.reporter is not None and self.reporter.on_unlock == self.remote_unlock:
            self.reporter.on_unlock = None
        if self.sensor is not None:
            self.sensor.close()
