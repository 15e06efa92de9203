"""The live picture: the newest camera frame, scaled to fit, with a frame and a
name around each face from the recognizer's latest result."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

GREEN = QColor(46, 160, 67)
RED = QColor(207, 34, 46)
GREY = QColor(200, 200, 200)


@dataclass(frozen=True)
class FaceMark:
    box: tuple[float, float, float, float]   # x, y, w, h in frame pixels
    label: str
    color: QColor


class VideoView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._image: QImage | None = None
        self._marks: list[FaceMark] = []

    def show_image(self, image: QImage) -> None:
        self._image = image
        self.update()

    def show_marks(self, marks: list[FaceMark]) -> None:
        self._marks = marks
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._image is None:
            return
        scale = min(self.width() / self._image.width(), self.height() / self._image.height())
        w, h = self._image.width() * scale, self._image.height() * scale
        target = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
        painter.drawImage(target, self._image)
        font = QFont(self.font())
        font.setPointSizeF(max(12.0, h / 30))
        painter.setFont(font)
        for mark in self._marks:
            x, y, bw, bh = mark.box
            rect = QRectF(target.x() + x * scale, target.y() + y * scale, bw * scale, bh * scale)
            painter.setPen(QPen(mark.color, max(2.0, h / 200)))
            painter.drawRect(rect)
            if mark.label:
                text = painter.fontMetrics().boundingRect(mark.label)
                label = QRectF(rect.x(), rect.y() - text.height() - 6, text.width() + 12, text.height() + 6)
                painter.fillRect(label, mark.color)
                painter.setPen(Qt.GlobalColor.white)
                painter.drawText(label, Qt.AlignmentFlag.AlignCenter, mark.label)
