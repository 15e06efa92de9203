"""The admin panel's settings: the recognition and door options an admin may tune."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from string import Formatter

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QLineEdit,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from kiosk.store import admin_auth
from kiosk.common import config
from kiosk.common.config import Settings, settings_problem
from kiosk.store.gallery import count_people
from kiosk.vision.operating_point import ImpostorScores, operating_point

# The stranger odds an admin picks from (the setting `fpir`).
FPIR_CHOICES = (0.01, 0.003, 0.001, 0.0001)

# What each liveness mode (kiosk.door.liveness) means to the person at the door.
LIVENESS_CHOICES = {
    "passive": "Check the head moves; ask for a head turn when it has not",
    "challenge": "Always ask for a head turn",
    "off": "Off: a photo of a member opens the door",
}
LIVENESS_OFF_WARNING = "Liveness is off: a printed photo or a phone screen of a member is let in."

PREVIEW_NAME = "Zoë"  # a non-ASCII name, so the preview shows the template copes


def greeting_error(template: str) -> str | None:
    """Why a greeting template cannot be used, or None. Only {name} may be filled in:
    the door formats it with name= alone."""
    try:
        fields = {field for _, field, _, _ in Formatter().parse(template) if field is not None}
        template.format(name=PREVIEW_NAME)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        fields = None
    if fields != {"name"}:
        return "the greeting must contain {name} and no other {…} field"
    return None


def describe_changes(old: Settings, new: Settings) -> str:
    """The audit trail's detail: each changed setting, old -> new."""
    return "; ".join(f"{f.name}: {getattr(old, f.name)!r} -> {getattr(new, f.name)!r}"
                     for f in dataclasses.fields(Settings) if getattr(old, f.name) != getattr(new, f.name))


def _spin(low: float, high: float, step: float, decimals: int, value: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(singleStep=step, decimals=decimals)
    spin.setRange(low, high)  # before the value, which would otherwise be clamped to 0-99.99
    spin.setValue(value)
    return spin


def _count(value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(1, 15)
    spin.setValue(value)
    return spin


class SettingsTab(QWidget):
    """Edits `settings`; `save()` writes the config file and the audit trail, then emits
    settings_changed(new Settings). Refusals and write errors show in `message` and
    leave `settings` (and the file) as they were."""

    settings_changed = Signal(object)

    def __init__(self, settings: Settings, config_path: Path | None, sessions: sessionmaker,
                 kiosk_id: str, scores: ImpostorScores | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self._scores = scores or ImpostorScores.shipped()   # the kiosk's: the site's may make it stricter
        self._config_path, self._sessions, self._kiosk_id = config_path, sessions, kiosk_id
        self._people_enrolled = self._count_people()
        self.fpir = QComboBox()
        for rate in sorted({*FPIR_CHOICES, settings.fpir}, reverse=True):
            self.fpir.addItem(f"1 in {1 / rate:,.0f}", rate)
        self.fpir.setCurrentIndex(self.fpir.findData(settings.fpir))
        self.override = QCheckBox("Set the threshold by hand (it then ignores the gallery size)",
                                  checked=settings.threshold is not None)
        self.threshold = _spin(0.05, 1.0, 0.005, 3, settings.threshold or self._derived_threshold(settings))
        self.operating_point = QLabel(wordWrap=True)
        self.margin = _spin(0.0, 0.3, 0.01, 3, settings.margin)
        self.cooldown = _spin(0.0, 3600.0, 5.0, 1, settings.cooldown_s)
        self.cooldown.setSuffix(" s")
        self.vote_k, self.vote_n = _count(settings.vote_k), _count(settings.vote_n)
        self.greeting = QLineEdit(settings.greeting)
        self.preview = QLabel()
        self.camera = QLineEdit(settings.camera, placeholderText="0, a video file or a stream URL")
        self.mute = QCheckBox("Do not speak greetings", checked=settings.mute)
        self.liveness = QComboBox()
        for mode, words in LIVENESS_CHOICES.items():
            self.liveness.addItem(words, mode)
        self.liveness.setCurrentIndex(self.liveness.findData(settings.liveness))
        self.liveness_warning = QLabel(LIVENESS_OFF_WARNING, wordWrap=True, styleSheet="color: #c00")
        self.message = QLabel(wordWrap=True)
        self.save_button = QPushButton("Save", clicked=self.save)
        form = QFormLayout()
        for label, widget in (("Strangers named as someone", self.fpir), ("", self.override),
                              ("Match threshold", self.threshold), ("", self.operating_point),
                              ("Margin over the next person", self.margin),
                              ("Greet a person at most every", self.cooldown),
                              ("Frames that must agree (k)", self.vote_k), ("… out of the last (n)", self.vote_n),
                              ("Greeting", self.greeting), ("", self.preview), ("Camera", self.camera),
                              ("", self.mute), ("Photos and screens", self.liveness),
                              ("", self.liveness_warning)):
            form.addRow(label, widget)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.save_button)
        layout.addStretch()
        self.greeting.textChanged.connect(self._update_preview)
        self._update_preview()
        for changed in (self.fpir.currentIndexChanged, self.override.toggled, self.threshold.valueChanged):
            changed.connect(self._update_operating_point)
        self._update_operating_point()
        self.liveness.currentIndexChanged.connect(self._update_liveness_warning)
        self._update_liveness_warning()

    def _update_liveness_warning(self) -> None:
        self.liveness_warning.setVisible(self.liveness.currentData() == "off")

    def edited(self) -> tuple[Settings | None, str | None]:
        """The settings the form holds, or None and why they cannot be used."""
        if self.vote_k.value() > self.vote_n.value():
            return None, "k frames cannot be more than the last n frames"
        if error := greeting_error(self.greeting.text()):
            return None, error
        if not self.camera.text().strip():
            return None, "the camera needs a source (0 is the first camera)"
        new = self.settings.replace(
            fpir=self.fpir.currentData(),
            threshold=round(self.threshold.value(), 3) if self.override.isChecked() else None,
            margin=round(self.margin.value(), 3),
            cooldown_s=self.cooldown.value(), vote_k=self.vote_k.value(), vote_n=self.vote_n.value(),
            greeting=self.greeting.text(), camera=self.camera.text().strip(),
            mute=self.mute.isChecked(), liveness=self.liveness.currentData())
        if problem := settings_problem(new):
            return None, problem
        return new, None

    def _derived_threshold(self, settings: Settings) -> float:
        return operating_point(settings.replace(threshold=None), self._people_enrolled, self._scores).threshold

    def _count_people(self) -> int:
        try:
            with self._sessions.begin() as session:
                return count_people(session, self._scores.model_name)
        except OperationalError:
            return 1   # the database is away: describe a one-person gallery

    def _update_operating_point(self) -> None:
        self.threshold.setEnabled(self.override.isChecked())
        form = self.settings.replace(
            fpir=self.fpir.currentData(),
            threshold=round(self.threshold.value(), 3) if self.override.isChecked() else None)
        if not self.override.isChecked():
            self.threshold.blockSignals(True)
            self.threshold.setValue(self._derived_threshold(form))
            self.threshold.blockSignals(False)
        point = operating_point(form, self._people_enrolled, self._scores)
        self.operating_point.setText(point.describe())

    def save(self) -> bool:
        new, error = self.edited()
        if new is None:
            return self._show(error, ok=False)
        changes = describe_changes(self.settings, new)
        if not changes:
            self._show("nothing changed", ok=True)
            return False
        try:
            with self._sessions.begin() as session:
                admin_auth.record_action(session, self._kiosk_id, "settings", changes)
                # The audit row goes in first, so a database that refuses it stops the
                # save before the file changes; a file that cannot be written rolls it back.
                session.flush()
                config.save_settings(new, self._config_path)
        except OSError as exc:
            return self._show(f"could not save the settings: {exc.strerror or exc}", ok=False)
        except OperationalError as exc:
            return self._show(f"the gallery database refused the change ({exc.orig})", ok=False)
        self.settings = new
        self.settings_changed.emit(new)
        return self._show("saved", ok=True)

    def _show(self, text: str, ok: bool) -> bool:
        self.message.setStyleSheet("" if ok else "color: #c00")
        self.message.setText(text)
        return ok

    def _update_preview(self) -> None:
        error = greeting_error(self.greeting.text())
        self.preview.setText(error or self.greeting.text().format(name=PREVIEW_NAME))
        self.preview.setStyleSheet("color: #c00" if error else "")
