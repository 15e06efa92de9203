"""kiosk.outputs.mqtt_reporter against a real broker: Debian's mosquitto, started on a
free loopback port, read by a real paho client."""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime

import pytest

from helpers import wait_for
from kiosk.common.config import MqttSettings
from kiosk.outputs.local_broker import LocalBroker, Listener
from kiosk.outputs.mqtt_reporter import MqttReporter

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None,
                                reason="mosquitto is not installed (scripts/setup.sh installs it)")

KIOSK = "door-7"




def message(kind: str, name: str | None, n: int = 0) -> dict:
    return {"type": kind, "name": name, "kiosk_id": KIOSK,
            "time": f"2026-12-01T08:00:{n:02d}.000+00:00", "distance": 0.31 if name else None}


@pytest.fixture
def listener(broker):
    listener = Listener(broker.url, ["kiosk/#", "homeassistant/#"])
    yield listener
    listener.close()


def test_online_retained_discovery_and_offline_on_a_clean_stop(broker, listener):
    reporter = MqttReporter(MqttSettings(url=broker.url), KIOSK)
    assert wait_for(lambda: reporter.connected and reporter.error is None)
    assert wait_for(lambda: listener.payloads(f"kiosk/{KIOSK}/availability") == [b"online"])
    assert wait_for(lambda: len([t for _, t, _, _ in listener.messages if t.endswith("/config")]) == 4)
    configs = {t: json.loads(p) for _, t, p, _ in listener.messages if t.endswith("/config")}
    assert set(configs) == {f"homeassistant/{c}/door-7/{o}/config"
                            for c, o in [("event", "access"), ("sensor", "last_person"), ("binary_sensor", "door"),
                                         ("lock", "lock")]}
    door = configs["homeassistant/binary_sensor/door-7/door/config"]
    assert (door["state_topic"], door["payload_on"], door["payload_off"], door["device_class"]) == \
        (f"kiosk/{KIOSK}/door", "open", "closed", "door")
    assert all(c["availability_topic"] == f"kiosk/{KIOSK}/availability" for c in configs.values())
    assert len({c["unique_id"] for c in configs.values()}) == 4
    lock = configs["homeassistant/lock/door-7/lock/config"]   # its state the relay's, remote unlock off
    assert (lock["state_topic"], lock["state_locked"], lock["state_unlocked"], lock["command_topic"]) == \
        (f"kiosk/{KIOSK}/door", "closed", "open", f"kiosk/{KIOSK}/lock/set")
    assert lock["icon"] == "mdi:lock-alert"
    # sent after the configs: it may still be on its way when they have all arrived
    assert wait_for(lambda: listener.payloads(f"kiosk/{KIOSK}/door") == [b"closed"])
    reporter.close()
    assert wait_for(lambda: listener.payloads(f"kiosk/{KIOSK}/availability") == [b"online", b"offline"])
    # Retained: a client that comes later learns the kiosk is offline and the HA entities.
    late = Listener(broker.url, [f"kiosk/{KIOSK}/availability", "homeassistant/#"])
    assert wait_for(lambda: len(late.messages) == 5)
    assert late.payloads(f"kiosk/{KIOSK}/availability") == [b"offline"] and all(r for *_, r in late.messages)
    late.close()


def test_each_decision_is_one_json_event_and_a_grant_names_the_last_person(broker, listener):
    reporter = MqttReporter(MqttSettings(url=broker.url), KIOSK)
    sent = [message("granted", "Zoë Müller", 1), message("denied", None, 2)]
    for m in sent:
        reporter.event(m)
    reporter.door("open")
    reporter.door("closed")
    assert wait_for(lambda: len(listener.payloads(f"kiosk/{KIOSK}/event")) == 2)
    events = [json.loads(p) for p in listener.payloads(f"kiosk/{KIOSK}/event")]
    assert events == sent
    assert datetime.fromisoformat(events[0]["time"]).utcoffset().total_seconds() == 0
    assert wait_for(lambda: listener.payloads(f"kiosk/{KIOSK}/last_person") == ["Zoë Müller".encode()])
    # (the state at connection comes too, before or after the queued ones:
    # either way the last, retained, state is the door's latest)
    assert wait_for(lambda: listener.payloads(f"kiosk/{KIOSK}/door")[-1:] == [b"closed"])
    assert b"open" in listener.payloads(f"kiosk/{KIOSK}/door")
    reporter.close()


def test_discovery_is_sent_again_when_home_assistant_comes_online(broker, listener):
    reporter = MqttReporter(MqttSettings(url=broker.url), KIOSK)
    configs = lambda: [m for m in listener.messages if m[1].endswith("/config")]
    assert wait_for(lambda: len(configs()) == 4)
    ha = Listener(broker.url, ["homeassistant/status"])
    ha.client.publish("homeassistant/status", "online", qos=1)
    assert wait_for(lambda: len(configs()) == 8)
    ha.close()
    reporter.close()


def test_the_last_will_says_offline_when_the_kiosk_dies(broker, listener):
    reporter = MqttReporter(MqttSettings(url=broker.url), KIOSK)
    assert wait_for(lambda: listener.payloads(f"kiosk/{KIOSK}/availability") == [b"online"])
    # A crash: the connection drops without a DISCONNECT packet.
    reporter.client._sock.close()
    assert wait_for(lambda: listener.payloads(f"kiosk/{KIOSK}/availability")[-1:] == [b"offline"])
    reporter.client.loop_stop()


def test_a_broker_down_never_blocks_and_loses_no_event_once_it_is_back(broker):
    # A persistent session: the broker keeps what comes while this reader is
    # away (it reconnects on its own schedule), so the test reads every event.
    listener = Listener(broker.url, [f"kiosk/{KIOSK}/event"], client_id="reader", persistent=True)
    reporter = MqttReporter(MqttSettings(url=broker.url), KIOSK)
    reporter.event(message("granted", "Before", 0))
    assert wait_for(lambda: len(listener.payloads(f"kiosk/{KIOSK}/event")) == 1)
    broker.stop()
    assert wait_for(lambda: not reporter.connected)
    start = time.monotonic()
    for n in range(1, 21):
        reporter.event(message("granted" if n % 2 else "denied", f"During {n}" if n % 2 else None, n))
    handed_over = time.monotonic() - start
    assert handed_over < 1.0, "the door waited for an absent broker"
    assert str(reporter.error).startswith("MQTT broker unreachable (")
    assert str(reporter.error).endswith(f": 127.0.0.1:{broker.port}")
    assert wait_for(lambda: reporter.waiting() == 20 + 10)   # 20 events, 10 last_person
    broker.start()
    assert wait_for(lambda: reporter.connected and reporter.waiting() == 0)
    assert reporter.error is None
    assert wait_for(lambda: len(listener.payloads(f"kiosk/{KIOSK}/event")) == 21, timeout=30)
    names = [json.loads(p)["time"] for p in listener.payloads(f"kiosk/{KIOSK}/event")]
    assert sorted(names) == [message("granted", None, n)["time"] for n in range(21)]
    reporter.close()
    listener.close()


def test_a_full_queue_drops_new_messages_and_says_so(tmp_path):
    # Nobody listens on this port: every message waits, and the queue is small.
    reporter = MqttReporter(MqttSettings(url=f"mqtt://127.0.0.1:{LocalBroker(tmp_path).port}"), KIOSK,
                            max_waiting=5)
    for n in range(20):
        reporter.event(message("denied", None, n))
    assert wait_for(lambda: reporter.dropped >= 15)
    assert "unreachable" in str(reporter.error) and "dropped" in str(reporter.error)
    reporter.close()


def test_credentials_are_used_and_a_refusal_is_shown(tmp_path):
    broker = LocalBroker(tmp_path, users={"kiosk": "s3cret pass"}).start()
    try:
        good = MqttReporter(MqttSettings(url=broker.url, username="kiosk", password="s3cret pass"), KIOSK)
        bad = MqttReporter(MqttSettings(url=broker.url, username="kiosk", password="wrong"), "door-8")
        assert wait_for(lambda: good.connected and bad.refused is not None)
        assert good.error is None and not bad.connected
        assert str(bad.error) == f"MQTT broker refused the kiosk (Not authorized) (0 waiting): 127.0.0.1:{broker.port}"
        good.close()
        bad.close()
    finally:
        broker.stop()
