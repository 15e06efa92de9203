"""The window at the door: live picture, face frames, status banner, and the way
into the admin panel. It draws; the running door (kiosk.door.runtime) captures
and recognises, in its own threads."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMessageBox, QToolButton, QVBoxLayout, QWidget
from sqlalchemy.exc import SQLAlchemyError

from kiosk.common.config import Settings
from kiosk.common.trouble import Trouble
from kiosk.context import KioskContext
from kiosk.door.feed import SourceDown, SourceEnded
from kiosk.door.liveness import OFF
from kiosk.door.runtime import DoorRuntime, DoorUpdate
from kiosk.door.speech import Speaker
from kiosk.door.stats import DoorStats
from kiosk.door.video import Frame, VideoSource
from kiosk.door.watchdog import sd_notify, watchdog_interval_s
from kiosk.store.event_spool import EventSpool
from kiosk.store.event_writer import BackgroundWriter, EventWriter
from ui.frames import to_qimage
from ui.video_view import GREEN, GREY, RED, FaceMark, VideoView
from ui.workers import FeedRelay, RecognitionWorker, start_in_thread

IDLE_TEXT = "Please look at the camera"
CAMERA_DOWN_TEXT = "Camera unavailable — retrying"
LIVENESS_OFF_TEXT = "Liveness check OFF: a photo can open this door"
DEMO_TEXT = "Demo: this kiosk does not open the door"
DOOR_FAILED_TEXT = "Out of order: faces are not being recognised"
BANNER_HOLD_MS = 3000
MARKS_EXPIRE_S = 0.5   # a face frame older than this no longer matches the picture

BANNER_STYLES = {
    "idle": "background:#1f2328; color:#e6edf3;",
    "granted": "background:#1a7f37; color:white;",
    "denied": "background:#cf222e; color:white;",
    "camera": "background:#9a6700; color:white;",
    "asking": "background:#0969da; color:white;",   # the door asks the visitor to do something
    "failed": "background:#82071e; color:white;",   # the door's thread stopped: nothing is recognised
}


class KioskWindow(QWidget):
    """Construct, then start(). Closing stops the door (its threads, the lock, the broker).
    demo: the window of `kiosk run --demo` (kiosk.demo.build.demo_settings), which says so."""

    banner_changed = Signal(str, str)   # kind, text: for tests and the --report

    def __init__(self, ctx: KioskContext, source: str, speaker: Speaker, loop_files: bool = False,
                 show_stats: bool = False, stats_window_s: float = 10.0,
                 open_source: Callable = VideoSource, config_path: Path | None = None, demo: bool = False):
        super().__init__()
        self.ctx = ctx   # ctx.settings: the settings in force, as the admin panel saved them
        self.config_path = config_path
        self.speaker = speaker
        self.stats = DoorStats(window_s=stats_window_s)
        self.setWindowTitle("Door kiosk")
        self.setStyleSheet("background:black;")
        self._marks_time = 0.0
        self._camera_down = False
        self._door_failed = False
        self._demo = demo
        self._threads = []

        self.view = VideoView(self)
        self.banner = QLabel(IDLE_TEXT, self)
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setMinimumHeight(90)
        font = self.banner.font()
        font.setPointSize(28)
        self.banner.setFont(font)
        self.stats_label = QLabel(self.view)
        self.stats_label.setStyleSheet("background:rgba(0,0,0,150); color:#7ee787; padding:6px;"
                                       "font-family:monospace;")
        self.stats_label.setVisible(show_stats)
        self._show_stats_overlay = show_stats
        self.log_status = QLabel(self.view)  # the access log's, the door output's, the broker's trouble
        self.log_status.setStyleSheet("background:#9a6700; color:white; padding:4px;")
        self.log_status.hide()
        # Always on screen while the liveness check is off: anyone passing by
        # must be able to see that a photo can open this door.
        self.liveness_status = QLabel(LIVENESS_OFF_TEXT, self.view)
        self.liveness_status.setStyleSheet("background:#9a6700; color:white; padding:4px;")
        self.liveness_status.adjustSize()
        self.liveness_status.setVisible(ctx.settings.liveness == OFF)
        self.demo_status = QLabel(DEMO_TEXT, self.view)
        self.demo_status.setStyleSheet("background:#0969da; color:white; padding:4px;")
        self.demo_status.adjustSize()
        self.demo_status.setVisible(demo)
        self.admin_button = QToolButton(self.view)
        self.admin_button.setText("⚙")
        self.admin_button.setToolTip("Admin panel (Ctrl+Shift+A)")
        self.admin_button.setStyleSheet("color:#8b949e; background:transparent; font-size:20px;")
        self.admin_button.clicked.connect(self.open_admin)
        QShortcut(QKeySequence("Ctrl+Shift+A"), self, activated=self.open_admin)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.banner)
        self._set_banner("idle", IDLE_TEXT)

        self._banner_timer = QTimer(self, singleShot=True, interval=BANNER_HOLD_MS)
        self._banner_timer.timeout.connect(lambda: self._set_banner("idle", IDLE_TEXT))
        self._stats_timer = QTimer(self, interval=500)
        self._stats_timer.timeout.connect(self._show_stats)
        # Under systemd with WatchdogSec: pinged at half the interval while the
        # event loop runs and the recognizer's loop turns; a hung kiosk is restarted.
        self._watchdog_s = watchdog_interval_s()
        self._watchdog_timer = QTimer(self, interval=int(1000 * (self._watchdog_s or 0) / 2))
        self._watchdog_timer.timeout.connect(self._ping_watchdog)

        self.feed = FeedRelay(self)
        # The gallery in memory follows changes made anywhere (admin panel,
        # another door, the command line): the door's gallery sync.
        writer = BackgroundWriter(EventWriter(ctx.sessions, EventSpool(ctx.spool_path)),
                                  ctx.settings.snapshot_retention_days)
        self.door = DoorRuntime(ctx.engine, ctx.settings, writer, speaker, sessions=ctx.sessions,
                                scores=ctx.impostor_scores, access=ctx.door_access, source=source,
                                loop_files=loop_files,
                                open_source=open_source, on_feed=self.feed.offer)
        self.recognition = RecognitionWorker(self.door)
        self.feed.frame.connect(self._on_frame)
        self.feed.status.connect(self._on_source_status)
        self.recognition.update.connect(self._on_update)
        self.recognition.errored.connect(self._on_door_failed)
        self.admin_panel = None

    def start(self) -> None:
        self._threads = [start_in_thread(self.recognition, "kiosk-recognition")]
        self.door.start()
        if self._show_stats_overlay:
            self._stats_timer.start()
        if self._watchdog_s:
            self._watchdog_timer.start()
        sd_notify("READY=1")

    def _ping_watchdog(self) -> None:
        if not self._door_failed and time.monotonic() - self.door.alive_at < self._watchdog_s:
            sd_notify("WATCHDOG=1")

    # ---- what the workers report -------------------------------------------------

    def _on_frame(self, frame: Frame) -> None:
        self.view.show_image(to_qimage(frame.rgb))
        self.feed.frame_drawn()
        self.stats.frame_drawn()
        if self._camera_down:
            self._camera_down = False
            self._set_banner("idle", IDLE_TEXT)
        if self.admin_panel is not None:
            self.admin_panel.show_frame(frame)
        if time.monotonic() - self._marks_time > MARKS_EXPIRE_S:
            self.view.show_marks([])

    def _on_update(self, update: DoorUpdate) -> None:
        self.stats.frame_examined(time.monotonic(), update.recognised, update.times, update.greet_latency_s)
        self._show_status(update.troubles)
        if update.recognised:
            self._marks_time = time.monotonic()
            self.view.show_marks([FaceMark(f.face.box, f.match.name or "", GREEN if f.match.name else GREY)
                                  for f in update.faces])
        if update.prompt and not update.announcements and self.banner.text() != update.prompt:
            self._set_banner("asking", update.prompt)   # the liveness challenge: "Please turn your head..."
            self._banner_timer.start()
        for announcement in update.announcements:
            self._set_banner("granted" if announcement.opens_door else "denied", announcement.banner)
            if not announcement.opens_door:
                self.view.show_marks([FaceMark(announcement.box, "", RED)])
            self._banner_timer.start()

    def _on_door_failed(self, exc: Exception) -> None:
        """The door's thread stopped (RecognitionWorker.errored): the picture
        would go on while nobody is recognised. Said on screen, and the
        watchdog is no longer pinged, so systemd restarts the kiosk."""
        self._door_failed = True
        self._watchdog_timer.stop()
        self._banner_timer.stop()
        self._set_banner("failed", DOOR_FAILED_TEXT)
        self.banner.setToolTip(f"{exc.__class__.__name__}: {exc}")

    def _on_source_status(self, status) -> None:
        if isinstance(status, SourceDown):
            self._camera_down = True
            self._set_banner("camera", CAMERA_DOWN_TEXT)
            self.setToolTip(status.message)
        elif isinstance(status, SourceEnded):
            self._set_banner("idle", "End of video")

    def _show_status(self, troubles: list[Trouble]) -> None:
        if troubles:
            self.log_status.setText(" · ".join(t.summary for t in troubles))
            self.log_status.setToolTip("\n".join(map(str, troubles)))
            self.log_status.adjustSize()
            self.log_status.move((self.view.width() - self.log_status.width()) // 2, 8)
        self.log_status.setVisible(bool(troubles))

    def _set_banner(self, kind: str, text: str) -> None:
        if self._door_failed and kind != "failed":
            return   # nothing else the door could say is true any more
        self.banner.setText(text)
        self.banner.setStyleSheet(BANNER_STYLES[kind])
        self.banner_changed.emit(kind, text)

    def _show_stats(self) -> None:
        self.stats_label.setText(self.stats.snapshot().as_text())
        self.stats_label.adjustSize()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.stats_label.move(8, 8)
        self.liveness_status.move(8, self.view.height() - self.liveness_status.height() - 8)
        self.demo_status.move(8, self.view.height() - self.liveness_status.height() - self.demo_status.height() - 16)
        self.admin_button.move(self.view.width() - self.admin_button.sizeHint().width() - 8, 8)

    # ---- admin --------------------------------------------------------------------

    def open_admin(self) -> None:
        from ui.admin.panel import AdminPanel
        if self.admin_panel is not None or not self._admin_pin_given():
            return
        # The door is attended while the panel is open: nobody is greeted or
        # logged, and the engine is free for enrollment.
        self.door.pause(True)
        self.admin_panel = AdminPanel(self.ctx, self.config_path, self)
        self.admin_panel.gallery_changed.connect(self.door.check_gallery_now)
        self.admin_panel.settings_changed.connect(self.apply_settings)
        try:
            self.admin_panel.exec()
        finally:
            self.admin_panel = None
            self.door.pause(False)

    def _admin_pin_given(self) -> bool:
        from ui.admin import pin_dialog
        try:
            return pin_dialog.ask_pin(self, self.ctx.sessions, self.ctx.settings.kiosk_id)
        except SQLAlchemyError as exc:  # the PIN lives in the database
            QMessageBox.warning(self, "Administration", f"The gallery database is unavailable "
                                f"({exc.__class__.__name__}); try again in a moment.")
            return False

    def apply_settings(self, settings: Settings) -> None:
        """Saved settings: the running door applies them before its next frame."""
        if self._demo:   # whatever its admin panel saved, the demo never drives a lock
            from kiosk.demo.build import demo_settings
            settings = demo_settings(settings)
        self.ctx.settings = settings
        self.liveness_status.setVisible(settings.liveness == OFF)
        self.door.apply_settings(settings)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            # Leaving the kiosk is an admin's decision, not a passer-by's.
            if self._admin_pin_given():
                self.close()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)

    def stop(self) -> None:
        """Stop the door's thread and wait for it, then close the door (idempotent)."""
        if self._threads:   # the first call
            sd_notify("STOPPING=1")
        self._watchdog_timer.stop()
        self._stats_timer.stop()
        self.recognition.stop()
        for thread in self._threads:
            if shiboken6.isValid(thread):  # deleteLater may have run already
                thread.quit()
                thread.wait(5000)
        self._threads = []
        self.door.close()
