"""Reading photos from disk into the one layout the engine uses: uint8 RGB, H x W x 3."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Larger photos are shrunk on load: a face needs no more than this, and a
# 50-megapixel phone picture would otherwise cost seconds in the detector.
MAX_SIDE = 2000
# Photos declaring more pixels than this are refused before they are decoded:
# a few-kB PNG can declare 33000 x 33000 (3 GB decoded, or an OpenCV abort).
# 50 MP admits the full-resolution photos of today's 48/50-MP phone cameras
# (8160 x 6120), costs at most ~150 MB (8-bit RGB) and about a second to
# decode, and a face needs far less: everything is shrunk to MAX_SIDE anyway.
MAX_PIXELS = 50_000_000
# The same budget inside OpenCV, for formats whose header is not read here
# (WebP, TIFF, ...): OpenCV reads it once, at the process's first decode, so
# it is set here, before this module imports cv2 (a value already in the
# environment wins).
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))

import cv2  # noqa: E402  (after the budget above)


class ImageError(ValueError):
    """A file that cannot be used as a photo; the message names the file."""


@dataclass(frozen=True)
class Photo:
    """A photo as the engine sees it, and how it was scaled from the file."""

    rgb: np.ndarray  # uint8 RGB (H, W, 3)
    scale: float     # rgb's pixels per pixel of the file (1.0, or < 1 when shrunk)


def load_rgb(path: str | Path, max_side: int = MAX_SIDE) -> np.ndarray:
    """Read an image file as uint8 RGB (H, W, 3); see load_photo."""
    return load_photo(path, max_side).rgb


def load_photo(path: str | Path, max_side: int = MAX_SIDE) -> Photo:
    """Read an image file as uint8 RGB, shrunk to max_side, with the scale used.

    EXIF orientation is applied (phones store portraits sideways), alpha is
    composited onto white, grayscale is expanded to three channels and 16-bit
    samples are scaled to 8 bits. Raises ImageError for a missing, unreadable,
    truncated or non-image file, and for one over MAX_PIXELS.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # unlike cv2.imread, handles non-ASCII paths
    except OSError as exc:
        raise ImageError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if data.size == 0:
        raise ImageError(f"{path}: empty file")
    _check_pixel_budget(path, declared_size(data[:_HEADER_BYTES].tobytes()))
    try:
        decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error:  # OpenCV's own size limit (formats not read by declared_size)
        decoded = None
    if decoded is None or decoded.size == 0:
        raise ImageError(f"{path}: not an image, a damaged one, or over {MAX_PIXELS // 1_000_000} megapixels")
    _check_pixel_budget(path, decoded.shape[1::-1])
    rgb = _to_rgb8(_apply_exif_orientation(decoded, data))
    small = shrink_to(rgb, max_side)
    return Photo(small, small.shape[1] / rgb.shape[1])


def _check_pixel_budget(path: Path, size: tuple[int, int] | None) -> None:
    if size and size[0] * size[1] > MAX_PIXELS:
        raise ImageError(f"{path}: {size[0]} x {size[1]} pixels, over the limit of "
                         f"{MAX_PIXELS // 1_000_000} megapixels; use a smaller copy")


# Enough of a file to reach a JPEG's SOF past its EXIF block and thumbnail
# (APP1 is at most 64 kB) or a PNG's IHDR.
_HEADER_BYTES = 256 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers (baseline, progressive, lossless, ...): C0-CF but not
# DHT (C4), JPG (C8) or DAC (CC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def declared_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) as a PNG's IHDR or a JPEG's start-of-frame declares it,
    without decoding; None for other formats or an unreadable header."""
    if head.startswith(_PNG_SIGNATURE) and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    for marker, segment in _jpeg_segments(head):
        if marker in _JPEG_SOF and len(segment) >= 5:
            return int.from_bytes(segment[3:5], "big"), int.from_bytes(segment[1:3], "big")
    return None


def _jpeg_segments(blob: bytes):
    """(marker, payload) of a JPEG's header segments, up to the image data."""
    if not blob.startswith(b"\xff\xd8"):
        return
    pos = 2
    while pos + 4 <= len(blob):
        if blob[pos] != 0xFF:
            return
        marker, length = blob[pos + 1], int.from_bytes(blob[pos + 2 : pos + 4], "big")
        if marker in (0xDA, 0xD9):  # image data starts: no header segment after it
            return
        yield marker, blob[pos + 4 : pos + 2 + length]
        pos += 2 + length


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
    for marker, segment in _jpeg_segments(blob):
        if marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
            return _tiff_orientation(segment[6:])
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


def _to_rgb8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return _composite_on_white(img)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


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
