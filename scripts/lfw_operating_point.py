"""The README's accuracy figures, reproduced: the door's operating point on
../shared/faces/lfw-calibration, on held-out halves.

The people are split in two halves by a hash of their name. For each half:
impostor scores from the other half (`kiosk calibrate --impostor-scores`),
then `kiosk evaluate gallery` (open-set 1:N) and `kiosk evaluate pairs` on
this half with those scores, so no figure is measured on the photos its
threshold came from. Open-set protocol of issue 14, scaled to the half:
the first photo of every person with several photos is enrolled, with enough
one-photo people to make 1,000 in 1,468; their other photos are the mated
probes; everyone not enrolled is a stranger. Prints one JSON object.

    .venv/bin/python scripts/lfw_operating_point.py [LFW_DIR] [WORK_DIR]

Takes about 15 minutes on 2 cores. Skips with one line when the set is absent.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_SET = PROJECT.parent / "shared" / "faces" / "lfw-calibration"


def kiosk(*args) -> dict:
    done = subprocess.run([sys.executable, "-c", "import sys; from ui.cli import main; sys.exit(main())",
                           "--json", *map(str, args)], cwd=PROJECT, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"kiosk {' '.join(map(str, args))} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def halves(root: Path, work: Path) -> list[Path]:
    folders = [work / f"half{h}" for h in (0, 1)]
    for person in sorted(root.iterdir()):
        link = folders[int(hashlib.sha1(person.name.encode()).hexdigest(), 16) % 2] / person.name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(person.resolve())
    return folders


def protocol(half: Path, out: Path, seed: int) -> None:
    """out/gallery, out/probes and out/pairs.txt (every genuine pair, 3,000 impostor pairs)."""
    rng = random.Random(seed)
    people = {p.name: sorted(p.glob("*.jpg")) for p in sorted(half.iterdir())}
    several = [n for n, photos in people.items() if len(photos) > 1]
    singles = [n for n, photos in people.items() if len(photos) == 1]
    rng.shuffle(singles)
    enrolled = several + singles[:round(len(people) * 1000 / 1468) - len(several)]
    def place(kind: str, name: str, photos: list[Path]) -> None:
        (out / kind / name).mkdir(parents=True, exist_ok=True)
        for photo in photos:
            link = out / kind / name / photo.name
            if not link.exists():
                link.symlink_to(photo.resolve())
    for name in enrolled:
        place("gallery", name, people[name][:1])
        if len(people[name]) > 1:
            place("probes", name, people[name][1:])
    for name in set(people) - set(enrolled):
        place("probes", name, people[name][:1])
    lines = [f"{n}\t{i}\t{j}" for n in several for i in range(1, len(people[n]) + 1)
             for j in range(i + 1, len(people[n]) + 1)]
    names = list(people)
    for _ in range(3000):
        a, b = rng.sample(names, 2)
        lines.append(f"{a}\t{rng.randint(1, len(people[a]))}\t{b}\t{rng.randint(1, len(people[b]))}")
    (out / "pairs.txt").write_text(f"1\t{len(lines)}\n" + "\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SET
    work = Path(sys.argv[2]) if len(sys.argv) > 2 else PROJECT / "build" / "lfw-operating-point"
    if not root.is_dir():
        print(f"skipped: {root} is not here (the calibration set lives beside the checkout)")
        return 0
    work.mkdir(parents=True, exist_ok=True)
    report = {}
    folders = halves(root, work)
    for tune, held_out in ((0, 1), (1, 0)):
        scores = work / f"scores-half{tune}.json"
        if not scores.exists():
            kiosk("calibrate", folders[tune], "--impostor-scores", scores)
        setup = work / f"protocol-half{held_out}"
        protocol(folders[held_out], setup, held_out)
        gallery = kiosk("evaluate", "--impostor-scores", scores, "gallery", setup / "gallery", setup / "probes",
                        "--plot", work / f"fnir-fpir-half{held_out}.png")
        gallery.pop("refusals")
        pairs = kiosk("evaluate", "--impostor-scores", scores, "pairs", setup / "pairs.txt", folders[held_out])
        report[f"half{held_out} (scores from half{tune})"] = {"gallery": gallery, "pairs": pairs}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
