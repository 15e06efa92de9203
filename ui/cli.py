"""The installed `kiosk` command: the engine's command line plus `run`, the window."""

from __future__ import annotations

import sys

from kiosk import cli


def cmd_run(ctx, args) -> int:
    from ui.app import run_kiosk  # PySide6 loads only for the window
    return run_kiosk(ctx, args)


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, extra_commands={"run": cmd_run})


if __name__ == "__main__":
    sys.exit(main())
