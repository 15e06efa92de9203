"""From photos to gallery samples: one face a photo, checked, or a clear refusal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.engine import Face, FaceEngine, face_quality
from kiosk.gallery import NewSample
from kiosk.images import ImageError, encode_jpeg, load_rgb
from kiosk.matcher import GalleryIndex
from kiosk.snapshot_quality import SnapshotRules, snapshot_refusal

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


class EnrollmentError(ValueError):
    """A photo that cannot be enrolled; the message names it and says why."""


@dataclass(frozen=True)
class Rejection:
    source: str
    reason: str


def sample_from_face(face: Face, source: str | None) -> NewSample:
    return NewSample(embedding=face.embedding, thumbnail_jpeg=encode_jpeg(face.aligned),
                     quality=face_quality(face), source=source)


def the_one_face(engine: FaceEngine, rgb: np.ndarray, source: str) -> Face:
    """The single face of an enrollment photo; EnrollmentError for none or several."""
    faces = engine.faces(rgb)
    if not faces:
        raise EnrollmentError(f"{source}: no face found")
    if len(faces) > 1:
        raise EnrollmentError(f"{source}: {len(faces)} faces found; use a photo of this person alone")
    return faces[0]


def check_not_someone_else(embedding: np.ndarray, name: str | None, index: GalleryIndex,
                           threshold: float, source: str) -> None:
    """Refuse a face that already matches another enrolled person, or that is
    added to an enrolled person it does not match: either would let the door
    greet one person as another. With name None (not typed yet), any enrolled
    person counts as another."""
    match = index.match(embedding[None], threshold, margin=0.0)[0]
    if match.name is not None and name is None:
        raise EnrollmentError(f"{source}: this face is already enrolled as {match.name!r} "
                              f"(distance {match.distance:.2f})")
    own = index.distance_to(embedding, name) if name else None
    if own is not None and own > threshold:
        # Adding samples to someone enrolled: it must be them, or the door
        # would greet a second person under their name.
        raise EnrollmentError(f"{source}: this face does not match {name!r}'s samples "
                              f"(distance {own:.2f}, threshold {threshold:.2f})")
    if match.name is not None and match.name != name:
        raise EnrollmentError(
            f"{source}: this face matches {match.name!r} (distance {match.distance:.2f}), not {name!r}")


def samples_from_photos(engine: FaceEngine, name: str, paths: list[Path], index: GalleryIndex,
                        threshold: float) -> tuple[list[NewSample], list[Rejection]]:
    """A sample for each usable photo, and the reason for each refused one."""
    samples, rejected = [], []
    for path in paths:
        try:
            face = the_one_face(engine, load_rgb(path), str(path))
            check_not_someone_else(face.embedding, name, index, threshold, str(path))
        except (ImageError, EnrollmentError) as exc:
            rejected.append(Rejection(str(path), str(exc)))
            continue
        samples.append(sample_from_face(face, str(path)))
    return samples, rejected


class EnrollmentDraft:
    """The samples an admin collects for one person before pressing Save.

    Snapshots from the camera must pass the quality rules; photos from files
    need one face. Either is refused when it already matches someone else.
    """

    def __init__(self, engine: FaceEngine, index: GalleryIndex, threshold: float,
                 rules: SnapshotRules = SnapshotRules()):
        self.engine, self.index, self.threshold, self.rules = engine, index, threshold, rules
        self.samples: list[NewSample] = []
        self.faces: list[np.ndarray] = []   # the aligned crops, for thumbnails

    def add_snapshot(self, rgb: np.ndarray, name: str | None) -> Face:
        """Check and keep one camera frame's face; EnrollmentError says why not."""
        faces = self.engine.faces(rgb)
        reason = snapshot_refusal(faces, rgb.shape[:2], self.rules)
        if reason:
            raise EnrollmentError(reason)
        return self._keep(faces[0], name, "camera snapshot")

    def add_photo(self, path: Path, name: str | None) -> Face:
        try:
            face = the_one_face(self.engine, load_rgb(path), path.name)
        except ImageError as exc:
            raise EnrollmentError(str(exc)) from exc
        return self._keep(face, name, str(path))

    def _keep(self, face: Face, name: str | None, source: str) -> Face:
        check_not_someone_else(face.embedding, name, self.index, self.threshold, source)
        self.samples.append(sample_from_face(face, source))
        self.faces.append(face.aligned)
        return face

    def remove(self, position: int) -> None:
        del self.samples[position]
        del self.faces[position]

    def check_name(self, name: str) -> None:
        """Before saving under name: no sample may match another person."""
        for sample in self.samples:
            check_not_someone_else(sample.embedding, name, self.index, self.threshold,
                                   sample.source or "snapshot")


@dataclass(frozen=True)
class PeopleFolders:
    """An import folder: {person name: photos}, and one line for each thing in
    it that is not a person's photo (why it is skipped)."""

    people: dict[str, list[Path]]
    skipped: list[str]


def read_people_folders(root: Path) -> PeopleFolders:
    """root/<name>/*.jpg, one sub-folder per person (the tutorials'
    train_faces/<name>/ layout). Hidden files (.DS_Store) are not the admin's
    and are passed over; anything else that is not a person's photo is skipped
    with the reason: a file at the top level, an empty person folder, a file
    that is not a photo, a folder inside a person's folder."""
    if not root.is_dir():
        raise EnrollmentError(f"{root}: not a folder")
    people, skipped = {}, []
    for entry in _visible(root):
        if not entry.is_dir():
            skipped.append(f"{entry}: not in a person's folder (expected {root}/<name>/{entry.name})")
            continue
        photos = []
        for item in _visible(entry):
            if item.is_dir():
                skipped.append(f"{item}: a folder inside {entry.name}'s folder (photos go directly in it)")
            elif item.suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append(f"{item}: not a photo (expected {', '.join(sorted(IMAGE_SUFFIXES))})")
            else:
                photos.append(item)
        if photos:
            people[entry.name] = photos
        else:
            skipped.append(f"{entry}: no photos in this person's folder")
    return PeopleFolders(people, skipped)


def people_folders(root: Path) -> dict[str, list[Path]]:
    """{person name: photos} of read_people_folders; EnrollmentError when there are none."""
    people = read_people_folders(root).people
    if not people:
        raise EnrollmentError(f"{root}: no sub-folders with photos (expected {root}/<name>/*.jpg)")
    return people


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))
