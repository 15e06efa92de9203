"""1:N matching of face embeddings against the gallery, with one matrix product."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kiosk.gallery import GalleryMatrix


@dataclass(frozen=True)
class Match:
    """The gallery's answer for one face. name is None for a face the kiosk must
    not greet: nobody close enough, or two people too close to tell apart."""

    name: str | None
    person_id: int | None
    distance: float          # cosine distance to the best person (inf: empty gallery)
    runner_up_distance: float  # to the best *other* person (inf: none)
    best_name: str | None    # the closest person even when refused, for logs and tuning


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) cosine distances 1 - a·b of L2-normalised rows."""
    return 1.0 - np.asarray(a, np.float32) @ np.asarray(b, np.float32).T


class GalleryIndex:
    """The enrolled embeddings held in memory, ready to match.

    Rows are grouped by person so the best sample of each person is one
    ``np.maximum.reduceat`` over the similarity row: no Python loop over people.
    """

    def __init__(self, gallery: GalleryMatrix):
        self._embeddings = np.ascontiguousarray(gallery.embeddings, dtype=np.float32)
        ids = gallery.person_ids
        if len(ids) and np.any(np.diff(ids) < 0):
            raise ValueError("gallery rows must be grouped by person")
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, int)
        self._group_starts = starts
        self._group_ids = ids[starts] if len(ids) else np.zeros(0, np.int64)
        self._names = dict(gallery.names)

    @property
    def size(self) -> int:
        return len(self._embeddings)

    @property
    def people(self) -> int:
        return len(self._group_ids)

    def match(self, embeddings: np.ndarray, threshold: float, margin: float) -> list[Match]:
        """One Match per row of embeddings ((N, D) float32, L2-normalised)."""
        embeddings = np.asarray(embeddings, np.float32)
        if len(embeddings) == 0:
            return []
        if self.people == 0:
            return [Match(None, None, float("inf"), float("inf"), None) for _ in embeddings]
        similarity = embeddings @ self._embeddings.T                      # (N, samples)
        per_person = np.maximum.reduceat(similarity, self._group_starts, axis=1)  # (N, people)
        return [self._decide(row, threshold, margin) for row in per_person]

    def names(self) -> list[str]:
        """Everyone in the index."""
        return list(self._names.values())

    def distance_to(self, embedding: np.ndarray, name: str) -> float | None:
        """Cosine distance from one embedding to the nearest sample of the person
        called name; None when nobody of that name is enrolled."""
        ids = [pid for pid, n in self._names.items() if n == name]
        if not ids:
            return None
        group = int(np.flatnonzero(self._group_ids == ids[0])[0])
        end = self._group_starts[group + 1] if group + 1 < len(self._group_starts) else self.size
        samples = self._embeddings[self._group_starts[group]:end]
        return float(cosine_distances(np.asarray(embedding)[None], samples).min())

    def _decide(self, similarity_by_person: np.ndarray, threshold: float, margin: float) -> Match:
        best = int(np.argmax(similarity_by_person))
        distance = float(1.0 - similarity_by_person[best])
        if len(similarity_by_person) > 1:
            others = np.delete(similarity_by_person, best)
            runner_up = float(1.0 - others.max())
        else:
            runner_up = float("inf")
        person_id = int(self._group_ids[best])
        name = self._names[person_id]
        accepted = distance <= threshold and runner_up - distance >= margin
        return Match(name=name if accepted else None, person_id=person_id if accepted else None,
                     distance=distance, runner_up_distance=runner_up, best_name=name)
