"""Photos already enrolled: enrolling or importing the same photo again adds no
second sample.

"The same photo" is the same face pixels: an embedding equal, to float
rounding, to one already stored for that person (or to an earlier photo of
the same batch). The engine is deterministic (the same file gives a distance
of exactly 0.0), while a re-saved JPEG of it is already 0.005 away, a new
sample. Equal embeddings catch a copy under another name, or the same folder
imported from another directory (samples keep the path as typed), without a
file hash in the schema.
"""

from __future__ import annotations

import numpy as np

from kiosk.store.gallery import NewSample
from kiosk.vision.matcher import GalleryIndex, cosine_distances

SAME_PHOTO_DISTANCE = 1e-5


def split_repeats(samples: list[NewSample], index: GalleryIndex,
                  name: str) -> tuple[list[NewSample], list[NewSample]]:
    """(new samples, samples of photos already enrolled for name)."""
    new, repeats = [], []
    for sample in samples:
        distances = [index.nearest_sample_distance(sample.embedding, name)]
        if new:
            distances.append(float(cosine_distances(sample.embedding[None],
                                                    np.stack([s.embedding for s in new])).min()))
        same = any(d is not None and d <= SAME_PHOTO_DISTANCE for d in distances)
        (repeats if same else new).append(sample)
    return new, repeats
