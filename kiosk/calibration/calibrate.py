"""Choosing the match threshold from real photos: genuine vs impostor distances."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from kiosk.vision.matcher import cosine_distances


class CalibrationError(ValueError):
    """Photos that cannot calibrate anything (fewer than two people); the message says which."""


@dataclass(frozen=True)
class Calibration:
    genuine_pairs: int
    impostor_pairs: int
    auc: float        # P(a genuine pair is closer than an impostor pair)
    threshold: float  # accept at distance <= threshold
    far: float        # impostor pairs accepted at that threshold
    frr: float        # genuine pairs refused at that threshold


def pair_distances(embeddings: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Cosine distances of every unordered pair: (genuine, impostor) as 1-D arrays."""
    labels_arr = np.asarray(labels)
    distances = cosine_distances(embeddings, embeddings)
    upper = np.triu_indices(len(labels_arr), k=1)
    same = labels_arr[upper[0]] == labels_arr[upper[1]]
    values = distances[upper]
    return values[same], values[~same]


def roc_auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U; ties count a half)."""
    from scipy.stats import rankdata  # imported here: SciPy's load time would slow every `kiosk` command

    if len(genuine) == 0 or len(impostor) == 0:
        raise CalibrationError("need both genuine and impostor pairs")
    ranks = rankdata(np.concatenate([-genuine, -impostor]))  # larger rank = closer
    u = ranks[: len(genuine)].sum() - len(genuine) * (len(genuine) + 1) / 2
    return float(u / (len(genuine) * len(impostor)))


def calibrate(genuine: np.ndarray, impostor: np.ndarray, target_far: float = 0.001) -> Calibration:
    """The largest threshold whose false-accept rate is at most target_far."""
    impostor_sorted = np.sort(impostor)
    allowed = int(np.floor(target_far * len(impostor_sorted)))  # impostors we may accept
    # Accept d <= t: choose t just below the (allowed+1)-th closest impostor.
    if allowed >= len(impostor_sorted):
        threshold = float(impostor_sorted[-1])
    else:
        threshold = float(np.nextafter(impostor_sorted[allowed], -np.inf))
    far = float(np.mean(impostor <= threshold))
    frr = float(np.mean(genuine > threshold))
    return Calibration(len(genuine), len(impostor), roc_auc(genuine, impostor), threshold, far, frr)


def roc_curve(genuine: np.ndarray, impostor: np.ndarray, points: int = 200):
    """(far, tar) arrays over thresholds spanning both distributions, for plotting."""
    thresholds = np.linspace(0.0, max(genuine.max(), impostor.max()), points)
    far = np.array([(impostor <= t).mean() for t in thresholds])
    tar = np.array([(genuine <= t).mean() for t in thresholds])
    return far, tar


def plot(genuine: np.ndarray, impostor: np.ndarray, result: Calibration, path) -> None:
    """Both distance distributions and the ROC curve, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")  # no display on a kiosk's admin shell
    import matplotlib.pyplot as plt

    fig, (hist, roc) = plt.subplots(1, 2, figsize=(11, 4.2))
    bins = np.linspace(0, max(genuine.max(), impostor.max()), 60)
    hist.hist(impostor, bins=bins, alpha=0.6, density=True, label=f"different people ({len(impostor)})")
    hist.hist(genuine, bins=bins, alpha=0.6, density=True, label=f"same person ({len(genuine)})")
    hist.axvline(result.threshold, color="k", linestyle="--", label=f"threshold {result.threshold:.3f}")
    hist.set_xlabel("cosine distance")
    hist.legend()
    far, tar = roc_curve(genuine, impostor)
    roc.plot(np.maximum(far, 1e-5), tar)
    roc.set_xscale("log")
    roc.set_xlabel("false-accept rate")
    roc.set_ylabel("true-accept rate")
    roc.set_title(f"ROC, AUC {result.auc:.4f}")
    roc.axvline(max(result.far, 1e-5), color="k", linestyle="--")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
