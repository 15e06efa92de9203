"""Names in any script: the bundled font covers Chinese, so 胡歌 never shows as boxes."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics, QImage, QPainter, QColor
from PySide6.QtCore import Qt

from ui.fonts import load_bundled_cjk_font


def test_the_bundled_font_has_the_glyphs_of_a_chinese_name(qapp):
    family = load_bundled_cjk_font()
    assert family
    assert QFontDatabase.WritingSystem.SimplifiedChinese in QFontDatabase.writingSystems(family)
    metrics = QFontMetrics(QFont(family, 24))
    assert all(metrics.inFontUcs4(ord(ch)) for ch in "胡歌Zoë")


def test_a_chinese_name_draws_distinct_glyphs(qapp):
    """Two different characters must not draw the same (missing-glyph) box."""
    family = load_bundled_cjk_font()

    def draw(text: str) -> QImage:
        image = QImage(80, 60, QImage.Format.Format_Grayscale8)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.setFont(QFont(family, 28))
        painter.drawText(image.rect(), Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
        return image

    hu, ge = draw("胡"), draw("歌")
    assert hu != ge
    blank = QImage(80, 60, QImage.Format.Format_Grayscale8)
    blank.fill(QColor("white"))
    assert hu != blank
