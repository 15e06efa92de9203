"""kiosk.vision.images: every odd photo becomes uint8 RGB, or one clear error naming the file."""

import cv2
import numpy as np
import pytest

from kiosk.vision.images import ImageError, declared_size, load_photo, load_rgb

from helpers import png_declaring


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


def jpeg_declaring(path, width: int, height: int):
    """A real small JPEG with its start-of-frame rewritten to declare width x height."""
    data = bytearray(cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))[1].tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("make", [png_declaring, jpeg_declaring])
def test_an_image_over_the_pixel_budget_is_refused_before_decoding(tmp_path, make):
    # 33000 x 33000 made OpenCV abort with a traceback; 30000 x 30000 took 3.8 GB.
    path = make(tmp_path / "bomb.img", 33000 if make is png_declaring else 30000, 30000)
    with pytest.raises(ImageError) as info:
        load_rgb(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "over the limit of 50 megapixels" in message
    assert "\n" not in message


def test_a_real_image_over_the_budget_is_refused_and_one_under_it_loads(tmp_path):
    cv2.imwrite(str(tmp_path / "big.png"), np.zeros((7100, 7100), np.uint8))    # 50.4 MP
    cv2.imwrite(str(tmp_path / "fine.png"), np.zeros((7000, 7000), np.uint8))   # 49 MP
    with pytest.raises(ImageError, match="7100 x 7100 pixels"):
        load_rgb(tmp_path / "big.png")
    assert load_rgb(tmp_path / "fine.png").shape == (2000, 2000, 3)


def test_declared_size_reads_png_and_jpeg_headers(faces_dir):
    photo = faces_dir / "people" / "obama" / "obama-1080p.jpg"
    height, width = cv2.imread(str(photo)).shape[:2]
    assert declared_size(photo.read_bytes()) == (width, height)
    assert declared_size((faces_dir / "odd" / "obama_rgba_32bit.png").read_bytes()) is not None
    assert declared_size(b"BM not a format read here") is None


def test_load_photo_tells_the_scale_it_shrank_by(tmp_path):
    cv2.imwrite(str(tmp_path / "wide.png"), np.zeros((1000, 4000, 3), np.uint8))
    photo = load_photo(tmp_path / "wide.png")
    assert photo.rgb.shape[:2] == (500, 2000) and photo.scale == 0.5
    assert load_photo(tmp_path / "wide.png", max_side=4000).scale == 1.0
