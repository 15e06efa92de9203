"""numpy RGB frames to Qt images (the one place that converts them)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of the uint8 (H, W, 3) RGB pixels."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def jpeg_pixmap(jpeg: bytes | None, height: int) -> QPixmap | None:
    """A thumbnail height pixels high from JPEG bytes; None for none or unreadable."""
    image = QImage.fromData(jpeg, "JPEG") if jpeg else QImage()
    if image.isNull():
        return None
    return QPixmap.fromImage(image.scaledToHeight(height, Qt.TransformationMode.SmoothTransformation))

