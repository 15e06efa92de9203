"""Is a camera snapshot good enough to enrol? One short reason when it is not.

The admin panel takes snapshots of the person being enrolled and calls
``snapshot_refusal`` on the faces the engine found in each; a refused snapshot
is not stored and its reason is shown as it is ("too blurred: hold still").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kiosk.vision.align import sharpness
from kiosk.vision.detector import Detection
from kiosk.vision.engine import Face


@dataclass(frozen=True)
class SnapshotRules:
    """Thresholds of an acceptable enrollment snapshot.

    ``min_face_px``: the face box's width in frame pixels. ``min_sharpness``:
    ``kiosk.vision.align.sharpness`` (variance of the Laplacian) of the 160x160 face
    crop. ``max_yaw_deg`` / ``max_roll_deg``: limits on ``frontal_angles``.
    ``min_confidence``: the detector's face probability. ``edge_px``: a box
    this close to the frame's border counts as cut off (the detector clips
    boxes to the frame, so a face running off the picture ends on its edge).
    """

    # Shrinking 10 frontal portraits (with camera-like noise, sigma 4, and
    # JPEG 85) moved the embedding from the full-size one by median/max
    # 0.086/0.157 at 40 px, 0.040/0.060 at 60 px, 0.027/0.046 at 80 px and
    # 0.028/0.033 at 100 px: flat from 80 px. (Box widths: MTCNN's boxes are
    # about 0.72 as wide as tall, and at min_face_size 60 it returns boxes
    # down to 24-55 px wide.)
    min_face_px: float = 80.0
    # Real photos: 141 or more (129 faces; median 421 for the celebrities,
    # 615 for the portraits); undamaged faces shrunk to 80-160 px with noise,
    # 132 or more. Blur that moves the embedding by 0.05-0.4 stays below
    # 100: Gaussian sigma 1.5 crop px 14-44, sigma 3 6-27, horizontal motion
    # of 9 crop px 25-89 (embedding moved 0.18), 15 px 16-66 (0.35).
    min_sharpness: float = 100.0
    # Celebrity faces against their person's near-frontal centroid: median
    # distance 0.18-0.24 while |yaw| < 30, 0.33-0.36 beyond.
    max_yaw_deg: float = 30.0
    # The box crop is not de-rotated: turning portraits 10/20 degrees moved
    # their embeddings by median 0.04/0.12 (max 0.13/0.30). Upright portraits
    # measured |roll| <= 12.2; a 35-degree turn changed it by 33-43.
    max_roll_deg: float = 15.0
    # Clear frontal faces scored 0.89 or more (celebrities) and 0.938 or more
    # (portraits, cropped and rescaled 70 ways); the detector itself keeps
    # faces above 0.8. A weak check: of 36 faces still found with the eyes,
    # the mouth, half or the lower half of the face painted over, 1 scored
    # under 0.85 (2 under 0.9).
    min_confidence: float = 0.85
    edge_px: float = 1.0


def one_face_refusal(count: int) -> str | None:
    """None for one face, else why a picture with count faces cannot be
    enrolled: the one wording of "a picture to enroll shows one person". A
    camera snapshot must show exactly one face; an enrollment photo counts
    only the faces that compete with its subject (kiosk.enrollment.draft.the_subject)."""
    if count == 0:
        return "no face found"
    if count > 1:
        return f"{count} faces found: only the person enrolling may be in the picture"
    return None


def snapshot_refusal(faces: list[Face], frame_shape: tuple[int, int],
                     rules: SnapshotRules = SnapshotRules()) -> str | None:
    """None when the snapshot can be enrolled, else one short reason for the person.

    ``faces``: what ``FaceEngine.faces`` found in the frame. ``frame_shape``:
    the frame's (height, width) in pixels (``frame.shape[:2]``; a longer
    ``frame.shape`` is accepted). Checks, first failure wins: exactly one face,
    not cut off by the frame's edge, large enough, confidently a face, upright,
    facing the camera, sharp.
    """
    refusal = one_face_refusal(len(faces))
    if refusal:
        return refusal
    face = faces[0]
    height, width = frame_shape[:2]
    return (_cut_off(face.detection, height, width, rules)
            or _too_small(face.detection, rules)
            or _unclear(face.detection, rules)
            or _not_frontal(face.detection, rules)
            or _blurred(face, rules))


def frontal_angles(detection: Detection) -> tuple[float, float]:
    """(yaw, roll) of a face in degrees, estimated from its five landmarks.

    Roll is the angle of the line from the image-left eye to the image-right
    eye against the horizontal: positive when that line runs down to the
    right in the image (y grows downwards), i.e. the head tilts towards the
    image's right.

    Yaw (turning the head left or right) is an estimate. Take the eye line as
    the face's horizontal axis, which removes roll. On a face seen from the
    front the nose tip sits halfway between the eyes and halfway between the
    mouth corners. Turning by ``yaw`` moves the nose tip, which stands a
    depth ``d`` in front of the eyes and mouth corners, sideways by
    ``d * sin(yaw)``, while the half-distance ``e`` between the eyes (or the
    mouth corners) shrinks to ``e * cos(yaw)`` (orthographic camera). So the
    nose's fraction ``t`` of the way from the left point to the right one is
    ``0.5 + (d / 2e) * tan(yaw)``. On an adult face ``d`` and ``e`` are both
    about 3 cm, which gives ``yaw = atan(2t - 1)``, with ``t`` averaged over
    eyes and mouth. The sign follows the image: positive when the nose sits
    towards the image-right eye. Nodding (pitch) does not move ``t``. The
    estimate is coarse (the ratio ``d / e`` varies between faces, MTCNN's
    landmarks lose accuracy past about 45 degrees and near profile the nose
    can even land outside the eyes): it tells frontal from turned faces, it
    is not a head-pose measurement.
    """
    return landmark_angles(detection.landmarks)


def landmark_angles(landmarks) -> tuple[float, float]:
    """frontal_angles of five (x, y) landmarks in MTCNN's order."""
    points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    left_eye, right_eye, nose, mouth_left, mouth_right = points
    eye_line = right_eye - left_eye
    span = float(np.hypot(*eye_line))
    roll = math.degrees(math.atan2(eye_line[1], eye_line[0]))
    if span == 0.0:
        return 0.0, roll
    axis = eye_line / span  # the face's horizontal direction in the image
    fractions = [_fraction_between(nose, left, right, axis)
                 for left, right in ((left_eye, right_eye), (mouth_left, mouth_right))]
    valid = [t for t in fractions if t is not None]
    if not valid:
        return 0.0, roll
    return math.degrees(math.atan(2.0 * float(np.mean(valid)) - 1.0)), roll


def _fraction_between(point, left, right, axis) -> float | None:
    """How far ``point`` lies from ``left`` to ``right`` along ``axis`` (0..1 between them)."""
    width = float(np.dot(right - left, axis))
    if abs(width) < 1e-6:
        return None
    return float(np.dot(point - left, axis)) / width


def _cut_off(detection: Detection, height: int, width: int, rules: SnapshotRules) -> str | None:
    x, y, w, h = detection.box
    margin = rules.edge_px
    if x <= margin or y <= margin or x + w >= width - margin or y + h >= height - margin:
        return "face cut off at the edge of the picture: move to the middle"
    return None


def _too_small(detection: Detection, rules: SnapshotRules) -> str | None:
    size = detection.box[2]
    if size < rules.min_face_px:
        return f"face too small: come closer ({size:.0f} px, need {rules.min_face_px:.0f})"
    return None


def _unclear(detection: Detection, rules: SnapshotRules) -> str | None:
    if detection.confidence < rules.min_confidence:
        return "face not clearly visible: uncover it and face the light"
    return None


def _not_frontal(detection: Detection, rules: SnapshotRules) -> str | None:
    yaw, roll = frontal_angles(detection)
    if abs(roll) > rules.max_roll_deg:
        return f"hold your head straight (tilted {abs(roll):.0f} degrees)"
    if abs(yaw) > rules.max_yaw_deg:
        return "turn towards the camera"
    return None


def _blurred(face: Face, rules: SnapshotRules) -> str | None:
    if sharpness(face.aligned) < rules.min_sharpness:
        return "too blurred: hold still"
    return None
