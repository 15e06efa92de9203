"""The README's figures for the screen and print cues (kiosk.door.spoof_cues):
per attack type and medium, how many synthetic attacks each cue refuses and
how many the passive check took for live; on real faces, the highest cue
scores and how many tracks or faces a cue would refuse. Also glare (the
biggest near-white patch in the face box), measured and not kept.

    KIOSK_MODEL_DIR=... .venv/bin/python scripts/spoof_cue_figures.py report 50
    KIOSK_MODEL_DIR=... .venv/bin/python scripts/spoof_cue_figures.py tune 25
    KIOSK_MODEL_DIR=... .venv/bin/python scripts/spoof_cue_figures.py live
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import attack_clips  # noqa: E402
from kiosk.common.config import Settings, model_dir  # noqa: E402
from kiosk.door.liveness import LIVE, TrackLiveness  # noqa: E402
from kiosk.door.spoof_cues import FRAME_SIDES, MOIRE_PEAK, CUE_FRAMES, CUE_HITS, cue_scores  # noqa: E402
from kiosk.vision.engine import FaceEngine  # noqa: E402
from kiosk.vision.images import load_rgb  # noqa: E402

GLARE_SHARE = 0.35   # above every real photo's 0.33 (tune set)


def glare_share(rgb: np.ndarray, box) -> float:
    x, y, w, h = box
    crop = rgb[int(max(0, y)):int(y + h), int(max(0, x)):int(x + w)]
    if crop.size == 0:
        return 0.0
    hsv = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2HSV)
    white = ((hsv[..., 2] >= 245) & (hsv[..., 1] <= 40)).astype(np.uint8)
    if not white.any():
        return 0.0
    _, _, stats, _ = cv2.connectedComponentsWithStats(white, connectivity=8)
    return float(stats[1:, cv2.CC_STAT_AREA].max()) / white.size


def scores(rgb, box) -> tuple[int, float, float]:
    cues = cue_scores(rgb, box)
    return cues.frame_sides, cues.moire, glare_share(rgb, box)


def fires(values, threshold) -> bool:
    hits = [v >= threshold for v in values]
    return any(sum(hits[max(0, i - CUE_FRAMES + 1):i + 1]) >= CUE_HITS for i in range(len(hits)))


def attacks(engine, which: str, count: int) -> None:
    celebrities = model_dir() / "celebrities"
    if which == "tune":
        photos = sorted((ROOT / "tests/data/faces/people").rglob("*.jpg")) + sorted((celebrities / "train").rglob("*.jpg"))
        first_seed = 1000
    else:
        photos, first_seed = sorted((celebrities / "val").rglob("*.jpg")), 90_000
    for kind in attack_clips.TYPES:
        cards = attack_clips.cards_of(engine, photos, turned_only=kind == "turned")
        for medium in attack_clips.MEDIA:
            frame = moire = either = glare = glare_only = passive_live = caught_live = 0
            for i in range(count):
                clip = attack_clips.attack_clip(cards[(i * 7) % len(cards)], kind, first_seed + i, medium)
                seen, liveness = [], TrackLiveness()
                for n, rgb, face in attack_clips.faces_seen(engine, clip):
                    if face is not None:
                        seen.append(scores(rgb, face.box))
                        liveness.add(n / attack_clips.FPS, face.landmarks)
                f = fires([s[0] for s in seen], FRAME_SIDES)
                m = fires([s[1] for s in seen], MOIRE_PEAK)
                g = fires([s[2] for s in seen], GLARE_SHARE)
                frame, moire, either = frame + f, moire + m, either + (f or m)
                glare, glare_only = glare + g, glare_only + (g and not (f or m))
                passive_live += liveness.verdict == LIVE
                caught_live += liveness.verdict == LIVE and (f or m)
            print(f"{kind}/{medium}: {count} attacks; refused by frame {frame}, moire {moire}, either {either}; "
                  f"glare {glare} ({glare_only} not refused otherwise); passive check live {passive_live} "
                  f"(of which refused by a cue {caught_live})", flush=True)


def live(engine) -> None:
    from kiosk.calibration.liveness_eval import _EveryFaceAMember
    from kiosk.door.video import VideoSource
    from kiosk.vision.operating_point import ImpostorScores
    celebrities = model_dir() / "celebrities"
    sets = {"tune photos": sorted((ROOT / "tests/data/faces").rglob("*.jpg")) + sorted((celebrities / "train").rglob("*.jpg")),
            "report photos": sorted((celebrities / "val").rglob("*.jpg"))}
    for name, paths in sets.items():
        faces = []
        for path in paths:
            rgb = load_rgb(path)
            scale = min(1.0, 640 / rgb.shape[1], 480 / rgb.shape[0])
            rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
            faces += [scores(rgb, d.box) for d in engine.detect(rgb)]
        a = np.array(faces)
        print(f"{name}: {len(a)} faces; most framed sides {a[:, 0].max():.0f}, highest moire {a[:, 1].max():.1f}, "
              f"biggest glare {a[:, 2].max():.3f}; faces over a threshold: frame {(a[:, 0] >= FRAME_SIDES).sum()}, "
              f"moire {(a[:, 1] >= MOIRE_PEAK).sum()}")
    door = _EveryFaceAMember(engine, Settings(), ImpostorScores.shipped(), seed=0)
    tracks: dict[int, list] = {}
    with VideoSource(ROOT / "tests/data/video/walk-in-crowd.mp4") as source:
        for frame in source.frames():
            result = door.process(frame.time, frame.rgb)
            for face, view in zip(result.faces, result.tracks):
                if view is not None:
                    tracks.setdefault(view.track_id, []).append(scores(frame.rgb, face.face.box))
    a = np.array([s for seen in tracks.values() for s in seen])
    refused = sum(fires([s[0] for s in seen], FRAME_SIDES) or fires([s[1] for s in seen], MOIRE_PEAK)
                  for seen in tracks.values())
    print(f"street: {len(tracks)} tracks, {len(a)} faces; most framed sides {a[:, 0].max():.0f} "
          f"({(a[:, 0] >= FRAME_SIDES).sum()} frames), highest moire {a[:, 1].max():.1f}, biggest glare "
          f"{a[:, 2].max():.3f}; tracks a cue refuses: {refused}")


if __name__ == "__main__":
    engine = FaceEngine.load(model_dir())
    if sys.argv[1] == "live":
        live(engine)
    else:
        attacks(engine, sys.argv[1], int(sys.argv[2]))
