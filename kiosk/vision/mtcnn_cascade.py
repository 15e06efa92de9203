"""MTCNN box arithmetic in numpy: image pyramid, proposals, NMS, regression, patches.

Pure functions, no networks and no TensorFlow; ``kiosk.vision.detector`` wires them to the
LiteRT interpreters. The conventions follow the ``mtcnn`` 1.0.0 package so that our
boxes agree with its ``detect_faces``:

- Images are H x W x 3, rows first (the package does not transpose the image).
- Pixel values are normalised as ``(v - 127.5) / 128``; we resize/crop the float
  0..255 image first and normalise the small results (same values up to float
  rounding as the package's normalising the whole frame first).
- Boxes are float arrays ``(N, 5)``: ``x1, y1, x2, y2, score`` in pixels of the image
  the cascade runs on; landmarks are ``(N, 10)``: five x's then five y's.
- A PNet cell at output (row, col) covers input pixels ``2*col + 1 .. 2*col + 12``
  (the 1-based convention of the original MTCNN code), offsets scale by 11;
  RNet/ONet offsets and landmarks scale by ``x2 - x1 + 1``, landmarks shift by -1.
- Patches are sampled bilinearly like ``tf.image.crop_and_resize`` with boxes
  normalised by the image size; samples outside the image read 0 (mid-grey).

- PNet proposals are mapped back by the level's nominal scale, and NMS drops a
  box overlapping any better one (see ``pnet_boxes`` and ``nms`` for why).
"""

from __future__ import annotations

import math

import numpy as np

PNET_CELL = 12  # PNet sees 12 x 12 windows ...
PNET_STRIDE = 2  # ... every 2 pixels of a pyramid level
PYRAMID_FACTOR = 0.709  # each pyramid level is ~1/sqrt(2) the size of the previous one
_NMS_BLOCK = 512  # boxes compared per block in nms()


def normalize(rgb: np.ndarray) -> np.ndarray:
    """RGB pixel values 0..255 (any shape) -> float32 ``(v - 127.5) / 128`` in about [-1, 1]."""
    out = np.asarray(rgb, dtype=np.float32) - 127.5
    out *= 1.0 / 128.0
    return out


def level_shape(height: int, width: int, scale: float) -> tuple[int, int]:
    """Size (h, w) in pixels of a pyramid level: the image scaled by ``scale``, rounded down.

    The tiny epsilon keeps e.g. 40 * 0.3 from rounding down to 11.
    """
    return int(math.floor(height * scale + 1e-6)), int(math.floor(width * scale + 1e-6))


def pyramid_scales(height: int, width: int, min_face_size: float,
                   max_face_size: float | None = None) -> list[float]:
    """Scales for PNet's image pyramid over an ``height`` x ``width`` pixel image.

    Level k has scale ``12 / min_face_size * 0.709**k``: at that scale a face of
    ``min_face_size / 0.709**k`` pixels shrinks to PNet's 12-pixel window. Levels
    continue while the scaled image is still >= 12 pixels on both sides (a smaller
    level cannot hold one window, so larger faces cannot be in the image) and, if
    ``max_face_size`` is given, while the level's face size does not exceed it.
    """
    scales: list[float] = []
    scale = PNET_CELL / float(min_face_size)
    while min(level_shape(height, width, scale)) >= PNET_CELL:
        if max_face_size is not None and PNET_CELL / scale > max_face_size * (1 + 1e-9):
            break
        scales.append(scale)
        scale *= PYRAMID_FACTOR
    return scales


def pnet_boxes(offsets: np.ndarray, face_prob: np.ndarray, scale: float, threshold: float) -> np.ndarray:
    """Face proposals from one PNet output, in pixels of the full image.

    ``offsets``: ``(h, w, 4)`` box regression (dx1, dy1, dx2, dy2) per cell;
    ``face_prob``: ``(h, w)`` face probability per cell; ``scale``: the level's
    nominal scale. Returns ``(N, 5)`` boxes, highest score first, with the
    regression already applied (as the package does, before NMS).

    Like the package (and the original MTCNN) this divides by the nominal scale,
    not by the rounded-down level size / image size. On the sample photos that
    is what makes our final boxes agree with the package's to < 1 px: the exact
    ratio moves proposals by up to ~1 %, and ONet's output is sensitive enough to
    its input box that final boxes then differed by up to IoU 0.82.
    """
    rows, cols = np.nonzero(face_prob > threshold)
    if rows.size == 0:
        return np.empty((0, 5))
    score = face_prob[rows, cols].astype(np.float64)
    delta = offsets[rows, cols].astype(np.float64) * (PNET_CELL - 1)
    left, top = PNET_STRIDE * cols + 1.0, PNET_STRIDE * rows + 1.0
    right, bottom = PNET_STRIDE * cols + float(PNET_CELL), PNET_STRIDE * rows + float(PNET_CELL)
    boxes = np.stack([left + delta[:, 0], top + delta[:, 1], right + delta[:, 2], bottom + delta[:, 3]], axis=1)
    boxes = np.concatenate([boxes / scale, score[:, None]], axis=1)
    return boxes[by_score(boxes)]


def by_score(boxes: np.ndarray) -> np.ndarray:
    """Row order of ``boxes`` (N, >=5), highest score first, ties as the package orders them."""
    return np.argsort(boxes[:, 4])[::-1]


def nms(boxes: np.ndarray, threshold: float, method: str = "union") -> np.ndarray:
    """Non-maximum suppression as the package does it; returns kept rows, best first.

    ``boxes``: ``(N, >=5)`` with x1, y1, x2, y2, score. A box is dropped when its
    overlap with *any* higher-scored box exceeds ``threshold`` (even one that is
    itself dropped, unlike greedy NMS); overlap is intersection over union
    (``"union"``) or over the smaller area (``"min"``), with areas
    ``(x2 - x1) * (y2 - y1)``. Greedy NMS was tried: it keeps more candidates and
    then picks different final boxes (IoU down to 0.89 against the package).
    Works in column blocks so memory stays O(N * block) for many proposals.
    """
    if method not in ("union", "min"):
        raise ValueError(f"unknown NMS method {method!r}")
    order = by_score(boxes)
    x1, y1, x2, y2 = (boxes[order, i] for i in range(4))
    area = (x2 - x1) * (y2 - y1)
    dropped = np.zeros(len(order), dtype=bool)
    for start in range(0, len(order), _NMS_BLOCK):
        stop = min(start + _NMS_BLOCK, len(order))
        block = slice(start, stop)
        # overlap[i, j]: box i (any better-or-equal rank) against box j of this block
        inter_w = np.maximum(0.0, np.minimum(x2[:stop, None], x2[None, block])
                             - np.maximum(x1[:stop, None], x1[None, block]))
        inter_h = np.maximum(0.0, np.minimum(y2[:stop, None], y2[None, block])
                             - np.maximum(y1[:stop, None], y1[None, block]))
        inter = inter_w * inter_h
        if method == "union":
            denominator = area[:stop, None] + area[None, block] - inter
        else:
            denominator = np.minimum(area[:stop, None], area[None, block])
        overlap = np.divide(inter, denominator, out=np.zeros_like(inter), where=denominator > 0)
        better = np.arange(stop)[:, None] < np.arange(start, stop)[None, :]
        dropped[block] = ((overlap > threshold) & better).any(axis=0)
    return order[~dropped]


def to_square(boxes: np.ndarray) -> np.ndarray:
    """Grow each box's shorter side to its longer one about the same centre; ``(N, >=4)``."""
    out = boxes.copy()
    width = boxes[:, 2] - boxes[:, 0]
    height = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(width, height)
    out[:, 0] = boxes[:, 0] + (width - side) * 0.5
    out[:, 1] = boxes[:, 1] + (height - side) * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def apply_offsets(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Refine boxes with RNet/ONet regression ``(N, 4)`` (dx1, dy1, dx2, dy2 in box sizes)."""
    out = boxes.copy()
    width = boxes[:, 2] - boxes[:, 0] + 1
    height = boxes[:, 3] - boxes[:, 1] + 1
    out[:, 0:4] += offsets * np.stack([width, height, width, height], axis=1)
    return out


def landmarks_in_image(boxes: np.ndarray, relative: np.ndarray) -> np.ndarray:
    """ONet's landmarks ``(N, 10)`` (x's then y's, fractions of the box) -> image pixels.

    ``boxes`` are the boxes ONet was given (before its own regression).
    """
    width = boxes[:, 2:3] - boxes[:, 0:1] + 1
    height = boxes[:, 3:4] - boxes[:, 1:2] + 1
    xs = width * relative[:, 0:5] + boxes[:, 0:1] - 1
    ys = height * relative[:, 5:10] + boxes[:, 1:2] - 1
    return np.concatenate([xs, ys], axis=1)


def crop_patches(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Resample each box of ``image`` to a normalised ``size`` x ``size`` patch, bilinearly.

    ``image``: ``(H, W, C)`` pixel values 0..255 (uint8 or float); ``boxes``:
    ``(N, >=4)`` pixels. Returns ``(N, size, size, C)`` float32, normalised. Sample
    positions are those of ``tf.image.crop_and_resize`` given the box divided by
    (H, W), i.e. the box corners scaled by ``(H - 1) / H``; samples outside the
    image are 0 after normalisation (mid-grey), as in the package, which crops
    from the normalised image.
    """
    height, width = image.shape[:2]
    steps = np.arange(size, dtype=np.float64) / max(size - 1, 1)
    ys = (boxes[:, 1:2] + (boxes[:, 3:4] - boxes[:, 1:2]) * steps) * ((height - 1) / height)
    xs = (boxes[:, 0:1] + (boxes[:, 2:3] - boxes[:, 0:1]) * steps) * ((width - 1) / width)
    y0, y1, fy, inside_y = _bilinear_axis(ys, height)
    x0, x1, fx, inside_x = _bilinear_axis(xs, width)
    rows0, rows1 = y0[:, :, None], y1[:, :, None]
    cols0, cols1 = x0[:, None, :], x1[:, None, :]
    fx = fx[:, None, :, None]
    top = image[rows0, cols0].astype(np.float32)
    top += (image[rows0, cols1] - top) * fx
    bottom = image[rows1, cols0].astype(np.float32)
    bottom += (image[rows1, cols1] - bottom) * fx
    top += (bottom - top) * fy[:, :, None, None]
    patches = normalize(top)
    patches[~(inside_y[:, :, None] & inside_x[:, None, :])] = 0.0
    return patches


def _bilinear_axis(coords: np.ndarray, length: int):
    """For sample positions along one axis: (lower index, upper index, weight of upper, inside)."""
    lower = np.floor(coords)
    weight = (coords - lower).astype(np.float32)
    inside = (coords >= 0) & (coords <= length - 1)
    lower_index = np.clip(lower, 0, length - 1).astype(np.intp)
    upper_index = np.clip(lower + 1, 0, length - 1).astype(np.intp)
    return lower_index, upper_index, weight, inside
