"""The running door, owned by one object: its camera, idle gate, recognizer and
decisions, speech, access-log writer, gallery sync, lock and MQTT reporter.

The kiosk window and `kiosk bench` both drive a DoorRuntime. One thread (the
door's) steps the frames; everything else reaches the door as a message in its
inbox, applied between two frames by that thread: new settings change the
running door in place (the faces it follows and who it greeted lately stay), a
new camera restarts only the capture, and a refreshed gallery is applied in
the order it came, so none is lost.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Callable, Protocol

from sqlalchemy.orm import sessionmaker

from kiosk.common.config import Settings
from kiosk.common.trouble import Trouble
from kiosk.door.access_rules import DoorAccess
from kiosk.door.announcement import Announcement, announce
from kiosk.door.door_watch import DoorWatch
from kiosk.door.event_message import event_message
from kiosk.door.feed import FeedItem, LatestFrame, SourceDown, SourceEnded, camera_feed
from kiosk.door.gallery_sync import GallerySync
from kiosk.door.log_events import decision_event
from kiosk.door.presence import PresenceGate
from kiosk.door.recognizer import RecognizedFace, Recognizer, StageTimes
from kiosk.door.video import Frame, VideoSource
from kiosk.outputs import DoorOutput, open_output
from kiosk.outputs.mqtt_reporter import MqttReporter
from kiosk.store.access_rules import DoorRules
from kiosk.store.event_writer import BackgroundWriter, EventWriter
from kiosk.vision.engine import FaceEngine
from kiosk.vision.matcher import GalleryIndex
from kiosk.vision.operating_point import ImpostorScores

log = logging.getLogger("kiosk.door")

TAKE_TIMEOUT_S = 0.1   # the door's thread looks at its inbox at least this often without frames


class Voice(Protocol):
    """What the door speaks through (kiosk.door.speech.Speaker): say() never blocks."""

    muted: bool

    def say(self, text: str) -> bool: ...


@dataclass(frozen=True)
class DoorUpdate:
    """What one frame changed at the door, for the window to show."""

    frame_index: int
    frame_time: float                    # Frame.time: seconds on the stream's clock
    recognised: bool                     # False: the idle gate let this frame pass unexamined
    faces: list[RecognizedFace] = field(default_factory=list)
    announcements: list[Announcement] = field(default_factory=list)   # one per decision
    prompt: str | None = None            # what the door asks of a visitor now (a liveness challenge)
    times: StageTimes | None = None
    greet_latency_s: float | None = None  # capture of the face's first frame -> its greeting
    log_trouble: Trouble | None = None    # the access log's (kiosk.store.event_writer)
    door_trouble: Trouble | None = None   # the door output's (kiosk.outputs)
    report_trouble: Trouble | None = None  # the MQTT broker's (kiosk.outputs.mqtt_reporter)
    gallery_trouble: Trouble | None = None  # the gallery sync's (kiosk.door.gallery_sync)

    @property
    def troubles(self) -> list[Trouble]:
        return [t for t in (self.log_trouble, self.door_trouble, self.report_trouble, self.gallery_trouble)
                if t is not None]


class DoorRuntime:
    """Construct, start(), then run() in the door's thread; close() at the end.

    writer: the access log's; the kiosk passes a BackgroundWriter, so a locked
    database never stops the door (a plain EventWriter writes in the frame).
    sessions: the gallery database, loaded and followed (GallerySync); or
    index: a gallery in memory that stays as given (the bench).
    source: the camera (Settings.camera, a file or a URL); None: frames come
    only through step(). on_feed: called from the capture thread with every
    frame and source status (the window draws them).
    access: the door's access rules (kiosk.door.access_rules), followed with
    the gallery, and reloaded for the new door when the settings change the
    kiosk id; None: everyone enrolled, at any time.
    The lock, the MQTT reporter and the door sensor are opened from the
    settings, and reopened when those settings change.
    """

    def __init__(self, engine: FaceEngine, settings: Settings, writer: EventWriter | BackgroundWriter,
                 voice: Voice, *, sessions: sessionmaker | None = None, index: GalleryIndex | None = None,
                 scores: ImpostorScores | None = None, access: DoorAccess | None = None,
                 source: str | int | None = None, loop_files: bool = False,
                 open_source: Callable[[str | int], VideoSource] = VideoSource, gate: PresenceGate | None = None,
                 on_feed: Callable[[FeedItem], None] | None = None):
        if (sessions is None) == (index is None):
            raise ValueError("a door needs its gallery: the database's sessions or an index, one of the two")
        self.settings = settings
        self.writer = writer
        self.voice = voice
        self.gate = gate if gate is not None else PresenceGate()
        self.access = access
        self.sync: GallerySync | None = None
        if sessions is not None:
            self.sync = GallerySync(sessions, engine.model_name, on_index=self.set_gallery, access=access)
            index = self.sync.load()
        self.recognizer = Recognizer(engine, index, settings, scores=scores, access=access)
        self.output, self.reporter = _open_outputs(settings)
        # The door sensor's alarms and remote unlocks, beside the faces' decisions.
        self.watch = DoorWatch(settings, self.output, writer, self.reporter)
        self.mailbox = LatestFrame()
        # The systemd watchdog's evidence: when the door last stepped a frame (the
        # idle gate's unexamined ones too), or last waited for a capture known to
        # be down or ended. A capture that stops without saying so stops it.
        self.alive_at = time.monotonic()
        self._capture_waiting = False   # the capture's last word: SourceDown or SourceEnded
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._paused = threading.Event()
        self._faces_in_view = False
        self._face_since: float | None = None     # Frame.captured of the first frame with a face
        self._closed = False
        # The capture: its own thread, restarted (only it) when the camera changes.
        self._source, self._loop_files, self._open_source = source, loop_files, open_source
        self._on_feed = on_feed
        self._clock_start = time.monotonic()      # one clock for the door, whatever camera feeds it
        self._camera_lock = threading.Lock()
        self._capture_stop = threading.Event()
        self._feed_stop = threading.Event()
        self._capture = threading.Thread(target=self._run_capture, name="kiosk-capture", daemon=True)

    # ---- messages: from any thread, applied between frames ----------------------

    def apply_settings(self, settings: Settings) -> None:
        """New settings (the admin panel saved them); applied before the next frame."""
        self._inbox.put(settings)

    def set_gallery(self, index: GalleryIndex) -> None:
        """A refreshed gallery (the sync thread); applied before the next frame."""
        self._inbox.put(index)

    def check_gallery_now(self) -> None:
        """This kiosk changed the gallery: look at once rather than within a second."""
        if self.sync is not None:
            self.sync.check_now()

    def pause(self, paused: bool) -> None:
        """While paused (the admin panel is open) frames are dropped: nobody is
        greeted or logged. Messages are still applied."""
        self._paused.set() if paused else self._paused.clear()

    # ---- the door's thread --------------------------------------------------------

    def start(self) -> None:
        """The capture (when there is a source) and the gallery sync, each in its thread."""
        if self._source is not None:
            self._capture.start()
        if self.sync is not None:
            self.sync.start()

    def run(self, stop: threading.Event, on_update: Callable[[DoorUpdate], None]) -> None:
        """Step the newest frame, again and again, until stop is set."""
        while not stop.is_set():
            frame = self.mailbox.take(timeout=TAKE_TIMEOUT_S)
            self._apply_messages()
            if frame is not None and not self._paused.is_set():
                on_update(self._step(frame))
            if frame is not None or (self._capture_waiting and self._capture.is_alive()):
                self.alive_at = time.monotonic()

    def step(self, frame: Frame) -> DoorUpdate:
        """One frame through the door, after the messages that came before it."""
        self._apply_messages()
        return self._step(frame)

    def close(self) -> None:
        """Stop the capture and the sync, write what the log holds, close the lock
        and the broker (idempotent). The door's thread must have stopped. Each
        step is taken even if one before it raised; the lock is closed last, always."""
        if self._closed:
            return
        self._closed = True
        with ExitStack() as steps:   # run last-in first-out, each whatever the others raise
            steps.callback(_close_outputs, self.output, self.reporter)
            steps.callback(self.writer.close)
            steps.callback(self.watch.close)   # before the log writer: a last alarm is still written
            steps.callback(self._stop_capture)
            if self.sync is not None:
                steps.callback(self.sync.stop)

    def _stop_capture(self) -> None:
        with self._camera_lock:
            self._capture_stop.set()
            self._feed_stop.set()
        if self._capture.is_alive():
            self._capture.join(5.0)

    # ---- inside the door's thread ---------------------------------------------------

    def _apply_messages(self) -> None:
        while True:
            try:
                message = self._inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(message, GalleryIndex):
                self.recognizer.set_index(message)
            else:
                self._apply_settings_now(message)   # may hand over a gallery: the loop takes it too

    def _apply_settings_now(self, settings: Settings) -> None:
        old, self.settings = self.settings, settings
        self.recognizer.apply_settings(settings)
        self.voice.muted = settings.mute
        if settings.kiosk_id != old.kiosk_id:
            # Another door's rules from the next frame on, not the old door's.
            if self.sync is not None:
                self.sync.follow(settings.kiosk_id)
            elif self.access is not None:   # no database to read its rules from: nobody
                self.access.kiosk_id = settings.kiosk_id
                self.access.set_rules(DoorRules(restricted=True))
        if (settings.door, settings.mqtt, settings.kiosk_id) != (old.door, old.mqtt, old.kiosk_id):
            # Closed before the new ones open: a GPIO pin (the relay's, the
            # sensor's) is held until released, and the new settings may name it again.
            try:
                self.watch.close()
            finally:
                _close_outputs(self.output, self.reporter)
            self.output, self.reporter = _open_outputs(settings)
            self.watch = DoorWatch(settings, self.output, self.writer, self.reporter)
        if settings.camera != old.camera and self._source is not None:
            with self._camera_lock:
                self._source = settings.camera
                self._feed_stop.set()   # the capture opens the new camera

    def _step(self, frame: Frame) -> DoorUpdate:
        if not self.gate.should_recognise(frame.time, frame.rgb, self._faces_in_view):
            return DoorUpdate(frame.index, frame.time, recognised=False, **self._troubles(self.writer.flush()))
        result = self.recognizer.process(frame.time, frame.rgb)
        self._faces_in_view = bool(result.faces)
        if not result.faces:
            self._face_since = None
        elif self._face_since is None:
            self._face_since = frame.captured
        announcements, events, latency = [], [], None
        for decision in result.decisions:
            event = decision_event(result, decision, self.settings.kiosk_id)
            events.append(event)
            announcement = announce(decision, result.faces[decision.face_index].face.box, self.settings.greeting)
            message = event_message(event)
            if announcement.opens_door:
                self.output.pulse(self.output.open_seconds, message)   # first: the lock is what waits
                latency = time.monotonic() - self._face_since
            if self.reporter is not None:
                self.reporter.event(message)
            if announcement.spoken:
                self.voice.say(announcement.spoken)
            announcements.append(announcement)
        log_trouble = self.writer.append(events) if events else self.writer.flush()
        prompt = next((t.prompt for t in result.tracks if t is not None and t.prompt), None)
        return DoorUpdate(frame.index, frame.time, True, result.faces, announcements, prompt, result.times,
                          latency, **self._troubles(log_trouble))

    def _troubles(self, log_trouble: Trouble | None) -> dict:
        return {"log_trouble": log_trouble, "door_trouble": self.output.error,
                "report_trouble": self.reporter.error if self.reporter is not None else None,
                "gallery_trouble": self.sync.error if self.sync is not None else None}

    # ---- the capture thread ---------------------------------------------------------

    def _run_capture(self) -> None:
        try:
            while True:
                with self._camera_lock:
                    # Checked under the lock close() sets it under: a close()
                    # between the check and a new feed_stop would miss that feed.
                    if self._capture_stop.is_set():
                        return
                    spec = self._source
                    self._feed_stop = feed_stop = threading.Event()
                    self._capture_waiting = False   # a camera opening says nothing until it works or fails
                for item in camera_feed(spec, feed_stop, self._loop_files, self._open_source,
                                        clock_start=self._clock_start):
                    self._capture_waiting = isinstance(item, (SourceDown, SourceEnded))
                    if isinstance(item, Frame):
                        self.mailbox.put(item)
                    if self._on_feed is not None:
                        self._on_feed(item)
                feed_stop.wait()   # a file played to its end: until another camera, or the end
        except Exception:
            log.exception("the camera feed failed")


def _open_outputs(settings: Settings) -> tuple[DoorOutput, MqttReporter | None]:
    """The lock (forced closed) and the broker, if configured; the door's states go to both."""
    reporter = MqttReporter(settings.mqtt, settings.kiosk_id) if settings.mqtt else None
    output = open_output(settings.door, reporter.door if reporter else None, settings.mqtt, settings.kiosk_id)
    return output, reporter


def _close_outputs(output: DoorOutput, reporter: MqttReporter | None) -> None:
    try:
        output.close()   # the lock first: "closed" still reaches the broker
    finally:
        if reporter is not None:
            reporter.close()
