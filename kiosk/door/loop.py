"""One camera frame at a time through the door: idle gate, recognizer, access
log, greeting. The kiosk window's recognizer thread and `kiosk bench` drive it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from kiosk.store.access_log import ANTI_PASSBACK, GRANTED, OUTSIDE_HOURS, SPOOF
from kiosk.door.decisions import Decision
from kiosk.door.log_events import events_of, greeting_text
from kiosk.door.event_message import event_message
from kiosk.store.event_writer import BackgroundWriter, EventWriter
from kiosk.outputs.mqtt_reporter import MqttReporter
from kiosk.outputs import DoorOutput
from kiosk.door.presence import PresenceGate
from kiosk.door.recognizer import RecognizedFace, Recognizer, StageTimes
from kiosk.door.video import Frame

NOT_RECOGNISED = "Not recognised"
LIVE_FACE_NEEDED = "Not opened: a photo or a screen is not a visitor"
# The access rules' refusals (kiosk.door.access_rules), to the person recognised.
REFUSALS = {OUTSIDE_HOURS: "Sorry, {name}: this door is not open to you at this time",
            ANTI_PASSBACK: "Sorry, {name}: you were let in a moment ago"}


@dataclass(frozen=True)
class DoorUpdate:
    """What one frame changed at the door, for the window to show."""

    frame_index: int
    frame_time: float                    # time.monotonic() when the frame was captured
    recognised: bool                     # False: the idle gate let this frame pass unexamined
    faces: list[RecognizedFace] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    times: StageTimes | None = None
    greetings: list[str] = field(default_factory=list)   # what the door said aloud / shows
    greet_latency_s: float | None = None  # first frame this face was recognised in -> greeting
    log_error: str | None = None
    door_error: str | None = None         # the door output's trouble (kiosk.outputs)
    report_error: str | None = None       # the MQTT broker's (kiosk.outputs.mqtt_reporter)


def banner_text(decision: Decision, template: str) -> str:
    """The status line for a decision: the greeting for a member, a polite no otherwise."""
    if decision.type == GRANTED:
        return greeting_text(template, GRANTED, decision.name) or ""
    if decision.type in REFUSALS:
        return REFUSALS[decision.type].format(name=decision.name)
    return LIVE_FACE_NEEDED if decision.type == SPOOF else NOT_RECOGNISED


class DoorLoop:
    """Owns the door's per-frame state. Call step() from one thread only.

    speak: queues a greeting (Speaker.say); it must not block. writer: the
    access log's writer; the kiosk passes a BackgroundWriter, so a locked
    database never stops the door (a plain EventWriter writes in step()).
    output: the lock, pulsed on each grant (its own thread: never waits).
    reporter: MQTT, told of each decision (never waits either); None: off.
    """

    def __init__(self, recognizer: Recognizer, writer: EventWriter | BackgroundWriter, speak: Callable[[str], bool],
                 greeting: str, kiosk_id: str, gate: PresenceGate | None = None,
                 output: DoorOutput | None = None, reporter: MqttReporter | None = None):
        self.recognizer = recognizer
        self.writer = writer
        self.speak = speak
        self.greeting = greeting
        self.kiosk_id = kiosk_id
        self.gate = gate if gate is not None else PresenceGate()
        self.output = output
        self.reporter = reporter
        self._faces_in_view = False
        self._face_since: float | None = None

    def step(self, frame: Frame) -> DoorUpdate:
        if not self.gate.should_recognise(frame.time, frame.rgb, self._faces_in_view):
            return DoorUpdate(frame.index, frame.time, recognised=False, log_error=self.writer.flush(),
                              **self._troubles())
        result = self.recognizer.process(frame.time, frame.rgb)
        self._faces_in_view = bool(result.faces)
        if not result.faces:
            self._face_since = None
        elif self._face_since is None:
            self._face_since = frame.time
        greetings, latency = [], None
        events = events_of(result, self.kiosk_id) if result.decisions else []
        for decision, event in zip(result.decisions, events):
            message = event_message(event)
            if decision.type == GRANTED and self.output is not None:
                self.output.pulse(self.output.open_seconds, message)   # first: the lock is what waits
            if self.reporter is not None:
                self.reporter.event(message)
            text = banner_text(decision, self.greeting)
            greetings.append(text)
            if decision.type == GRANTED:
                self.speak(text)
                since = frame.time if self._face_since is None else self._face_since
                latency = time.monotonic() - since
        log_error = self.writer.append(events) if events else self.writer.flush()
        return DoorUpdate(frame.index, frame.time, True, result.faces, result.decisions, result.times,
                          greetings, latency, log_error, **self._troubles())

    def _troubles(self) -> dict:
        return {"door_error": self.output.error if self.output is not None else None,
                "report_error": self.reporter.error if self.reporter is not None else None}

