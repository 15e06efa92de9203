"""`kiosk bench` figures for what a grant sets off: the relay switching (gpiozero's
mock pin: the output's own thread, not the board's coil) and the MQTT event
reaching a client through a local Mosquitto broker."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from kiosk.common.config import MqttSettings
from kiosk.outputs.door_output import OPEN, DoorOutput

PULSE_S = 0.01   # each timed opening: short, so the runs follow each other quickly
EVENT = {"type": "granted", "name": "Bench", "kiosk_id": "bench", "time": "2026-01-01T00:00:00.000+00:00",
         "distance": 0.3}


def output_figures(runs: int = 30) -> dict:
    return {"grant_to_relay_ms_median": grant_to_relay_ms(runs),
            "grant_to_mqtt_event_ms_median": grant_to_mqtt_event_ms(runs)}


def grant_to_relay_ms(runs: int) -> float:
    """From DoorOutput.pulse() (what the door loop calls on a grant) to the
    relay's pin driven on, on gpiozero's mock pins."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory
    from kiosk.outputs.gpio import GpioRelay
    previous, Device.pin_factory = Device.pin_factory, MockFactory()
    switched: list[tuple[str, float]] = []
    changed = threading.Event()

    def on_state(state: str) -> None:
        switched.append((state, time.perf_counter()))
        changed.set()

    output = DoorOutput(GpioRelay(17), on_state=on_state)
    times = []
    try:
        for _ in range(runs + 3):   # the first 3: warm-up
            switched.clear()
            changed.clear()
            start = time.perf_counter()
            output.pulse(PULSE_S, EVENT)
            while len(switched) < 2 and changed.wait(5):   # open, then closed again
                changed.clear()
            if [s for s, _ in switched] != [OPEN, "closed"]:
                raise RuntimeError(f"relay bench: the output went {switched}")
            times.append(switched[0][1] - start)
    finally:
        output.close()
        Device.pin_factory.reset()
        Device.pin_factory = previous
    return round(1000 * float(np.median(times[3:])), 2)


def grant_to_mqtt_event_ms(runs: int) -> float | None:
    """From MqttReporter.event() (the door loop's call on a decision) to a
    subscribed client receiving it, through a Mosquitto started on a free
    loopback port; None without mosquitto."""
    if shutil.which("mosquitto") is None:
        return None
    from kiosk.outputs.local_broker import Listener, local_broker
    from kiosk.outputs.mqtt_reporter import MqttReporter
    with tempfile.TemporaryDirectory() as tmp, local_broker(Path(tmp)) as broker:
        reporter = MqttReporter(MqttSettings(url=broker.url), "bench")
        listener = Listener(broker.url, ["kiosk/bench/event"])
        times = []
        try:
            deadline = time.monotonic() + 10
            while not reporter.connected and time.monotonic() < deadline:
                time.sleep(0.01)
            for n in range(runs + 3):
                start = time.monotonic()   # the clock the listener stamps arrivals on
                reporter.event(EVENT)
                deadline = time.monotonic() + 10
                while len(listener.messages) <= n and time.monotonic() < deadline:
                    time.sleep(0.0002)
                if len(listener.messages) <= n:
                    raise RuntimeError("MQTT bench: an event never arrived")
                times.append(listener.messages[n][0] - start)
        finally:
            reporter.close()
            listener.close()
    return round(1000 * float(np.median(times[3:])), 2)
