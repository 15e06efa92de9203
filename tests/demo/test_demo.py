"""kiosk.demo.build: the generated gallery and clip keep the demo's promise when the
clip is replayed through the real door: each member greeted once, the stranger
denied once, each in their own visit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from kiosk.common.door_events import DENIED, GRANTED

from kiosk.store.access_log import list_events
from kiosk.common.config import Settings
from kiosk.store.db import AdminAction, engine_of, open_database
from kiosk.demo.build import DEMO_LIVENESS, FPS, MEMBERS, SIZE, build_demo, demo_settings
from kiosk.door.runtime import DoorRuntime
from kiosk.store.event_writer import EventWriter
from kiosk.store.gallery import list_people
from kiosk.door.video import VideoSource
from helpers import FakeSpeaker

# The clip as build_demo lays it out: Obama, the stranger, Biden, Kit Harington,
# each visit 1 s of empty doorway + 1.5 s walking in + 1.5 s standing still.
VISIT_FRAMES = int(4 * FPS)
VISITORS = ["Barack Obama", None, "Joe Biden", "Kit Harington"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, engine):
    return build_demo(tmp_path_factory.mktemp("demo"), engine)


@pytest.fixture(scope="module")
def replay(demo, engine):
    """The demo clip played through the door, frame by frame as the file has them."""
    sessions = open_database(demo.db_url)
    speaker = FakeSpeaker()
    settings = Settings(kiosk_id="demo", liveness=DEMO_LIVENESS)   # "off", as `kiosk run --demo` runs it
    door = DoorRuntime(engine, settings, EventWriter(sessions), speaker, sessions=sessions)
    with VideoSource(str(demo.video)) as source:
        frames = list(source.frames())
    updates = [door.step(frame) for frame in frames]
    door.close()
    yield sessions, speaker, updates, frames[0].rgb.shape
    engine_of(sessions).dispose()


def test_demo_gallery_holds_the_three_members(demo, open_gallery):
    assert demo.members == list(MEMBERS)
    with open_gallery(demo.db_url).begin() as session:
        people = list_people(session)
    assert sorted((p.name, p.samples) for p in people) == sorted((name, 1) for name in MEMBERS)
    assert demo.video.is_file()


def test_demo_enrollments_are_in_the_audit_trail(demo, open_gallery):
    with open_gallery(demo.db_url).begin() as session:
        rows = [(a.kiosk_id, a.action, a.detail)
                for a in session.scalars(select(AdminAction).order_by(AdminAction.id))]
    assert rows == [("demo", "enroll", f"demo: {name}: 1 sample(s) added, 1 in all") for name in MEMBERS]


def test_demo_clip_is_four_visits_at_30_fps(demo, replay):
    *_, updates, shape = replay
    assert len(updates) == len(VISITORS) * VISIT_FRAMES
    assert shape == (SIZE[1], SIZE[0], 3)
    with VideoSource(str(demo.video)) as source:
        assert source.fps == pytest.approx(FPS)


def test_demo_greets_each_member_once_and_denies_the_stranger_once(replay):
    sessions, speaker, updates, _ = replay
    assert speaker.said == [f"Welcome, {name}" for name in VISITORS if name]
    decisions = [(u.frame_index, a.decision) for u in updates for a in u.announcements]
    assert [(d.type, d.name) for _, d in decisions] == \
        [(DENIED if name is None else GRANTED, name) for name in VISITORS]
    # Each decision falls in its own visitor's four seconds.
    assert [index // VISIT_FRAMES for index, _ in decisions] == list(range(len(VISITORS)))
    assert all(u.log_trouble is None for u in updates)
    with sessions.begin() as session:
        rows = list(reversed(list_events(session)))
    assert [(r.decision, r.name, r.kiosk_id) for r in rows] == \
        [(DENIED if name is None else GRANTED, name, "demo") for name in VISITORS]


def test_the_demo_window_reports_to_a_broker_and_never_drives_the_real_lock(qtbot, demo, engine, model_dir,
                                                                            broker, pins, kiosk_context):
    """The window in demo mode (as `kiosk run --demo` builds it) on a machine
    with a broker, a GPIO door and remote unlock configured: each decision is
    one event and the door's states are reported, but the real lock is never
    driven, Home Assistant's UNLOCK opens nothing, the window says so, and
    stopping says offline."""
    from kiosk.common.config import DoorSettings, MqttSettings
    from kiosk.outputs.local_broker import Listener
    from ui.kiosk_window import DEMO_TEXT, KioskWindow
    listener = Listener(broker.url, ["kiosk/#", "homeassistant/#"])
    machine = Settings(door=DoorSettings(type="gpio", pin=17, open_seconds=1.0),
                       mqtt=MqttSettings(url=broker.url, remote_unlock=True))
    settings = demo_settings(machine)
    assert (settings.kiosk_id, settings.liveness) == ("demo", DEMO_LIVENESS)
    ctx = kiosk_context(settings, demo.db_url, model_dir, engine=engine)
    with ctx.sessions.begin() as session:
        logged_before = len(list_events(session))
    window = KioskWindow(ctx, str(demo.video), FakeSpeaker(), demo=True)
    qtbot.addWidget(window)
    assert not window.demo_status.isHidden() and window.demo_status.text() == DEMO_TEXT
    ended = []
    window.banner_changed.connect(lambda kind, text: ended.append(text == "End of video"))
    window.start()
    qtbot.waitUntil(lambda: any(ended), timeout=60_000)
    # The window plays the clip in real time and, on a busy machine, may skip
    # frames and so a visit: the events are compared with what it logged.
    with ctx.sessions.begin() as session:
        qtbot.waitUntil(lambda: len(list_events(session)) > logged_before, timeout=10_000)
    qtbot.wait(500)
    with ctx.sessions.begin() as session:
        logged = [(r.decision, r.name, r.kiosk_id) for r in reversed(list_events(session))][logged_before:]
    qtbot.waitUntil(lambda: len(listener.payloads("kiosk/demo/event")) == len(logged), timeout=5_000)
    events = [json.loads(p) for p in listener.payloads("kiosk/demo/event")]
    assert [(e["type"], e["name"], e["kiosk_id"]) for e in events] == logged
    assert [e for e in logged if e[0] == GRANTED], "no demo member was let in"
    assert set(logged) <= {(DENIED if name is None else GRANTED, name, "demo") for name in VISITORS}
    granted = [e["name"] for e in events if e["type"] == GRANTED]
    qtbot.waitUntil(lambda: listener.payloads("kiosk/demo/last_person") == [n.encode() for n in granted],
                    timeout=5_000)
    qtbot.waitUntil(lambda: listener.payloads("kiosk/demo/door")[-1:] == [b"closed"], timeout=5_000)
    assert listener.payloads("kiosk/demo/door").count(b"open") == len(granted)
    assert not pins.pins, "the demo drove this machine's GPIO lock"   # pin 17 never even opened
    assert {t.split("/")[1] for _, t, _, _ in listener.messages if t.startswith("homeassistant/")} == \
        {"event", "sensor", "binary_sensor", "lock"}
    lock = json.loads(listener.payloads("homeassistant/lock/demo/lock/config")[-1])
    assert lock["icon"] == "mdi:lock-alert"                          # shown as not opening anything
    listener.client.publish("kiosk/demo/lock/set", "UNLOCK", qos=1).wait_for_publish(3)
    qtbot.wait(500)
    assert listener.payloads("kiosk/demo/door").count(b"open") == len(granted)   # Home Assistant opened nothing
    window.apply_settings(machine.replace(kiosk_id="demo"))   # the demo's admin panel saving a GPIO door
    assert window.ctx.settings.door == DoorSettings() and not window.ctx.settings.mqtt.remote_unlock
    qtbot.wait(300)                                            # the door's thread applies it
    assert not pins.pins
    window.close()
    qtbot.waitUntil(lambda: listener.payloads("kiosk/demo/availability") == [b"online", b"offline"], timeout=5_000)
    listener.close()


def test_with_liveness_on_the_demo_photos_are_never_let_in(demo, engine, open_gallery):
    """Why the demo runs with liveness off: its visitors are photos sliding in.
    The first visit (Barack Obama) through a door with the check on."""
    sessions = open_gallery(demo.db_url)
    settings = Settings(kiosk_id="demo")
    speaker = FakeSpeaker()
    door = DoorRuntime(engine, settings, EventWriter(sessions), speaker, sessions=sessions)
    with VideoSource(str(demo.video)) as source:
        updates = [door.step(frame) for frame, _ in zip(source.frames(), range(VISIT_FRAMES))]
    door.close()
    assert DEMO_LIVENESS == "off" and settings.liveness == "passive"
    assert any(f.match.name == "Barack Obama" for u in updates for f in u.faces)
    # asked to turn its head, a photo does not: refused (spoof), never granted
    assert speaker.said == [] and {a.decision.type for u in updates for a in u.announcements} <= {"spoof"}
