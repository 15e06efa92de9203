"""Reject-only cues for screens and prints, in the face's neighbourhood of a
frame the door already has.

- frame: straight edges around the face, on several of its sides: a
  print's edge against what is behind it, or a phone's bezel;
- moire: a sharp peak in the face's spectrum (a screen's pixel grid sampled
  by the camera).

Each cue only refuses: a face it fires on is no more live for it not
firing. It is one frame's word; the door (kiosk.door.decisions) refuses a
track only when a cue fires in several of its frames.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[float, float, float, float]

FRAME, MOIRE = "frame", "moire"
REASONS = {FRAME: "The face is framed like a photo or a screen",
           MOIRE: "The face shows a screen's pixel pattern"}

# The frame cue looks this far around the face box (box widths each side)
# and at this size (the box this many pixels wide), so that its cost and its
# line lengths do not depend on how close the face is.
FRAME_MARGIN = 0.8
FRAME_FACE_PX = 40
# Only whole lines count: at least this long, in box widths.
FRAME_LINE = 0.7
FRAME_TILT = np.tan(np.radians(30.0))   # a side's line may lean 30 degrees from the box's side
# Moire: the face's central square at the camera's own pixels (a resized
# crop would blur away the grid), at most this many pixels a side.
MOIRE_PX = 64
MOIRE_BAND = (0.15, 0.5)  # cycles a pixel: above a face's own detail
# Thresholds, chosen on the tune set (README "Liveness"): real faces (114 in
# web photos, the street clip's 11 tracks, 491 faces) showed at most 2
# framed sides in the photos and 4 in 4 scattered street frames (never 3 in
# 5), and a moire peak of 38 at most (the street clip's video coding); a
# synthetic print or phone shows 4 sides in most frames.
FRAME_SIDES = 4
MOIRE_PEAK = 45.0
# A track is refused when one cue fires in CUE_HITS of its last CUE_FRAMES
# frames (a cue's word in one frame is not enough: a door frame or a window
# behind a head can line up for a frame).
CUE_HITS, CUE_FRAMES = 3, 5


@dataclass(frozen=True)
class CueScores:
    """One face in one frame: how much it looks like each cue."""

    frame_sides: int      # sides of the face (of 4) with a straight edge beyond it
    moire: float          # the spectrum's highest peak over its median, in the band

    def fired(self) -> str | None:
        """The first cue over its threshold, or None."""
        for cue, over in ((FRAME, self.frame_sides >= FRAME_SIDES), (MOIRE, self.moire >= MOIRE_PEAK)):
            if over:
                return cue
        return None


def _crop(image: np.ndarray, box: Box, margin: float) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The image around the box, `margin` box widths on every side (clipped
    to the image), and the box's x0, y0, x1, y1 in the crop."""
    x, y, w, h = box
    x0, y0 = int(max(0, x - margin * w)), int(max(0, y - margin * h))
    x1, y1 = int(min(image.shape[1], x + w + margin * w)), int(min(image.shape[0], y + h + margin * h))
    return image[y0:y1, x0:x1], (x - x0, y - y0, x + w - x0, y + h - y0)


def frame_sides(gray: np.ndarray, box: Box) -> int:
    """How many sides of the face box (x y w h in `gray`) have a straight
    edge beyond them, running along that side."""
    crop, (bx0, by0, bx1, by1) = _crop(gray, box, FRAME_MARGIN)
    if crop.size == 0 or box[2] < 8:
        return 0
    scale = FRAME_FACE_PX / box[2]
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    bx0, by0, bx1, by1 = bx0 * scale, by0 * scale, bx1 * scale, by1 * scale
    edges = cv2.Canny(crop, 40, 120)
    # A side's line lies wholly beyond the face: the face's own edges are
    # never one, and dropping them keeps the line search cheap.
    edges[max(0, int(by0)):max(0, int(by1) + 1), max(0, int(bx0)):max(0, int(bx1) + 1)] = 0
    length = FRAME_FACE_PX * FRAME_LINE
    lines = cv2.HoughLinesP(edges, 1, np.pi / 90, threshold=int(0.6 * length), minLineLength=length, maxLineGap=2)
    if lines is None:
        return 0
    x0, y0, x1, y1 = lines.reshape(-1, 4).astype(np.float64).T
    dx, dy = np.abs(x1 - x0), np.abs(y1 - y0)
    upright = (dx <= FRAME_TILT * dy) & (np.maximum(y0, y1) >= by0) & (np.minimum(y0, y1) <= by1)
    level = (dy <= FRAME_TILT * dx) & (np.maximum(x0, x1) >= bx0) & (np.minimum(x0, x1) <= bx1)
    return int((upright & (np.maximum(x0, x1) < bx0)).any()) + int((upright & (np.minimum(x0, x1) > bx1)).any()) \
        + int((level & (np.maximum(y0, y1) < by0)).any()) + int((level & (np.minimum(y0, y1) > by1)).any())


_WINDOWS: dict[int, np.ndarray] = {}


def moire_peak(gray: np.ndarray, box: Box) -> float:
    """The highest peak of the face's spectrum in MOIRE_BAND over the band's
    median: a periodic pattern stands out, a face's texture does not."""
    x, y, w, h = box
    side = int(min(MOIRE_PX, 0.7 * w, 0.7 * h)) // 2 * 2
    if side < 16:
        return 0.0
    cx, cy = int(x + w / 2), int(y + h / 2)
    patch = gray[max(0, cy - side // 2):cy + side // 2, max(0, cx - side // 2):cx + side // 2]
    if patch.shape != (side, side):
        return 0.0
    if side not in _WINDOWS:
        hann = np.hanning(side).astype(np.float32)
        freq = np.hypot(*np.meshgrid(np.fft.fftfreq(side), np.fft.fftfreq(side)))
        _WINDOWS[side] = (np.outer(hann, hann), (freq >= MOIRE_BAND[0]) & (freq <= MOIRE_BAND[1]))
    window, band = _WINDOWS[side]
    values = patch.astype(np.float32)
    spectrum = np.abs(np.fft.fft2((values - values.mean()) * window))[band]
    median = float(np.median(spectrum))
    return float(spectrum.max()) / median if median > 0 else 0.0


def cue_scores(rgb: np.ndarray, box: Box) -> CueScores:
    """The cues of one face (its box, x y w h) in one RGB frame."""
    around, (x0, y0, x1, y1) = _crop(rgb, box, FRAME_MARGIN)   # only the neighbourhood is converted
    if around.size == 0:
        return CueScores(0, 0.0)
    inside = (x0, y0, x1 - x0, y1 - y0)
    gray = cv2.cvtColor(around, cv2.COLOR_RGB2GRAY)
    return CueScores(frame_sides(gray, inside), moire_peak(gray, inside))


class TrackCues:
    """One track's cues over its frames; `refusal` names the first cue that
    fired in CUE_HITS of CUE_FRAMES frames running, and stays until clear()."""

    def __init__(self):
        self._recent: deque[str | None] = deque(maxlen=CUE_FRAMES)
        self.refusal: str | None = None

    def clear(self) -> None:
        """Forget the frames seen so far (the door refused; a retry needs fresh hits)."""
        self._recent.clear()
        self.refusal = None

    def add(self, scores: CueScores) -> str | None:
        self._recent.append(scores.fired())
        if self.refusal is None:
            counts = Counter(c for c in self._recent if c is not None)
            self.refusal = next((c for c, n in counts.most_common() if n >= CUE_HITS), None)
        return self.refusal
