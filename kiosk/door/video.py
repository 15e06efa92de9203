"""Frame sources: a video file, a camera index, or a stream URL, as uint8 RGB frames."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np


class SourceError(RuntimeError):
    """A source that cannot be opened or stopped delivering; the message names it."""


@dataclass(frozen=True)
class Frame:
    """One picture of a stream.

    time: seconds since the stream began, on the stream's own clock: a file's
    frames at their place in the file, a camera's since it opened, and the
    kiosk's camera feed (kiosk.door.feed), one stream across reopens and
    loops, since the feed started. The door's rules (idle gate, tracks,
    cooldown) run on it, so a file decides alike however fast it is read.

    captured: time.monotonic() when the frame was read from its source. How
    long the door took (time to greet) is counted from it, never from time.
    """

    index: int
    time: float
    rgb: np.ndarray    # (H, W, 3) uint8
    captured: float = field(default_factory=time.monotonic)


def parse_source(spec: str | int | Path) -> str | int:
    """A camera index for "0", "1", ...; otherwise a path or URL as given."""
    if isinstance(spec, int):
        return spec
    spec = str(spec)
    return int(spec) if spec.strip().isdigit() else spec


def is_live(spec: str | int | Path) -> bool:
    """Cameras and network streams run on the wall clock; files on their own timestamps."""
    spec = parse_source(spec)
    return isinstance(spec, int) or "://" in spec


def require_file(spec: str | int | Path) -> None:
    """SourceError for a video file that is not there; cameras and URLs pass."""
    spec = parse_source(spec)
    if not is_live(spec) and not Path(spec).exists():
        raise SourceError(f"{spec}: no such video file")


class VideoSource:
    """Opens spec with OpenCV; iterate for frames. A file ends; a camera or stream
    raises SourceError when it stops delivering (the caller decides to retry)."""

    def __init__(self, spec: str | int | Path):
        self.spec = parse_source(spec)
        require_file(self.spec)
        self._capture = cv2.VideoCapture(self.spec)
        if not self._capture.isOpened():
            raise SourceError(f"{self.spec}: cannot open video source")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1.0 <= fps <= 240.0 else 30.0
        self.live = is_live(self.spec)

    def frames(self) -> Iterator[Frame]:
        start = time.monotonic()
        index = 0
        while True:
            ok, bgr = self._capture.read()
            if not ok or bgr is None:
                if self.live:
                    raise SourceError(f"{self.spec}: the video source stopped delivering frames")
                if index == 0:
                    raise SourceError(f"{self.spec}: no frames could be decoded")
                return
            t = time.monotonic() - start if self.live else index / self.fps
            yield Frame(index, t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            index += 1

    def close(self) -> None:
        self._capture.release()

    def __enter__(self) -> "VideoSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_video(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> Path:
    """Write uint8 RGB frames (all one size) as an MJPG AVI, which every OpenCV build reads."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise SourceError(f"{path}: cannot write video")
    for rgb in frames:
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path
