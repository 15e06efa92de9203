"""`kiosk bench` figures for the door as it runs: time to greet and idle CPU.

Both run the kiosk's own door (kiosk.door.runtime.DoorRuntime) without the
window: a video file played at 30 fps by its capture thread (decoding like a
camera), the one-slot mailbox, and the door's thread, as the window runs them.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from kiosk.common.config import DoorSettings
from kiosk.context import KioskContext
from kiosk.door.feed import SourceEnded
from kiosk.door.presence import PresenceGate
from kiosk.door.runtime import DoorRuntime, DoorUpdate
from kiosk.door.speech import Silence
from kiosk.door.video import Frame, write_video
from kiosk.store.db import engine_of, open_database
from kiosk.store.event_writer import BackgroundWriter, EventWriter
from kiosk.vision.matcher import GalleryIndex
from kiosk.demo.walk_in import letterbox, walk_in_frames

FPS = 30
SIZE = (640, 480)
PLAY_TIMEOUT_S = 600.0   # a clip that has not ended by then never will (the capture failed)


class AlwaysRecognise(PresenceGate):
    """No idle gate: the full detector on every frame (the comparison)."""

    def should_recognise(self, now, rgb, faces_in_view) -> bool:
        return True


def _noisy(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # A camera's sensor noise, so the idle gate is not flattered by a still image.
    return np.clip(frame + rng.normal(0, 2.0, frame.shape), 0, 255).astype(np.uint8)


def _run_door(ctx: KioskContext, index: GalleryIndex, video: Path, gate: PresenceGate, cooldown_s: float):
    """Play video through the door; per frame index its capture time, and the
    greetings as (monotonic time, frame index)."""
    # The bench clip is a photo sliding in, which the liveness check never
    # grants: the time to greet is measured with it off (its own cost is
    # bench.py's liveness_ms). No lock, no broker: the bench opens no real door.
    settings = ctx.settings.replace(cooldown_s=cooldown_s, liveness="off", kiosk_id="bench",
                                    door=DoorSettings(), mqtt=None)
    captured, greetings, recognised = {}, [], []
    stop, ended = threading.Event(), threading.Event()

    def fed(item) -> None:   # the capture thread
        if isinstance(item, Frame):
            captured[item.index] = item.captured
        elif isinstance(item, SourceEnded):
            ended.set()

    def stepped(update: DoorUpdate) -> None:   # the door's thread
        recognised.append(update.recognised)
        if any(a.opens_door for a in update.announcements):
            greetings.append((time.monotonic(), update.frame_index))

    with tempfile.TemporaryDirectory() as tmp:
        log = open_database(f"sqlite:///{tmp}/bench-log.db")
        writer = BackgroundWriter(EventWriter(log))
        door = DoorRuntime(ctx.engine, settings, writer, Silence(), index=index,
                           scores=ctx.impostor_scores, source=str(video), gate=gate, on_feed=fed)
        worker = threading.Thread(target=door.run, args=(stop, stepped))
        worker.start()
        cpu0, wall0 = time.process_time(), time.monotonic()
        door.start()
        played = ended.wait(PLAY_TIMEOUT_S)
        stop.set()
        worker.join()
        door.close()
        engine_of(log).dispose()
        cpu_percent = 100 * (time.process_time() - cpu0) / (time.monotonic() - wall0)
    if not played:
        raise RuntimeError(f"door bench: {video.name} did not play to its end within {PLAY_TIMEOUT_S:.0f} s")
    return captured, greetings, recognised, cpu_percent


def greet_latency(ctx: KioskContext, index: GalleryIndex, person: np.ndarray, visits: int = 5) -> dict:
    """From the first captured frame in which the enrolled person is fully in view
    (they step in from the side, between two frames) to the greeting."""
    rng = np.random.default_rng(0)
    wall = walk_in_frames(person, size=SIZE, frames=0, empty_frames=1)[0]
    standing = letterbox(person, SIZE)
    clip, step_ins = [], []
    for _ in range(visits):
        clip += [_noisy(wall, rng) for _ in range(int(1.5 * FPS))]
        step_ins.append(len(clip))
        clip += [_noisy(standing, rng) for _ in range(2 * FPS)]
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video(Path(tmp) / "step-in.avi", clip, fps=FPS)
        captured, greetings, _, _ = _run_door(ctx, index, video, PresenceGate(), cooldown_s=0.5)
    latencies = []
    for start in step_ins:
        after = [t for t, index in greetings if start <= index < start + 2 * FPS]
        if after and start in captured:
            latencies.append(after[0] - captured[start])
    if len(latencies) != visits:
        raise RuntimeError(f"greet bench: {len(latencies)} of {visits} visits were greeted")
    return {"greet_latency_ms_median": round(1000 * float(np.median(latencies)), 1),
            "greet_latency_ms_max": round(1000 * max(latencies), 1)}


def idle_cpu(ctx: KioskContext, index: GalleryIndex, person: np.ndarray, seconds: float = 20.0) -> dict:
    """CPU of the whole process (decoding, idle gate, any recognition) over an
    empty doorway, with the gate and without it, in the same run."""
    rng = np.random.default_rng(1)
    wall = walk_in_frames(person, size=SIZE, frames=0, empty_frames=1)[0]
    clip = [_noisy(wall, rng) for _ in range(int(seconds * FPS))]
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video(Path(tmp) / "empty.avi", clip, fps=FPS)
        for label, gate in (("idle_gate", PresenceGate()), ("no_gate", AlwaysRecognise())):
            _, _, recognised, cpu = _run_door(ctx, index, video, gate, cooldown_s=30.0)
            figures[f"idle_cpu_percent_{label}"] = round(cpu, 1)
            figures[f"idle_recognised_share_{label}"] = round(float(np.mean(recognised)), 3)
    return figures


def door_figures(ctx: KioskContext, index: GalleryIndex, person: np.ndarray, idle_seconds: float) -> dict:
    """index: the gallery with the person in photo `person` enrolled."""
    return {**greet_latency(ctx, index, person), **idle_cpu(ctx, index, person, idle_seconds)}
