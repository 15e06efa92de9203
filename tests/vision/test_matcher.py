"""kiosk.vision.matcher: the 1:N decision rule on hand-made unit vectors."""

import numpy as np
import pytest

from kiosk.vision.matcher import GalleryMatrix
from kiosk.vision.matcher import GalleryIndex, cosine_distances


def unit(*values) -> np.ndarray:
    v = np.zeros(128, np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def index_of(rows: list[tuple[int, np.ndarray]], names: dict[int, str]) -> GalleryIndex:
    return GalleryIndex(GalleryMatrix(np.stack([v for _, v in rows]),
                                      np.array([p for p, _ in rows]), names))


def test_each_person_is_matched_by_the_mean_of_their_samples():
    index = index_of([(1, unit(1, 0)), (1, unit(0, 1)), (2, unit(1, 1, 1))], {1: "Ada", 2: "Bob"})
    # Ada's template is unit(1, 1): a face there is hers exactly, although it
    # is 0.29 from each of her two samples.
    (m,) = index.match(unit(1, 1)[None], threshold=0.1, margin=0.05)
    assert m.name == "Ada" and m.distance == pytest.approx(0.0, abs=1e-6)
    assert m.runner_up_distance == pytest.approx(1 - np.sqrt(2 / 3), abs=1e-5)
    # One of her samples alone is no longer an exact match: the template is.
    (m,) = index.match(unit(0, 1)[None], threshold=0.1, margin=0.05)
    assert m.name is None and m.best_name == "Ada" and m.distance == pytest.approx(1 - 1 / np.sqrt(2), abs=1e-5)


def test_too_close_to_call_is_refused():
    # Two people almost equally near: never greet either.
    index = index_of([(1, unit(1, 0.10)), (2, unit(1, -0.10))], {1: "Ada", 2: "Bob"})
    (m,) = index.match(unit(1, 0)[None], threshold=0.4, margin=0.05)
    assert m.name is None and m.best_name in ("Ada", "Bob") and m.distance < 0.4


def test_beyond_threshold_is_unknown():
    index = index_of([(1, unit(1, 0))], {1: "Ada"})
    (m,) = index.match(unit(0, 1)[None], threshold=0.4, margin=0.05)
    assert m.name is None and m.distance == pytest.approx(1.0)


def test_empty_inputs():
    empty = GalleryIndex(GalleryMatrix(np.zeros((0, 128), np.float32), np.zeros(0, np.int64), {}))
    assert empty.match(np.zeros((0, 128), np.float32), 0.4, 0.05) == []
    (m,) = empty.match(unit(1)[None], 0.4, 0.05)
    assert m.name is None and m.distance == float("inf")


def test_rows_must_be_grouped_by_person():
    with pytest.raises(ValueError):
        index_of([(2, unit(1)), (1, unit(0, 1))], {1: "a", 2: "b"})


def test_cosine_distances_shape():
    d = cosine_distances(np.stack([unit(1), unit(0, 1)]), np.stack([unit(1)] * 3))
    assert d.shape == (2, 3) and np.allclose(d[0], 0) and np.allclose(d[1], 1)
