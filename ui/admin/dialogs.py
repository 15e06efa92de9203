"""The admin panel's questions to the admin: one way to ask before a change."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def ask_yes(parent: QWidget, title: str, question: str) -> bool:
    """Yes or No, No by default: Enter on a question never deletes or opens anything."""
    answer = QMessageBox.question(parent, title, question,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes
