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


def jpeg_pixmap(jpeg: bytes | None, side: int) -> QPixmap | None:
    """A thumbnail of at most side x side pixels from JPEG bytes; None for none or unreadable."""
    if not jpeg:
        return None
    pixmap = QPixmap()
    if not pixmap.loadFromData(jpeg, "JPG"):
        return None
    return pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.SmoothTransformation)

