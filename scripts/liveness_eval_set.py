"""A folder of labelled clips for `kiosk --json evaluate liveness`, as the
README's door-level figures were measured: COUNT synthetic attacks of each
type (tests/attack_clips.py, made from the celebrities' val photos, seeds
FIRST_SEED and on, never tuned on) in one medium, and the street video as
the live clip.

    .venv/bin/python scripts/liveness_eval_set.py OUT COUNT FIRST_SEED [print|screen]
    .venv/bin/kiosk --json evaluate liveness OUT

Prints make attack/<type>/, screens attack/screen-<type>/; run it twice into
one OUT for both.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import attack_clips  # noqa: E402
from kiosk.common.config import model_dir  # noqa: E402
from kiosk.door.video import write_video  # noqa: E402
from kiosk.vision.engine import FaceEngine  # noqa: E402

STREET = ROOT / "tests" / "data" / "video" / "walk-in-crowd.mp4"


def main(out: Path, count: int, first_seed: int, medium: str) -> None:
    if medium not in attack_clips.MEDIA:
        raise SystemExit(f"medium must be one of {', '.join(attack_clips.MEDIA)}, not {medium!r}")
    engine = FaceEngine.load(model_dir())
    photos = sorted((model_dir() / "celebrities" / "val").rglob("*.jpg"))
    for kind in attack_clips.TYPES:
        cards = attack_clips.cards_of(engine, photos, turned_only=kind == "turned")
        folder = out / "attack" / (kind if medium == "print" else f"{medium}-{kind}")
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            frames = attack_clips.attack_clip(cards[i % len(cards)], kind, first_seed + i, medium)
            write_video(folder / f"{kind}-{i}.avi", frames, fps=attack_clips.FPS)
    (out / "live").mkdir(parents=True, exist_ok=True)
    shutil.copy(STREET, out / "live" / STREET.name)
    print(f"{count} {medium} attacks of each type and the street clip in {out}")


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
         sys.argv[4] if len(sys.argv) == 5 else "print")
