"""The installed `kiosk` command: the engine's command line, plus what the Qt
shell adds (`run`, the kiosk window)."""

from __future__ import annotations

import sys

from kiosk.cli import parser as cli


def _run(ctx, args) -> int:
    from ui.app import cmd_run  # Qt loads only for the window, not for `kiosk people`
    return cmd_run(ctx, args)


# Commands that need Qt register here, so the engine (kiosk/) never imports it.
UI_COMMANDS: dict = {"run": _run}


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, extra_commands=UI_COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
