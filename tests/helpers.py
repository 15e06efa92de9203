"""Where the tests find the real models and photos (shared by conftest and the test modules)."""

from __future__ import annotations

import sqlite3
import time
import wave
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sqlalchemy import event

from kiosk.store.db import engine_of

PROJECT_DIR = Path(__file__).resolve().parent.parent


TEST_FACES_DIR = PROJECT_DIR / "tests" / "data" / "faces"


class FakeSpeaker:
    """Stands in for kiosk.door.speech.Speaker where a test is about something else
    (speech itself is tested in test_speech.py): keeps what the door would say."""

    def __init__(self):
        self.said: list[str] = []
        self.muted = False

    def say(self, text: str) -> bool:
        self.said.append(text)
        return True

    def close(self) -> None:
        pass


def impatient(sessions):
    """The kiosk's connections wait up to 5 s for a lock (busy_timeout 5000);
    these give up after 50 ms, so a locked database fails quickly."""
    engine = engine_of(sessions)

    @event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    engine.dispose()   # reconnect, through the listener, from now on
    return sessions


@contextmanager
def write_locked(db_url: str):
    """Another program holding the database's write lock (an open BEGIN EXCLUSIVE)."""
    other = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=0.05, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def wav_rms(path) -> tuple[float, float]:
    """(seconds, RMS of the samples scaled to -1..1) of a 16-bit WAV."""
    with wave.open(str(path)) as wav:
        frames = wav.readframes(wav.getnframes())
        seconds = wav.getnframes() / wav.getframerate()
        assert wav.getsampwidth() == 2
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768
    return seconds, float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0


def wait_for(condition, timeout: float = 15.0) -> bool:
    """Poll `condition` until it holds or `timeout` passes (what another thread,
    process or broker does arrives in its own time); its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def png_declaring(path, width: int, height: int):
    """A small PNG whose header declares width x height (its pixel data is one
    compressed empty row: whoever decodes it allocates the whole image first)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)   # 8-bit grayscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1))) + chunk(b"IEND", b""))
    return path
