"""kiosk.enrollment.draft.EnrollmentDraft: the admin panel's samples of one person before
Save, with the real engine over real portraits and a real SQLite gallery."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from helpers import PROJECT_DIR
from kiosk.common.config import Settings
from kiosk.enrollment.draft import EnrollmentDraft, EnrollmentError, sample_from_face, the_subject
from kiosk.store.gallery import add_samples, load_matrix
from kiosk.vision.images import load_rgb
from kiosk.vision.matcher import GalleryIndex
from kiosk.vision.operating_point import ImpostorScores, thresholds_for
from kiosk.demo.walk_in import letterbox, walk_in_frames

RESOURCES = PROJECT_DIR / "resources" / "faces"
CAMERA = (640, 480)
ENROLLED = "Barack Obama"


@pytest.fixture
def draft(engine, sessions) -> EnrollmentDraft:
    """A new draft against a real gallery in which Obama is enrolled."""
    face = the_subject(engine, load_rgb(RESOURCES / "obama.jpg"), "obama.jpg").face
    with sessions.begin() as session:
        add_samples(session, ENROLLED, [sample_from_face(face, "obama.jpg")], engine.model_name)
    with sessions.begin() as session:
        index = GalleryIndex(load_matrix(session, engine.model_name))
    return EnrollmentDraft(engine, index, thresholds_for(Settings(), index.people, ImpostorScores.shipped()))


def camera_frame(path) -> np.ndarray:
    """A portrait as the kiosk camera would show it: centred on the wall, 640x480."""
    return letterbox(load_rgb(path), CAMERA)


def test_snapshot_of_an_empty_doorway_is_refused(draft):
    wall = walk_in_frames(load_rgb(RESOURCES / "obama.jpg"), size=CAMERA, frames=0, empty_frames=1)[0]
    with pytest.raises(EnrollmentError, match="no face"):
        draft.add_snapshot(wall, "Rose Leslie")
    assert draft.samples == [] and draft.faces == []


def test_snapshot_of_a_face_too_far_away_is_refused_with_the_reason(draft, faces_dir):
    # Standing back: the person fills 40% of the frame's height, the face box is
    # about 58 px wide (found by the detector; the snapshot rules want 80).
    photo = load_rgb(faces_dir / "people" / "rose_leslie" / "img1.jpg")
    far = walk_in_frames(photo, size=CAMERA, frames=2, start_scale=0.4, end_scale=0.4)[-1]
    with pytest.raises(EnrollmentError, match="face too small: come closer"):
        draft.add_snapshot(far, "Rose Leslie")
    assert draft.samples == []


def test_good_snapshot_adds_a_sample_and_its_crop(draft):
    face = draft.add_snapshot(camera_frame(RESOURCES / "rose_leslie.jpg"), "Rose Leslie")
    (sample,) = draft.samples
    (crop,) = draft.faces
    assert crop.shape == (160, 160, 3) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop, face.aligned)
    np.testing.assert_array_equal(sample.embedding, face.embedding)
    assert abs(float(np.linalg.norm(sample.embedding)) - 1.0) < 1e-3
    thumbnail = cv2.imdecode(np.frombuffer(sample.thumbnail_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert thumbnail.shape == (160, 160, 3)
    assert sample.source == "camera snapshot" and 0.0 < sample.quality <= 1.0


def test_face_of_an_enrolled_person_is_refused_under_another_name(draft, faces_dir):
    frame = camera_frame(faces_dir / "people" / "obama" / "obama2.jpg")
    with pytest.raises(EnrollmentError, match=f"matches '{ENROLLED}'"):
        draft.add_snapshot(frame, "Joe")
    assert draft.samples == []
    draft.add_snapshot(frame, ENROLLED)          # under their own name: another sample of them
    assert len(draft.samples) == 1


def test_check_name_refuses_saving_someone_elses_face_under_a_new_name(draft, faces_dir):
    # Taken while the name field said "Barack Obama"; the admin then types "Joe".
    draft.add_snapshot(camera_frame(faces_dir / "people" / "obama" / "obama2.jpg"), ENROLLED)
    draft.check_name(ENROLLED)
    with pytest.raises(EnrollmentError, match=f"matches '{ENROLLED}'.*not 'Joe'"):
        draft.check_name("Joe")
    draft.remove(0)                               # drop the Obama snapshot: Joe is fine now
    draft.add_snapshot(camera_frame(RESOURCES / "rose_leslie.jpg"), "Joe")
    draft.check_name("Joe")


def test_another_face_is_refused_as_more_samples_of_an_enrolled_person(draft, faces_dir):
    biden = camera_frame(faces_dir / "people" / "biden" / "biden2.jpg")
    with pytest.raises(EnrollmentError, match=f"does not match '{ENROLLED}'"):
        draft.add_snapshot(biden, ENROLLED)
    draft.add_snapshot(biden, "Joe Biden")        # under a name of their own it is fine ...
    with pytest.raises(EnrollmentError, match=f"does not match '{ENROLLED}'"):
        draft.check_name(ENROLLED)                # ... and cannot be saved under Obama's


def test_without_a_name_the_refusal_names_who_the_face_is(draft, faces_dir):
    with pytest.raises(EnrollmentError, match=f"already enrolled as '{ENROLLED}'"):
        draft.add_snapshot(camera_frame(faces_dir / "people" / "obama" / "obama2.jpg"), None)


def test_add_photo_of_a_corrupt_file_is_an_enrollment_error(draft, tmp_path):
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not the rest of a JPEG")
    with pytest.raises(EnrollmentError, match="broken.jpg"):
        draft.add_photo(corrupt, "Rose Leslie")
    with pytest.raises(EnrollmentError, match="missing.jpg"):
        draft.add_photo(tmp_path / "missing.jpg", "Rose Leslie")
    assert draft.samples == []


def test_add_photo_needs_exactly_one_face(draft, faces_dir):
    with pytest.raises(EnrollmentError, match="2 faces"):
        draft.add_photo(faces_dir / "scenes" / "two_people.jpg", "Rose Leslie")
    face = draft.add_photo(faces_dir / "people" / "rose_leslie" / "img1.jpg", "Rose Leslie")
    (sample,) = draft.samples
    assert sample.source.endswith("img1.jpg")
    np.testing.assert_array_equal(sample.embedding, face.embedding)


def test_remove_drops_that_sample_and_its_crop(draft, faces_dir, tmp_path):
    photo = shutil.copy(faces_dir / "people" / "rose_leslie" / "img2.jpg", tmp_path / "rose2.jpg")
    draft.add_snapshot(camera_frame(RESOURCES / "rose_leslie.jpg"), "Rose Leslie")
    kept = draft.add_photo(tmp_path / "rose2.jpg", "Rose Leslie")
    assert len(draft.samples) == len(draft.faces) == 2
    draft.remove(0)
    (sample,) = draft.samples
    (crop,) = draft.faces
    assert sample.source == str(photo)
    np.testing.assert_array_equal(crop, kept.aligned)
    with pytest.raises(IndexError):
        draft.remove(1)
