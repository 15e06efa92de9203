"""A relay device commanded over MQTT (a Shelly Plus/Pro, a Tasmota), each
opening sent with the device's own auto-off, so a kiosk that dies mid-opening
(kill -9, power) cannot leave the door open: the device closes by itself."""

from __future__ import annotations

import json
import threading
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from kiosk.common.config import MqttSettings

ACK_TIMEOUT_S = 3.0   # the broker's acknowledgement of a command (QoS 1)
CONNECT_TIMEOUT_S = 5.0


class MqttRelayFailed(RuntimeError):
    pass


def tasmota_pulse_time(seconds: float) -> int:
    """Tasmota's PulseTime: 1-111 in tenths of a second, above that seconds + 100."""
    return max(1, round(seconds * 10)) if seconds <= 11.1 else round(seconds) + 100


class MqttRelay:
    """device "shelly": Shelly Gen2+ RPC on <topic>/rpc, Switch.Set with
    toggle_after; "tasmota": cmnd/<topic>/Backlog with PulseTime1 then Power1.
    Each command waits for the broker's acknowledgement; none is a failure."""

    def __init__(self, broker: MqttSettings, device: str, topic: str, client_id: str):
        url = urlsplit(broker.url)
        self.device, self.topic, self.client_id = device, topic, client_id
        self._connected = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if broker.username is not None:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls or url.scheme == "mqtts":
            client.tls_set()
        client.on_connect = lambda c, u, f, rc, p: self._connected.set() if not rc.is_failure else None
        client.on_disconnect = lambda *args: self._connected.clear()
        client.reconnect_delay_set(1, 10)
        client.connect_async(url.hostname, url.port or (8883 if url.scheme == "mqtts" else 1883))
        client.loop_start()
        self.client = client
        self._rpc_id = 0
        if not self._connected.wait(CONNECT_TIMEOUT_S):
            self.close()
            raise MqttRelayFailed(f"broker {url.hostname}:{url.port} not reached within {CONNECT_TIMEOUT_S:g} s")

    def on(self, seconds: float, event: dict | None) -> None:
        if self.device == "shelly":
            self._rpc({"id": 0, "on": True, "toggle_after": round(seconds, 1)})
        else:
            self._send(f"cmnd/{self.topic}/Backlog", f"PulseTime1 {tasmota_pulse_time(seconds)}; Power1 ON")

    def off(self) -> None:
        if self.device == "shelly":
            self._rpc({"id": 0, "on": False})
        else:
            self._send(f"cmnd/{self.topic}/Power1", "OFF")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _rpc(self, params: dict) -> None:
        self._rpc_id += 1
        self._send(f"{self.topic}/rpc", json.dumps({"id": self._rpc_id, "src": self.client_id,
                                                    "method": "Switch.Set", "params": params}))

    def _send(self, topic: str, payload: str) -> None:
        # Never queued for later: a late "on" would open the door for nobody.
        if not self._connected.is_set():
            raise MqttRelayFailed("the broker is not connected")
        info = self.client.publish(topic, payload, qos=1)
        try:
            info.wait_for_publish(ACK_TIMEOUT_S)
        except (RuntimeError, ValueError) as exc:
            raise MqttRelayFailed(str(exc)) from exc
        if not info.is_published():
            raise MqttRelayFailed(f"the broker did not acknowledge within {ACK_TIMEOUT_S:g} s")
