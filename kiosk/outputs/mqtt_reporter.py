"""The door's reports to an MQTT broker, Home Assistant's discovery included
(kiosk.json "mqtt"; nothing is sent without it).

Topics, under kiosk/<kiosk_id>/:
  availability  "online" (retained); "offline" as the last will and on a clean stop
  event         one JSON message per decision (kiosk.door.event_message)
  door          "open" / "closed" (retained)
  last_person   the name of the last person let in (retained)
  lock/set      Home Assistant's lock commands: UNLOCK opens the door only with
                mqtt.remote_unlock on (on_unlock); otherwise it is refused, in the kiosk's log
and Home Assistant's discovery configs under <discovery_prefix>/, sent on each
connection and again whenever Home Assistant announces itself online.

The door never waits for the broker: messages are handed to a thread of ours,
then to paho-mqtt, which keeps them (QoS 1, bounded) while the broker is away
and sends them when it is back.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
from typing import Callable
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from kiosk.common.door_events import DECISIONS, GRANTED
from kiosk.common.config import MqttSettings
from kiosk.common.trouble import Trouble

log = logging.getLogger("kiosk.mqtt")

MAX_WAITING = 1000     # messages kept for an absent broker; beyond that new ones are dropped
STOP_WAIT_S = 3.0      # at a clean stop, how long queued messages may take to reach the broker
UNLOCK = b"UNLOCK"     # Home Assistant's lock: its default payload_unlock


class MqttReporter:
    def __init__(self, settings: MqttSettings, kiosk_id: str, max_waiting: int = MAX_WAITING):
        url = urlsplit(settings.url)
        self.host, self.port = url.hostname, url.port or (8883 if url.scheme == "mqtts" else 1883)
        self.kiosk_id = kiosk_id
        self.base = f"kiosk/{kiosk_id}"
        self.discovery_prefix = settings.discovery_prefix
        self.remote_unlock = settings.remote_unlock
        # Called (paho's thread; it must not block) for an UNLOCK with remote_unlock on.
        self.on_unlock: Callable[[], None] | None = None
        self.door_state = "closed"
        self.connected = False
        self.refused: str | None = None   # the broker's reason, when it said no (credentials)
        self.dropped = 0
        self._closed = False
        # Message ids handed to paho and not yet acknowledged by the broker, and
        # those acknowledged before publish() returned to us (paho's thread is quick).
        self._unacked: set[int] = set()
        self._acked_early: set[int] = set()
        self._lock = threading.Lock()
        self._handoff: queue.Queue = queue.Queue(max_waiting)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"door-kiosk-{kiosk_id}")
        client.will_set(self.topic("availability"), "offline", qos=1, retain=True)
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls or url.scheme == "mqtts":
            client.tls_set()
        client.max_queued_messages_set(max_waiting)
        client.reconnect_delay_set(1, 10)
        client.on_connect, client.on_disconnect = self._on_connect, self._on_disconnect
        client.on_message, client.on_publish = self._on_message, self._on_publish
        self.client = client
        client.connect_async(self.host, self.port, keepalive=30)
        client.loop_start()
        self._thread = threading.Thread(target=self._run, name="kiosk-mqtt", daemon=True)
        self._thread.start()

    def topic(self, leaf: str) -> str:
        return f"{self.base}/{leaf}"

    # ---- what the door calls (never blocks) ----------------------------------------

    def event(self, message: dict) -> None:
        self._hand_over(self.topic("event"), json.dumps(message, ensure_ascii=False), retain=False)
        if message.get("type") == GRANTED and message.get("name"):
            self._hand_over(self.topic("last_person"), message["name"], retain=True)

    def door(self, state: str) -> None:
        """The door output's on_state: "open" or "closed"."""
        self.door_state = state
        self._hand_over(self.topic("door"), state, retain=True)

    @property
    def error(self) -> Trouble | None:
        """The trouble to show at the door, or None."""
        lost = f", {self.dropped} dropped" if self.dropped else ""
        if not self.connected:
            trouble = f"refused the kiosk ({self.refused})" if self.refused else "unreachable"
            return Trouble(f"MQTT broker {trouble} ({self.waiting()} waiting{lost})", f"{self.host}:{self.port}")
        if self.dropped:
            return Trouble(f"MQTT messages lost ({self.dropped} dropped while the broker was away)",
                           f"{self.host}:{self.port}")
        return None

    def waiting(self) -> int:
        with self._lock:
            return self._handoff.qsize() + len(self._unacked)

    def close(self) -> None:
        """A clean stop: what is queued goes out if the broker is there, then "offline" (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._handoff.put(None)
        self._thread.join(STOP_WAIT_S)
        if self.connected:
            info = self._send(self.topic("availability"), "offline", retain=True)
            try:
                info.wait_for_publish(STOP_WAIT_S)
            except (RuntimeError, ValueError):   # the connection went meanwhile
                pass
        self.client.disconnect()
        self.client.loop_stop()

    # ---- our thread: from the door to paho ---------------------------------------

    def _hand_over(self, topic: str, payload: str, retain: bool) -> None:
        try:
            self._handoff.put_nowait((topic, payload, retain))
        except queue.Full:
            self._dropped_one(topic)

    def _run(self) -> None:
        while (item := self._handoff.get()) is not None:
            self._send(*item)

    def _send(self, topic: str, payload: str, retain: bool) -> mqtt.MQTTMessageInfo:
        """To paho at QoS 1: sent now, or kept by paho until the broker is back."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            self._dropped_one(topic)
            return info
        with self._lock:
            if info.mid in self._acked_early:
                self._acked_early.discard(info.mid)
            else:
                self._unacked.add(info.mid)
        return info

    def _dropped_one(self, topic: str) -> None:
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 100 == 0:
            log.error("MQTT: %d message(s) dropped (queue full), the last to %s", self.dropped, topic)

    # ---- paho's thread ---------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            if self.refused is None:
                log.warning("MQTT broker %s:%s refused the connection: %s", self.host, self.port, reason_code)
            self.refused = str(reason_code)
            return
        self.refused = None
        log.info("MQTT connected to %s:%s", self.host, self.port)
        self.connected = True
        client.subscribe([(f"{self.discovery_prefix}/status", 1), (self.topic("lock/set"), 1)])
        for topic, payload in [(self.topic("availability"), "online"), *self._discovery(),
                               (self.topic("door"), self.door_state)]:
            self._send(topic, payload, retain=True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self.connected and not self._closed:
            log.warning("MQTT disconnected from %s:%s: %s", self.host, self.port, reason_code)
        self.connected = False

    def _on_message(self, client, userdata, message) -> None:
        if message.topic == self.topic("lock/set"):
            self._lock_command(message)
            return
        # Home Assistant restarted: it has forgotten the entities until told again.
        if message.topic == f"{self.discovery_prefix}/status" and message.payload == b"online":
            for topic, payload in self._discovery():
                self._send(topic, payload, retain=True)

    def _lock_command(self, message) -> None:
        # A retained command would open the door again at every reconnection: a
        # command is for now, from someone there now.
        if message.retain or message.payload != UNLOCK:
            log.warning("lock command ignored: %r%s", message.payload[:20], " (retained)" if message.retain else "")
            return
        on_unlock = self.on_unlock   # read once: the door's thread may clear it meanwhile (a settings change)
        if not self.remote_unlock or on_unlock is None:
            log.warning("remote unlock refused: it is off (mqtt.remote_unlock in the settings)")
            return
        on_unlock()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            if mid in self._unacked:
                self._unacked.discard(mid)
            else:
                self._acked_early.add(mid)

    def _discovery(self) -> list[tuple[str, str]]:
        """Home Assistant's MQTT discovery configs: the door's events, the last
        person let in, the door as a binary sensor, and the lock (its state the
        relay's; its unlock opens the door only with remote_unlock on)."""
        node = re.sub(r"[^a-zA-Z0-9_-]", "_", self.kiosk_id)
        device = {"identifiers": [f"door_kiosk_{node}"], "name": f"Door kiosk {self.kiosk_id}",
                  "manufacturer": "door-kiosk", "model": "Face-recognition door kiosk"}
        common = {"availability_topic": self.topic("availability"), "device": device}
        entities = {
            ("event", "access"): {
                "name": "Access", "state_topic": self.topic("event"), "event_types": list(DECISIONS),
                # HA reads event_type; the rest of our message becomes the event's attributes.
                "value_template": '{{ {"event_type": value_json.type, "name": value_json.name, '
                                  '"distance": value_json.distance} | tojson }}'},
            ("sensor", "last_person"): {
                "name": "Last person", "state_topic": self.topic("last_person"), "icon": "mdi:account-check"},
            ("binary_sensor", "door"): {
                "name": "Door", "state_topic": self.topic("door"), "device_class": "door",
                "payload_on": "open", "payload_off": "closed"},
            ("lock", "lock"): {
                "name": "Lock", "state_topic": self.topic("door"), "state_locked": "closed",
                "state_unlocked": "open", "command_topic": self.topic("lock/set"), "payload_unlock": "UNLOCK",
                "payload_lock": "LOCK", "retain": False,
                "icon": "mdi:door-closed-lock" if self.remote_unlock else "mdi:lock-alert"},
        }
        return [(f"{self.discovery_prefix}/{component}/{node}/{object_id}/config",
                 json.dumps({**config, **common, "unique_id": f"door_kiosk_{node}_{object_id}",
                             "object_id": f"door_kiosk_{node}_{object_id}"}))
                for (component, object_id), config in entities.items()]
