"""The installed `kiosk` command: the engine's command line, plus what the Qt
shell adds (the kiosk window's `run` is the next step, issue 7)."""

from __future__ import annotations

import sys

from kiosk import cli

# Commands that need Qt register here, so the engine (kiosk/) never imports it.
UI_COMMANDS: dict = {}


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, extra_commands=UI_COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
