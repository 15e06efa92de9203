"""Embedding a labelled photo folder (DIR/<person>/*.jpg) for calibration and benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kiosk.calibration.calibrate import CalibrationError
from kiosk.enrollment.draft import people_folders
from kiosk.vision.engine import FaceEngine
from kiosk.calibration.evaluate import central_face


def embed_folders(engine: FaceEngine, root: Path, progress=lambda items, label: items,
                  ) -> tuple[np.ndarray, list[str], list[str]]:
    """(embeddings (N, 128), the person of each, reasons for skipped photos).

    Looks into root/train and root/val too when root holds those (the
    5-celebrity set's layout). A photo with several faces counts as the face
    nearest its centre: in a labelled photo folder (LFW's, say) that is the
    person.
    """
    embeddings, labels, skipped = [], [], []
    for name, photos in _labelled_photos(root).items():
        for path in progress(photos, name):
            face = central_face(engine, path)
            if face is None:
                skipped.append(f"{path}: no face found, or not a readable image")
                continue
            embeddings.append(face.embedding)
            labels.append(name)
    if len(set(labels)) < 2:
        raise CalibrationError(f"{root}: calibration needs photos of at least two people")
    return np.stack(embeddings), labels, skipped


def _labelled_photos(root: Path) -> dict[str, list[Path]]:
    splits = [root / s for s in ("train", "val") if (root / s).is_dir()]
    merged: dict[str, list[Path]] = {}
    for folder in splits or [root]:
        for name, photos in people_folders(folder).items():
            merged.setdefault(name, []).extend(photos)
    return merged
