"""Face detection: the MTCNN cascade (PNet -> RNet -> ONet) on the LiteRT runtime.

The networks are the ``mtcnn`` wheel's, converted once by ``kiosk.models.mtcnn_convert``;
this module never imports TensorFlow or ``mtcnn`` (TensorFlow alone takes seconds
to import) and re-implements the package's pre/post-processing in numpy
(``kiosk.vision.mtcnn_cascade``), so results agree with ``mtcnn.MTCNN().detect_faces``.

Differences from the package, all on purpose:

- The pyramid only has levels of at least 12 x 12 pixels. The package counts its
  levels as if ``min_face_size`` were 20, so any larger value produced levels
  smaller than PNet's window and ``detect_faces`` crashed.
- Images larger than ``MAX_WORK_SIDE`` are shrunk first, which bounds the work per
  frame; results still come back in the input's pixels. In such an image the
  smallest findable face is 12 * (longer side / MAX_WORK_SIDE) px (25 px for a
  4000 x 3000 photo) if that exceeds ``min_face_size``.

A ``FaceDetector`` holds interpreters with state and is not thread-safe: use one per
thread.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kiosk.common.config import DEFAULT_MIN_FACE_SIZE
from kiosk.vision import mtcnn_cascade as cascade
from kiosk.vision.litert import DEFAULT_THREADS, LiteNetwork
from kiosk.vision.model_files import mtcnn_paths, require_file

DEFAULT_THRESHOLDS = (0.6, 0.7, 0.8)  # PNet, RNet, ONet face probability, as the package
MAX_WORK_SIDE = 1920  # longer image side (px) above which the image is shrunk first

# detect_near rescales the region around a tracked face so that the face is this
# many pixels: ONet's input size, so ONet sees the face at full detail, and the
# region has the same size every frame (PNet interpreters are reused).
_NEAR_FACE_PX = 48
_NEAR_SIZE_RATIO = 1.5  # detect_near looks for faces 1/1.5 .. 1.5 x the tracked size
_PNET_CACHE_SIZE = 32  # PNet interpreters kept, one per pyramid level shape
_PNET_NMS, _PYRAMID_NMS, _RNET_NMS, _ONET_NMS = 0.5, 0.7, 0.7, 0.7


@dataclass(frozen=True)
class Detection:
    """One face found in an image, in pixels of that image.

    ``box``: x, y (top-left), width, height. ``confidence``: ONet's face probability.
    ``landmarks``: five (x, y) points: left eye, right eye, nose, mouth left, mouth
    right, where left/right are as the image shows them (not the person's own).
    """

    box: tuple[float, float, float, float]
    confidence: float
    landmarks: tuple[tuple[float, float], ...]


class FaceDetector:
    """MTCNN face detector over the converted networks in ``model_dir``.

    ``min_face_size``: the smallest face to find, in pixels of the input frame
    (>= 12, PNet's window). ``num_threads``: LiteRT threads per network.
    ``thresholds``: face probability PNet, RNet and ONet each require.
    """

    def __init__(self, model_dir: Path, min_face_size: int = DEFAULT_MIN_FACE_SIZE,
                 num_threads: int = DEFAULT_THREADS, thresholds=DEFAULT_THRESHOLDS):
        if min_face_size < cascade.PNET_CELL:
            raise ValueError(f"min_face_size must be >= {cascade.PNET_CELL} px, got {min_face_size}")
        if len(thresholds) != 3:
            raise ValueError("thresholds must be (pnet, rnet, onet)")
        self.min_face_size = min_face_size
        self.thresholds = tuple(float(t) for t in thresholds)
        self._num_threads = int(num_threads)
        self._models = {name: _read_model(path) for name, path in mtcnn_paths(Path(model_dir)).items()}
        self._pnets: OrderedDict[tuple[int, int], LiteNetwork] = OrderedDict()
        self._rnet = LiteNetwork(self._models["rnet"], self._num_threads)
        self._onet = LiteNetwork(self._models["onet"], self._num_threads)
        # LiteRT interpreters are not thread-safe; the kiosk's recognizer thread
        # and the admin panel's enrollment share this detector.
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """All faces of at least ``min_face_size`` px in ``rgb`` (uint8 H x W x 3), left to right.

        Grey (H x W) and RGBA images are accepted too; an empty image gives [].
        """
        image = _as_rgb(rgb)
        if image.size == 0:
            return []
        height, width = image.shape[:2]
        shrink = min(1.0, MAX_WORK_SIDE / max(height, width))
        if shrink < 1.0:
            size = (max(1, round(width * shrink)), max(1, round(height * shrink)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        scale_y, scale_x = image.shape[0] / height, image.shape[1] / width
        min_face = max(float(cascade.PNET_CELL), self.min_face_size * min(scale_x, scale_y))
        scales = cascade.pyramid_scales(image.shape[0], image.shape[1], min_face)
        if not scales:
            return []
        # float32 before resizing: rounding pyramid levels to uint8 moved final boxes
        # by up to IoU 0.82 against the package (MTCNN is that sensitive), for ~1 ms
        boxes, landmarks = self._run_cascade(image.astype(np.float32), scales)
        return _to_detections(boxes, landmarks, (0.0, 0.0, 1 / scale_x, 1 / scale_y), height, width)

    def detect_near(self, rgb: np.ndarray, box, margin: float = 0.5) -> list[Detection]:
        """Re-find a tracked face: faces near ``box`` (x, y, width, height px), left to right.

        Looks only inside a square around the box's centre whose side is the box's
        longer side times ``1 + 2 * margin``, for faces between 1/1.5 and 1.5 times
        that size (``min_face_size`` does not apply). Much cheaper than ``detect``.
        Coordinates are in the full image.
        """
        if margin < 0:
            raise ValueError("margin must be >= 0")
        image = _as_rgb(rgb)
        x, y, w, h = (float(v) for v in box)
        face = max(w, h)
        if image.size == 0 or not all(math.isfinite(v) for v in (x, y, w, h)) or face <= 0:
            return []
        canvas_side = round(_NEAR_FACE_PX * (1 + 2 * margin))
        region = (x + w / 2 - face * (0.5 + margin), y + h / 2 - face * (0.5 + margin), face * (1 + 2 * margin))
        canvas, to_image = _region_canvas(image, region, canvas_side)
        if canvas is None:
            return []
        scales = cascade.pyramid_scales(canvas_side, canvas_side, _NEAR_FACE_PX / _NEAR_SIZE_RATIO,
                                        max_face_size=_NEAR_FACE_PX * _NEAR_SIZE_RATIO)
        if not scales:
            return []
        boxes, landmarks = self._run_cascade(canvas, scales)
        return _to_detections(boxes, landmarks, to_image, image.shape[0], image.shape[1])

    def _run_cascade(self, image: np.ndarray, scales: list[float]) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            return self._run_cascade_locked(image, scales)

    def _run_cascade_locked(self, image: np.ndarray, scales: list[float]) -> tuple[np.ndarray, np.ndarray]:
        """PNet over the pyramid, then RNet, then ONet on ``image`` (H, W, 3), values 0..255.

        Returns boxes ``(N, 5)`` and landmarks ``(N, 10)`` in ``image`` pixels.
        """
        boxes = self._propose(image, scales)
        if len(boxes):
            boxes = self._refine(image, boxes)
        if not len(boxes):
            return np.empty((0, 5)), np.empty((0, 10))
        return self._finish(image, boxes)

    def _propose(self, image: np.ndarray, scales: list[float]) -> np.ndarray:
        """PNet stage: square candidate boxes ``(N, 5)`` from every pyramid level."""
        height, width = image.shape[:2]
        per_level = []
        for scale in scales:
            level_h, level_w = cascade.level_shape(height, width, scale)
            level = cv2.resize(image, (level_w, level_h), interpolation=cv2.INTER_AREA)
            out = self._pnet(level_h, level_w).run_by_size(cascade.normalize(level)[None])
            boxes = cascade.pnet_boxes(out[4][0], out[2][0, :, :, 1], scale, self.thresholds[0])
            per_level.append(boxes[cascade.nms(boxes, _PNET_NMS)])
        boxes = np.concatenate(per_level)
        return cascade.to_square(boxes[cascade.nms(boxes, _PYRAMID_NMS)])

    def _refine(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """RNet stage: keep and re-fit the candidates RNet believes; square boxes ``(M, 5)``."""
        out = _run_batch(self._rnet, cascade.crop_patches(image, boxes, 24))
        boxes = cascade.apply_offsets(boxes, out[4])
        boxes[:, 4] = out[2][:, 1]
        boxes = boxes[boxes[:, 4] > self.thresholds[1]]
        return cascade.to_square(boxes[cascade.nms(boxes, _RNET_NMS)])

    def _finish(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ONet stage: final boxes ``(K, 5)`` and landmarks ``(K, 10)``."""
        out = _run_batch(self._onet, cascade.crop_patches(image, boxes, 48))
        landmarks = cascade.landmarks_in_image(boxes, out[10])
        boxes = cascade.apply_offsets(boxes, out[4])
        boxes[:, 4] = out[2][:, 1]
        confident = boxes[:, 4] > self.thresholds[2]
        boxes, landmarks = boxes[confident], landmarks[confident]
        keep = cascade.nms(boxes, _ONET_NMS, method="min")
        return boxes[keep], landmarks[keep]

    def _pnet(self, height: int, width: int) -> LiteNetwork:
        """The PNet interpreter sized for (height, width) inputs, kept in a small LRU cache.

        A fixed camera repeats the same pyramid shapes every frame, so reusing
        interpreters avoids reallocating tensors per level per frame.
        """
        key = (height, width)
        net = self._pnets.pop(key, None)
        if net is None:
            net = LiteNetwork(self._models["pnet"], self._num_threads)
        self._pnets[key] = net
        while len(self._pnets) > _PNET_CACHE_SIZE:
            self._pnets.popitem(last=False)
        return net


def _run_batch(net: LiteNetwork, patches: np.ndarray) -> dict[int, np.ndarray]:
    """Run RNet/ONet on ``(N, S, S, 3)`` patches, padded to a power-of-two batch.

    The padding keeps the interpreter from reallocating every frame as the number
    of candidates changes; the padded rows are dropped from the outputs.
    """
    count = len(patches)
    capacity = 1 << max(0, count - 1).bit_length()
    if capacity != count:
        padding = np.zeros((capacity - count,) + patches.shape[1:], dtype=np.float32)
        patches = np.concatenate([patches, padding])
    return {key: out[:count] for key, out in net.run_by_size(patches).items()}


def _read_model(path: Path) -> bytes:
    """Bytes of a converted network; WeightsMissing (how to fix it) when absent."""
    return require_file(path).read_bytes()


def _as_rgb(rgb: np.ndarray) -> np.ndarray:
    """View any H x W (grey), H x W x 1, x 3 or x 4 (alpha dropped) image as H x W x 3.

    Values are taken as 0..255; dtypes OpenCV cannot resize become float32.
    """
    image = np.asarray(rgb)
    if image.size == 0:
        return np.zeros((0, 0, 3), dtype=np.uint8)
    if image.dtype not in (np.uint8, np.float32):
        image = image.astype(np.float32)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an H x W x 3 RGB image, got shape {image.shape}")
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])  # OpenCV rejects the strided RGBA view


def _region_canvas(image: np.ndarray, region: tuple[float, float, float], side: int):
    """A ``side`` x ``side`` float32 canvas showing the square ``region`` of ``image``.

    ``region``: left, top, size in image pixels. Parts outside the image are
    mid-grey (127.5, i.e. 0 after normalisation). Returns ``(canvas, to_image)`` where
    ``to_image = (x0, y0, kx, ky)`` maps canvas points to image points by
    ``x0 + kx * x``; ``(None, None)`` when the region misses the image.
    """
    left, top, size = region
    height, width = image.shape[:2]
    x0, y0 = max(0, math.floor(left)), max(0, math.floor(top))
    x1, y1 = min(width, math.ceil(left + size)), min(height, math.ceil(top + size))
    if x1 <= x0 or y1 <= y0:
        return None, None
    zoom = side / size  # canvas pixels per image pixel
    pad_x = min(side - 1, max(0, round((x0 - left) * zoom)))
    pad_y = min(side - 1, max(0, round((y0 - top) * zoom)))
    out_w = min(side - pad_x, max(1, round((x1 - x0) * zoom)))
    out_h = min(side - pad_y, max(1, round((y1 - y0) * zoom)))
    crop = image[y0:y1, x0:x1]
    interpolation = cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR
    canvas = np.full((side, side, 3), 127.5, dtype=np.float32)
    canvas[pad_y:pad_y + out_h, pad_x:pad_x + out_w] = cv2.resize(crop, (out_w, out_h), interpolation=interpolation)
    kx, ky = (x1 - x0) / out_w, (y1 - y0) / out_h
    return canvas, (x0 - pad_x * kx, y0 - pad_y * ky, kx, ky)


def _to_detections(boxes: np.ndarray, landmarks: np.ndarray, to_image: tuple[float, float, float, float],
                   height: int, width: int) -> list[Detection]:
    """Cascade output -> ``Detection``s in input pixels, boxes clipped to the image, left to right.

    ``to_image = (x0, y0, kx, ky)`` maps cascade pixels to input pixels as ``x0 + kx * x``.
    Landmarks are not clipped: an eye just outside the frame is still where it is.
    """
    x0, y0, kx, ky = to_image
    x1 = np.clip(x0 + kx * boxes[:, 0], 0, width)
    y1 = np.clip(y0 + ky * boxes[:, 1], 0, height)
    x2 = np.clip(x0 + kx * boxes[:, 2], 0, width)
    y2 = np.clip(y0 + ky * boxes[:, 3], 0, height)
    points_x = x0 + kx * landmarks[:, 0:5]
    points_y = y0 + ky * landmarks[:, 5:10]
    detections = [
        Detection(
            box=(float(x1[i]), float(y1[i]), float(x2[i] - x1[i]), float(y2[i] - y1[i])),
            confidence=float(boxes[i, 4]),
            landmarks=tuple((float(px), float(py)) for px, py in zip(points_x[i], points_y[i])),
        )
        for i in range(len(boxes))
        if x2[i] > x1[i] and y2[i] > y1[i]
    ]
    return sorted(detections, key=lambda d: d.box[0])
