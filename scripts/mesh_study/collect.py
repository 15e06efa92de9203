"""Collect per-frame MTCNN landmarks and 468-point meshes of tracks: print
attacks (tests/attack_clips.py), synthetic slow head turns (tests/head_turns.py
photos placed in yaw order) and the street clip, on the TUNE photos only
(tests/data/faces/people and the celebrities' train photos), seeds 1000+.

    .venv/bin/python scripts/mesh_study/collect.py OUT.pkl [attacks_per_kind] [heads] [--refine]

Each track: {"group", "fps", "frames": [(t, box, landmarks5 | None, mesh468x3 | None, score)]}.
"""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2] / "tests")]

import cv2
import numpy as np

import attack_clips
import head_turns
from kiosk.common.config import model_dir
from kiosk.vision.engine import FaceEngine
from mesh import FaceMesh

ROOT = Path(__file__).resolve().parents[2]
STREET = ROOT / "tests" / "data" / "video" / "walk-in-crowd.mp4"
SEED = 1000
REFINE = False    # --refine: the mesh run a second time on its own ROI


def tune_photos():
    people = sorted((ROOT / "tests" / "data" / "faces" / "people").rglob("*.*"))
    celebs = sorted((model_dir() / "celebrities" / "train").rglob("*.jpg"))
    return [p for p in people if p.suffix.lower() in (".jpg", ".jpeg", ".png")] + celebs


def meshed(mesh, rgb, face):
    if face is None:
        return None, None, None, 0.0
    points, score, _ = mesh(rgb, face.box, face.landmarks, refine=REFINE)
    return tuple(face.box), np.asarray(face.landmarks, np.float64).reshape(5, 2), points, score


def clip_track(engine, mesh, frames, fps):
    out = []
    for i, rgb, face in attack_clips.faces_seen(engine, frames):
        out.append((i / fps, *meshed(mesh, rgb, face)))
    return out


def slow_turn_frames(poses, rng):
    """A visitor walking in who turns the head slowly by 5-15 degrees: photos of
    one person in yaw order, eyes and mouth kept in place, the face growing
    10% (walking closer), a pixel of jitter."""
    frontal = min(poses, key=lambda p: abs(p.yaw))
    n = int(attack_clips.SECONDS * attack_clips.FPS)
    t = np.arange(n) / attack_clips.FPS
    amount = rng.uniform(5, 15) * rng.choice([-1, 1])
    start, length = rng.uniform(0.2, 0.8), rng.uniform(0.8, 2.0)
    progress = 0.5 - 0.5 * np.cos(np.pi * np.clip((t - start) / length, 0, 1))
    where = np.array([attack_clips.SIZE[0] / 2, attack_clips.SIZE[1] * 0.4]) + rng.uniform(-30, 30, 2)
    face_px = rng.uniform(45, 60)
    frames, yaws = [], []
    for k in range(n):
        pose = min(poses, key=lambda p: abs(p.yaw - (frontal.yaw + amount * progress[k])))
        yaws.append(pose.yaw)
        frames.append(head_turns.placed(pose, where + rng.normal(0, 1.0, 2), face_px * (1 + 0.1 * k / n)))
    return frames, yaws


def fast_turn_clip(card, seed):
    """An attacker's adversarial fake turn: a print swung about its vertical axis
    back and forth, +-25-40 degrees at 0.7-1.2 Hz (up to 300 degrees/s: as fast
    as a hand swings it), to draw depth out of a network's face prior."""
    import math
    rng = np.random.default_rng(seed)
    picture = attack_clips.printed(card, rng)
    wall = attack_clips.background(rng)
    width_m = rng.uniform(0.12, 0.25)
    n = int(attack_clips.SECONDS * attack_clips.FPS)
    t = np.arange(n) / attack_clips.FPS
    amp, freq, phase = rng.uniform(25, 40), rng.uniform(0.7, 1.2), rng.uniform(0, 2 * math.pi)
    pitch, roll, z = rng.uniform(-8, 8), rng.uniform(-5, 5), rng.uniform(0.35, 0.5)
    x, y = rng.uniform(-0.04, 0.04), rng.uniform(-0.03, 0.03)
    poses = [{"yaw": math.radians(amp * math.sin(2 * math.pi * freq * ti + phase)), "pitch": math.radians(pitch),
              "roll": math.radians(roll), "x": x, "y": y, "z": z} for ti in t]
    yaws = [math.degrees(p["yaw"]) for p in poses]
    return [attack_clips.render(picture, wall, width_m, p) for p in poses], yaws


def street_tracks(engine, mesh):
    """Every face of the street clip, linked frame to frame by the nearest box centre."""
    cap = cv2.VideoCapture(str(STREET))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    tracks, live = [], {}   # live: track index -> last box
    i = 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        faces = engine.detect(rgb)
        taken = set()
        for face in faces:
            x, y, w, h = face.box
            c = np.array([x + w / 2, y + h / 2])
            best = None
            for k, (bx, by, bw, bh) in live.items():
                if k in taken:
                    continue
                d = np.linalg.norm(c - [bx + bw / 2, by + bh / 2])
                if d < 0.5 * max(w, bw) and (best is None or d < best[0]):
                    best = (d, k)
            if best is None:
                tracks.append({"group": "street", "fps": fps, "frames": []})
                k = len(tracks) - 1
            else:
                k = best[1]
            taken.add(k)
            tracks[k]["frames"].append((i / fps, *meshed(mesh, rgb, face)))
        live = {k: tracks[k]["frames"][-1][1] for k in taken}
        i += 1
    return tracks


def main():
    global REFINE
    if "--refine" in sys.argv:
        REFINE = True
        sys.argv.remove("--refine")
    out = Path(sys.argv[1])
    per_kind = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    heads = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    engine = FaceEngine.load(model_dir(), threads=1)
    mesh = FaceMesh(threads=1)
    photos = tune_photos()
    tracks = []
    if "--fast-turn" in sys.argv:      # only the adversarial fast fake turn
        cards = attack_clips.cards_of(engine, photos)
        for i in range(per_kind):
            seed = SEED + 8000 + i
            frames, yaws = fast_turn_clip(cards[i % len(cards)], seed)
            tracks.append({"group": "print_fast_turn", "fps": attack_clips.FPS, "seed": seed, "print_yaws": yaws,
                           "frames": clip_track(engine, mesh, frames, attack_clips.FPS)})
        out.write_bytes(pickle.dumps(tracks))
        return
    t0 = time.time()
    tracks += street_tracks(engine, mesh)
    print(f"street: {len(tracks)} tracks, {time.time() - t0:.0f} s", flush=True)
    for kind in attack_clips.TYPES:
        cards = attack_clips.cards_of(engine, photos, turned_only=kind == "turned")
        for i in range(per_kind):
            seed = SEED + 1000 * attack_clips.TYPES.index(kind) + i
            frames = attack_clips.attack_clip(cards[i % len(cards)], kind, seed, "print")
            tracks.append({"group": f"print_{kind}", "fps": attack_clips.FPS, "seed": seed,
                           "frames": clip_track(engine, mesh, frames, attack_clips.FPS)})
        print(f"{kind}: {len(cards)} cards, {time.time() - t0:.0f} s", flush=True)
    celeb_dirs = sorted(d for d in (model_dir() / "celebrities" / "train").iterdir() if d.is_dir())
    people_poses = [head_turns.poses_of(engine, sorted(d.glob("*.jpg"))) for d in celeb_dirs]
    for i in range(heads):
        seed = SEED + 5000 + i
        rng = np.random.default_rng(seed)
        frames, yaws = slow_turn_frames(people_poses[i % len(people_poses)], rng)
        tracks.append({"group": "head_slow_turn", "fps": attack_clips.FPS, "seed": seed, "yaws": yaws,
                       "frames": clip_track(engine, mesh, frames, attack_clips.FPS)})
    print(f"heads: {time.time() - t0:.0f} s", flush=True)
    out.write_bytes(pickle.dumps(tracks))


if __name__ == "__main__":
    main()
