"""A door opened by a program of the site's own (a Shelly's HTTP call, a PLC, a
script): run once to open, once to close, with JSON on stdin."""

from __future__ import annotations

import json
import subprocess

from kiosk.outputs.door_output import MessageRelay

TIMEOUT_S = 10.0


class CommandFailed(RuntimeError):
    pass


class CommandRelay(MessageRelay):
    """The program gets {"action": "open", "seconds": float, "event": {...}} on a
    grant and {"action": "close"} after the open time, at start and at exit.
    A non-zero exit, or no exit within TIMEOUT_S, is a failure."""

    def __init__(self, argv: tuple[str, ...]):
        self.argv = list(argv)

    def send(self, message: dict) -> None:
        try:
            done = subprocess.run(self.argv, input=json.dumps(message).encode("utf-8"),
                                  capture_output=True, timeout=TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CommandFailed(f"{self.argv[0]}: {exc}") from exc
        if done.returncode != 0:
            words = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise CommandFailed(f"{self.argv[0]} exited {done.returncode}" + (f": {words[-1]}" if words else ""))
