"""kiosk.vision.snapshot_quality on real photos and on real photos made worse (blur, shrink, rotation)."""

from dataclasses import replace
from functools import lru_cache

import cv2
import numpy as np
import pytest

from helpers import TEST_FACES_DIR
from kiosk.vision.images import load_rgb
from kiosk.vision.snapshot_quality import SnapshotRules, frontal_angles, snapshot_refusal
from kiosk.demo.walk_in import walk_in_frames

PEOPLE = ["biden/biden2.jpg", "obama/obama.jpg", "obama/obama3.jpg", "kit_harington/john1.jpeg",
          "rose_leslie/img1.jpg", "rose_leslie/img2.jpg"]
CELEBRITIES = [
    "val/ben_afflek/httpabsolumentgratuitfreefrimagesbenaffleckjpg.jpg",
    "train/ben_afflek/httpwwwallposterscomimagesPostersPFjpg.jpg",  # sharpness 145; the softest real face seen: 141
    "train/elton_john/httpspmctvlinefileswordpresscomeltonjohnjpg.jpg",
    "train/jerry_seinfeld/httpwwwslatecomcontentdamslateblogsbrowbeatseinfeldjpgCROParticlemediumjpg.jpg",
    "train/mindy_kaling/httpwwwpictureszimbiocomgiMindyKalingLkvEhTwDeJmjpg.jpg",
    "train/madonna/httpresizeparismatchladmediafrrffffffcentermiddleimgvarnewsstorageimagesparismatchpeopleaz"
    "madonnafreFRMadonnajpg.jpg",
]
# Heads turned well away from the camera (looked at), and whether to mirror the photo.
TURNED = [
    ("train/ben_afflek/httpssmediacacheakpinimgcomxedaedabcbefbcbabbjpg.jpg", False),
    ("train/ben_afflek/httpssmediacacheakpinimgcomxedaedabcbefbcbabbjpg.jpg", True),
    ("train/jerry_seinfeld/httpwwwpictureszimbiocomgpJerrySeinfeldJessicaSeinfeldmarriedBczSipMdNMQljpg.jpg", False),
    ("train/madonna/httpimagegaladevcmseamadonnaprivatdetektivsquaretopsquarejpgv.jpg", True),
]


@lru_cache(maxsize=None)
def _photo(path: str) -> np.ndarray:
    image = load_rgb(path)
    image.flags.writeable = False  # shared between tests
    return image


def _person(name: str) -> np.ndarray:
    return _photo(str(TEST_FACES_DIR / "people" / name))


def _refusal(engine, rgb: np.ndarray, rules: SnapshotRules = SnapshotRules()) -> str | None:
    return snapshot_refusal(engine.faces(rgb), rgb.shape[:2], rules)


def _the_face(engine, rgb: np.ndarray):
    (face,) = engine.faces(rgb)
    return face


def _rotated(rgb: np.ndarray, box, degrees: float) -> np.ndarray:
    """The photo turned counter-clockwise about the face's centre, on a canvas
    padded with the photo's own edges so no part of the face leaves it."""
    x, y, w, h = box
    pad = max(rgb.shape[:2]) // 2
    big = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    matrix = cv2.getRotationMatrix2D((x + w / 2 + pad, y + h / 2 + pad), degrees, 1.0)
    return cv2.warpAffine(big, matrix, big.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("name", PEOPLE)
def test_frontal_portraits_of_people_are_accepted(engine, name):
    assert _refusal(engine, _person(name)) is None


@pytest.mark.parametrize("name", CELEBRITIES)
def test_frontal_celebrity_portraits_are_accepted(engine, celebrities, name):
    assert _refusal(engine, _photo(str(celebrities / name))) is None


@pytest.mark.parametrize("frame", ["wall", "grey"])
def test_a_picture_without_a_face_is_refused(engine, frame):
    if frame == "wall":
        rgb = walk_in_frames(_person("obama/obama.jpg"), size=(640, 480), frames=0, empty_frames=1)[0]
    else:
        rgb = np.full((480, 640, 3), 128, np.uint8)
    assert _refusal(engine, rgb) == "no face found"


@pytest.mark.parametrize("scene", ["two_people.jpg", "kit_with_rose.jpg"])
def test_several_faces_are_refused(engine, faces_dir, scene):
    rgb = _photo(str(faces_dir / "scenes" / scene))
    faces = engine.faces(rgb)
    assert len(faces) >= 2
    assert snapshot_refusal(faces, rgb.shape[:2]) == \
        f"{len(faces)} faces found: only the person enrolling may be in the picture"


def test_a_face_too_small_is_refused(engine):
    rgb = _person("obama/obama.jpg")
    rules = SnapshotRules()
    # between what the detector still finds and what enrollment needs
    target = (engine.detector.min_face_size + rules.min_face_px) / 2
    scale = target / _the_face(engine, rgb).box[2]
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    width = _the_face(engine, small).box[2]
    assert _refusal(engine, small) == f"face too small: come closer ({width:.0f} px, need {rules.min_face_px:.0f})"


def test_the_minimum_size_is_a_rule(engine):
    rgb = _person("obama/obama.jpg")
    width = _the_face(engine, rgb).box[2]
    assert _refusal(engine, rgb, SnapshotRules(min_face_px=width - 1)) is None
    assert _refusal(engine, rgb, SnapshotRules(min_face_px=width + 1)).startswith("face too small")


@pytest.mark.parametrize("name", ["obama/obama.jpg", "rose_leslie/img2.jpg"])
def test_a_heavily_blurred_face_is_refused(engine, name):
    rgb = _person(name)
    width = _the_face(engine, rgb).box[2]
    blurred = cv2.GaussianBlur(rgb, (0, 0), width / 25)
    assert _refusal(engine, blurred) == "too blurred: hold still"


@pytest.mark.parametrize("name", ["obama/obama.jpg", "rose_leslie/img2.jpg"])
def test_a_face_moving_sideways_is_refused(engine, name):
    rgb = _person(name)
    length = max(3, round(_the_face(engine, rgb).box[2] / 10))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length  # horizontal motion blur
    assert _refusal(engine, cv2.filter2D(rgb, -1, kernel)) == "too blurred: hold still"


@pytest.mark.parametrize("degrees", [35, -35])
@pytest.mark.parametrize("name", ["obama/obama.jpg", "rose_leslie/img1.jpg"])
def test_a_tilted_head_is_refused_and_its_roll_measured(engine, name, degrees):
    rgb = _person(name)
    upright = _the_face(engine, rgb)
    turned = _rotated(rgb, upright.box, degrees)
    tilted = _the_face(engine, turned)
    # counter-clockwise in the picture lifts the image-right eye: roll falls
    (yaw_before, roll_before), (yaw_after, roll_after) = map(frontal_angles, (upright.detection, tilted.detection))
    assert abs(roll_after - roll_before + degrees) < 10
    assert abs(yaw_after - yaw_before) < 10  # a tilt is not a turn
    assert snapshot_refusal([tilted], turned.shape[:2]).startswith("hold your head straight (tilted ")


@pytest.mark.parametrize("name, mirrored", TURNED)
def test_a_turned_head_is_refused(engine, celebrities, name, mirrored):
    rgb = _photo(str(celebrities / name))
    if mirrored:
        rgb = np.ascontiguousarray(rgb[:, ::-1])
    assert _refusal(engine, rgb) == "turn towards the camera"


@pytest.mark.parametrize("name", sorted({name for name, _ in TURNED}))
def test_yaw_changes_sign_in_a_mirror(engine, celebrities, name):
    rgb = _photo(str(celebrities / name))
    yaw, _ = frontal_angles(_the_face(engine, rgb).detection)
    mirrored = np.ascontiguousarray(rgb[:, ::-1])
    yaw_mirrored, _ = frontal_angles(_the_face(engine, mirrored).detection)
    assert abs(yaw) > 20 and yaw * yaw_mirrored < 0
    assert abs(abs(yaw) - abs(yaw_mirrored)) < 10


@pytest.mark.parametrize("name", ["obama/obama_partial_face.jpg", "obama/obama_partial_face2.jpg"])
def test_a_face_cut_by_the_edge_is_refused(engine, name):
    rgb = _person(name)
    assert _refusal(engine, rgb).startswith("face cut off at the edge of the picture")


def test_the_same_face_away_from_the_edge_is_accepted(engine):
    """The cut-off check looks at the frame, not at the face: the same crop on a
    wider canvas (the photo's own edge colours) passes."""
    rgb = _person("obama/obama_partial_face.jpg")
    pad = rgb.shape[1] // 2
    wider = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    face = _the_face(engine, wider)
    assert snapshot_refusal([face], wider.shape[:2]) is None
    assert snapshot_refusal([face], (face.box[1] + face.box[3], wider.shape[1])).startswith("face cut off")


def test_a_doubtful_detection_is_refused(engine):
    rgb = _person("obama/obama.jpg")
    face = _the_face(engine, rgb)
    below = SnapshotRules().min_confidence - 0.01
    doubtful = replace(face, detection=replace(face.detection, confidence=below))
    assert snapshot_refusal([face], rgb.shape[:2]) is None
    assert snapshot_refusal([doubtful], rgb.shape[:2]).startswith("face not clearly visible")
