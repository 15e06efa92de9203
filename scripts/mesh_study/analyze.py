"""Frame-pair statistics of the tracks collect.py gathered: the door's 5-point
nose miss against flatness statistics of the 468-point mesh, and how well each
separates print attacks from real heads.

    .venv/bin/python scripts/mesh_study/analyze.py TUNE.pkl[,MORE.pkl] [max_yaw_degrees [mesh|mtcnn]]
"""

from __future__ import annotations

import pickle
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parents[2] / "tests")]
from kiosk.door.liveness import HISTORY_S, LIVE_PAIRS, PAIR_GAP_S, nose_miss, shape_change

# MediaPipe face-mesh indices
NOSE = [1, 2, 4, 5, 19, 94, 98, 327, 195]          # tip, columella, alae, lower dorsum
EYES = [33, 133, 159, 145, 160, 144, 158, 153, 362, 263, 386, 374, 387, 373, 385, 380]
BROWS = [70, 63, 105, 66, 107, 336, 296, 334, 293, 300]
MOUTH = [61, 291, 0, 17, 13, 14, 37, 267, 84, 314]
CHEEKS_CHIN_FOREHEAD = [10, 151, 9, 152, 199, 175, 50, 280, 205, 425, 123, 352, 117, 346]
INNER = EYES + BROWS + MOUTH + CHEEKS_CHIN_FOREHEAD    # the fit set: everything but the nose
LEFT_EYE, RIGHT_EYE = [33, 133, 159, 145], [362, 263, 386, 374]   # image-left, image-right
EAR = {"a": (33, 133, [(160, 144), (159, 145), (158, 153)]), "b": (362, 263, [(385, 380), (386, 374), (387, 373)])}


def five_of(mesh: np.ndarray) -> np.ndarray:
    """The mesh's own five points, in MTCNN's order: eyes, nose tip, mouth corners."""
    return np.array([mesh[LEFT_EYE, :2].mean(0), mesh[RIGHT_EYE, :2].mean(0), mesh[1, :2], mesh[61, :2], mesh[291, :2]])


def dense_nose(ref: np.ndarray, cur: np.ndarray, eye: float) -> float:
    """Least-squares homography on the non-nose points; RMS miss of the nose points."""
    h, _ = cv2.findHomography(ref[INNER, :2], cur[INNER, :2], 0)
    if h is None:
        return np.nan
    pred = cv2.perspectiveTransform(ref[None, NOSE, :2], h)[0]
    return float(np.sqrt(np.mean(np.sum((pred - cur[NOSE, :2]) ** 2, axis=1)))) / eye


def dense_all(ref: np.ndarray, cur: np.ndarray, eye: float) -> float:
    """Least-squares homography on all 468 points; RMS residual: how far from planar."""
    h, _ = cv2.findHomography(ref[:, :2], cur[:, :2], 0)
    if h is None:
        return np.nan
    pred = cv2.perspectiveTransform(ref[None, :, :2], h)[0]
    return float(np.sqrt(np.mean(np.sum((pred - cur[:, :2]) ** 2, axis=1)))) / eye


def mesh_yaw(mesh: np.ndarray) -> float:
    """Degrees, from the mesh's own 3-D points: the line between the cheeks' outer
    points (234, 454) against the image plane."""
    d = mesh[454] - mesh[234]
    return float(np.degrees(np.arctan2(d[2], d[0])))


def ear(mesh: np.ndarray) -> float:
    vals = []
    for a, b, pairs in EAR.values():
        width = np.linalg.norm(mesh[a, :2] - mesh[b, :2])
        vals.append(np.mean([np.linalg.norm(mesh[p, :2] - mesh[q, :2]) for p, q in pairs]) / width)
    return float(np.mean(vals))


MIN_SCORE = 0.5
STATS = ("miss5", "mesh5", "dense_nose", "dense_all")


def pairs_of(track) -> list[dict]:
    """The door's pairing (kiosk.door.liveness.TrackLiveness): each frame with a
    face against the latest one at least PAIR_GAP_S older, within HISTORY_S."""
    out, history = [], []
    for k, (t, box, lm, mesh, score) in enumerate(track["frames"]):
        if lm is None:
            continue
        history = [h for h in history if t - h[0] <= HISTORY_S]
        ref = None
        for h in history:
            if t - h[0] >= PAIR_GAP_S - 1e-9:
                ref = h
        history.append((t, k, lm, mesh, score))
        if ref is None:
            continue
        if MAX_YAW is not None and max(abs(gate_yaw(lm, mesh)), abs(gate_yaw(ref[2], ref[3]))) > MAX_YAW:
            continue
        m5 = nose_miss(ref[2], lm)
        if m5 is None:
            continue
        eye = float(np.linalg.norm(lm[1] - lm[0]))
        if min(score, ref[4]) < MIN_SCORE:      # the mesh says no face in one of the frames: no mesh evidence
            out.append({"t": t, "t_ref": ref[0], "eye": eye, "shape": shape_change(ref[2], lm), "miss5": m5, "mesh5": np.nan, "dense_nose": np.nan, "dense_all": np.nan,
                        "score": score, **({"dyaw": abs(track["yaws"][k] - track["yaws"][ref[1]])} if "yaws" in track else {})})
            continue
        row = {"yaw": max(abs(mesh_yaw(mesh)), abs(mesh_yaw(ref[3]))), "t": t, "t_ref": ref[0], "eye": eye, "shape": shape_change(ref[2], lm), "miss5": m5, "mesh5": nose_miss(five_of(ref[3]), five_of(mesh)) or np.nan,
               "dense_nose": dense_nose(ref[3], mesh, eye), "dense_all": dense_all(ref[3], mesh, eye), "score": score}
        if "yaws" in track:
            row["dyaw"] = abs(track["yaws"][k] - track["yaws"][ref[1]])
        out.append(row)
    return out


def print_normals(kind: str, seed: int) -> np.ndarray:
    """The picture's plane normal in each frame of attack_clip(card, kind, seed, "print"): the
    clip's random draws replayed (they do not depend on the card)."""
    import attack_clips
    rng = np.random.default_rng(seed)
    attack_clips.printed(np.zeros((8, 8, 3), np.uint8), rng)
    attack_clips.background(rng)
    rng.uniform(0.12, 0.25)
    return np.array([attack_clips._rotation(q["yaw"], q["pitch"], q["roll"])[:, 2]
                     for q in attack_clips.poses(kind, rng)])


def live_at(series: list[float], threshold: float) -> bool:
    """The door's rule: LIVE_PAIRS pairs running above the threshold."""
    run = 0
    for v in series:
        run = run + 1 if v > threshold else 0
        if run >= LIVE_PAIRS:
            return True
    return False


MAX_YAW = None
YAW_FROM = "mesh"    # or "mtcnn": the door's own 5-point yaw estimate (kiosk.vision.snapshot_quality)


def gate_yaw(landmarks: np.ndarray, mesh: np.ndarray) -> float:
    if YAW_FROM == "mtcnn":
        from kiosk.vision.snapshot_quality import landmark_angles
        return landmark_angles(landmarks)[0]
    return mesh_yaw(mesh)


def main():
    global MAX_YAW, YAW_FROM
    tracks = [tr for path in sys.argv[1].split(",") for tr in pickle.loads(Path(path).read_bytes())]
    if len(sys.argv) > 2:     # a yaw gate: pairs with either face turned further than this give no evidence
        MAX_YAW = float(sys.argv[2])
    if len(sys.argv) > 3:
        YAW_FROM = sys.argv[3]
    groups = defaultdict(list)
    for tr in tracks:
        tr["pairs"] = pairs_of(tr)
        if tr["group"] == "street":
            seen = [f for f in tr["frames"] if f[2] is not None]
            if not seen or seen[-1][0] - seen[0][0] < 1.0:
                continue
            tr["group"] = "street (>=1 s)"
        groups[tr["group"]].append(tr)
    prints = [tr for g, ts in groups.items() if g.startswith("print") for tr in ts]
    order = sorted(groups, key=lambda g: (not g.startswith("print"), g))

    print("tracks / pairs:", {g: (len(ts), sum(len(t["pairs"]) for t in ts)) for g, ts in groups.items()})
    street_eyes = [p["eye"] for tr in groups.get("street (>=1 s)", []) for p in tr["pairs"]]
    if street_eyes:
        print(f"street eye distance px: median {np.median(street_eyes):.0f}, range {min(street_eyes):.0f}-{max(street_eyes):.0f}")
    for g in order:
        v = np.array([p["mesh5"] for tr in groups[g] for p in tr["pairs"]], float)
        eyes = [p["eye"] for tr in groups[g] for p in tr["pairs"]]
        print(f"  {g}: pairs without mesh evidence (score < {MIN_SCORE}): {np.sum(~np.isfinite(v))} of {len(v)}; "
              f"eye distance px median {np.median(eyes):.0f} (5th-95th pct {np.percentile(eyes, 5):.0f}-{np.percentile(eyes, 95):.0f})")
    print("\n== pair level: median / p95 / p99 per group (eye distances) ==")
    for s in STATS:
        line = [f"{s:11s}"]
        for g in order:
            v = np.array([p[s] for tr in groups[g] for p in tr["pairs"]], float)
            v = v[np.isfinite(v)]
            line.append(f"{g}: {np.median(v):.3f}/{np.percentile(v, 95):.3f}/{np.percentile(v, 99):.3f}")
        print("  ".join(line))

    print("\n== pair level: threshold T99 keeping 99% of print pairs below; share of real pairs above T99 ==")
    for s in STATS:
        pv = np.array([p[s] for tr in prints for p in tr["pairs"]], float)
        pv = pv[np.isfinite(pv)]
        t99 = np.percentile(pv, 99)
        per_kind = {g: np.percentile([p[s] for tr in groups[g] for p in tr["pairs"] if np.isfinite(p[s])], 99)
                    for g in order if g.startswith("print")}
        real = []
        for g in order:
            if g.startswith("print"):
                continue
            v = np.array([p[s] for tr in groups[g] for p in tr["pairs"]], float)
            v = np.where(np.isfinite(v), v, 0.0)      # a pair without mesh evidence counts as not above
            real.append(f"{g} {np.mean(v > t99):.0%}")
            if g == "head_slow_turn":
                turning = np.nan_to_num(np.array([p[s] for tr in groups[g] for p in tr["pairs"] if p["dyaw"] >= 3.0], float))
                real.append(f"(pairs across a >=3 deg photo change: {np.mean(turning > t99):.0%} of {len(turning)})")
        print(f"{s:11s} T99={t99:.3f} (per kind {', '.join(f'{k[6:]} {v:.3f}' for k, v in per_kind.items())}); above: {'; '.join(real)}")

    print("\n== track level, the door's rule (4 pairs running above T): T = smallest threshold "
          "with at most 1 print track in 100 live ==")
    for s in STATS:
        series = {id(tr): [p[s] if np.isfinite(p[s]) else 0.0 for p in tr["pairs"]] for ts in groups.values() for tr in ts}
        candidates = np.unique(np.round(np.concatenate([np.array(v) for v in series.values() if v]), 3))
        allowed = len(prints) // 100
        chosen = None
        for thr in candidates:
            if sum(live_at(series[id(tr)], thr) for tr in prints) <= allowed:
                chosen = thr
                break
        parts = []
        for g in order:
            n = sum(live_at(series[id(tr)], chosen) for tr in groups[g])
            parts.append(f"{g} {n}/{len(groups[g])}")
        print(f"{s:11s} T={chosen:.3f}: live {'; '.join(parts)}")
    print("\n== track level, split half: T chosen (at most 1 in 100, else 0 live) on the even-numbered print "
          "tracks of each kind, counted on the odd ones ==")
    for s in STATS:
        series = {id(tr): [p[s] if np.isfinite(p[s]) else 0.0 for p in tr["pairs"]] for ts in groups.values() for tr in ts}
        tune = [tr for g in order if g.startswith("print") for tr in groups[g][0::2]]
        held = {g: groups[g][1::2] for g in order if g.startswith("print")}
        candidates = np.unique(np.round(np.concatenate([np.array(v) for v in series.values() if v]), 3))
        chosen = next(thr for thr in candidates
                      if sum(live_at(series[id(tr)], thr) for tr in tune) <= len(tune) // 100)
        parts = [f"{g} {sum(live_at(series[id(tr)], chosen) for tr in ts)}/{len(ts)}" for g, ts in held.items()]
        parts += [f"{g} {sum(live_at(series[id(tr)], chosen) for tr in groups[g])}/{len(groups[g])}"
                  for g in order if not g.startswith("print")]
        print(f"{s:11s} T={chosen:.3f}: live {'; '.join(parts)}")

    print("\n== the door's own rule for reference: miss5 > 0.14 ==")
    for g in order:
        n = sum(live_at([p['miss5'] for p in tr['pairs']], 0.14) for tr in groups[g])
        print(f"  {g}: {n}/{len(groups[g])} live")

    print("\n== hallucination check: print pairs binned by the TRUE out-of-plane turn of the picture between "
          "the two frames (degrees, from the clip's seeded poses); median / p95 / p99 of each statistic ==")
    for tr in prints:
        if "print_yaws" in tr:      # the fast turn: only the yaw changes
            yaws = np.radians(tr["print_yaws"])
            normals = np.column_stack([np.sin(yaws), np.zeros_like(yaws), np.cos(yaws)])
        else:
            normals = print_normals(tr["group"][len("print_"):], tr["seed"])
        for p in tr["pairs"]:
            k = int(round(p["t"] * tr["fps"]))
            k0 = int(round(p["t_ref"] * tr["fps"]))
            p["turn"] = float(np.degrees(np.arccos(np.clip(normals[k] @ normals[k0], -1, 1))))
    edges = [0, 2, 4, 8, 12, 16, 24, 32, 90]
    for lo, hi in zip(edges, edges[1:]):
        sel = [p for tr in prints for p in tr["pairs"] if lo <= p["turn"] < hi]
        if not sel:
            continue
        cells = []
        for s in STATS:
            v = np.array([p[s] for p in sel], float)
            v = v[np.isfinite(v)]
            cells.append(f"{s} {np.median(v):.3f}/{np.percentile(v, 95):.3f}/{np.percentile(v, 99):.3f}")
        print(f"  turn {lo}-{hi} deg ({len(sel)} pairs): " + ", ".join(cells))

    print("\n== mesh face score (sigmoid) ==")
    for g in order:
        sc = [f[4] for tr in groups[g] for f in tr["frames"] if f[2] is not None]
        print(f"  {g}: min {min(sc):.3f}, 1st pct {np.percentile(sc, 1):.3f}")

    print("\n== blink: eye aspect ratio per street track (mesh) ==")
    for k, tr in enumerate(groups.get("street (>=1 s)", [])):
        e = np.array([ear(f[3]) for f in tr["frames"] if f[3] is not None])
        eyes = np.median([np.linalg.norm(f[2][1] - f[2][0]) for f in tr["frames"] if f[2] is not None])
        dips = np.sum(e < 0.6 * np.median(e))
        print(f"  track {k}: {len(e)} frames, eye {eyes:.0f} px, EAR median {np.median(e):.3f}, "
              f"min {e.min():.3f}, max {e.max():.3f}, frames below 60% of median: {dips}")
        print("    EAR series:", " ".join(f"{v:.2f}" for v in e))


if __name__ == "__main__":
    main()
