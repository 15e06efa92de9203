"""Enroll a person: snapshots from the live camera (each checked, or refused with
the reason) or photos from files, a name, Save."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from PySide6.QtCore import QSize, QTimer, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)

from kiosk.context import KioskContext
from kiosk.enrollment.draft import IMAGE_SUFFIXES, EnrollmentDraft, EnrollmentError
from kiosk.store.gallery import GalleryError, normal_form, person_name
from kiosk.store.gallery_writes import ADMIN_PANEL, Author, enroll
from kiosk.door.video import Frame
from ui.frames import to_qimage
from ui.video_view import VideoView

CAPTURE_COUNT = 5
CAPTURE_INTERVAL_MS = 400   # long enough for the person to move a little between shots
THUMB = 96


class EnrollTab(QWidget):
    gallery_changed = Signal()

    def __init__(self, ctx: KioskContext, kiosk_id: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.author = Author(kiosk_id, ADMIN_PANEL)
        self._latest: Frame | None = None
        self._capture_left = 0
        self._capture_tries = 0
        self.draft = self._new_draft()

        self.preview = VideoView(self)
        self.snapshot_button = QPushButton("Take snapshot")
        self.capture_button = QPushButton(f"Capture {CAPTURE_COUNT}")
        self.photos_button = QPushButton("Add photos…")
        self.message = QLabel("Face the camera, then take snapshots.")
        self.message.setWordWrap(True)
        self.thumbnails = QListWidget()
        self.thumbnails.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbnails.setIconSize(QSize(THUMB, THUMB))
        self.thumbnails.setMaximumHeight(THUMB + 40)
        self.remove_button = QPushButton("Remove selected")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Name (any script: 胡歌, Zoë, …)")
        self.save_button = QPushButton("Save")

        buttons = QHBoxLayout()
        for button in (self.snapshot_button, self.capture_button, self.photos_button, self.remove_button):
            buttons.addWidget(button)
        save_row = QHBoxLayout()
        save_row.addWidget(self.name_edit, 1)
        save_row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.thumbnails)
        layout.addLayout(save_row)

        self._capture_timer = QTimer(self, interval=CAPTURE_INTERVAL_MS)
        self._capture_timer.timeout.connect(self._capture_next)
        self.snapshot_button.clicked.connect(self.take_snapshot)
        self.capture_button.clicked.connect(self.capture_several)
        self.photos_button.clicked.connect(self._ask_photos)
        self.remove_button.clicked.connect(self._remove_selected)
        self.save_button.clicked.connect(self.save)

    def _new_draft(self) -> EnrollmentDraft:
        index = self.ctx.load_index()
        return EnrollmentDraft(self.ctx.engine, index, self.ctx.thresholds(index))

    def start_for(self, name: str) -> None:
        """Add samples to someone already enrolled (from the People tab)."""
        self.name_edit.setText(name)
        self._say(f"Adding samples to {name}: take snapshots, then Save.")

    def show_frame(self, frame: Frame) -> None:
        self._latest = frame
        self.preview.show_image(to_qimage(frame.rgb))

    # ---- collecting samples ---------------------------------------------------------

    def take_snapshot(self) -> bool:
        """Check the newest camera frame; True when its face was kept."""
        if self._latest is None:
            return self._refuse("no camera picture yet")
        try:
            self.draft.add_snapshot(self._latest.rgb, self._name())
        except EnrollmentError as exc:
            return self._refuse(str(exc))
        self._show_samples()
        self._say(f"Snapshot {len(self.draft.samples)} accepted.")
        return True

    def capture_several(self) -> None:
        self._capture_left, self._capture_tries = CAPTURE_COUNT, 0
        self._capture_timer.start()

    def _capture_next(self) -> None:
        self._capture_tries += 1
        if self.take_snapshot():
            self._capture_left -= 1
        if self._capture_left <= 0 or self._capture_tries >= 3 * CAPTURE_COUNT:
            self._capture_timer.stop()

    def add_photos(self, paths: list[Path]) -> int:
        """Add each photo with one face; the refused ones are listed with their reason."""
        refused = []
        for path in paths:
            try:
                self.draft.add_photo(path, self._name())
            except EnrollmentError as exc:
                refused.append(str(exc))
        self._show_samples()
        self._say("\n".join(refused) or f"{len(paths)} photo(s) added.", error=bool(refused))
        return len(paths) - len(refused)

    def _ask_photos(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(self, "Photos of one person", "", f"Images ({patterns})")
        if files:
            self.add_photos([Path(f) for f in files])

    def _remove_selected(self) -> None:
        for row in sorted((self.thumbnails.row(i) for i in self.thumbnails.selectedItems()), reverse=True):
            self.draft.remove(row)
        self._show_samples()

    # ---- saving -------------------------------------------------------------------

    def save(self) -> bool:
        if not self._name():
            return self._refuse("type the person's name first")
        if not self.draft.samples:
            return self._refuse("take at least one snapshot first")
        try:
            name = person_name(self._name())
            self.draft.check_name(name)
            with self.ctx.sessions.begin() as session:
                done = enroll(session, self.author, name, self.draft.samples, self.ctx.engine.model_name)
        except (EnrollmentError, GalleryError) as exc:
            return self._refuse(str(exc))
        except SQLAlchemyError as exc:  # locked, full disk: the transaction rolled back
            return self._refuse(f"the gallery could not be written, nothing saved ({exc.__class__.__name__})")
        self.draft = self._new_draft()
        self.name_edit.clear()
        self._show_samples()
        self._say(f"Saved {name}: {done.samples} sample(s).")
        self.gallery_changed.emit()
        return True

    # ---- helpers ------------------------------------------------------------------

    def _name(self) -> str | None:
        return normal_form(self.name_edit.text()) or None

    def _show_samples(self) -> None:
        self.thumbnails.clear()
        for crop in self.draft.faces:
            QListWidgetItem(QIcon(QPixmap.fromImage(to_qimage(crop))), "", self.thumbnails)

    def _refuse(self, reason: str) -> bool:
        self._say(f"Refused: {reason}", error=True)
        return False

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color:#cf222e;" if error else "color:#1a7f37;")
