"""`kiosk bench`: medians of the door's costs on this machine, on bundled real faces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kiosk.common import paths
from kiosk.common.paths import resources_dir
from kiosk.context import KioskContext
from kiosk.bench.door_bench import door_figures
from kiosk.bench.gallery_bench import MATCH_MARGIN, MATCH_THRESHOLD, random_embeddings
from kiosk.bench.output_bench import output_figures
from kiosk.vision.engine import Face
from kiosk.vision.matcher import GalleryMatrix
from kiosk.vision.images import load_rgb
from kiosk.vision.matcher import GalleryIndex
from kiosk.demo.walk_in import letterbox, walk_in_frames

SAMPLE_FACES = resources_dir() / "faces"


def median_ms(fn, runs: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(1000 * float(np.median(times)), 2)


def run_bench(ctx: KioskContext, runs: int = 30, peer: bool = False, idle_seconds: float = 20.0) -> dict:
    """Every figure is a median over `runs` timed calls after a warm-up."""
    engine = ctx.engine
    person = load_rgb(SAMPLE_FACES / "obama.jpg")
    frame = letterbox(person, (640, 480))
    detections = engine.detect(frame)
    if len(detections) != 1:
        raise RuntimeError(f"bench frame: expected one face, found {len(detections)}")
    crop = engine.faces(frame, detections)[0].aligned
    enrolled = engine.faces(person)[0]  # the person's gallery sample for replay and start-up
    figures = {
        "detect_ms": median_ms(lambda: engine.detect(frame), runs),
        "detect_near_ms": median_ms(lambda: engine.detector.detect_near(frame, detections[0].box), runs),
        "embed_ms_batch1": median_ms(lambda: engine.embedder.embed(crop[None]), runs),
        "embed_ms_batch8": round(median_ms(lambda: engine.embedder.embed(np.stack([crop] * 8)), runs) / 8, 2),
        # What the door pays a face: two views (box and aligned crops), one batch.
        "crop_and_embed_face_ms": median_ms(lambda: engine.faces(frame, detections), runs),
        "match_ms_100k": _match_100k(runs),
    }
    figures.update(_liveness_ms(frame, detections[0].box, detections[0].landmarks, runs))
    clip = walk_in_frames(person, size=(640, 360), frames=90)
    figures["replay_fps"] = _replay_fps(ctx, enrolled, clip)
    figures["startup_s"] = _startup_s(ctx, enrolled, person)
    figures.update(door_figures(ctx, _index_of(enrolled), person, idle_seconds))
    figures.update(output_figures(runs))
    if peer:
        figures["peer_face_recognition_fps"] = _peer_fps(clip)
    figures["machine"] = f"{os.cpu_count()} cores, {sys.platform}"
    return figures


def _match_100k(runs: int) -> float:
    """1:N over 100,000 random unit vectors (10,000 people x 10 samples)."""
    vectors = random_embeddings(np.random.default_rng(0), 100_000)
    ids = np.repeat(np.arange(10_000), 10)
    index = GalleryIndex(GalleryMatrix(vectors, ids, {i: f"p{i}" for i in range(10_000)}))
    query = vectors[:1]
    return median_ms(lambda: index.match(query, MATCH_THRESHOLD, MATCH_MARGIN), runs)


def _liveness_ms(frame: np.ndarray, box, landmarks, runs: int) -> dict:
    """What liveness costs one face in one frame, in ms to three decimals:
    the passive check (a track with a second of 30 fps history), a running
    challenge, the screen and print cues of the face's neighbourhood, and
    their sum (liveness_ms)."""
    import random
    from kiosk.door.challenge import RUNNING, Challenge
    from kiosk.door.liveness import TrackLiveness
    from kiosk.door.spoof_cues import cue_scores
    # A camera's frames are contiguous; the letterboxed bench frame is a view.
    frame = np.ascontiguousarray(frame)
    track, points, clock = TrackLiveness(), np.asarray(landmarks), [0.0]
    jitter = np.random.default_rng(0).normal(0, 0.5, (4096, 5, 2))
    rng = random.Random(0)
    challenge = [Challenge(0.0, rng)]

    def now_and_points():
        clock[0] += 1 / 30
        return clock[0], points + jitter[int(clock[0] * 30) % len(jitter)]

    def passive():
        track.add(*now_and_points())

    def asked():
        now, moved = now_and_points()
        if challenge[0].state != RUNNING:   # a still face fails in a few seconds: ask again
            challenge[0] = Challenge(now, rng)
        challenge[0].add(now, moved)

    figures = {"liveness_passive_ms": _median_ms_fine(passive, runs),
               "liveness_challenge_ms": _median_ms_fine(asked, runs),
               "liveness_cues_ms": _median_ms_fine(lambda: cue_scores(frame, box), runs)}
    figures["liveness_ms"] = round(sum(figures.values()), 3)
    return figures


def _median_ms_fine(fn, runs: int) -> float:
    """median_ms for sub-millisecond calls: a second's warm-up, at least 200 runs, three decimals."""
    for _ in range(30):
        fn()
    times = []
    for _ in range(max(runs, 200)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(1000 * float(np.median(times)), 3)


def _index_of(enrolled: Face) -> GalleryIndex:
    """A gallery of one person, in memory."""
    return GalleryIndex(GalleryMatrix(enrolled.embedding[None], np.array([1]), {1: "sample"}))


def _replay_fps(ctx: KioskContext, enrolled: Face, clip: list[np.ndarray]) -> float:
    """Frames a second through the whole pipeline (detect, align, embed, match,
    decide) on a 640x360 clip of the person walking in, with them enrolled."""
    from kiosk.door.recognizer import Recognizer
    index = _index_of(enrolled)
    recognizer = Recognizer(ctx.engine, index, ctx.settings, scores=ctx.impostor_scores)
    for rgb in clip[:5]:
        recognizer.process(0.0, rgb)  # warm-up: interpreters allocate on first use
    recognizer = Recognizer(ctx.engine, index, ctx.settings, scores=ctx.impostor_scores)
    start = time.perf_counter()
    for i, rgb in enumerate(clip):
        recognizer.process(i / 30.0, rgb)
    return round(len(clip) / (time.perf_counter() - start), 1)


def _startup_s(ctx: KioskContext, enrolled: Face, person: np.ndarray) -> float:
    """From starting `kiosk replay` in a new process to its first line naming the
    enrolled person (a real gallery file, a real video file)."""
    from kiosk.store.db import engine_of, open_database
    from kiosk.enrollment.draft import sample_from_face
    from kiosk.store.gallery import add_samples
    from kiosk.door.video import write_video
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        sessions = open_database(url)
        with sessions.begin() as session:
            add_samples(session, "sample", [sample_from_face(enrolled, None)], ctx.engine.model_name)
        engine_of(sessions).dispose()
        video = write_video(Path(tmp) / "door.avi", [letterbox(person, (640, 360))] * 10)
        command = [sys.executable, "-m", "ui.cli", "--db", url, "--model-dir", str(ctx.model_dir),
                   "--json", "replay", str(video)]
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=paths.PACKAGE_DIR.parent)
        elapsed = None
        for line in proc.stdout:
            if any(f["name"] == "sample" for f in json.loads(line)["faces"]):
                elapsed = time.perf_counter() - start
                break
        proc.kill()
        proc.wait()
    if elapsed is None:
        raise RuntimeError("startup bench: the enrolled face was never recognised")
    return round(elapsed, 2)


def _peer_fps(clip: list[np.ndarray]) -> float | None:
    """face_recognition (dlib HOG detector + ResNet encoder) on the same clip,
    the peer a user would otherwise pick; None when it is not installed
    (pip install -e '.[peer]')."""
    try:
        import face_recognition
    except ImportError:
        return None
    face_recognition.face_encodings(clip[0])  # warm-up
    start = time.perf_counter()
    for rgb in clip:
        face_recognition.face_encodings(rgb, face_recognition.face_locations(rgb))
    return round(len(clip) / (time.perf_counter() - start), 1)
