"""Greetings aloud: one thread owns the pyttsx3 engine and speaks from a queue,
so speaking never delays recognition."""

from __future__ import annotations

import logging
import queue
import sys
import threading
from pathlib import Path

log = logging.getLogger("kiosk.speech")

_STOP = object()


class SpeechUnavailable(RuntimeError):
    """No speech engine on this machine (e.g. libespeak-ng missing)."""


def _init_engine():
    try:
        import pyttsx3
        return pyttsx3.init()
    except Exception as exc:  # pyttsx3 raises RuntimeError, OSError or ImportError by platform
        raise SpeechUnavailable(f"speech engine unavailable ({exc.__class__.__name__}: {exc}); the kiosk stays silent") from exc


def no_sound_output(asound: Path = Path("/proc/asound")) -> str | None:
    """Why a Linux machine cannot play sound (no ALSA card), or None.

    Without a card espeak-ng still "speaks", through aplay, which prints a page
    of ALSA errors at every greeting; better one warning and a silent door.
    """
    if sys.platform != "linux":
        return None
    cards = asound / "cards"
    if not cards.exists():
        return "no sound card (no ALSA driver loaded)"
    if "no soundcards" in cards.read_text(errors="replace"):
        return "no sound card"
    return None


def render_to_wav(text: str, path: Path, voice: str | None = None) -> Path:
    """Speak text into a WAV file instead of the speakers (tests, previews)."""
    engine = _init_engine()
    if voice:
        engine.setProperty("voice", voice)
    engine.save_to_file(text, str(path))
    engine.runAndWait()
    return path


class Speaker:
    """A worker thread with the only pyttsx3 engine. say() returns at once.

    If the engine cannot start, one warning is logged and say() does nothing:
    a door with a broken speaker still opens for people.
    """

    def __init__(self, muted: bool = False, max_queue: int = 4):
        self.muted = muted
        self.available = True
        self.error: str | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kiosk-speech", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=10)

    def say(self, text: str) -> bool:
        """Queue text to speak; False when muted, unavailable or too far behind."""
        if self.muted or not self.available or not text:
            return False
        try:
            self._queue.put_nowait(text)
        except queue.Full:  # a crowd at the door: drop rather than lag behind it
            return False
        return True

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            if reason := no_sound_output():
                raise SpeechUnavailable(f"{reason}: greetings are shown, not spoken")
            engine = _init_engine()
        except SpeechUnavailable as exc:
            self.available, self.error = False, str(exc)
            log.warning("%s", exc)
            self._ready.set()
            return
        self._ready.set()
        while (text := self._queue.get()) is not _STOP:
            try:
                engine.say(text)
                engine.runAndWait()
            except Exception:
                log.exception("speaking %r failed", text)


class Silence:
    """A door that says nothing (`kiosk bench`): Speaker's interface, no engine."""

    muted = True

    def say(self, text: str) -> bool:
        return False

    def close(self) -> None:
        pass
