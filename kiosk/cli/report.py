"""The JSON shapes of the command line's --json output."""

from __future__ import annotations

import math

from kiosk.door.recognizer import FrameResult, RecognizedFace


def _finite(value: float) -> float | None:
    return None if value is None or math.isinf(value) else round(float(value), 4)


def face_json(face: RecognizedFace, scale: float = 1.0) -> dict:
    """scale: the analysed image's pixels per pixel of the original (kiosk.vision.images.Photo),
    so the box is in the original's coordinates."""
    x, y, w, h = (v / scale for v in face.face.box)
    return {"box": [round(x), round(y), round(w), round(h)],
            "confidence": round(float(face.face.detection.confidence), 4),
            "name": face.match.name,
            "distance": _finite(face.match.distance)}


def image_json(image: str, faces: list[RecognizedFace] | None, error: str | None,
               scale: float = 1.0) -> dict:
    return {"image": image, "error": error, "faces": [face_json(f, scale) for f in faces or []]}


def frame_json(index: int, result: FrameResult) -> dict:
    faces = [face_json(f) for f in result.faces]
    for face, track in zip(faces, result.tracks):
        if track is not None:   # which track the face is on, what it has shown of liveness, what it is asked
            face["track"], face["liveness"] = track.track_id, track.liveness.as_json()
            face["liveness"]["prompt"] = track.prompt
    return {"frame": index, "time": round(result.time, 3), "faces": faces,
            "events": [{"type": d.type, "name": d.name, "reason": d.reason} for d in result.decisions]}
