"""Names in any script: the bundled CJK font joins the fallbacks when the
system has no font for Chinese (a fresh minimal install has none)."""

from __future__ import annotations

import logging

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from kiosk.common.paths import resources_dir

BUNDLED_CJK_FONT = resources_dir() / "fonts" / "DroidSansFallbackFull.ttf"
log = logging.getLogger("kiosk.ui")


def ensure_cjk_font(app: QApplication) -> str | None:
    """The family added to the application font's fallbacks, or None when the
    system already covers Chinese."""
    if QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese):
        return None
    family = load_bundled_cjk_font()
    if family is None:
        log.warning("%s could not be loaded; Chinese names may show as boxes", BUNDLED_CJK_FONT)
        return None
    font = QFont(app.font())
    font.setFamilies([app.font().family(), family])
    app.setFont(font)
    return family


def load_bundled_cjk_font() -> str | None:
    """Register resources/fonts' CJK font with Qt; its family name, or None."""
    font_id = QFontDatabase.addApplicationFont(str(BUNDLED_CJK_FONT))
    return QFontDatabase.applicationFontFamilies(font_id)[0] if font_id >= 0 else None
