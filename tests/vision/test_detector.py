"""Face detection on real photos: kiosk.vision.detector (LiteRT MTCNN) and kiosk.models.mtcnn_convert."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.vision import mtcnn_cascade
from kiosk.vision.detector import DEFAULT_MIN_FACE_SIZE, Detection, FaceDetector
from kiosk.vision.model_files import mtcnn_paths
from kiosk.models.mtcnn_convert import SOURCE_FILE, convert_mtcnn

from helpers import TEST_FACES_DIR  # noqa: E402
from kiosk.common.config import model_dir as _configured_model_dir  # noqa: E402

FACES = TEST_FACES_DIR
MODEL_DIR = _configured_model_dir()
REPO = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=None)
def detector(min_face_size: int = DEFAULT_MIN_FACE_SIZE) -> FaceDetector:
    """One detector per minimum face size, over freshly converted (or cached) networks."""
    convert_mtcnn(MODEL_DIR)
    return FaceDetector(MODEL_DIR, min_face_size=min_face_size)


@functools.lru_cache(maxsize=None)
def photo(relative: str) -> np.ndarray:
    """A sample photo as uint8 RGB (H, W, 3); read-only so tests cannot alter the cache."""
    bgr = cv2.imread(str(FACES / relative))
    assert bgr is not None, f"cannot read {relative}"
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    rgb.flags.writeable = False
    return rgb


def iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    inter_w = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    inter_h = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = inter_w * inter_h
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def assert_well_formed(faces: list[Detection], image: np.ndarray) -> None:
    """Sorted left to right, boxes inside the image, 5 landmarks, confidence in (0.8, 1]."""
    height, width = image.shape[:2]
    assert [f.box[0] for f in faces] == sorted(f.box[0] for f in faces)
    for face in faces:
        x, y, w, h = face.box
        assert 0 <= x and 0 <= y and w > 0 and h > 0
        assert x + w <= width + 1e-6 and y + h <= height + 1e-6
        assert len(face.landmarks) == 5
        assert 0.8 < face.confidence <= 1.0


def assert_frontal(face: Detection) -> None:
    """Landmarks of an upright frontal face: left eye (image left) left of the right eye,
    nose between them and below, mouth corners below the nose."""
    (lex, ley), (rex, rey), (nx, ny), (mlx, mly), (mrx, mry) = face.landmarks
    assert lex < nx < rex
    assert rex - lex > 0.25 * face.box[2]
    assert max(ley, rey) < ny < min(mly, mry)
    assert mlx < mrx


# ---------------------------------------------------------------- conversion


def test_conversion_is_recorded_and_idempotent():
    convert_mtcnn(MODEL_DIR)
    paths = mtcnn_paths(MODEL_DIR)
    stamps = {name: path.stat().st_mtime_ns for name, path in paths.items()}
    record = json.loads((MODEL_DIR / SOURCE_FILE).read_text())
    assert record["mtcnn_version"]
    assert set(record["weights_sha256"]) == {"pnet.lz4", "rnet.lz4", "onet.lz4"}
    convert_mtcnn(MODEL_DIR)
    assert {name: path.stat().st_mtime_ns for name, path in paths.items()} == stamps


@pytest.mark.slow   # re-converts MTCNN with TensorFlow
def test_stale_or_missing_conversion_is_rebuilt(tmp_path, capfd):
    convert_mtcnn(MODEL_DIR)
    (tmp_path / SOURCE_FILE).write_text(json.dumps({"mtcnn_version": "0.0.0"}))
    (tmp_path / "pnet.tflite").write_bytes(b"stale")
    said = []
    convert_mtcnn(tmp_path, log=said.append)  # imports TensorFlow and converts: a few seconds
    # a line for the step; TensorFlow's own output in conversion.log, not on the terminal
    assert said == ["converting MTCNN's three networks (about 30 s)"] and capfd.readouterr() == ("", "")
    assert (tmp_path / "conversion.log").stat().st_size > 0
    for name, path in mtcnn_paths(tmp_path).items():
        assert path.read_bytes() == mtcnn_paths(MODEL_DIR)[name].read_bytes()
    assert (tmp_path / SOURCE_FILE).read_text() == (MODEL_DIR / SOURCE_FILE).read_text()
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_detector_module_does_not_import_tensorflow():
    code = ("import sys, kiosk.vision.detector, kiosk.models.mtcnn_convert; "
            "bad = [m for m in ('tensorflow', 'mtcnn', 'keras') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


# ---------------------------------------------------------------- scenes


@pytest.mark.parametrize("scene", ["scenes/two_people.jpg", "scenes/kit_with_rose.jpg"])
def test_two_person_scenes(scene):
    image = photo(scene)
    faces = detector().detect(image)
    assert len(faces) == 2
    assert_well_formed(faces, image)
    left, right = faces
    assert left.box[0] + left.box[2] <= right.box[0]  # two separate faces, left one first
    for face in faces:
        assert_frontal(face)


def test_obama_and_biden_two_largest_faces_are_the_frontal_ones():
    image = photo("scenes/obama_and_biden.jpg")
    faces = detector().detect(image)
    assert len(faces) >= 2
    assert_well_formed(faces, image)
    largest = sorted(faces, key=lambda f: f.box[2] * f.box[3], reverse=True)[:2]
    for face in largest:
        assert_frontal(face)
        assert face.confidence > 0.95
    # biden then obama, left to right, both left of the smaller people at the right edge
    biden, obama = sorted(largest, key=lambda f: f.box[0])
    others = [f for f in faces if f not in largest]
    assert all(obama.box[0] < f.box[0] for f in others)


def test_portrait_finds_one_face_with_landmarks_inside_it():
    image = photo("people/obama/obama-480p.jpg")
    faces = detector().detect(image)
    assert len(faces) == 1
    assert_well_formed(faces, image)
    face = faces[0]
    assert_frontal(face)
    x, y, w, h = face.box
    assert all(x <= px <= x + w and y <= py <= y + h for px, py in face.landmarks)


# ---------------------------------------------------------------- agreement with the mtcnn package


@pytest.fixture(scope="module")
def package_mtcnn():
    """The ``mtcnn`` package itself (imports TensorFlow: slow, once per module)."""
    mtcnn = pytest.importorskip("mtcnn")
    return mtcnn.MTCNN()


@pytest.mark.parametrize("name", ["scenes/two_people.jpg", "scenes/kit_with_rose.jpg",
                                  "people/obama/obama_partial_face.jpg"])
def test_agrees_with_the_mtcnn_package(package_mtcnn, name):
    image = np.array(photo(name))
    theirs = sorted(package_mtcnn.detect_faces(image), key=lambda d: d["box"][0])
    ours = detector(20).detect(image)  # 20 px is the package's default min_face_size
    assert len(ours) == len(theirs) >= 1
    keys = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
    for mine, ref in zip(ours, theirs):
        assert iou(mine.box, ref["box"]) >= 0.9
        # the package rounds its output to whole pixels
        assert np.abs(np.array(mine.box) - np.array(ref["box"])).max() <= 3
        ref_points = np.array([ref["keypoints"][k] for k in keys], dtype=float)
        assert np.abs(np.array(mine.landmarks) - ref_points).max() <= 3
        assert mine.confidence == pytest.approx(ref["confidence"], abs=0.01)


# ---------------------------------------------------------------- pyramid and min_face_size


@pytest.mark.parametrize("min_face_size", [40, 60, 100, 140])
def test_large_min_face_size_still_finds_a_large_face(min_face_size):
    # the package's own pyramid made levels < 12 px for min_face_size > 20 and crashed
    image = photo("people/obama/obama-480p.jpg")  # face about 103 x 148 px
    faces = detector(min_face_size).detect(image)
    assert len(faces) == 1
    assert faces[0].box[3] > 100


def test_min_face_size_bigger_than_the_image_finds_nothing():
    assert detector(600).detect(photo("people/obama/obama-480p.jpg")) == []


@pytest.mark.parametrize("height, width, min_face", [(480, 640, 20), (480, 640, 60), (480, 640, 100),
                                                    (479, 641, 40), (12, 1000, 12), (1000, 13, 12)])
def test_pyramid_levels_are_at_least_pnet_sized_and_go_as_far_as_possible(height, width, min_face):
    scales = mtcnn_cascade.pyramid_scales(height, width, min_face)
    assert scales[0] == pytest.approx(12 / min_face)
    assert all(min(mtcnn_cascade.level_shape(height, width, s)) >= 12 for s in scales)
    next_scale = scales[-1] * mtcnn_cascade.PYRAMID_FACTOR
    assert min(mtcnn_cascade.level_shape(height, width, next_scale)) < 12


def test_min_face_size_below_pnet_window_is_rejected():
    with pytest.raises(ValueError):
        FaceDetector(MODEL_DIR, min_face_size=8)


# ---------------------------------------------------------------- image sizes and formats


@pytest.mark.parametrize("shape", [(0, 0, 3), (0, 640, 3), (1, 1, 3), (5, 5, 3), (11, 40, 3),
                                   (40, 11, 3), (1, 1000, 3), (1000, 1, 3), (12, 12, 3)])
def test_tiny_and_degenerate_images_give_no_faces(shape):
    image = np.full(shape, 128, dtype=np.uint8)
    assert detector().detect(image) == []
    assert detector(12).detect(image) == []


@pytest.mark.parametrize("value", [0, 128, 255])
def test_blank_frame_has_no_faces(value):
    assert detector(20).detect(np.full((480, 640, 3), value, dtype=np.uint8)) == []


def test_odd_sized_crop_finds_the_face():
    image = np.ascontiguousarray(photo("people/obama/obama-720p.jpg")[:479, 300:941])  # 479 x 641
    faces = detector().detect(image)
    assert len(faces) == 1
    assert_well_formed(faces, image)


def test_grayscale_photo_converted_to_rgb():
    grey = cv2.cvtColor(photo("scenes/two_people.jpg"), cv2.COLOR_RGB2GRAY)
    image = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    faces = detector().detect(image)
    assert len(faces) == 2
    assert detector().detect(grey) == faces  # a plain H x W array is taken as grey too


def test_rgba_png():
    path = str(FACES / "odd/obama_rgba_32bit.png")
    rgb = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
    faces = detector().detect(rgb)
    assert len(faces) == 1
    rgba = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    assert rgba.shape[2] == 4
    assert detector().detect(rgba) == faces  # alpha is ignored


def test_huge_image_returns_boxes_in_input_pixels():
    small = photo("scenes/two_people.jpg")  # 1126 x 661
    expected = detector().detect(small)
    zoom = 3.5
    huge = np.zeros((3000, 4000, 3), dtype=np.uint8)
    big = cv2.resize(small, (round(small.shape[1] * zoom), round(small.shape[0] * zoom)))
    huge[:big.shape[0], :big.shape[1]] = big[:3000, :4000]
    faces = detector().detect(huge)
    assert len(faces) == 2
    assert_well_formed(faces, huge)
    for face, ref in zip(faces, expected):
        scaled = tuple(v * zoom for v in ref.box)
        assert iou(face.box, scaled) > 0.75


def test_face_cut_by_the_image_border_is_clipped():
    image = photo("people/obama/obama_partial_face.jpg")  # face runs off the left edge
    faces = detector().detect(image)
    assert faces and faces[0].box[0] == 0.0
    assert_well_formed(faces, image)


def test_pnet_interpreters_are_reused_for_a_repeated_frame_size():
    det = FaceDetector(MODEL_DIR, min_face_size=60)
    frame = np.ascontiguousarray(photo("people/obama/obama-480p.jpg")[:, :640])
    first = det.detect(frame)
    levels = len(mtcnn_cascade.pyramid_scales(480, 640, 60))
    assert len(det._pnets) == levels
    assert det.detect(frame) == first
    assert len(det._pnets) == levels


# ---------------------------------------------------------------- detect_near


@pytest.mark.parametrize("scene", ["scenes/two_people.jpg", "scenes/kit_with_rose.jpg"])
def test_detect_near_refinds_each_tracked_face(scene):
    image = photo(scene)
    faces = detector().detect(image)
    for face in faces:
        near = detector().detect_near(image, face.box)
        assert near, face
        best = max(near, key=lambda d: iou(d.box, face.box))
        assert iou(best.box, face.box) > 0.7
        assert_frontal(best)
        assert_well_formed(near, image)
        # the other person is outside the searched region
        assert all(iou(d.box, other.box) == 0 for d in near for other in faces if other is not face)


def test_detect_near_follows_a_moved_and_resized_face():
    image = photo("scenes/two_people.jpg")
    face = detector().detect(image)[0]
    x, y, w, h = face.box
    guess = (x + 0.2 * w, y - 0.15 * h, w * 1.25, h * 1.25)  # last frame's box, a bit off
    near = detector().detect_near(image, guess)
    assert max(iou(d.box, face.box) for d in near) > 0.7


def test_detect_near_at_the_border_and_outside_the_image():
    image = photo("people/obama/obama_partial_face.jpg")
    face = detector().detect(image)[0]
    near = detector().detect_near(image, face.box)
    assert near and max(iou(d.box, face.box) for d in near) > 0.7
    assert_well_formed(near, image)
    assert detector().detect_near(image, (-5000, -5000, 100, 100)) == []
    assert detector().detect_near(image, (10, 10, 0, 0)) == []
    assert detector().detect_near(np.zeros((0, 0, 3), np.uint8), face.box) == []
