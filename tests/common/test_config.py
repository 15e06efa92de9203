"""Settings files: what loads, and the one-line refusals for what does not."""

from __future__ import annotations

import json

import pytest

from kiosk.common.config import ConfigError, Settings, load_settings, save_settings


def write(path, values) -> None:
    path.write_text(json.dumps(values), encoding="utf-8")


def test_saved_settings_load_back(tmp_path):
    path = tmp_path / "kiosk.json"
    save_settings(Settings(threshold=0.6, greeting="歡迎, {name}", vote_k=3, vote_n=4), path)
    loaded = load_settings(path)
    assert (loaded.threshold, loaded.greeting, loaded.vote_k, loaded.vote_n) == (0.6, "歡迎, {name}", 3, 4)


def test_a_whole_number_is_accepted_for_a_decimal_setting(tmp_path):
    write(tmp_path / "k.json", {"cooldown_s": 10})
    assert load_settings(tmp_path / "k.json").cooldown_s == 10.0


@pytest.mark.parametrize("values, words", [
    ({"threshold": "0.7"}, "threshold must be float or null"),
    ({"vote_k": 4, "vote_n": 3}, "vote_k must be at most vote_n"),
    ({"threshold": 5}, r"threshold must be between 0.05 and 1, not 5.0"),
    ({"threshold": -1}, r"threshold must be between 0.05 and 1, not -1.0"),
    ({"margin": 3}, r"margin must be between 0 and 0.3, not 3.0"),
    ({"fpir": 0.5}, r"fpir must be between 1e-06 and 0.1"),
    ({"min_face_size": 0}, r"min_face_size must be between 12 and 1000, not 0"),
    ({"cooldown_s": -5}, r"cooldown_s must be between 0 and 86400"),
    ({"greeting": "Hello"}, r"greeting must contain \{name\}"),
    ({"mute": 1}, "mute must be bool"),
    ({"treshold": 0.5}, "unknown setting"),
    ({"snapshot_retention_days": 0}, r"snapshot_retention_days must be between 1 and 3650, not 0"),
    ({"snapshot_retention_days": 3651}, r"snapshot_retention_days must be between 1 and 3650, not 3651"),
    ({"snapshot_retention_days": 7.5}, "snapshot_retention_days must be int"),
    ({"liveness": "blink"}, "liveness must be one of passive, challenge, off, not 'blink'"),
    ({"liveness": False}, "liveness must be str"),
    ([1, 2], "JSON object"),
    ({"door": {"type": "gpio", "pin": 17, "open_seconds": 0.5}}, r"door.open_seconds must be between 1 and 30, not 0.5"),
    ({"door": {"type": "gpio", "pin": 17, "open_seconds": 31}}, r"door.open_seconds must be between 1 and 30, not 31.0"),
    ({"door": {"type": "gpio"}}, r"door.pin is needed for a gpio door"),
    ({"door": {"type": "gpio", "pin": 40}}, r"door.pin must be between 0 and 27, not 40"),
    ({"door": {"type": "gpio", "pin": "17"}}, r"door.pin must be int or null, not '17'"),
    ({"door": {"type": "relay"}}, r"door.type must be one of none, gpio, command, serial, webhook, mqtt, not 'relay'"),
    ({"door": {"type": "command"}}, r"door.command is needed for a command door"),
    ({"door": {"type": "command", "command": "open-door.sh"}}, r"door.command must be a list of strings"),
    ({"door": {"type": "serial"}}, r"door.port is needed for a serial door"),
    ({"door": {"type": "serial", "port": "/dev/ttyUSB0", "on_hex": "A0 0Z"}}, r"door.on_hex must be bytes in hex"),
    ({"door": {"type": "webhook", "url": "door.lan/open", "secret": "s" * 16}}, r"door.url must be http://host/path"),
    ({"door": {"type": "webhook", "url": "https://door.lan/open", "secret": "short"}},
     r"door.secret must be at least 16 characters"),
    ({"door": {"tpye": "gpio"}}, r"unknown setting\(s\) door.tpye"),
    ({"door": "gpio"}, r"door must be an object, not 'gpio'"),
    ({"mqtt": {"url": "http://broker:1883"}}, r"mqtt.url must be mqtt://host:port or mqtts://host:port"),
    ({"mqtt": {"url": "mqtt://broker:port"}}, r"mqtt.url must be mqtt://host:port"),
    ({"mqtt": {}}, r"mqtt.url must be mqtt://host:port"),
    ({"mqtt": {"url": "mqtt://b:1883", "tls": "yes"}}, r"mqtt.tls must be bool, not 'yes'"),
    ({"mqtt": {"url": "mqtt://b:1883"}, "kiosk_id": "hall/1"}, r"kiosk_id must not contain /, \+ or # with mqtt on"),
])
def test_a_bad_settings_file_is_refused_with_the_reason(tmp_path, values, words):
    write(tmp_path / "k.json", values)
    with pytest.raises(ConfigError, match=words):
        load_settings(tmp_path / "k.json")


def test_nan_is_refused(tmp_path):
    (tmp_path / "k.json").write_text('{"threshold": NaN}', encoding="utf-8")
    with pytest.raises(ConfigError, match="threshold must be between 0.05 and 1, not nan"):
        load_settings(tmp_path / "k.json")


def test_the_default_threshold_is_derived_and_null_clears_an_override(tmp_path):
    assert Settings().threshold is None
    write(tmp_path / "k.json", {"threshold": None})
    assert load_settings(tmp_path / "k.json").threshold is None


def test_the_door_and_broker_sections_load_and_save_back(tmp_path):
    from kiosk.common.config import DoorSettings, MqttSettings
    assert Settings().door == DoorSettings(type="none", open_seconds=3.0) and Settings().mqtt is None
    write(tmp_path / "k.json", {"door": {"type": "command", "command": ["/usr/local/bin/open-door", "--hall"],
                                         "open_seconds": 5},
                                "mqtt": {"url": "mqtts://broker.lan:8883", "username": "kiosk", "password": "pw"}})
    loaded = load_settings(tmp_path / "k.json")
    assert loaded.door == DoorSettings(type="command", command=("/usr/local/bin/open-door", "--hall"), open_seconds=5.0)
    assert loaded.mqtt == MqttSettings(url="mqtts://broker.lan:8883", username="kiosk", password="pw")
    save_settings(loaded, tmp_path / "saved.json")
    assert load_settings(tmp_path / "saved.json") == loaded
    assert json.loads((tmp_path / "saved.json").read_text())["door"] == \
        {"type": "command", "command": ["/usr/local/bin/open-door", "--hall"], "open_seconds": 5.0}


def test_liveness_is_on_by_default_and_off_only_when_asked(tmp_path):
    assert Settings().liveness == "passive"
    write(tmp_path / "k.json", {"liveness": "off"})
    assert load_settings(tmp_path / "k.json").liveness == "off"
