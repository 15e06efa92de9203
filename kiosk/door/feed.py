"""The kiosk's camera feed: frames on the wall clock, a dead source retried with
back-off, and a one-slot mailbox that hands the recognizer only the newest frame."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from kiosk.door.video import Frame, SourceError, VideoSource

# Seconds to wait before reopening a failed source: quick at first (a loose
# USB cable), then every 5 s so a camera that is gone does not spin a core.
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class SourceDown:
    """The source failed; the feed tries again after retry_in_s."""

    message: str
    retry_in_s: float


@dataclass(frozen=True)
class SourceEnded:
    """A video file played to its end (and is not looping)."""

    spec: str


FeedItem = Frame | SourceDown | SourceEnded


def camera_feed(spec: str | int, stop: threading.Event, loop_files: bool = False,
                open_source: Callable[[str | int], VideoSource] = VideoSource,
                retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
                clock_start: float | None = None) -> Iterator[FeedItem]:
    """Frames from spec until stop is set, timed from the start of the feed
    (Frame.time: seconds since clock_start, time.monotonic() when the feed
    started unless given, across reopens and loops; a door that changes
    cameras passes its own, so its clock runs on).

    A video file is played at its own frame rate (as a camera would deliver it)
    and, with loop_files, from the start again when it ends. A camera or stream
    that fails to open or stops delivering yields SourceDown and is reopened
    after a growing delay; the feed itself never raises SourceError.
    """
    failures = 0
    index = 0
    started = time.monotonic() if clock_start is None else clock_start
    while not stop.is_set():
        try:
            with open_source(spec) as source:
                for frame in _paced(source, stop):
                    failures = 0
                    delivered = time.monotonic()   # a file's frame: when its time came, not when decoded
                    yield Frame(index, delivered - started, frame.rgb, captured=delivered)
                    index += 1
                    if stop.is_set():
                        return
            if stop.is_set():
                return
            if source.live or not loop_files:
                yield SourceEnded(str(spec))
                return
        except SourceError as exc:
            delay = retry_delays_s[min(failures, len(retry_delays_s) - 1)]
            failures += 1
            yield SourceDown(str(exc), delay)
            stop.wait(delay)


def _paced(source: VideoSource, stop: threading.Event) -> Iterator[Frame]:
    """A live source paces itself; a file is held back to its frame rate."""
    if source.live:
        yield from source.frames()
        return
    start = time.monotonic()
    for frame in source.frames():
        ahead = start + frame.time - time.monotonic()
        if ahead > 0 and stop.wait(ahead):
            return
        yield frame


class LatestFrame:
    """A one-slot mailbox between the capture thread and the recognizer.

    put() replaces whatever is waiting, so a recognizer slower than the camera
    always works on the newest frame and never falls behind the door.
    """

    def __init__(self):
        self._frame: Frame | None = None
        self._ready = threading.Condition()
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        with self._ready:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._ready.notify()

    def take(self, timeout: float) -> Frame | None:
        """The newest frame, waiting up to timeout seconds; None if none came."""
        with self._ready:
            if self._frame is None:
                self._ready.wait(timeout)
            frame, self._frame = self._frame, None
            return frame
