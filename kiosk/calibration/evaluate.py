"""`kiosk evaluate`: check the door's decision rule on anyone's own labelled
photos, scored exactly as the door scores a face.

- pairs: LFW's pairs.txt protocol (same / different person, 1:1).
- gallery: open-set 1:N, as at a door: people enrolled through the real
  enrollment path in a scratch database, probes of enrolled people and of
  strangers matched at the operating point for that gallery's size.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.calibration.calibrate import CalibrationError, calibrate
from kiosk.vision.engine import Face, FaceEngine
from kiosk.vision.images import ImageError, load_rgb
from kiosk.vision.matcher import GalleryIndex, cosine_distances


def central_face(engine: FaceEngine, path: Path) -> Face | None:
    """The face nearest the centre of a photo (LFW's convention: the person
    of interest is in the middle), or None when there is none or the file is bad."""
    try:
        rgb = load_rgb(path)
    except ImageError:
        return None
    faces = engine.faces(rgb)
    if not faces:
        return None
    height, width = rgb.shape[:2]
    return min(faces, key=lambda f: (f.box[0] + f.box[2] / 2 - width / 2) ** 2
               + (f.box[1] + f.box[3] / 2 - height / 2) ** 2)


# --- pairs ------------------------------------------------------------------

@dataclass(frozen=True)
class Pair:
    a: Path
    b: Path
    same: bool


def read_pairs(pairs_file: Path, photos: Path) -> list[Pair]:
    """LFW's pairs.txt: a header line, then `name i j` (same person) or
    `name1 i name2 j` (different people); photo i of name is
    photos/name/name_000i.jpg."""
    def photo(name: str, number: str) -> Path:
        return photos / name / f"{name}_{int(number):04d}.jpg"
    try:
        lines = Path(pairs_file).read_text(encoding="utf-8").splitlines()[1:]
    except OSError as exc:
        raise CalibrationError(f"{pairs_file}: cannot read ({exc.strerror or exc})") from exc
    pairs = []
    for number, line in enumerate(lines, start=2):
        fields = line.split()
        if len(fields) == 3:
            pairs.append(Pair(photo(fields[0], fields[1]), photo(fields[0], fields[2]), True))
        elif len(fields) == 4:
            pairs.append(Pair(photo(fields[0], fields[1]), photo(fields[2], fields[3]), False))
        elif fields:
            raise CalibrationError(f"{pairs_file}:{number}: expected 'name i j' or 'name1 i name2 j'")
    if not any(p.same for p in pairs) or all(p.same for p in pairs):
        raise CalibrationError(f"{pairs_file}: needs both same-person and different-people pairs")
    return pairs


def ten_fold_accuracy(distances: np.ndarray, same: np.ndarray, folds: int = 10) -> float:
    """LFW's protocol: for each fold, the threshold that is most accurate on
    the other folds, scored on this one; the mean over folds."""
    parts = np.array_split(np.arange(len(distances)), folds)
    candidates = np.unique(distances)
    accuracies = []
    for held_out in parts:
        train = np.setdiff1d(np.arange(len(distances)), held_out)
        accepted = distances[train][None, :] <= candidates[:, None]
        best = candidates[int(np.argmax((accepted == same[train][None, :]).mean(axis=1)))]
        accuracies.append(float(((distances[held_out] <= best) == same[held_out]).mean()))
    return float(np.mean(accuracies))


def evaluate_pairs(engine: FaceEngine, pairs: list[Pair], threshold: float, progress=lambda items, label: items
                   ) -> dict:
    faces: dict[Path, Face | None] = {}
    for path in progress(sorted({p.a for p in pairs} | {p.b for p in pairs}), "photos"):
        faces[path] = central_face(engine, path)
    scored = [p for p in pairs if faces[p.a] is not None and faces[p.b] is not None]
    distances = np.array([float(cosine_distances(faces[p.a].embedding[None], faces[p.b].embedding[None])[0, 0])
                          for p in scored])
    same = np.array([p.same for p in scored])
    at_1e3 = calibrate(distances[same], distances[~same], 1e-3)
    return {"pairs": len(scored), "skipped_pairs": len(pairs) - len(scored),
            "accuracy_10fold": round(ten_fold_accuracy(distances, same), 4),
            "threshold": round(threshold, 4),
            "far_at_threshold": round(float(np.mean(distances[~same] <= threshold)), 5),
            "tar_at_threshold": round(float(np.mean(distances[same] <= threshold)), 4),
            "tar_at_far_1e-3": round(1 - at_1e3.frr, 4)}


# --- open-set gallery ---------------------------------------------------------

def evaluate_gallery(ctx, gallery_dir: Path, probes_dir: Path, plot_path: Path | None = None,
                     progress=lambda items, label: items) -> dict:
    """Enroll gallery_dir/<name>/* in a scratch database with the real
    enrollment checks, then match each probe's central face at the door's
    operating point. A probe whose name is not enrolled is a stranger."""
    from kiosk.context import KioskContext
    from kiosk.enrollment.draft import people_folders, samples_from_photos
    from kiosk.store.gallery import add_samples

    with tempfile.TemporaryDirectory(prefix="kiosk-evaluate-") as scratch:
        scratch_ctx = KioskContext(ctx.settings, f"sqlite:///{Path(scratch) / 'gallery.db'}", ctx.model_dir,
                                   engine=ctx.engine, settings_file=ctx.settings_file)
        scratch_ctx.impostor_scores = ctx.impostor_scores
        refused = []
        try:
            for name, photos in progress(list(people_folders(gallery_dir).items()), "enroll"):
                index = scratch_ctx.load_index()
                samples, rejected, _ = samples_from_photos(ctx.engine, name, photos, index,
                                                           scratch_ctx.thresholds(index))
                refused += [r.reason for r in rejected]
                if samples:
                    with scratch_ctx.sessions.begin() as session:
                        add_samples(session, name, samples, ctx.engine.model_name)
            index = scratch_ctx.load_index()
        finally:
            scratch_ctx.close()   # before the folder goes
    point = ctx.operating_point(index.people)
    enrolled = set(index.names())
    mated, strangers, no_face = [], [], 0
    for name, photos in progress(list(people_folders(probes_dir).items()), "probes"):
        for path in photos:
            face = central_face(ctx.engine, path)
            if face is None:
                no_face += 1
                continue
            (mated if name in enrolled else strangers).append((name, face.embedding))
    result = {"people_enrolled": index.people, "refused_at_enrollment": len(refused),
              "refusals": refused[:20], "mated_probes": len(mated), "stranger_probes": len(strangers),
              "probes_without_face": no_face, "threshold": round(point.threshold, 4),
              "operating_point": point.describe()}
    result.update(_open_set_rates(index, mated, strangers, point.threshold, ctx.settings.margin))
    if plot_path and mated and strangers:   # a curve needs both kinds of probe
        _plot_fnir_fpir(index, mated, strangers, ctx.settings.margin, point.threshold, plot_path)
    return result


def _open_set_rates(index: GalleryIndex, mated, strangers, threshold: float, margin: float) -> dict:
    def named(probes):
        if not probes:
            return []
        return index.match(np.stack([e for _, e in probes]), threshold, margin)
    stranger_matches = named(strangers)
    mated_matches = named(mated)
    right = sum(m.name == name for (name, _), m in zip(mated, mated_matches))
    wrong = sum(m.name is not None and m.name != name for (name, _), m in zip(mated, mated_matches))
    fpir = sum(m.name is not None for m in stranger_matches) / len(strangers) if strangers else None
    return {"fpir": None if fpir is None else round(fpir, 4),
            "fnir": round(1 - right / len(mated), 4) if mated else None,
            "wrong_person": wrong, "strangers_named": sum(m.name is not None for m in stranger_matches)}


def _plot_fnir_fpir(index, mated, strangers, margin, threshold, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    thresholds = np.linspace(0.05, 0.8, 80)
    rates = [_open_set_rates(index, mated, strangers, t, margin) for t in thresholds]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot([max(r["fpir"], 1e-4) for r in rates], [r["fnir"] for r in rates], marker=".")
    here = _open_set_rates(index, mated, strangers, threshold, margin)
    ax.plot([max(here["fpir"], 1e-4)], [here["fnir"]], "ro", label=f"door's threshold {threshold:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("FPIR: strangers named as someone")
    ax.set_ylabel("FNIR: enrolled people not named")
    ax.set_title(f"open-set 1:N, {index.people} people enrolled")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
