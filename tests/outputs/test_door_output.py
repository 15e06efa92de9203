"""kiosk.outputs: each backend against its test double (gpiozero's mock pins,
a real program, pyserial's loop://), fail-closed at start, at exit and on error,
and the open time respected."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from gpiozero import Device

from helpers import wait_for
from kiosk.common.config import DoorSettings
from kiosk.outputs import DoorOutput, open_output
from kiosk.outputs.door_output import CLOSED, OPEN
from kiosk.outputs.webhook import SIGNATURE_HEADER

PIN = 17




def gpio(open_seconds: float = 3.0, active_high: bool = True, on_state=None) -> DoorOutput:
    return open_output(DoorSettings(type="gpio", pin=PIN, open_seconds=open_seconds, active_high=active_high),
                       on_state)


def levels(pin) -> list[bool]:
    return [bool(s.state) for s in pin.states]


# ---- GPIO -----------------------------------------------------------------------

def test_a_pulse_drives_the_pin_for_the_open_time_then_releases_it(pins):
    states = []
    output = gpio(on_state=states.append)
    pin = pins.pin(PIN)
    pin.clear_states()
    assert output.pulse(0.3) is True     # returns at once: the pin is driven by the output's thread
    assert wait_for(lambda: levels(pin) == [False, True, False])
    high_for = pin.states[2].timestamp   # seconds between the two changes
    assert 0.3 <= high_for < 0.3 + 0.5
    assert states == [OPEN, CLOSED] and output.error is None
    output.close()


def test_the_default_open_time_comes_from_the_settings(pins):
    output = gpio(open_seconds=1.0)
    pin = pins.pin(PIN)
    pin.clear_states()
    output.pulse()
    assert wait_for(lambda: levels(pin) == [False, True, False])
    assert 1.0 <= pin.states[2].timestamp < 1.5
    output.close()


def test_a_second_grant_while_open_extends_the_opening(pins):
    output = gpio()
    pin = pins.pin(PIN)
    pin.clear_states()
    output.pulse(0.4)
    assert wait_for(lambda: pin.state)
    time.sleep(0.2)
    output.pulse(0.4)                     # 0.2 s in: now open until 0.6 s
    assert wait_for(lambda: levels(pin) == [False, True, False])
    assert 0.6 <= pin.states[2].timestamp < 1.1
    output.close()


def test_active_low_boards_are_driven_low_to_open(pins):
    output = gpio(active_high=False)
    pin = pins.pin(PIN)
    assert pin.state == 1                 # closed: the relay's input held high
    output.pulse(0.1)
    assert wait_for(lambda: pin.state == 0)
    assert wait_for(lambda: pin.state == 1)
    output.close()


def test_the_pin_is_forced_off_at_start_even_if_it_was_left_on(pins):
    pin = pins.pin(PIN)
    pin._change_state(True)               # what a crashed run left behind
    output = gpio()
    assert pin.state == 0 and output.state == CLOSED
    output.close()


def test_closing_mid_opening_forces_the_pin_off_at_once(pins):
    output = gpio()
    pin = pins.pin(PIN)
    output.pulse(30)
    assert wait_for(lambda: pin.state == 1)
    started = time.monotonic()
    output.close()
    assert pin.state == 0 and time.monotonic() - started < 5
    assert output.pulse(1) is False       # a closed output opens nothing


def test_no_gpio_on_this_machine_is_an_error_shown_not_a_crash(monkeypatch):
    # This PC's own pins, not the mock: there are none (gpiozero finds no Pi).
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    monkeypatch.setattr(Device, "pin_factory", None)
    with pytest.warns(Warning):   # gpiozero's PinFactoryFallback, one per factory tried
        output = gpio()
    assert str(output.error).startswith("door output gpio unavailable: BadPinFactory")
    assert output.pulse(1) is False
    output.close()


# ---- a program ------------------------------------------------------------------

RELAY_SCRIPT = """
import json, sys
message = json.load(sys.stdin)
with open(sys.argv[1], "a", encoding="utf-8") as log:
    log.write(json.dumps(message) + "\\n")
fail = sys.argv[2] if len(sys.argv) > 2 else ""
if message["action"] in fail.split(","):
    print("relay board not answering", file=sys.stderr)
    sys.exit(3)
"""


def command_door(tmp_path, fail: str = "") -> tuple[DoorOutput, callable]:
    script = tmp_path / "relay.py"
    script.write_text(RELAY_SCRIPT, encoding="utf-8")
    calls = tmp_path / "calls.jsonl"
    argv = [sys.executable, str(script), str(calls)] + ([fail] if fail else [])
    output = open_output(DoorSettings(type="command", command=tuple(argv)))

    def read() -> list[dict]:
        return [json.loads(line) for line in calls.read_text(encoding="utf-8").splitlines()] if calls.exists() else []
    return output, read


def test_a_command_is_told_to_close_at_start_open_with_the_event_then_close(tmp_path):
    output, calls = command_door(tmp_path)
    assert calls() == [{"action": "close"}]
    event = {"type": "granted", "name": "Zoë", "kiosk_id": "door-1", "time": "2026-12-01T08:00:00+00:00",
             "distance": 0.3}
    output.pulse(0.2, event)
    assert wait_for(lambda: len(calls()) == 3)
    opened = calls()[1]
    assert (opened["action"], opened["event"]) == ("open", event) and 0.1 < opened["seconds"] <= 0.2
    assert calls()[2] == {"action": "close"} and output.error is None
    output.close()
    assert calls()[-1] == {"action": "close"}


def test_a_relay_that_opens_after_close_gave_up_waiting_is_switched_off_again(tmp_path, monkeypatch):
    """A slow board: the program takes a second to switch on. close() waits
    less than that (JOIN_S) and switches off; the opening lands after: the
    output's thread must switch off again, or the door stays open."""
    from kiosk.outputs import door_output
    monkeypatch.setattr(door_output, "JOIN_S", 0.2)
    script = tmp_path / "slow_relay.py"
    script.write_text(SLOW_RELAY_SCRIPT, encoding="utf-8")
    calls = tmp_path / "calls.jsonl"
    output = open_output(DoorSettings(type="command", command=(sys.executable, str(script), str(calls))))
    read = lambda: [json.loads(line)["action"] for line in calls.read_text(encoding="utf-8").splitlines()]
    output.pulse(5)
    time.sleep(0.2)      # the program is switching on
    output.close()
    assert wait_for(lambda: read() == ["close", "close", "open", "close"], timeout=5)
    assert output.state == CLOSED


SLOW_RELAY_SCRIPT = """
import json, sys, time
message = json.load(sys.stdin)
if message["action"] == "open":
    time.sleep(1.0)
with open(sys.argv[1], "a", encoding="utf-8") as log:   # written once switched
    log.write(json.dumps(message) + "\\n")
"""


def test_a_failing_program_is_shown_closed_and_not_retried(tmp_path):
    output, calls = command_door(tmp_path, fail="open")
    output.pulse(5)
    assert wait_for(lambda: len(calls()) == 3)       # close at start, the failed open, close
    assert [c["action"] for c in calls()] == ["close", "open", "close"]
    assert str(output.error).endswith("exited 3: relay board not answering")
    assert output.state == CLOSED and not output.broken
    time.sleep(0.3)
    assert len(calls()) == 3                          # no retry of its own
    output.close()


def test_an_output_that_cannot_close_is_disabled(tmp_path):
    output, calls = command_door(tmp_path, fail="close")
    assert output.broken and "did not close at start" in str(output.error)
    assert output.pulse(1) is False                   # never opened again
    output.close()
    assert [c["action"] for c in calls()] == ["close", "close"]   # at start, at exit


def test_a_missing_program_is_an_error_shown(tmp_path):
    output = open_output(DoorSettings(type="command", command=(str(tmp_path / "nowhere"),)))
    assert output.broken and "No such file" in str(output.error)
    output.close()


# ---- a USB-serial relay board ---------------------------------------------------------

def serial_door(**door) -> DoorOutput:
    return open_output(DoorSettings(type="serial", port="loop://", **door))


def test_a_serial_board_gets_its_off_bytes_at_start_then_on_and_off(tmp_path):
    output = serial_door()
    port = output.relay.port                          # loop:// reads back what was written
    assert port.read(4) == bytes.fromhex("A00100A1")
    output.pulse(0.2)
    assert port.read(4) == bytes.fromhex("A00101A2")
    assert port.read(4) == bytes.fromhex("A00100A1")
    output.close()


def test_a_board_with_other_commands(tmp_path):
    output = serial_door(on_hex="FF0101", off_hex="FF0100")
    port = output.relay.port
    output.pulse(0.1)
    assert port.read(9) == bytes.fromhex("FF0100" "FF0101" "FF0100")
    output.close()


def test_a_board_unplugged_mid_run_is_shown_and_the_door_disabled():
    output = serial_door()
    output.relay.port.close()                         # the USB cable pulled
    output.pulse(1)
    assert wait_for(lambda: output.broken)
    assert "did not open" in str(output.error) or "did not close" in str(output.error)
    assert output.pulse(1) is False
    output.close()


def test_a_missing_serial_device_is_an_error_shown(tmp_path):
    output = open_output(DoorSettings(type="serial", port=str(tmp_path / "ttyUSB9")))
    assert output.broken and str(output.error).startswith("door output serial unavailable:")
    output.close()


# ---- an HTTP webhook ----------------------------------------------------------------

SECRET = "correct horse battery staple"


class DoorEndpoint:
    """A real HTTP server on a free loopback port standing for a door controller:
    it keeps each request's body and signature, and answers `status`."""

    def __init__(self, status: int = 200):
        endpoint = self
        self.requests: list[tuple[bytes, str | None]] = []
        self.status = status

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.requests.append((body, self.headers.get(SIGNATURE_HEADER)))
                self.send_response(endpoint.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/door/open"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages(self) -> list[dict]:
        return [json.loads(body) for body, _ in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    endpoint = DoorEndpoint()
    yield endpoint
    endpoint.close()


def webhook_door(url: str) -> DoorOutput:
    return open_output(DoorSettings(type="webhook", url=url, secret=SECRET))


def test_a_webhook_gets_signed_close_open_close(endpoint):
    output = webhook_door(endpoint.url)
    output.pulse(0.2, {"type": "granted", "name": "Zoë"})
    assert wait_for(lambda: len(endpoint.requests) == 3)
    assert [m["action"] for m in endpoint.messages()] == ["close", "open", "close"]
    assert endpoint.messages()[1]["event"] == {"type": "granted", "name": "Zoë"}
    for body, signed in endpoint.requests:   # what a receiver checks, with the shared secret
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(signed, expected)
        assert datetime.fromisoformat(json.loads(body)["sent"]).tzinfo is not None
    assert output.error is None
    output.close()


def test_a_webhook_answering_an_error_is_shown_and_not_retried(endpoint):
    output = webhook_door(endpoint.url)
    endpoint.status = 503
    output.pulse(5)
    assert wait_for(lambda: output.broken)   # the opening failed, and so did the close after it
    assert str(output.error).startswith("door output did not close after a failed opening: WebhookFailed:")
    assert "answered 503" in str(output.error)
    time.sleep(0.3)
    assert [m["action"] for m in endpoint.messages()] == ["close", "open", "close"]   # nothing retried
    output.close()


def test_a_webhook_nobody_answers_is_disabled_from_the_start(tmp_path):
    endpoint = DoorEndpoint()
    url = endpoint.url
    endpoint.close()                                  # the port refuses connections now
    output = webhook_door(url)
    assert output.broken and "did not close at start: WebhookFailed" in str(output.error)
    assert output.pulse(1) is False
    output.close()


# ---- none --------------------------------------------------------------------------

def test_no_door_hardware_is_the_default_and_pulses_do_nothing():
    assert DoorSettings().type == "none"
    states = []
    output = open_output(DoorSettings(), states.append)
    assert output.pulse(0.05) is True and output.error is None
    assert wait_for(lambda: states == [OPEN, CLOSED])
    output.close()
