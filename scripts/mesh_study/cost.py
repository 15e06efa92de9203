"""Cost per face of the mesh on this machine: crop (affine warp to 192x192),
inference (LiteRT, 1 and 2 threads) and the flatness statistic, on a 640x480
attack frame. Also checks the input range: [0, 1] against [-1, 1].

    .venv/bin/python scripts/mesh_study/cost.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2] / "tests")]

import numpy as np

import analyze
import attack_clips
from kiosk.common.config import model_dir
from kiosk.vision.engine import FaceEngine
from mesh import FaceMesh

ROOT = Path(__file__).resolve().parents[2]


def timed(fn, n=200):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return 1000 * np.median(out), 1000 * np.percentile(out, 90)


def main():
    engine = FaceEngine.load(model_dir(), threads=1)
    card = attack_clips.cards_of(engine, [ROOT / "tests/data/faces/people/biden/biden.jpg"])[0]
    frames = attack_clips.attack_clip(card, "handheld", 1000)
    face = max(engine.detect(frames[8]), key=lambda d: d.box[2] * d.box[3])
    for threads in (1, 2):
        mesh = FaceMesh(threads=threads)
        patch, _ = mesh.crop(frames[8], face.box, face.landmarks)
        x = patch[None].astype(np.float32) / 255.0
        mesh.net.run(x)
        crop = timed(lambda: mesh.crop(frames[8], face.box, face.landmarks))
        infer = timed(lambda: mesh.net.run(x))
        whole = timed(lambda: mesh(frames[8], face.box, face.landmarks))
        print(f"threads {threads}: crop {crop[0]:.3f} ms, inference {infer[0]:.2f} ms (p90 {infer[1]:.2f}), "
              f"crop+inference+unproject {whole[0]:.2f} ms (p90 {whole[1]:.2f})")
    a, _, _ = mesh(frames[4], face.box, face.landmarks)
    b, _, _ = mesh(frames[8], face.box, face.landmarks)
    print(f"dense_nose statistic: {timed(lambda: analyze.dense_nose(a, b, 40.0))[0]:.3f} ms, "
          f"dense_all: {timed(lambda: analyze.dense_all(a, b, 40.0))[0]:.3f} ms")
    # the input range: [0, 1] should give the face score and points on the face; [-1, 1] not as well
    import math
    out01 = mesh.net.run(x)
    out11 = mesh.net.run(x * 2 - 1)
    for name, out in (("[0,1]", out01), ("[-1,1]", out11)):
        logit = float(next(o for o in out if o.size == 1).ravel()[0])
        pts = next(o for o in out if o.size == 1404).reshape(468, 3)
        print(f"input {name}: face score {1 / (1 + math.exp(-logit)):.3f}, nose tip at {pts[1, :2].round(1)} (crop centre 96, 96)")


if __name__ == "__main__":
    main()
