"""Live verdicts of one attack set at thresholds fixed beforehand (on the other
attacks): the door's rule (4 pairs running above T) per statistic.

    .venv/bin/python scripts/mesh_study/held_attack.py ATTACKS.pkl MAX_YAW|none mesh|mtcnn miss5=T mesh5=T ...
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent)]
import analyze


def main():
    tracks = pickle.loads(Path(sys.argv[1]).read_bytes())
    analyze.MAX_YAW = None if sys.argv[2] == "none" else float(sys.argv[2])
    analyze.YAW_FROM = sys.argv[3]
    thresholds = {k: float(v) for k, v in (a.split("=") for a in sys.argv[4:])}
    for tr in tracks:
        tr["pairs"] = analyze.pairs_of(tr)
    for s, t in thresholds.items():
        live = sum(analyze.live_at([p[s] if np.isfinite(p[s]) else 0.0 for p in tr["pairs"]], t) for tr in tracks)
        v = np.array([p[s] for tr in tracks for p in tr["pairs"]], float)
        v = v[np.isfinite(v)]
        print(f"{s:11s} T={t:.3f}: {live}/{len(tracks)} live; pairs median {np.median(v):.3f}, "
              f"above T {np.mean(v > t):.0%}")


if __name__ == "__main__":
    main()
