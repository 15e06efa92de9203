"""Test and demo clips made from real photos: a person walks up to the door.

The camera is fixed; the photo of the person slides in from one side and grows
as they approach, over a plain wall. Used by the tests, `kiosk bench` and the
window's demo mode; never by recognition itself.
"""

from __future__ import annotations

import cv2
import numpy as np


def walk_in_frames(photo: np.ndarray, size: tuple[int, int] = (640, 360), frames: int = 60,
                   start_scale: float = 0.45, end_scale: float = 0.9, empty_frames: int = 0,
                   from_left: bool = True) -> list[np.ndarray]:
    """uint8 RGB frames of size (width, height): `empty_frames` of the bare wall,
    then the person (photo, uint8 RGB) moving from the edge to the centre while
    growing from start_scale to end_scale of the frame height."""
    width, height = size
    wall = _wall(width, height)
    clip = [wall.copy() for _ in range(empty_frames)]
    for i in range(frames):
        progress = i / max(1, frames - 1)
        scale = start_scale + (end_scale - start_scale) * progress
        ph = max(2, int(height * scale))
        pw = max(2, int(photo.shape[1] * ph / photo.shape[0]))
        person = cv2.resize(photo, (pw, ph), interpolation=cv2.INTER_AREA)
        edge = -pw // 2 if from_left else width - pw // 2
        centre = (width - pw) // 2
        x = int(edge + (centre - edge) * progress)
        y = height - ph  # standing on the floor
        clip.append(_paste(wall.copy(), person, x, y))
    return clip


def letterbox(photo: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The photo scaled to fit (width, height), centred on the wall."""
    width, height = size
    scale = min(width / photo.shape[1], height / photo.shape[0])
    pw, ph = max(1, int(photo.shape[1] * scale)), max(1, int(photo.shape[0] * scale))
    person = cv2.resize(photo, (pw, ph), interpolation=cv2.INTER_AREA)
    return _paste(_wall(width, height), person, (width - pw) // 2, (height - ph) // 2)


def _wall(width: int, height: int) -> np.ndarray:
    # A soft vertical gradient rather than flat grey, so frame differencing and
    # the detector see an ordinary, slightly textured background.
    shade = np.linspace(200, 150, height, dtype=np.float32)[:, None, None]
    return np.broadcast_to(shade * np.array([1.0, 0.97, 0.92]), (height, width, 3)).astype(np.uint8)


def _paste(canvas: np.ndarray, image: np.ndarray, x: int, y: int) -> np.ndarray:
    h, w = image.shape[:2]
    x1, y1 = max(0, x), max(0, y)
    x2, y2 = min(canvas.shape[1], x + w), min(canvas.shape[0], y + h)
    if x2 > x1 and y2 > y1:
        canvas[y1:y2, x1:x2] = image[y1 - y:y2 - y, x1 - x:x2 - x]
    return canvas
