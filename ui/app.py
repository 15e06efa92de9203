"""`kiosk run`: the kiosk window, from the command line's arguments."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from kiosk.cli.commands import UsageError, warn_if_liveness_off
from kiosk.context import KioskContext
from kiosk.store.db_url import shown
from kiosk.door.speech import Speaker
from kiosk.door.video import require_file
from ui.fonts import ensure_cjk_font
from ui.kiosk_window import KioskWindow


def cmd_run(ctx: KioskContext, args) -> int:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        # Qt would abort the process with a page of plugin errors instead.
        raise UsageError("no display to open the kiosk window on: run it on the door's screen, "
                         "or on a headless machine under `xvfb-run -a`")
    # The engine's threads (speech, log writer, gallery sync) report known
    # trouble through logging: one line each on stderr.
    logging.basicConfig(format="kiosk run: %(message)s", level=logging.WARNING)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    ensure_cjk_font(app)
    with tempfile.TemporaryDirectory(prefix="kiosk-demo-") as demo_dir:
        source, loop, config = args.source or ctx.settings.camera, args.loop, args.config
        if args.demo:
            ctx, source, loop = *_demo(ctx, Path(demo_dir)), True
            # What the demo's admin panel saves stays with the demo, not in this machine's settings.
            config = Path(demo_dir) / "kiosk.json"
        require_file(source)  # a camera is retried for ever; a missing file is a typo
        print(f"kiosk run: gallery {shown(ctx.db_url)}", file=sys.stderr)
        warn_if_liveness_off(ctx.settings, "kiosk run")
        speaker = Speaker(muted=args.mute or ctx.settings.mute)
        window = KioskWindow(ctx, source, speaker, loop_files=loop, show_stats=args.stats,
                             stats_window_s=args.duration or 10.0, config_path=config, demo=args.demo)
        if args.windowed:
            window.resize(1024, 700)
            window.show()
        else:
            # Without a window manager (a bare X server at a door) fullscreen
            # alone keeps the default size; the screen's geometry is explicit.
            window.setGeometry(app.primaryScreen().geometry())
            window.showFullScreen()
        window.start()
        if args.screenshot:
            _screenshot_at_first_greeting(window, args.screenshot)
        if args.duration:
            QTimer.singleShot(int(args.duration * 1000), window.close)
        stop_on_signals(app)
        try:
            app.exec()
        finally:
            window.stop()   # the door output switched off, "offline" to the broker
            speaker.close()
            ctx.close()     # the demo's before its folder goes (closing the kiosk's own twice is harmless)
        if args.report:
            _write_report(window, args.report)
    return 0


def stop_on_signals(app: QApplication) -> None:
    """SIGTERM (systemd, kill) and SIGINT end the event loop, so the window
    stops cleanly: Python's default SIGTERM would exit without switching the
    door output off. Qt's loop lets Python run the handler only when Python
    code runs: a timer gives it the chance four times a second."""
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: app.quit())
    app._signal_timer = QTimer(app, interval=250)   # kept with the app
    app._signal_timer.timeout.connect(lambda: None)
    app._signal_timer.start()


def _demo(ctx: KioskContext, folder: Path) -> tuple[KioskContext, str]:
    """A throw-away gallery with the bundled sample people, and their clip."""
    from kiosk.demo.build import build_demo, demo_settings
    demo = build_demo(folder, ctx.engine)
    print(f"demo: {', '.join(demo.members)} enrolled in a throw-away gallery; "
          "a stranger visits too", file=sys.stderr)
    # Liveness off and no lock (demo_settings); the window says both.
    demo_ctx = KioskContext(demo_settings(ctx.settings), demo.db_url, ctx.model_dir, engine=ctx.engine,
                          settings_file=ctx.settings_file)
    return demo_ctx, str(demo.video)


def _screenshot_at_first_greeting(window: KioskWindow, path: Path) -> None:
    def on_banner(kind: str, _text: str) -> None:
        if kind == "granted" and not taken:
            taken.append(path)
            # after the banner, face frame and stats overlay have been painted
            QTimer.singleShot(700, lambda: window.grab().save(str(path)))
    taken: list[Path] = []
    window.banner_changed.connect(on_banner)


def _write_report(window: KioskWindow, target: Path) -> None:
    """The run's figures as JSON (--report): what `--stats` showed, over the whole run."""
    snapshot = window.stats.snapshot()
    figures = {**snapshot.__dict__, "greet_latencies_s": [round(s, 3) for s in window.stats.greet_latencies_s]}
    text = json.dumps(figures, indent=2)
    if str(target) == "-":
        print(text)
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")
