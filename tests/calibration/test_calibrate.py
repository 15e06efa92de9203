"""kiosk.calibration.calibrate's arithmetic on distributions whose answer is known."""

import numpy as np
import pytest

from kiosk.calibration.calibrate import calibrate, pair_distances, roc_auc


def test_auc_of_separated_and_identical_distributions():
    assert roc_auc(np.array([0.1, 0.2]), np.array([0.8, 0.9, 1.0])) == 1.0
    assert roc_auc(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.5
    assert roc_auc(np.array([0.9]), np.array([0.1])) == 0.0


def test_threshold_keeps_false_accepts_within_target():
    rng = np.random.default_rng(1)
    genuine = rng.normal(0.3, 0.08, 2000)
    impostor = rng.normal(0.9, 0.1, 100_000)
    result = calibrate(genuine, impostor, target_far=0.001)
    assert result.far <= 0.001
    assert np.sum(impostor <= result.threshold) == 100  # exactly the allowed count, no more
    assert 0.55 < result.threshold < 0.65
    assert result.frr == pytest.approx(np.mean(genuine > result.threshold))


def test_pair_distances_split_by_label():
    e = np.eye(3, 128, dtype=np.float32)
    e = np.vstack([e[0], e[0], e[1]])
    genuine, impostor = pair_distances(e, ["a", "a", "b"])
    assert genuine.tolist() == [0.0] and sorted(impostor.tolist()) == [1.0, 1.0]
