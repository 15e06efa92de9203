"""The admin panel: enroll, people, access rules, access log and settings tabs over one kiosk."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QTabWidget, QVBoxLayout, QWidget

from kiosk.context import KioskContext
from kiosk.door.video import Frame
from ui.admin.access_tab import AccessTab
from ui.admin.enroll_tab import EnrollTab
from ui.admin.log_tab import LogTab
from ui.admin.people_tab import PeopleTab
from ui.admin.settings_tab import SettingsTab


class AdminPanel(QDialog):
    gallery_changed = Signal()
    settings_changed = Signal(object)   # kiosk.common.config.Settings

    def __init__(self, ctx: KioskContext, config_path: Path | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Kiosk administration")
        self.resize(900, 700)
        kiosk_id = ctx.settings.kiosk_id
        self.enroll = EnrollTab(ctx, kiosk_id)
        self.people = PeopleTab(ctx.sessions, kiosk_id, ctx.spool_path.parent)
        self.access = AccessTab(ctx.sessions, kiosk_id)
        self.log = LogTab(ctx.sessions)
        self.settings = SettingsTab(ctx.settings, config_path, ctx.sessions, kiosk_id, ctx.impostor_scores)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.enroll, "Enroll")
        self.tabs.addTab(self.people, "People")
        self.tabs.addTab(self.access, "Access rules")
        self.tabs.addTab(self.log, "Access log")
        self.tabs.addTab(self.settings, "Settings")
        QVBoxLayout(self).addWidget(self.tabs)

        for changed in (self.enroll.gallery_changed, self.people.gallery_changed, self.access.gallery_changed):
            changed.connect(self.gallery_changed)
        self.enroll.gallery_changed.connect(self.people.refresh)
        for changed in (self.enroll.gallery_changed, self.people.gallery_changed):
            changed.connect(lambda: self.access.refresh())   # its people, their names
        self.people.add_samples_requested.connect(self._add_samples_to)
        self.settings.settings_changed.connect(self.settings_changed)

    def show_frame(self, frame: Frame) -> None:
        if self.tabs.currentWidget() is self.enroll:
            self.enroll.show_frame(frame)

    def _add_samples_to(self, name: str) -> None:
        self.enroll.start_for(name)
        self.tabs.setCurrentWidget(self.enroll)
