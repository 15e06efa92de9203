"""Reading photos from disk into the one layout the engine uses: uint8 RGB, H x W x 3."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# Larger photos are shrunk on load: a face needs no more than this, and a
# 50-megapixel phone picture would otherwise cost seconds in the detector.
MAX_SIDE = 2000


class ImageError(ValueError):
    """A file that cannot be used as a photo; the message names the file."""


def load_rgb(path: str | Path, max_side: int = MAX_SIDE) -> np.ndarray:
    """Read an image file as uint8 RGB (H, W, 3).

    EXIF orientation is applied (phones store portraits sideways), alpha is
    composited onto white, grayscale is expanded to three channels and 16-bit
    samples are scaled to 8 bits. Raises ImageError for a missing, unreadable,
    truncated or non-image file.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # unlike cv2.imread, handles non-ASCII paths
    except OSError as exc:
        raise ImageError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if data.size == 0:
        raise ImageError(f"{path}: empty file")
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.size == 0:
        raise ImageError(f"{path}: not an image, or a damaged one")
    return _to_rgb8(_apply_exif_orientation(decoded, data), max_side)


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of a uint8 RGB image (thumbnails stored in the gallery)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageError("could not encode JPEG")
    return buf.tobytes()


def _apply_exif_orientation(img: np.ndarray, encoded: np.ndarray) -> np.ndarray:
    # Only IMREAD_COLOR applies EXIF rotation, and it would drop alpha and
    # 16-bit depth, so decode unchanged and rotate here (phones store
    # portraits sideways with a tag).
    fix = _ORIENTATION_FIXES.get(_exif_orientation(encoded.tobytes()))
    return fix(img) if fix else img


# EXIF Orientation value -> what turns the stored pixels upright.
_ORIENTATION_FIXES = {
    2: lambda im: cv2.flip(im, 1),
    3: lambda im: cv2.rotate(im, cv2.ROTATE_180),
    4: lambda im: cv2.flip(im, 0),
    5: lambda im: cv2.transpose(im),
    6: lambda im: cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE),
    7: lambda im: cv2.rotate(cv2.transpose(im), cv2.ROTATE_180),
    8: lambda im: cv2.rotate(im, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def _exif_orientation(blob: bytes) -> int:
    """The EXIF Orientation tag (1-8) of a JPEG, 1 when absent or unreadable."""
    if not blob.startswith(b"\xff\xd8"):
        return 1
    pos = 2
    while pos + 4 <= len(blob):
        if blob[pos] != 0xFF:
            return 1
        marker, length = blob[pos + 1], int.from_bytes(blob[pos + 2 : pos + 4], "big")
        if marker == 0xE1 and blob[pos + 4 : pos + 10] == b"Exif\x00\x00":
            return _tiff_orientation(blob[pos + 10 : pos + 2 + length])
        if marker in (0xDA, 0xD9):  # image data starts: no EXIF before it
            return 1
        pos += 2 + length
    return 1


def _tiff_orientation(tiff: bytes) -> int:
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    order = "little" if tiff[:2] == b"II" else "big"
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return 1
    for i in range(int.from_bytes(tiff[ifd : ifd + 2], order)):
        entry = ifd + 2 + 12 * i
        if entry + 12 > len(tiff):
            return 1
        if int.from_bytes(tiff[entry : entry + 2], order) == 0x0112:
            value = int.from_bytes(tiff[entry + 8 : entry + 10], order)
            return value if 1 <= value <= 8 else 1
    return 1


def _to_rgb8(img: np.ndarray, max_side: int) -> np.ndarray:
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 2:
        rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    elif img.shape[2] == 4:
        rgb = _composite_on_white(img)
    else:
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return shrink_to(rgb, max_side)


def _composite_on_white(bgra: np.ndarray) -> np.ndarray:
    alpha = bgra[:, :, 3:4].astype(np.float32) / 255.0
    bgr = bgra[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return cv2.cvtColor(bgr.round().astype(np.uint8), cv2.COLOR_BGR2RGB)


def shrink_to(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """The image scaled down so its longer side is at most max_side (never up)."""
    h, w = rgb.shape[:2]
    if max(h, w) <= max_side:
        return rgb
    scale = max_side / max(h, w)
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
