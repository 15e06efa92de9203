"""The idle gate: an empty doorway should cost almost nothing.

Full recognition runs only while something moves in front of the camera, while
a face is being followed, or now and then as a check (someone standing very
still). Motion is measured on a tiny grey thumbnail, so a frame costs well
under a millisecond.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB_WIDTH = 80


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """A blurred 80-px-wide grey copy: camera noise averages out, movement stays."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (THUMB_WIDTH, max(1, round(h * THUMB_WIDTH / w))), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)


class PresenceGate:
    """Decides, frame by frame, whether the full detector is worth running."""

    def __init__(self, motion_threshold: float = 0.01, pixel_delta: int = 18,
                 check_every_s: float = 2.0, linger_s: float = 1.5):
        # motion_threshold: share of thumbnail pixels that changed by more than
        # pixel_delta grey levels. linger_s: keep recognising this long after
        # the last motion (someone who stops in front of the door).
        self.motion_threshold = motion_threshold
        self.pixel_delta = pixel_delta
        self.check_every_s = check_every_s
        self.linger_s = linger_s
        self._previous: np.ndarray | None = None
        self._last_motion = float("-inf")
        self._last_check = float("-inf")

    def motion(self, rgb: np.ndarray) -> float:
        """Share of the picture that changed since the last frame (0..1)."""
        thumb = thumbnail(rgb)
        previous, self._previous = self._previous, thumb
        if previous is None or previous.shape != thumb.shape:
            # Nothing to compare with: not motion. The first frame is still
            # examined, by the periodic check (due at once), so someone already
            # standing at the door is found without 1.5 s of full recognition.
            return 0.0
        return float(np.mean(cv2.absdiff(thumb, previous) > self.pixel_delta))

    def should_recognise(self, now: float, rgb: np.ndarray, faces_in_view: bool) -> bool:
        if self.motion(rgb) >= self.motion_threshold:
            self._last_motion = now
        if faces_in_view or now - self._last_motion <= self.linger_s:
            return True
        if now - self._last_check >= self.check_every_s:
            self._last_check = now
            return True
        return False
