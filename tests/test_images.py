"""kiosk.images: every odd photo becomes uint8 RGB, or one clear error naming the file."""

import cv2
import numpy as np
import pytest

from kiosk.images import ImageError, load_rgb


def test_rgba_png_is_composited_to_rgb(faces_dir):
    rgb = load_rgb(faces_dir / "odd" / "obama_rgba_32bit.png")
    assert rgb.dtype == np.uint8 and rgb.shape[2] == 3


def test_bgr_order_is_converted(tmp_path):
    bgr = np.zeros((10, 10, 3), np.uint8)
    bgr[..., 2] = 255  # red, in OpenCV's order
    cv2.imwrite(str(tmp_path / "red.png"), bgr)
    rgb = load_rgb(tmp_path / "red.png")
    assert tuple(rgb[0, 0]) == (255, 0, 0)


def test_grayscale_and_16_bit(tmp_path):
    cv2.imwrite(str(tmp_path / "gray.png"), np.full((8, 9), 77, np.uint8))
    cv2.imwrite(str(tmp_path / "deep.png"), np.full((8, 9, 3), 40000, np.uint16))
    gray = load_rgb(tmp_path / "gray.png")
    deep = load_rgb(tmp_path / "deep.png")
    assert gray.shape == (8, 9, 3) and gray[0, 0, 0] == 77
    assert deep.dtype == np.uint8 and deep[0, 0, 0] == 40000 >> 8


def _jpeg_with_orientation(path, orientation: int, width=40, height=20):
    """A JPEG whose pixels are width x height with an EXIF Orientation tag."""
    img = np.zeros((height, width, 3), np.uint8)
    img[:, : width // 4] = 255  # a white band on the stored left edge
    ok, jpg = cv2.imencode(".jpg", img)
    tiff = (b"II*\x00" + (8).to_bytes(4, "little") + (1).to_bytes(2, "little")
            + (0x0112).to_bytes(2, "little") + (3).to_bytes(2, "little") + (1).to_bytes(4, "little")
            + orientation.to_bytes(2, "little") + b"\x00\x00" + (0).to_bytes(4, "little"))
    app1 = b"\xff\xe1" + (len(tiff) + 8).to_bytes(2, "big") + b"Exif\x00\x00" + tiff
    data = jpg.tobytes()
    path.write_bytes(data[:2] + app1 + data[2:])
    return path


def test_exif_rotation_is_applied(tmp_path):
    upright = load_rgb(_jpeg_with_orientation(tmp_path / "o1.jpg", 1))
    rotated = load_rgb(_jpeg_with_orientation(tmp_path / "o6.jpg", 6))
    assert upright.shape[:2] == (20, 40)
    assert rotated.shape[:2] == (40, 20)            # a phone portrait stands up
    assert rotated[:5, :, 0].mean() > 200          # the stored left edge is now on top


def test_huge_image_is_shrunk(tmp_path):
    cv2.imwrite(str(tmp_path / "huge.png"), np.zeros((5000, 3000, 3), np.uint8))
    assert max(load_rgb(tmp_path / "huge.png").shape[:2]) == 2000


@pytest.mark.parametrize("content", [b"", b"this is not an image", None])
def test_bad_files_raise_one_clear_error(tmp_path, faces_dir, content):
    path = tmp_path / "bad.jpg"
    if content is None:  # a real photo cut off half-way through
        data = (faces_dir / "people" / "obama" / "obama.jpg").read_bytes()
        content = data[: len(data) // 2]
    path.write_bytes(content)
    with pytest.raises(ImageError) as info:
        load_rgb(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="missing.jpg"):
        load_rgb(tmp_path / "missing.jpg")
