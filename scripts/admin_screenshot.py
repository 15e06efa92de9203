"""docs/admin.png: the admin panel's Enroll tab in a real window, with the demo's
gallery: three snapshots accepted, a fourth (the empty doorway) refused.
Run by scripts/screenshot.sh under Xvfb."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication

from kiosk.common.config import PROJECT_DIR, Settings, model_dir
from kiosk.context import KioskContext
from kiosk.demo.build import FPS, build_demo
from kiosk.vision.engine import FaceEngine
from kiosk.door.video import VideoSource
from ui.admin.panel import AdminPanel
from ui.fonts import ensure_cjk_font

BIDEN_STANDING = int(2 * 4 * FPS) + int(3 * FPS)   # third visit, after 1 s empty + 1.5 s walking in + 0.5 s


def main(out: Path) -> None:
    app = QApplication(sys.argv[:1])
    ensure_cjk_font(app)
    with tempfile.TemporaryDirectory() as tmp:
        engine = FaceEngine.load(model_dir())
        demo = build_demo(Path(tmp), engine)
        ctx = KioskContext(Settings(kiosk_id="demo"), demo.db_url, model_dir(), engine=engine)
        with VideoSource(demo.video) as source:
            frames = list(source.frames())
        panel = AdminPanel(ctx, None)
        panel.resize(1000, 760)
        panel.show()
        enroll = panel.enroll
        enroll.name_edit.setText("Joe Biden")
        for frame in frames[BIDEN_STANDING:BIDEN_STANDING + 3]:
            enroll.show_frame(frame)
            enroll.take_snapshot()
        enroll.show_frame(frames[0])          # the empty doorway
        enroll.take_snapshot()
        for _ in range(20):
            app.processEvents()
        panel.grab().save(str(out))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_DIR / "docs" / "admin.png")
