"""Greetings aloud: real espeak-ng speech rendered to WAV files, and a kiosk
that stays up (silent) when the speech engine is missing."""

from __future__ import annotations

import pytest

from helpers import wav_rms
from kiosk.door import speech
from kiosk.door.announcement import greeting_text


@pytest.mark.parametrize("name", ["Zoë", "胡歌", "Barack Obama"])
def test_the_greeting_renders_as_audible_speech(tmp_path, name):
    text = greeting_text("Welcome, {name}", name)
    seconds, rms = wav_rms(speech.render_to_wav(text, tmp_path / "greeting.wav"))
    assert 0.5 < seconds < 5
    assert rms > 0.01  # silence is 0; espeak-ng speech measures ~0.08 here


def test_a_longer_greeting_lasts_longer(tmp_path):
    short, _ = wav_rms(speech.render_to_wav("Welcome, Zoë", tmp_path / "a.wav"))
    long, _ = wav_rms(speech.render_to_wav("Welcome, Zoë. Have a good day at work.", tmp_path / "b.wav"))
    assert long > short + 0.5


def test_a_missing_speech_engine_is_one_warning_and_a_silent_kiosk(monkeypatch, caplog):
    def no_engine():  # stands in for a machine without libespeak-ng
        raise speech.SpeechUnavailable("speech engine unavailable (RuntimeError: no espeak-ng)")
    monkeypatch.setattr(speech, "_init_engine", no_engine)
    monkeypatch.setattr(speech, "no_sound_output", lambda: None)  # as if a sound card were there
    speaker = speech.Speaker()
    try:
        assert not speaker.available
        assert "espeak" in speaker.error
        assert speaker.say("Welcome, Zoë") is False
        assert speaker.say("Welcome, Zoë") is False
    finally:
        speaker.close()
    assert len([r for r in caplog.records if r.name == "kiosk.speech"]) == 1


def test_a_muted_speaker_says_nothing():
    speaker = speech.Speaker(muted=True)
    try:
        assert speaker.say("Welcome, Zoë") is False
    finally:
        speaker.close()


def test_a_machine_without_a_sound_card_is_told_apart(tmp_path):
    if speech.sys.platform != "linux":
        pytest.skip("reads /proc/asound, Linux only")
    assert "no ALSA driver" in speech.no_sound_output(tmp_path / "asound")
    (tmp_path / "asound").mkdir()
    (tmp_path / "asound" / "cards").write_text("--- no soundcards ---\n")
    assert speech.no_sound_output(tmp_path / "asound") == "no sound card"
    (tmp_path / "asound" / "cards").write_text(" 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n")
    assert speech.no_sound_output(tmp_path / "asound") is None
