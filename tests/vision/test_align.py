"""kiosk.vision.align on a real photo: both crops are 160x160 and hold the face."""

import numpy as np

from kiosk.vision.align import FACE_SIZE, TEMPLATE, align_face, crop_face, sharpness
from kiosk.vision.images import load_rgb


def test_aligned_crop_puts_landmarks_on_the_template(engine, faces_dir):
    rgb = load_rgb(faces_dir / "people" / "obama" / "obama.jpg")
    (detection,) = engine.detect(rgb)
    aligned = align_face(rgb, detection)
    assert aligned.shape == (FACE_SIZE, FACE_SIZE, 3) and aligned.dtype == np.uint8
    (again,) = engine.detector.detect(np.ascontiguousarray(aligned))
    error = np.linalg.norm(np.asarray(again.landmarks) - TEMPLATE, axis=1)
    assert error.max() < 8.0  # pixels of the 160-px crop


def test_box_crop_holds_the_face(engine, faces_dir):
    rgb = load_rgb(faces_dir / "people" / "biden" / "biden.jpg")
    (detection,) = engine.detect(rgb)
    crop = crop_face(rgb, detection)
    assert crop.shape == (FACE_SIZE, FACE_SIZE, 3)
    (again,) = engine.detector.detect(crop)
    x, y, w, h = again.box
    assert w > 0.6 * FACE_SIZE and abs(x + w / 2 - FACE_SIZE / 2) < 16


def test_sharpness_drops_with_blur(engine, faces_dir):
    import cv2
    rgb = load_rgb(faces_dir / "people" / "obama" / "obama.jpg")
    crop = crop_face(rgb, engine.detect(rgb)[0])
    assert sharpness(cv2.GaussianBlur(crop, (9, 9), 4)) < 0.5 * sharpness(crop)
