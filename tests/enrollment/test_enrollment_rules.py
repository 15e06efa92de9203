"""Enrollment that scales and cannot be poisoned: the subject of a photo, one
person per batch, and the "someone else" check at the door's operating point.
Real photos, the real engine, a real SQLite gallery through the command line."""

from __future__ import annotations

import json
import shutil

import pytest

from kiosk.common.config import Settings
from kiosk.vision.operating_point import ImpostorScores, thresholds_for


def people(kiosk) -> dict[str, int]:
    return {p["name"]: p["samples"] for p in json.loads(kiosk("people")[1])["people"]}


def test_a_portrait_with_a_small_second_face_enrolls_its_subject(kiosk, faces_dir):
    # obama-1080p.jpg: Obama's face is 222x329 px; MTCNN also finds a 55x61
    # "face" in the blurred background (confidence 0.90).
    code, _, err = kiosk("enroll", "obama", faces_dir / "people" / "obama" / "obama-1080p.jpg")
    assert code == 0, err
    assert "2 faces found; used the largest whole one (222x329 px" in err
    assert people(kiosk) == {"obama": 1}


def test_two_faces_of_comparable_size_are_refused(kiosk, faces_dir):
    code, _, err = kiosk("enroll", "obama", faces_dir / "scenes" / "two_people.jpg")
    assert code == 1 and "two_people.jpg: 2 faces found: only the person enrolling may be in the picture" in err
    assert people(kiosk) == {}


def test_a_planted_photo_in_an_import_folder_is_refused(kiosk, faces_dir, tmp_path):
    kit = tmp_path / "photos" / "kit"
    kit.mkdir(parents=True)
    for photo in ("john1.jpeg", "john2.jpeg", "johnsnow_test1.jpg"):
        shutil.copy(faces_dir / "people" / "kit_harington" / photo, kit)
    shutil.copy(faces_dir / "people" / "biden" / "biden.jpg", kit / "kit4.jpg")
    code, out, err = kiosk("import", tmp_path / "photos")
    assert "kit4.jpg: this face does not match the other photos of 'kit'" in err
    assert json.loads(out)["people"] == [{"name": "kit", "added": 3, "already_enrolled": 0, "skipped": 1}]
    assert people(kiosk) == {"kit": 3}


def test_two_photos_of_different_people_under_one_name_enroll_nothing(kiosk, faces_dir):
    code, _, err = kiosk("enroll", "obama", faces_dir / "people" / "obama" / "obama.jpg",
                         faces_dir / "people" / "biden" / "biden.jpg")
    assert code == 1 and err.count("does not match the other photos of 'obama'") == 2
    assert people(kiosk) == {}


def test_the_someone_else_check_follows_the_gallery_size():
    """The newcomer check asks at the door's own operating point: strict as
    the gallery grows, so it does not refuse newcomers the door would not
    confuse; "is it them" stays a single comparison."""
    scores = ImpostorScores.shipped()
    small, large = (thresholds_for(Settings(), n, scores) for n in (10, 10_000))
    assert large.identify < small.identify <= small.verify
    assert large.verify == small.verify


def test_a_larger_face_cut_off_by_the_edge_is_not_swapped_for_a_bystander(engine, faces_dir):
    """A close-up whose face runs off the photo's edge, with a small whole
    face beside it: refused, never the bystander enrolled in its place."""
    from kiosk.enrollment.draft import EnrollmentError, the_subject
    from kiosk.vision.images import load_rgb
    import cv2
    import numpy as np
    big = load_rgb(faces_dir / "people" / "obama" / "obama_partial_face.jpg")   # face box at x = 0
    small = cv2.resize(load_rgb(faces_dir / "people" / "biden" / "biden.jpg"), None, fx=0.35, fy=0.35)
    canvas = np.full((big.shape[0], big.shape[1] + small.shape[1], 3), 255, np.uint8)
    canvas[:, :big.shape[1]] = big
    canvas[:small.shape[0], big.shape[1]:] = small
    assert len(engine.faces(canvas)) == 2
    with pytest.raises(EnrollmentError, match="largest face is cut off"):
        the_subject(engine, canvas, "close-up.jpg")


def test_the_someone_else_check_refuses_a_second_name_for_an_enrolled_face(kiosk, faces_dir):
    assert kiosk("enroll", "obama", faces_dir / "people" / "obama" / "obama.jpg")[0] == 0
    code, _, err = kiosk("enroll", "barry", faces_dir / "people" / "obama" / "obama2.jpg")
    assert code == 1 and "matches 'obama'" in err
    assert people(kiosk) == {"obama": 1}
