"""Synthetic presentation attacks made from real photos: a flat picture of a
face, held up to a pinhole camera and moved, rendered frame by frame.

Three types (ISO/IEC 30107-3 reports each separately):
- "handheld": a print held and moved by hand (turned, tilted, rolled, brought
  closer and away), with print-like blur, contrast and gamma;
- "turned": a print of a face that is already turned in the photo, held
  and moved gently;
- "fake_turn": a print turned smoothly about its vertical axis, from one side
  to the other (25-65 degrees each way), to imitate a head turn. Beyond
  about 40 degrees MTCNN's nose landmark drifts on the squeezed picture as
  if it had depth: the far half of the range is the hard half.

Each type in two media: a "print" (paper: blur, contrast, gamma, a tint,
its edge against the wall behind) or a "screen" (a phone showing the photo:
display gamma and contrast, an RGB sub-pixel grid that the camera samples
into moire, a bezel, a glare patch half the time, the camera's own blur).

Every clip is a pure function of (photo, type, medium, seed): the same seed
renders the same frames.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

TYPES = ("handheld", "turned", "fake_turn")
MEDIA = ("print", "screen")
SIZE = (640, 480)
FOCAL = 600.0          # pixels: a webcam's field of view at 640x480
FPS = 12.5             # what the door processes on two busy cores
SECONDS = 3.0


def print_of(photo: np.ndarray, box) -> np.ndarray:
    """The print: the photo cropped around its face with a margin (a passport-
    or phone-sized picture of the face, not the whole scene)."""
    x, y, w, h = box
    side = 1.8 * max(w, h)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(photo.shape[1], cx + side / 2)), int(min(photo.shape[0], cy + side / 2))
    return np.ascontiguousarray(photo[y0:y1, x0:x1])


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


def render(card: np.ndarray, background: np.ndarray, width_m: float, pose: dict) -> np.ndarray:
    """The card (a flat picture width_m metres wide) at pose: yaw/pitch/roll
    in radians, x/y/z in metres from the camera."""
    h, w = card.shape[:2]
    scale = width_m / w
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    plane = np.column_stack([(corners[:, 0] - w / 2) * scale, (corners[:, 1] - h / 2) * scale, np.zeros(4)])
    world = plane @ _rotation(pose["yaw"], pose["pitch"], pose["roll"]).T + [pose["x"], pose["y"], pose["z"]]
    image = np.column_stack([FOCAL * world[:, 0] / world[:, 2] + SIZE[0] / 2,
                             FOCAL * world[:, 1] / world[:, 2] + SIZE[1] / 2])
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), image.astype(np.float32))
    frame = background.copy()
    cv2.warpPerspective(card, matrix, SIZE, dst=frame, borderMode=cv2.BORDER_TRANSPARENT,
                        flags=cv2.INTER_LINEAR)
    return frame


def printed(card: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Print-like: softer, lower contrast, a gamma, a paper tint."""
    sigma = rng.uniform(0.3, 1.5)
    out = cv2.GaussianBlur(card, (0, 0), sigma).astype(np.float32) / 255.0
    out = 0.5 + (out - 0.5) * rng.uniform(0.7, 1.0)
    out = np.clip(out, 0, 1) ** rng.uniform(0.8, 1.25)
    out *= np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.88, 1.0)])
    return (np.clip(out, 0, 1) * 255).astype(np.uint8)


def on_screen(card: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A phone showing the picture: display gamma and contrast, each pixel
    drawn as three sub-pixel stripes with a dark gap (the grid the camera
    samples into moire), a dark or light bezel around the screen, and, half
    the time, a soft glare patch (a lamp's reflection) on the glass."""
    out = card.astype(np.float32) / 255.0
    out = np.clip(0.5 + (out - 0.5) * rng.uniform(1.0, 1.25), 0, 1) ** rng.uniform(0.75, 1.1)
    out *= rng.uniform(0.85, 1.0)
    cell = int(rng.integers(3, 5))       # screen pixels drawn as cell x cell sub-pixels
    big = np.repeat(np.repeat(out, cell, axis=0), cell, axis=1)
    stripes = np.zeros((cell, cell, 3), np.float32)
    for channel in range(3):
        stripes[:, channel * cell // 3:(channel + 1) * cell // 3, channel] = 1.0
    stripes[-1, :, :] *= 0.3             # the dark gap between pixel rows
    grid = np.tile(stripes, (big.shape[0] // cell, big.shape[1] // cell, 1))
    depth = rng.uniform(0.2, 0.65)       # how much of the grid survives the glass and the lens
    screen = big * (1 - depth + depth * grid * 3 / 2)
    h, w = screen.shape[:2]
    if rng.random() < 0.5:
        cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
        ry, rx = rng.uniform(0.1, 0.3) * h, rng.uniform(0.1, 0.3) * w
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        patch = np.exp(-(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2))
        screen = screen + rng.uniform(0.6, 1.2) * patch[..., None]
    screen = (np.clip(screen, 0, 1) * 255).astype(np.uint8)
    bezel = int(rng.uniform(0.04, 0.12) * max(h, w))
    body = rng.uniform(10, 40) if rng.random() < 0.7 else rng.uniform(200, 240)
    framed = np.full((h + 2 * bezel, w + 2 * bezel, 3), body, np.uint8)
    framed[bezel:bezel + h, bezel:bezel + w] = screen
    return framed


def background(rng: np.random.Generator) -> np.ndarray:
    shade = np.linspace(rng.uniform(150, 220), rng.uniform(90, 160), SIZE[1], dtype=np.float32)[:, None, None]
    wall = np.broadcast_to(shade * rng.uniform(0.85, 1.0, 3), (SIZE[1], SIZE[0], 3))
    return np.clip(wall + rng.normal(0, 3, wall.shape), 0, 255).astype(np.uint8)


def _wobble(rng: np.random.Generator, amplitude: float, t: np.ndarray) -> np.ndarray:
    """A hand's smooth, irregular motion: three sinusoids of random phase, 0.2-1.2 Hz."""
    out = np.zeros_like(t)
    for _ in range(3):
        out += rng.uniform(0.3, 1.0) * np.sin(2 * math.pi * rng.uniform(0.2, 1.2) * t + rng.uniform(0, 2 * math.pi))
    return amplitude * out / 2.0


def poses(kind: str, rng: np.random.Generator) -> list[dict]:
    t = np.arange(int(SECONDS * FPS)) / FPS
    rad = math.radians
    if kind == "handheld":
        yaw = rng.uniform(-20, 20) + _wobble(rng, rng.uniform(10, 30), t)
        pitch = rng.uniform(-15, 15) + _wobble(rng, rng.uniform(5, 20), t)
        roll = rng.uniform(-20, 20) + _wobble(rng, rng.uniform(3, 15), t)
        z0, z1 = rng.uniform(0.45, 0.7), rng.uniform(0.3, 0.45)
        z = np.linspace(z0, z1, len(t)) + _wobble(rng, 0.03, t)
    elif kind == "turned":
        yaw = rng.uniform(-10, 10) + _wobble(rng, rng.uniform(3, 10), t)
        pitch = rng.uniform(-8, 8) + _wobble(rng, rng.uniform(2, 8), t)
        roll = rng.uniform(-10, 10) + _wobble(rng, 4, t)
        z = rng.uniform(0.35, 0.55) + _wobble(rng, 0.04, t)
    elif kind == "fake_turn":
        start = rng.uniform(25, 65) * rng.choice([-1, 1])
        progress = 0.5 - 0.5 * np.cos(math.pi * np.clip(t / (0.8 * SECONDS), 0, 1))
        yaw = start - 2 * start * progress + _wobble(rng, 2, t)
        pitch = rng.uniform(-8, 8) + _wobble(rng, 2, t)
        roll = rng.uniform(-5, 5) + _wobble(rng, 2, t)
        z = rng.uniform(0.35, 0.5) + _wobble(rng, 0.01, t)
    else:
        raise ValueError(f"unknown attack type {kind!r}")
    x = rng.uniform(-0.04, 0.04) + _wobble(rng, 0.02, t)
    y = rng.uniform(-0.03, 0.03) + _wobble(rng, 0.02, t)
    return [{"yaw": rad(a), "pitch": rad(b), "roll": rad(c), "x": d, "y": e, "z": f}
            for a, b, c, d, e, f in zip(yaw, pitch, roll, x, y, z)]


def attack_clip(card: np.ndarray, kind: str, seed: int, medium: str = "print") -> list[np.ndarray]:
    """uint8 RGB frames (SIZE, FPS, SECONDS long) of one attack."""
    rng = np.random.default_rng(seed)
    if medium == "print":
        picture = printed(card, rng)
        wall = background(rng)
        width_m = rng.uniform(0.12, 0.25)   # a phone-sized to an A5 print
        return [render(picture, wall, width_m, pose) for pose in poses(kind, rng)]
    if medium != "screen":
        raise ValueError(f"unknown attack medium {medium!r}")
    picture = on_screen(card, rng)
    wall = background(rng)
    width_m = rng.uniform(0.09, 0.18)       # a phone's to a small tablet's width, bezel included
    sigma = rng.uniform(0.4, 0.9)           # the camera's own blur, which softens the moire
    return [cv2.GaussianBlur(render(picture, wall, width_m, pose), (0, 0), sigma) for pose in poses(kind, rng)]


def faces_seen(engine, frames: list[np.ndarray]):
    """(frame number, frame, the clip's biggest face or None) for each frame,
    found as the door finds it (kiosk.door.recognizer): the full detector every
    fifth frame and when the face was lost, otherwise a search near its last box."""
    previous = None
    for i, rgb in enumerate(frames):
        found = engine.detect(rgb) if previous is None or i % 5 == 0 else engine.detector.detect_near(rgb, previous.box)
        previous = max(found, key=lambda d: d.box[2] * d.box[3]) if found else None
        yield i, rgb, previous


def landmark_track(engine, frames: list[np.ndarray]) -> list[tuple[float, tuple | None]]:
    """(time, landmarks) of the clip's biggest face in each frame (faces_seen)."""
    return [(i / FPS, face.landmarks if face else None) for i, _, face in faces_seen(engine, frames)]


def cards_of(engine, photos, turned_only: bool = False) -> list[np.ndarray]:
    """The prints made from these photos (their biggest face); with
    turned_only, only photos whose face is turned 15 degrees or more."""
    from kiosk.vision.snapshot_quality import frontal_angles
    return [print_of(rgb, face.box) for rgb, face in biggest_faces(engine, photos)
            if not turned_only or abs(frontal_angles(face)[0]) >= 15]


def biggest_faces(engine, photos):
    """(the photo, its biggest face's Detection) for each photo with a face."""
    from kiosk.vision.images import load_rgb
    for path in photos:
        rgb = load_rgb(path)
        faces = engine.detect(rgb)
        if faces:
            yield rgb, max(faces, key=lambda d: d.box[2] * d.box[3])


def attack_evidence(engine, photos, kind: str, count: int, first_seed: int) -> list:
    """The liveness evidence (kiosk.door.liveness.Evidence) each of `count` attacks
    of this type ends with: clip i uses photo i mod len(photos) and seed
    first_seed + i."""
    from kiosk.door.liveness import TrackLiveness
    cards = cards_of(engine, photos, turned_only=kind == "turned")
    verdicts = []
    for i in range(count):
        liveness = TrackLiveness()
        for t, landmarks in landmark_track(engine, attack_clip(cards[i % len(cards)], kind, first_seed + i)):
            if landmarks is not None:
                liveness.add(t, landmarks)
        verdicts.append(liveness.evidence())
    return verdicts
