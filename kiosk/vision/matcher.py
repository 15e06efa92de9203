"""1:N matching of face embeddings against the gallery, with one matrix product."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GalleryMatrix:
    """Every sample of one model as a matrix, rows grouped by person."""

    embeddings: np.ndarray  # (N, D) float32
    person_ids: np.ndarray  # (N,) int64, non-decreasing
    names: dict[int, str]


@dataclass(frozen=True)
class Match:
    """The gallery's answer for one face. name is None for a face the kiosk must
    not greet: nobody close enough, or two people too close to tell apart."""

    name: str | None
    person_id: int | None
    distance: float          # cosine distance to the best person (inf: empty gallery)
    runner_up_distance: float  # to the best *other* person (inf: none)
    best_name: str | None    # the closest person even when refused, for logs and tuning
    best_person_id: int | None = None  # and their id (the door's per-frame vote)


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) cosine distances 1 - a·b of L2-normalised rows."""
    return 1.0 - np.asarray(a, np.float32) @ np.asarray(b, np.float32).T


class GalleryIndex:
    """The enrolled people held in memory, ready to match: one template each,
    the re-normalised mean of their samples.

    A face is compared with each person's template, not with each sample: a
    person enrolled from 20 photos is then no likelier to resemble a stranger
    than one enrolled from one, so the door's threshold, derived per person
    (kiosk.vision.operating_point), holds. On the 5-celebrity set (train samples,
    val probes) templates kept every genuine probe within 0.37 and pushed the
    nearest impostor from 0.64 (best sample) to 0.82.
    """

    def __init__(self, gallery: GalleryMatrix):
        embeddings = np.ascontiguousarray(gallery.embeddings, dtype=np.float32)
        ids = gallery.person_ids
        if len(ids) and np.any(np.diff(ids) < 0):
            raise ValueError("gallery rows must be grouped by person")
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, int)
        sums = np.add.reduceat(embeddings, starts, axis=0) if len(ids) else np.zeros((0, embeddings.shape[1]))
        self._templates = (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)
        self._samples, self._starts = embeddings, starts
        self._group_ids = ids[starts] if len(ids) else np.zeros(0, np.int64)
        self._names = dict(gallery.names)

    @property
    def size(self) -> int:
        """Enrolled samples."""
        return len(self._samples)

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
        per_person = embeddings @ self._templates.T   # (N, people)
        return [self._decide(row, threshold, margin) for row in per_person]

    def names(self) -> list[str]:
        """Everyone in the index."""
        return list(self._names.values())

    def distance_to(self, embedding: np.ndarray, name: str) -> float | None:
        """Cosine distance from one embedding to the template of the person
        called name; None when nobody of that name is enrolled."""
        group = self._group_named(name)
        if group is None:
            return None
        return float(cosine_distances(np.asarray(embedding)[None], self._templates[group][None])[0, 0])

    def nearest_sample_distance(self, embedding: np.ndarray, name: str) -> float | None:
        """Cosine distance from one embedding to the nearest single sample of
        the person called name (is this photo enrolled already?); None when
        nobody of that name is enrolled."""
        group = self._group_named(name)
        if group is None:
            return None
        end = self._starts[group + 1] if group + 1 < len(self._starts) else self.size
        samples = self._samples[self._starts[group]:end]
        return float(cosine_distances(np.asarray(embedding)[None], samples).min())

    def _group_named(self, name: str) -> int | None:
        """The row of the person called name in the templates, or None."""
        ids = [pid for pid, n in self._names.items() if n == name]
        return int(np.flatnonzero(self._group_ids == ids[0])[0]) if ids else None

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
                     distance=distance, runner_up_distance=runner_up, best_name=name,
                     best_person_id=person_id)
