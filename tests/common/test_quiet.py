"""Commands say what they did and nothing else: no LiteRT start-up line on
every command, no TensorFlow logs when models are in place."""

from __future__ import annotations

import os
import subprocess
import sys

from kiosk.common import quiet
from helpers import PROJECT_DIR


def kiosk_process(*args, env=None) -> subprocess.CompletedProcess:
    """`kiosk ARGS` in a new process: LiteRT logs its line once a process."""
    return subprocess.run([sys.executable, "-m", "ui.cli", *map(str, args)], cwd=PROJECT_DIR,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=120)


def test_identify_prints_its_answer_and_no_litert_line(tmp_path, model_dir, faces_dir):
    done = kiosk_process("--db", f"sqlite:///{tmp_path / 'g.db'}", "--model-dir", model_dir,
                         "identify", faces_dir / "scenes" / "two_people.jpg")
    assert done.returncode == 0 and done.stdout.endswith("two_people.jpg: unknown, unknown\n")
    assert done.stderr == ""


def test_fetch_model_says_nothing_when_the_models_are_in_place(model_dir):
    done = kiosk_process("fetch-model", "--quiet", "--model-dir", model_dir)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_litert_line_is_dropped_and_everything_else_kept(capfd, model_dir, monkeypatch):
    class Interpreter:   # writes as LiteRT does, from below Python
        def allocate_tensors(self):
            os.write(2, f"{quiet.XNNPACK_CHATTER}\nsomething worth seeing\n".encode())
    monkeypatch.setattr(quiet, "_chatter_seen", False)
    quiet.allocate_tensors(Interpreter())
    assert capfd.readouterr() == ("", "something worth seeing\n")
    assert quiet._chatter_seen
    os.write(2, b"after\n")   # stderr is back
    assert capfd.readouterr().err == "after\n"
