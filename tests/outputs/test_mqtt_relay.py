"""kiosk.outputs.mqtt_relay on a real broker (mosquitto): the commands a Shelly
and a Tasmota get, and the point of the device's own auto-off: a kiosk killed
with kill -9 mid-opening still leaves the door closed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from helpers import PROJECT_DIR, wait_for
from kiosk.common.config import DoorSettings, MqttSettings
from kiosk.outputs.local_broker import Listener, free_port
from kiosk.outputs import open_output
from kiosk.outputs.mqtt_relay import tasmota_pulse_time

SHELLY = "shellyplus1-a8032ab1c2d3"


class FakeShelly:
    """A test double for a Shelly Plus 1 on the broker: it answers Switch.Set
    RPCs as the device does, toggle_after included, and records its relay's
    states with their times."""

    def __init__(self, url: str):
        self.states: list[tuple[float, bool]] = []
        self.calls: list[dict] = []
        self._timer: threading.Timer | None = None
        self.listener = Listener(url, [f"{SHELLY}/rpc"])
        self.listener.client.on_message = lambda c, u, m: self._rpc(json.loads(m.payload))

    def _rpc(self, call: dict) -> None:
        self.calls.append(call)
        params = call["params"]
        if self._timer:
            self._timer.cancel()
        self._switch(params["on"])
        if params["on"] and "toggle_after" in params:
            self._timer = threading.Timer(params["toggle_after"], self._switch, [False])
            self._timer.start()

    def _switch(self, on: bool) -> None:
        self.states.append((time.monotonic(), on))

    def on(self) -> bool | None:
        return self.states[-1][1] if self.states else None

    def close(self) -> None:
        if self._timer:
            self._timer.cancel()
        self.listener.close()


@pytest.fixture
def shelly(broker):
    device = FakeShelly(broker.url)
    yield device
    device.close()


def shelly_door(broker, open_seconds: float = 3.0):
    return open_output(DoorSettings(type="mqtt", device="shelly", topic=SHELLY, open_seconds=open_seconds),
                       broker=MqttSettings(url=broker.url), kiosk_id="door-7")


def test_a_shelly_is_switched_off_at_start_then_on_with_its_auto_off_then_off(broker, shelly):
    output = shelly_door(broker)
    assert wait_for(lambda: shelly.on() is False)
    output.pulse(0.3)
    assert wait_for(lambda: len(shelly.calls) == 3)
    # (the device's own toggle_after and the kiosk's "off" come at about the same time)
    assert [on for _, on in shelly.states][:3] == [False, True, False]
    assert [c["params"] for c in shelly.calls] == [
        {"id": 0, "on": False}, {"id": 0, "on": True, "toggle_after": 0.3}, {"id": 0, "on": False}]
    assert {c["method"] for c in shelly.calls} == {"Switch.Set"} and output.error is None
    output.close()


def test_a_tasmota_gets_its_pulse_time_with_each_opening(broker):
    listener = Listener(broker.url, ["cmnd/door_relay/#"])
    output = open_output(DoorSettings(type="mqtt", device="tasmota", topic="door_relay"),
                         broker=MqttSettings(url=broker.url))
    output.pulse(3)
    assert wait_for(lambda: output.state == "open")
    output.close()                                    # before the 3 s are up
    assert wait_for(lambda: len(listener.messages) == 3)
    assert [(t, p.decode()) for _, t, p, _ in listener.messages] == [
        ("cmnd/door_relay/Power1", "OFF"), ("cmnd/door_relay/Backlog", "PulseTime1 30; Power1 ON"),
        ("cmnd/door_relay/Power1", "OFF")]
    assert (tasmota_pulse_time(0.05), tasmota_pulse_time(11.1), tasmota_pulse_time(30)) == (1, 111, 130)
    listener.close()


def test_a_broker_not_there_at_start_is_shown_and_opens_nothing():
    output = open_output(DoorSettings(type="mqtt", topic=SHELLY),
                         broker=MqttSettings(url=f"mqtt://127.0.0.1:{free_port()}"))
    assert output.broken and str(output.error).startswith("door output mqtt unavailable: MqttRelayFailed: broker")
    assert output.pulse(1) is False
    output.close()


KIOSK_PROCESS = """
import sys, time
from kiosk.common.config import DoorSettings, MqttSettings
from kiosk.outputs import open_output
output = open_output(DoorSettings(type="mqtt", topic=sys.argv[2], open_seconds=float(sys.argv[3])),
                     broker=MqttSettings(url=sys.argv[1]))
output.pulse()
while output.state != "open":
    time.sleep(0.01)
print("open", flush=True)
time.sleep(60)
"""


def test_a_kiosk_killed_mid_opening_leaves_the_door_closed_by_the_device(broker, shelly):
    kiosk = subprocess.Popen([sys.executable, "-c", KIOSK_PROCESS, broker.url, SHELLY, "1.5"],
                             cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True)
    try:
        assert kiosk.stdout.readline() == "open\n"
        assert shelly.on() is True
        kiosk.kill()                                  # kill -9: no close, no "off" from the kiosk
        kiosk.wait(10)
        assert wait_for(lambda: shelly.on() is False, timeout=10)
    finally:
        if kiosk.poll() is None:
            kiosk.kill()
            kiosk.wait()
        kiosk.stdout.close()
    (_, off), (opened, on), (closed, off_again) = shelly.states
    assert (off, on, off_again) == (False, True, False)
    assert closed - opened >= 1.5 - 0.05               # the device's own toggle_after closed it
    assert [c["params"]["on"] for c in shelly.calls] == [False, True]
