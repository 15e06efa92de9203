"""The window's side of the running door (kiosk.door.runtime.DoorRuntime): the
door's thread as a QThread worker, and the camera feed's frames brought to the
window. Results reach the window as queued signals carrying the engine's
dataclasses."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QThread, Signal

from kiosk.door.feed import FeedItem
from kiosk.door.runtime import DoorRuntime
from kiosk.door.video import Frame

log = logging.getLogger("kiosk.ui")


class FeedRelay(QObject):
    """The door's camera feed to the window: every source status, and frames
    while the window keeps up with drawing them."""

    frame = Signal(object)        # kiosk.door.video.Frame
    status = Signal(object)       # kiosk.door.feed.SourceDown or SourceEnded

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        # Frames the window has not drawn yet; beyond two the window is behind
        # and a newer frame is worth more than an old one.
        self._undrawn = threading.Semaphore(2)

    def offer(self, item: FeedItem) -> None:
        """From the capture thread (DoorRuntime's on_feed)."""
        if not isinstance(item, Frame):
            self.status.emit(item)
        elif self._undrawn.acquire(blocking=False):
            self.frame.emit(item)

    def frame_drawn(self) -> None:
        """The window calls this after drawing a frame (from the GUI thread)."""
        self._undrawn.release()


class RecognitionWorker(QObject):
    """The door's thread: DoorRuntime.run, until stop()."""

    update = Signal(object)       # kiosk.door.runtime.DoorUpdate
    errored = Signal(object)      # the exception itself
    finished = Signal()

    def __init__(self, door: DoorRuntime):
        super().__init__()
        self.door = door
        self._stop = threading.Event()

    def run(self) -> None:
        try:
            self.door.run(self._stop, self.update.emit)
        except Exception as exc:
            log.exception("recognition stopped")
            self.errored.emit(exc)
        finally:
            self.finished.emit()

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
