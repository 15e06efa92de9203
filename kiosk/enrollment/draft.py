"""From photos to gallery samples: one face a photo, checked, or a clear refusal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.vision.engine import Face, FaceEngine, face_quality
from kiosk.store.gallery import NewSample
from kiosk.vision.images import ImageError, encode_jpeg, load_rgb
from kiosk.vision.matcher import GalleryIndex, cosine_distances
from kiosk.vision.operating_point import Thresholds
from kiosk.vision.snapshot_quality import SnapshotRules, one_face_refusal, snapshot_refusal

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


# A photo's subject is its largest face when every other face is clearly
# lesser: under a quarter of its area, or under half of it and weakly
# detected (a "face" in the hair, a blurred passer-by in the background).
# Two faces of comparable size are two people: the photo is refused.
OTHER_FACE_MAX_AREA = 0.25
WEAK_FACE_MAX_AREA = 0.5
WEAK_FACE_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Subject:
    """The face a photo is of, and a note when other, lesser faces were passed over."""

    face: Face
    note: str | None = None


def the_subject(engine: FaceEngine, rgb: np.ndarray, source: str) -> Subject:
    """The one person an enrollment photo shows; EnrollmentError for no face,
    or for two or more whole faces of comparable size.

    A face cut off by the photo's edge (a neighbour in a cropped group photo)
    is never the subject while a whole face is there, and does not compete."""
    faces = engine.faces(rgb)
    if not faces:
        raise EnrollmentError(f"{source}: {one_face_refusal(0)}")
    area = lambda f: f.box[2] * f.box[3]
    whole = [f for f in faces if not _cut_off(f, rgb.shape)] or faces
    largest, *others = sorted(whole, key=area, reverse=True)
    if any(area(f) > area(largest) for f in faces):
        # A larger face at the edge is more likely the subject than a whole bystander.
        raise EnrollmentError(f"{source}: the largest face is cut off by the photo's edge; "
                              "use a photo with the whole face")
    for other in others:
        share = area(other) / area(largest)
        if share >= WEAK_FACE_MAX_AREA or (share >= OTHER_FACE_MAX_AREA
                                            and other.detection.confidence >= WEAK_FACE_CONFIDENCE):
            raise EnrollmentError(f"{source}: {one_face_refusal(len(whole))}")
    if len(faces) == 1:
        return Subject(largest)
    x, y, w, h = (round(v) for v in largest.box)
    return Subject(largest, f"{source}: {len(faces)} faces found; used the largest whole one "
                            f"({w}x{h} px at {x},{y}), the others are much smaller or cut off by the edge")


def _cut_off(face: Face, shape: tuple[int, ...]) -> bool:
    x, y, w, h = face.box
    return x < 1 or y < 1 or x + w > shape[1] - 1 or y + h > shape[0] - 1


def check_not_someone_else(embedding: np.ndarray, name: str | None, index: GalleryIndex,
                           thresholds: Thresholds, source: str) -> None:
    """Refuse a face that already matches another enrolled person, or that is
    added to an enrolled person it does not match: either would let the door
    greet one person as another. With name None (not typed yet), any enrolled
    person counts as another.

    "Matches another person" is asked at the door's own operating point, so the
    check refuses no more newcomers as the gallery grows than the door would
    confuse; "is it them" is one comparison, asked at the 1:1 threshold."""
    match = index.match(embedding[None], thresholds.identify, margin=0.0)[0]
    if match.name is not None and name is None:
        raise EnrollmentError(f"{source}: this face is already enrolled as {match.name!r} "
                              f"(distance {match.distance:.2f})")
    own = index.distance_to(embedding, name) if name else None
    if own is not None and own > thresholds.verify:
        # Adding samples to someone enrolled: it must be them, or the door
        # would greet a second person under their name.
        raise EnrollmentError(f"{source}: this face does not match {name!r}'s samples "
                              f"(distance {own:.2f}, threshold {thresholds.verify:.2f})")
    if match.name is not None and match.name != name:
        raise EnrollmentError(
            f"{source}: this face matches {match.name!r} (distance {match.distance:.2f}), not {name!r}")


def odd_ones_out(embeddings: list[np.ndarray], threshold: float) -> dict[int, float]:
    """Which photos of one batch do not show the same person as the rest:
    {position: distance to the mean of the other photos}.

    The photo farthest from the mean of the others is odd when it is beyond
    threshold; it is set aside and the rest asked again. Against a mean, a
    true photo of the person stays close (a template absorbs one photo's
    pose and age), a planted one does not. With two photos that differ
    there is no majority, and both are odd."""
    vectors = np.stack(embeddings) if embeddings else np.zeros((0, 0), np.float32)
    kept, odd = list(range(len(vectors))), {}
    while len(kept) >= 2:
        total = vectors[kept].sum(axis=0)
        others = total[None, :] - vectors[kept]                       # leave-one-out sums
        others /= np.maximum(np.linalg.norm(others, axis=1, keepdims=True), 1e-12)
        distances = 1.0 - np.einsum("ij,ij->i", vectors[kept], others)
        worst = int(np.argmax(distances))
        if distances[worst] <= threshold:
            break
        if len(kept) == 2:
            odd.update({i: float(distances[worst]) for i in kept})
            break
        odd[kept.pop(worst)] = float(distances[worst])
    return odd


def samples_from_photos(engine: FaceEngine, name: str, paths: list[Path], index: GalleryIndex,
                        thresholds: Thresholds) -> tuple[list[NewSample], list[Rejection], list[str]]:
    """A sample for each usable photo, the reason for each refused one, and
    notes (photos whose subject was chosen among several faces).

    The photos of one batch must show one person: a photo that does not match
    the others is refused, so one wrong photo in DIR/kit/ cannot enroll
    another person under Kit's name."""
    kept, rejected, notes = [], [], []
    for path in paths:
        try:
            subject = the_subject(engine, load_rgb(path), str(path))
            check_not_someone_else(subject.face.embedding, name, index, thresholds, str(path))
        except (ImageError, EnrollmentError) as exc:
            rejected.append(Rejection(str(path), str(exc)))
            continue
        kept.append((path, subject.face))
        if subject.note:
            notes.append(subject.note)
    odd = odd_ones_out([face.embedding for _, face in kept], thresholds.verify)
    for position, distance in sorted(odd.items()):
        path = kept[position][0]
        rejected.append(Rejection(str(path), f"{path}: this face does not match the other photos of {name!r} "
                                             f"(distance {distance:.2f}, threshold {thresholds.verify:.2f})"))
    samples = [sample_from_face(face, str(path)) for i, (path, face) in enumerate(kept) if i not in odd]
    return samples, rejected, notes


class EnrollmentDraft:
    """The samples an admin collects for one person before pressing Save.

    Snapshots from the camera must pass the quality rules; photos from files
    need one face. Either is refused when it already matches someone else.
    """

    def __init__(self, engine: FaceEngine, index: GalleryIndex, thresholds: Thresholds,
                 rules: SnapshotRules = SnapshotRules()):
        self.engine, self.index, self.thresholds, self.rules = engine, index, thresholds, rules
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
            face = the_subject(self.engine, load_rgb(path), path.name).face
        except ImageError as exc:
            raise EnrollmentError(str(exc)) from exc
        return self._keep(face, name, str(path))

    def _keep(self, face: Face, name: str | None, source: str) -> Face:
        check_not_someone_else(face.embedding, name, self.index, self.thresholds, source)
        if self.samples:
            nearest = float(cosine_distances(face.embedding[None],
                                             np.stack([s.embedding for s in self.samples])).min())
            if nearest > self.thresholds.verify:
                raise EnrollmentError(f"{source}: this face does not match the samples taken so far "
                                      f"(distance {nearest:.2f}, threshold {self.thresholds.verify:.2f})")
        self.samples.append(sample_from_face(face, source))
        self.faces.append(face.aligned)
        return face

    def remove(self, position: int) -> None:
        del self.samples[position]
        del self.faces[position]

    def check_name(self, name: str) -> None:
        """Before saving under name: no sample may match another person, and
        every sample must match the mean of the others (as for a batch of photos)."""
        for sample in self.samples:
            check_not_someone_else(sample.embedding, name, self.index, self.thresholds,
                                   sample.source or "snapshot")
        odd = odd_ones_out([s.embedding for s in self.samples], self.thresholds.verify)
        if odd:
            position, distance = min(odd.items())
            raise EnrollmentError(f"{self.samples[position].source or 'snapshot'}: this face does not match the "
                                  f"other samples (distance {distance:.2f}); remove it before saving")


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
