"""ui.admin.settings_tab: saving to a real JSON file, audited in a real SQLite file."""

import pytest
from sqlalchemy import select

from kiosk.config import Settings, load_settings
from kiosk.db import AdminAction, open_database
from ui.admin.settings_tab import SettingsTab


@pytest.fixture
def sessions(db_url):
    return open_database(db_url)


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
    assert tab.threshold.value() == pytest.approx(0.7)
    assert tab.preview.text() == "Hello Zoë!"
    assert "0.669" in " ".join(label.text() for label in tab.findChildren(type(tab.preview)))


def test_save_writes_the_file_records_and_emits(qtbot, make_tab, config_file, sessions):
    tab = make_tab(config_file)
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
    assert action == "settings" and "threshold: 0.669 -> 0.62" in detail and "mute" in detail
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
    tab.threshold.setValue(0.62)
    edit(tab)
    with qtbot.assertNotEmitted(tab.settings_changed):
        assert not tab.save()
    assert says in tab.message.text()
    assert not config_file.exists() and actions(sessions) == [] and tab.settings == Settings()


def test_unwritable_config_keeps_the_old_settings(qtbot, make_tab, tmp_path, sessions):
    tab = make_tab(tmp_path / "missing-dir" / "kiosk.json")
    tab.threshold.setValue(0.62)
    with qtbot.assertNotEmitted(tab.settings_changed):
        assert not tab.save()
    assert "could not save" in tab.message.text()
    assert tab.settings == Settings() and actions(sessions) == []  # the audit row rolled back
