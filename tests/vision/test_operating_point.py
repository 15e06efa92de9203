"""kiosk.vision.operating_point: the threshold follows the gallery size, on the shipped
impostor scores; checked against photos the scores were not made from."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.calibration.calibrate import pair_distances
from kiosk.calibration.calibration_set import embed_folders
from kiosk.common.config import Settings
from kiosk.vision.matcher import GalleryMatrix
from kiosk.vision.matcher import GalleryIndex
from kiosk.vision.operating_point import (MAX_PAIR_RATE, CalibrationDataError, ImpostorScores, operating_point)


@pytest.fixture(scope="module")
def shipped() -> ImpostorScores:
    return ImpostorScores.shipped()


def test_the_shipped_scores_are_for_the_engines_model(shipped, engine):
    assert shipped.model_name == engine.model_name
    assert shipped.pairs > 1_000_000   # 1,549 photos of 1,468 people: every impostor pair


def test_distance_and_rate_are_inverse_also_below_the_measured_range(shipped):
    for rate in (1e-7, 1e-5, 1e-3, 0.1):
        assert shipped.rate_at(shipped.distance_at(rate)) == pytest.approx(rate, rel=0.05)
    below = [shipped.distance_at(r) for r in (1e-7, 3e-7, shipped.rates[0])]
    assert below == sorted(below) and below[0] > 0   # extrapolated, still ordered
    assert shipped.distance_at(1e-12) == 0.0          # past any use: nobody is close enough


def test_summary_of_a_known_distribution():
    rng = np.random.default_rng(0)
    impostor = rng.uniform(0.0, 1.0, 200_000)
    scores = ImpostorScores.from_distances(impostor, "m", "uniform")
    assert scores.distance_at(0.01) == pytest.approx(0.01, abs=0.002)
    assert scores.distance_at(0.3) == pytest.approx(0.3, abs=0.01)
    with pytest.raises(CalibrationDataError, match="too few"):
        ImpostorScores.from_distances(impostor[:100], "m", "tiny")


def test_the_threshold_tightens_as_the_gallery_grows(shipped):
    settings = Settings()
    points = [operating_point(settings, n, shipped) for n in (1, 50, 100, 1000, 10000)]
    thresholds = [p.threshold for p in points]
    assert thresholds[0] == thresholds[1] == thresholds[2]   # the 1:1 ceiling holds for small galleries
    assert points[0].pair_rate == points[1].pair_rate == MAX_PAIR_RATE
    assert thresholds[2:] == sorted(thresholds[2:], reverse=True) and len(set(thresholds[2:])) == 3
    for p in points[2:]:
        assert p.fpir == pytest.approx(settings.fpir)     # the stranger odds stay at the setting
    assert points[1].fpir < settings.fpir                 # and are better than it below 100 people
    assert "1,000 people: a stranger is named as someone about 1 time in 100 " in points[3].describe()
    assert points[0].describe().startswith("1 person: a stranger is named as someone about 1 time in 10,000")


def test_a_hand_set_threshold_is_an_override_and_says_so(shipped):
    point = operating_point(Settings(threshold=0.6), 1000, shipped)
    assert point.overridden and point.threshold == 0.6
    assert point.fpir > 0.5                                # 0.6 names almost every stranger at 1,000 people
    assert "set by hand" in point.describe()


def test_held_out_impostor_pairs_at_the_one_person_operating_point(shipped, engine, celebrities):
    """The 5-celebrity set played no part in the shipped scores: at the
    operating point of a one-person gallery it must accept at most 0.1% of
    its impostor pairs (5,000-odd pairs: at most 5; 0 measured)."""
    embeddings, labels, _ = embed_folders(engine, celebrities)
    genuine, impostor = pair_distances(embeddings, labels)
    threshold = operating_point(Settings(), 1, shipped).threshold
    assert len(impostor) > 4000
    assert np.sum(impostor <= threshold) == 0   # the ceiling is 1e-4 a pair: 0.5 expected
    # One photo against one photo, across decades of a career: 0.66 measured.
    assert np.mean(genuine <= threshold) > 0.6


def test_held_out_people_are_named_from_their_templates(shipped, engine, celebrities):
    """Enrolled from their train photos, each val photo of the five is named
    as its own person at the door's operating point, and none as another."""
    train, train_labels, _ = embed_folders(engine, celebrities / "train")
    val, val_labels, _ = embed_folders(engine, celebrities / "val")
    names = sorted(set(train_labels))
    ids = np.array([names.index(n) + 1 for n in train_labels])
    order = np.argsort(ids, kind="stable")
    index = GalleryIndex(GalleryMatrix(train[order], ids[order], {i + 1: n for i, n in enumerate(names)}))
    point = operating_point(Settings(), index.people, shipped)
    named = [m.name for m in index.match(val, point.threshold, Settings().margin)]
    assert sum(n == v for n, v in zip(named, val_labels)) >= 0.95 * len(val_labels)
    assert all(n in (None, v) for n, v in zip(named, val_labels))


def test_a_missing_or_broken_scores_file_is_one_clear_error(tmp_path):
    with pytest.raises(CalibrationDataError, match="cannot read the impostor scores"):
        ImpostorScores.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text('{"points": "x"}', encoding="utf-8")
    with pytest.raises(CalibrationDataError, match="bad.json"):
        ImpostorScores.load(tmp_path / "bad.json")


def test_a_sites_scores_only_make_the_door_stricter_also_below_the_tables(shipped):
    rng = np.random.default_rng(1)
    site = ImpostorScores.from_distances(rng.normal(0.9, 0.12, 20_000), shipped.model_name, "site")
    both = shipped.stricter_with(site)
    for rate in (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2):
        assert both.distance_at(rate) <= min(shipped.distance_at(rate), site.distance_at(rate)) + 1e-3  # grid
    other = ImpostorScores.from_distances(rng.normal(0.9, 0.12, 20_000), "another-model", "site")
    with pytest.raises(CalibrationDataError, match="not of this kiosk's"):
        shipped.stricter_with(other)


def test_the_recognizer_follows_the_gallery_size(engine, shipped):
    """set_index after a gallery change moves the threshold with it."""
    from kiosk.door.recognizer import Recognizer
    rng = np.random.default_rng(2)
    def index_of(people):
        vectors = rng.normal(size=(people, 128)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return GalleryIndex(GalleryMatrix(vectors, np.arange(people), {i: f"p{i}" for i in range(people)}))
    recognizer = Recognizer(engine, index_of(10), Settings(), scores=shipped)
    small = recognizer.point.threshold
    recognizer.set_index(index_of(2000))
    assert recognizer.point.people == 2000 and recognizer.point.threshold < small
