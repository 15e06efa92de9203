"""Embedding a labelled photo folder (DIR/<person>/*.jpg) for calibration and benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kiosk.calibrate import CalibrationError
from kiosk.enrollment import people_folders
from kiosk.engine import FaceEngine
from kiosk.images import ImageError, load_rgb


def embed_folders(engine: FaceEngine, root: Path, progress=lambda items, label: items,
                  ) -> tuple[np.ndarray, list[str], list[str]]:
    """(embeddings (N, 128), the person of each, reasons for skipped photos).

    Looks into root/train and root/val too when root holds those (the
    5-celebrity set's layout). A photo with several faces counts as its
    largest face: in a labelled portrait folder that is the person.
    """
    embeddings, labels, skipped = [], [], []
    for name, photos in _labelled_photos(root).items():
        for path in progress(photos, name):
            try:
                faces = engine.faces(load_rgb(path))
            except ImageError as exc:
                skipped.append(str(exc))
                continue
            if not faces:
                skipped.append(f"{path}: no face found")
                continue
            largest = max(faces, key=lambda f: f.box[2] * f.box[3])
            embeddings.append(largest.embedding)
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
