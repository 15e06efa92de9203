"""`kiosk evaluate liveness DIR` on a small folder of labelled clips: synthetic
attacks made from real photos (tests/attack_clips.py, the report set's
photos and seeds of tests/door/test_liveness.py) and real people walking in
(tests/data/video/walk-in-crowd.mp4)."""

from __future__ import annotations

import json
import shutil

import pytest

import attack_clips
from helpers import PROJECT_DIR
from kiosk.door.video import write_video

STREET = PROJECT_DIR / "tests" / "data" / "video" / "walk-in-crowd.mp4"
SEED = 95_000


@pytest.fixture(scope="module")
def attacks_dir(engine, celebrities, tmp_path_factory):
    """attack/<type>/: two clips of each type."""
    folder = tmp_path_factory.mktemp("liveness-clips")
    photos = sorted((celebrities / "val").rglob("*.jpg"))
    for kind in attack_clips.TYPES:
        cards = attack_clips.cards_of(engine, photos, turned_only=kind == "turned")[::3]
        (folder / "attack" / kind).mkdir(parents=True)
        for i in range(2):
            frames = attack_clips.attack_clip(cards[i], kind, SEED + i)
            write_video(folder / "attack" / kind / f"{kind}-{i}.avi", frames, fps=attack_clips.FPS)
    return folder


@pytest.mark.slow   # the whole street video through the door
def test_attacks_are_refused_and_live_walkers_timed(kiosk, attacks_dir, tmp_path):
    folder = tmp_path / "clips"
    shutil.copytree(attacks_dir, folder)
    (folder / "live").mkdir()
    shutil.copy(STREET, folder / "live" / STREET.name)
    code, out, err = kiosk("evaluate", "liveness", folder)
    assert code == 0, err
    result = json.loads(out)
    assert result["liveness"] == "passive"
    assert set(result["attack_types"]) == set(attack_clips.TYPES)
    for kind, figures in result["attack_types"].items():
        assert figures["attacks"] == 2 and figures["accepted"] == 0 and figures["apcer"] == 0.0, kind
    live = result["live"]
    assert live["clips"] == 1 and live["visits"] >= 4
    assert len(live["seconds_to_pass"]) == live["visits"] - live["refused"] >= live["visits"] / 2
    assert live["bpcer"] == round(live["refused"] / live["visits"], 4)
    assert 0 < live["median_seconds_to_pass"] <= 2.0
    # Liveness off greets a face the moment it is recognised, here at once: the added time is a little less.
    assert len(live["seconds_after_greeting"]) == len(live["seconds_to_pass"])
    assert all(0 < added <= to_pass for added, to_pass in zip(live["seconds_after_greeting"], live["seconds_to_pass"]))


def test_with_liveness_off_every_attack_is_accepted(kiosk, attacks_dir, tmp_path):
    """The same clips, the check off: the figures can show a failure."""
    (tmp_path / "kiosk.json").write_text('{"liveness": "off"}')   # the kiosk fixture's KIOSK_CONFIG
    code, out, err = kiosk("evaluate", "liveness", attacks_dir)
    assert code == 0, err
    result = json.loads(out)
    assert result["liveness"] == "off"
    assert all(f["apcer"] == 1.0 for f in result["attack_types"].values())
    assert result["live"]["visits"] == 0 and result["live"]["bpcer"] is None


def test_a_folder_without_labelled_clips_is_one_clear_error(kiosk, tmp_path):
    (tmp_path / "clips" / "live").mkdir(parents=True)
    code, _, err = kiosk("evaluate", "liveness", tmp_path / "clips")
    assert code == 1 and "no clips in attack/<type>/ or live/" in err
    code, _, err = kiosk("evaluate", "liveness", tmp_path / "nowhere")
    assert code == 1 and "no such folder" in err
