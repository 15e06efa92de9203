"""Cutting a face out of a frame into the 160x160 crop FaceNet expects."""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.vision.detector import Detection
from kiosk.vision.model_files import FACE_SIZE

# Where the five landmarks (left eye, right eye, nose, mouth left, mouth right)
# sit, in pixels of a 160x160 crop, on average over faces cropped the way
# FaceNet's training set was: MTCNN box plus a 32-px margin, resized to 160x160
# (davidsandberg's align_dataset_mtcnn). Measured with our detector on the 114
# detected faces of the 5-celebrity set, then made left-right symmetric (the
# raw means differ by head turn only). Aligning to it keeps the crops like the
# training crops, minus each face's roll, scale and shift.
TEMPLATE = np.array([
    [51.4, 65.5],
    [108.6, 65.5],
    [80.0, 91.5],
    [53.9, 111.4],
    [106.1, 111.4],
], dtype=np.float32)

# The box-crop margin of the training set, in pixels of the 160x160 output.
TRAINING_MARGIN = 32


def align_face(rgb: np.ndarray, detection: Detection, size: int = FACE_SIZE) -> np.ndarray:
    """The face rotated, scaled and shifted so its landmarks best fit TEMPLATE
    (a similarity transform: no shear), as a (size, size, 3) uint8 RGB crop."""
    points = np.asarray(detection.landmarks, dtype=np.float32)
    template = TEMPLATE * (size / FACE_SIZE)
    matrix, _ = cv2.estimateAffinePartial2D(points, template, method=cv2.LMEDS)
    if matrix is None:  # degenerate landmarks (all on one point): fall back to the box
        return crop_face(rgb, detection, size)
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def crop_face(rgb: np.ndarray, detection: Detection, size: int = FACE_SIZE,
              margin: int = TRAINING_MARGIN) -> np.ndarray:
    """The tutorials' way, kept for comparison: the detector's box plus the
    training margin, resized to (size, size) without regard to the landmarks."""
    x, y, w, h = detection.box
    m = margin * max(w, h) / (size - margin)  # the margin in frame pixels
    x1, y1 = int(max(0, x - m / 2)), int(max(0, y - m / 2))
    x2, y2 = int(min(rgb.shape[1], x + w + m / 2)), int(min(rgb.shape[0], y + h + m / 2))
    crop = rgb[y1:y2, x1:x2]
    if crop.size == 0:
        return np.zeros((size, size, 3), np.uint8)
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def sharpness(face: np.ndarray) -> float:
    """Variance of the Laplacian of an aligned crop: low for a blurred face."""
    gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())
