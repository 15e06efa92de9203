"""The kiosk's two worker threads: capture (the camera feed) and recognition
(the door loop). Each worker is moved to its own QThread and stopped with a flag;
results reach the window as queued signals carrying the engine's dataclasses."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterator

from PySide6.QtCore import QObject, QThread, Signal

from kiosk.door.loop import DoorLoop
from kiosk.door.feed import FeedItem, LatestFrame
from kiosk.vision.matcher import GalleryIndex
from kiosk.door.video import Frame

log = logging.getLogger("kiosk.ui")


class CaptureWorker(QObject):
    """Pulls the camera feed; every frame goes to the window for drawing and into
    the recognizer's mailbox (which keeps only the newest)."""

    frame = Signal(object)        # kiosk.door.video.Frame
    status = Signal(object)       # kiosk.door.feed.SourceDown or SourceEnded
    finished = Signal()

    def __init__(self, feed: Callable[[threading.Event], Iterator[FeedItem]], mailbox: LatestFrame):
        super().__init__()
        self._feed = feed
        self._mailbox = mailbox
        self._stop = threading.Event()
        # Frames the window has not drawn yet; beyond two the window is behind
        # and a newer frame is worth more than an old one.
        self._undrawn = threading.Semaphore(2)

    def run(self) -> None:
        try:
            for item in self._feed(self._stop):
                if isinstance(item, Frame):
                    self._mailbox.put(item)
                    if self._undrawn.acquire(blocking=False):
                        self.frame.emit(item)
                else:
                    self.status.emit(item)
        except Exception:
            log.exception("the camera feed failed")
        finally:
            self.finished.emit()

    def frame_drawn(self) -> None:
        """The window calls this after drawing a frame (from the GUI thread)."""
        self._undrawn.release()

    def stop(self) -> None:
        self._stop.set()


class RecognitionWorker(QObject):
    """Runs the door loop on the newest frame, as fast as the engine allows."""

    update = Signal(object)       # kiosk.door.loop.DoorUpdate
    errored = Signal(object)      # the exception itself
    finished = Signal()

    def __init__(self, door: DoorLoop, mailbox: LatestFrame):
        super().__init__()
        self.door = door
        self._mailbox = mailbox
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._new_index: GalleryIndex | None = None
        self._new_door: DoorLoop | None = None
        self.alive_at = time.monotonic()   # each turn of the loop: the systemd watchdog's evidence

    def run(self) -> None:
        try:
            while not self._stop.is_set():
                self.alive_at = time.monotonic()
                frame = self._mailbox.take(timeout=0.1)
                self._apply_requests()
                if frame is None or self._paused.is_set():
                    continue
                self.update.emit(self.door.step(frame))
        except Exception as exc:
            log.exception("recognition stopped")
            self.errored.emit(exc)
        finally:
            self.finished.emit()

    def _apply_requests(self) -> None:
        # Done here, between frames, so the door's state is only ever touched
        # by this thread.
        if self._new_door is not None:
            self.door, self._new_door = self._new_door, None
        if self._new_index is not None:
            self.door.recognizer.set_index(self._new_index)
            self._new_index = None

    def set_index(self, index: GalleryIndex) -> None:
        """A refreshed gallery (from any thread); used from the next frame on."""
        self._new_index = index

    def replace_door(self, door: DoorLoop) -> None:
        """New settings: the next frame goes through this door instead."""
        self._new_door = door

    def pause(self, paused: bool) -> None:
        self._paused.set() if paused else self._paused.clear()

    def stop(self) -> None:
        self._stop.set()


def start_in_thread(worker: QObject, name: str) -> QThread:
    """superqt's wiring: move to a new thread, started -> run, finished -> quit,
    deleteLater on both."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.finished.connect(thread.quit)
    worker.finished.connect(worker.deleteLater)
    thread.finished.connect(thread.deleteLater)
    thread.start()
    return thread
