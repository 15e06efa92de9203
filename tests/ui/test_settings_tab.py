"""ui.admin.settings_tab: saving to a real JSON file, audited in a real SQLite file."""

import numpy as np
import pytest
from sqlalchemy import select

from kiosk.common.config import Settings, load_settings
from kiosk.store.db import AdminAction
from kiosk.vision.engine import PIPELINE_NAME
from kiosk.store.gallery import NewSample, add_samples
from ui.admin.settings_tab import SettingsTab


@pytest.fixture
def config_file(tmp_path):
    return tmp_path / "kiosk.json"


@pytest.fixture
def make_tab(qtbot, sessions):
    def make(path, settings=Settings()) -> SettingsTab:
        tab = SettingsTab(settings, path, sessions, "door-1")
        qtbot.addWidget(tab)
        return tab
    return make


def actions(sessions) -> list[tuple[str, str]]:
    with sessions.begin() as s:
        return [(a.action, a.detail) for a in s.scalars(select(AdminAction))]


def test_form_starts_from_the_settings_and_previews_the_greeting(make_tab, config_file):
    tab = make_tab(config_file, Settings(threshold=0.7, greeting="Hello {name}!"))
    assert tab.threshold.value() == pytest.approx(0.7) and tab.override.isChecked()
    assert tab.preview.text() == "Hello Zoë!"
    assert "set by hand" in tab.operating_point.text()


def test_the_operating_point_is_shown_in_words_and_follows_the_odds(make_tab, config_file, sessions):
    tab = make_tab(config_file)
    assert not tab.override.isChecked() and not tab.threshold.isEnabled()
    # An empty gallery is described as one person, at the 1:1 ceiling.
    assert tab.operating_point.text().startswith("1 person: a stranger is named as someone about 1 time in 10,000")
    rng = np.random.default_rng(0)
    with sessions.begin() as session:
        for i in range(500):
            vector = rng.normal(size=128).astype(np.float32)
            add_samples(session, f"person {i}", [NewSample(vector / np.linalg.norm(vector), b"", 1.0)],
                        PIPELINE_NAME)
    tab = make_tab(config_file)
    assert tab.operating_point.text().startswith("500 people: a stranger is named as someone about 1 time in 100 ")
    loose = tab.threshold.value()
    tab.fpir.setCurrentIndex(tab.fpir.findData(0.0001))
    assert "about 1 time in 10,000" in tab.operating_point.text() and tab.threshold.value() < loose


def test_save_writes_the_file_records_and_emits(qtbot, make_tab, config_file, sessions):
    tab = make_tab(config_file)
    tab.override.setChecked(True)
    tab.threshold.setValue(0.62)
    tab.vote_n.setValue(5)
    tab.vote_k.setValue(3)
    tab.greeting.setText("Hi {name}")
    tab.mute.setChecked(True)
    with qtbot.waitSignal(tab.settings_changed, timeout=2000) as signal:
        assert tab.save()
    expected = Settings(threshold=0.62, vote_k=3, vote_n=5, greeting="Hi {name}", mute=True)
    assert signal.args == [expected]
    assert load_settings(config_file) == expected == tab.settings
    [(action, detail)] = actions(sessions)
    assert action == "settings" and "threshold: None -> 0.62" in detail and "mute" in detail
    assert "margin" not in detail


@pytest.mark.parametrize("edit, says", [
    (lambda tab: (tab.vote_k.setValue(4), tab.vote_n.setValue(3)), "more than"),
    (lambda tab: tab.greeting.setText("Welcome!"), "{name}"),
    (lambda tab: tab.greeting.setText("Welcome {name} {door}"), "{name}"),
    (lambda tab: tab.greeting.setText("Welcome {name.title.x}"), "{name}"),
    (lambda tab: tab.greeting.setText("Welcome {name} {name.upper}"), "{name}"),  # formats, as garbage
])
def test_invalid_input_is_refused_without_writing(qtbot, make_tab, config_file, sessions, edit, says):
    tab = make_tab(config_file)
    tab.override.setChecked(True)
    tab.threshold.setValue(0.62)
    edit(tab)
    with qtbot.assertNotEmitted(tab.settings_changed):
        assert not tab.save()
    assert says in tab.message.text()
    assert not config_file.exists() and actions(sessions) == [] and tab.settings == Settings()


def test_unwritable_config_keeps_the_old_settings(qtbot, make_tab, tmp_path, sessions):
    tab = make_tab(tmp_path / "missing-dir" / "kiosk.json")
    tab.override.setChecked(True)
    tab.threshold.setValue(0.62)
    with qtbot.assertNotEmitted(tab.settings_changed):
        assert not tab.save()
    assert "could not save" in tab.message.text()
    assert tab.settings == Settings() and actions(sessions) == []  # the audit row rolled back


def test_liveness_is_chosen_in_words_and_off_is_warned_about(qtbot, make_tab, config_file, sessions):
    tab = make_tab(config_file)
    tab.show()
    assert tab.liveness.currentData() == "passive" and not tab.liveness_warning.isVisible()
    tab.liveness.setCurrentIndex(tab.liveness.findData("off"))
    assert tab.liveness_warning.isVisible() and "photo" in tab.liveness_warning.text()
    with qtbot.waitSignal(tab.settings_changed) as saved:
        assert tab.save()
    assert saved.args[0].liveness == "off" and load_settings(config_file).liveness == "off"
    assert actions(sessions) == [("settings", "liveness: 'passive' -> 'off'")]
    tab.liveness.setCurrentIndex(tab.liveness.findData("challenge"))
    assert not tab.liveness_warning.isVisible()

