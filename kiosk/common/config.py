"""The kiosk's settings: defaults, the JSON file that overrides them, and the environment."""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from kiosk.common import paths
from kiosk.common.files import write_atomically

# The door's liveness modes (kiosk.door.liveness says what each does).
LIVENESS_MODES = ("passive", "challenge", "off")
# In the data folder (kiosk.common.paths.data_dir), never the current directory.
GALLERY_NAME = "gallery.db"
CONFIG_NAME = "kiosk.json"
# The smallest face looked for (setting min_face_size), in pixels of the
# camera frame. A face at a door camera is large: someone about to walk
# through a doorway fills >= 80 px of a 640 x 480 frame. 60 px finds them a
# step earlier and leaves a margin below 80 px (PNet is least reliable right
# at the minimum size), while a face under 60 px is too small for a useful
# 160 px FaceNet crop anyway. Measured on a 640 x 480 frame with one face, 2
# threads (medians over several runs): 20 px 23-31 ms, 40 px 9-15 ms, 60 px
# 5-9 ms, 80 px 6-9 ms. Below 60 px PNet's work grows ~4x per halving; above
# it the fixed per-frame cost dominates, so 80 px would buy nothing but misses.
DEFAULT_MIN_FACE_SIZE = 60


DOOR_TYPES = ("none", "gpio", "command", "serial", "webhook", "mqtt")
MQTT_DEVICES = ("shelly", "tasmota")
SENSOR_CONTACTS = ("nc", "no")


@dataclass(frozen=True)
class DoorSettings:
    """The door's output (kiosk.outputs): what opens the lock on a grant."""

    type: str = "none"              # none: no door hardware (the kiosk greets and logs only)
    open_seconds: float = 3.0       # how long the lock stays open after a grant
    pin: int | None = None          # gpio: the BCM pin number driving the relay
    active_high: bool = True        # gpio: False for the common relay boards that switch on a low pin
    command: tuple[str, ...] = ()   # command: the program and its arguments, run with JSON on stdin
    port: str = ""                  # serial: /dev/ttyUSB0, or any pyserial URL (loop:// in tests)
    baudrate: int = 9600
    # serial: the bytes (hex) that switch relay 1 on and off; the default is
    # the LCUS-1 / CH340 board's protocol (start, relay, state, checksum).
    on_hex: str = "A00101A2"
    off_hex: str = "A00100A1"
    # mqtt: a relay device on the "mqtt" section's broker, each opening sent
    # with the device's own auto-off: "shelly" (Gen2+ RPC, toggle_after) or
    # "tasmota" (PulseTime), and its topic (Shelly: its id, shellyplus1-a8032ab1c2d3).
    device: str = "shelly"
    topic: str = ""
    url: str = ""                   # webhook: http(s)://... receiving signed JSON POSTs
    # webhook: the HMAC-SHA256 key the receiver checks (kept out of repr: logs, audit trail)
    secret: str = field(default="", repr=False)
    # The door sensor (optional; kiosk.outputs.door_sensor): a door contact
    # between this BCM pin and ground, the Pi's pull-up on. "nc": the contact
    # is closed while the door is shut (the common kind); "no": the opposite.
    sensor_pin: int | None = None
    sensor_contact: str = "nc"
    held_open_s: float = 10.0       # open longer than this: a door_held event


@dataclass(frozen=True)
class MqttSettings:
    """Reporting to a broker (kiosk.outputs.mqtt_reporter), Home Assistant's discovery included."""

    url: str = ""                   # mqtt://host:1883 or mqtts://host:8883
    username: str | None = None
    password: str | None = field(default=None, repr=False)   # kept out of logs and the audit trail
    tls: bool = False               # also implied by mqtts://
    discovery_prefix: str = "homeassistant"
    # Home Assistant's lock entity may open the door (a pulse, logged) only
    # when this is on; off, the lock only shows the door's state.
    remote_unlock: bool = False


@dataclass(frozen=True)
class Settings:
    """Everything an admin can tune. Distances are cosine distances (1 - cos) between
    L2-normalised FaceNet embeddings: 0 is identical, 2 is opposite."""

    # The door's operating point: the chance that a stranger's face is named
    # as some enrolled person (NIST's FPIR). The distance threshold follows
    # from it and the gallery size (kiosk.vision.operating_point), on the model's
    # impostor scores measured on 1,468 people (README "Accuracy").
    fpir: float = 0.01
    # A hand-set distance threshold instead (an override: it no longer
    # follows the gallery size). None: derived from fpir.
    threshold: float | None = None
    # Accept only when every other person is at least this much farther
    # (never greet the wrong one of two look-alikes).
    margin: float = 0.05
    # Smallest face looked for, in pixels of the camera frame. A face at a
    # door fills a large part of the frame; small faces are passers-by.
    min_face_size: int = DEFAULT_MIN_FACE_SIZE
    # Greet and log a person at most once per this many seconds.
    cooldown_s: float = 30.0
    # Accept an identity when it wins in k of the last n frames of a track.
    vote_k: int = 2
    vote_n: int = 3
    greeting: str = "Welcome, {name}"
    kiosk_id: str = "door-1"
    camera: str = "0"
    mute: bool = False
    # Access-log snapshots (face crops, strangers' too) older than this are
    # blanked; the log rows themselves stay.
    snapshot_retention_days: int = 30
    door: DoorSettings = field(default_factory=DoorSettings)
    # None: nothing is sent anywhere (the default).
    mqtt: MqttSettings | None = None
    # The door grants only a face that has shown it is a real head, not a
    # print or a screen (kiosk.door.liveness): "passive" (asks for a head turn,
    # kiosk.door.challenge, when the passive check has not decided), "challenge"
    # (always asks), or "off" (a photo of a member opens the door; the window
    # and the commands say so).
    liveness: str = "passive"

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def config_path(create_folder: bool = False) -> Path:
    """$KIOSK_CONFIG (relative to the current directory, as typed), else kiosk.json in the data folder."""
    env = os.environ.get("KIOSK_CONFIG")
    return Path(env) if env else paths.data_dir(create=create_folder) / CONFIG_NAME


def load_settings(path: Path | None = None) -> Settings:
    """Defaults overridden by the JSON config file, when there is one. Unknown keys
    are an error: a typo in a threshold must not be silently ignored."""
    path = path or config_path()
    if not path.exists():
        return Settings()
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read settings ({exc})") from exc
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a JSON object of settings")
    try:
        settings = _parse(Settings, values, "")
    except _BadValue as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if problem := settings_problem(settings):
        raise ConfigError(f"{path}: {problem}")
    return settings


class _BadValue(ValueError):
    pass


def _parse(cls, values: dict, prefix: str):
    """values (from JSON) as a `cls` dataclass: each key known, each value of its
    annotated type, nested sections ("door", "mqtt") parsed the same way. The one
    place where JSON becomes settings."""
    hints = typing.get_type_hints(cls)
    unknown = set(values) - set(hints)
    if unknown:
        raise _BadValue(f"unknown setting(s) {', '.join(prefix + k for k in sorted(unknown))}")
    parsed = {}
    for key, value in values.items():
        name, allowed = prefix + key, _allowed_types(hints[key])
        section = next((t for t in allowed if dataclasses.is_dataclass(t)), None)
        if section is not None and isinstance(value, dict):
            value = _parse(section, value, f"{name}.")
        elif tuple in allowed and isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = tuple(value)
        elif float in allowed and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) not in allowed:
            raise _BadValue(f"{name} must be {_type_words(allowed)}, not {value!r}")
        parsed[key] = value
    return cls(**parsed)


def _allowed_types(hint) -> tuple[type, ...]:
    """float | None -> (float, NoneType); tuple[str, ...] -> (tuple,)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return tuple(t for h in typing.get_args(hint) for t in _allowed_types(h))
    return (typing.get_origin(hint) or hint,)


# The range each number may take, inclusive. Outside it a door either lets
# strangers in (a threshold of 5) or nobody (-1, NaN, a margin of 3).
SETTING_RANGES = {
    "fpir": (1e-6, 0.1),
    "threshold": (0.05, 1.0),
    "margin": (0.0, 0.3),
    "min_face_size": (12, 1000),   # MTCNN's smallest input is 12 px
    "cooldown_s": (0.0, 86400.0),
    "vote_k": (1, 15),
    "vote_n": (1, 15),
    "snapshot_retention_days": (1, 3650),   # a day to ten years
    # A lock open for less than a second is missed; one open for more than
    # 30 s is a door left open.
    "door.open_seconds": (1.0, 30.0),
    "door.pin": (0, 27),                    # the Raspberry Pi header's BCM pins
    "door.baudrate": (300, 1_000_000),
    "door.sensor_pin": (0, 27),
    "door.held_open_s": (1.0, 3600.0),
}


def settings_problem(settings: Settings) -> str | None:
    """Why these settings cannot run a door (one line naming the key and the
    allowed range), or None. The settings file, the command line and the
    admin panel all check through here."""
    for key, (low, high) in SETTING_RANGES.items():
        value = _setting(settings, key)
        if value is None:
            continue
        if not (low <= value <= high):   # NaN fails too
            return f"{key} must be between {low:g} and {high:g}, not {value!r}"
    if settings.vote_k > settings.vote_n:
        return f"vote_k must be at most vote_n ({settings.vote_n}), not {settings.vote_k}"
    if "{name}" not in settings.greeting:
        return "greeting must contain {name}"
    if settings.liveness not in LIVENESS_MODES:
        return f"liveness must be one of {', '.join(LIVENESS_MODES)}, not {settings.liveness!r}"
    if not settings.kiosk_id.strip():
        return "kiosk_id must not be empty"
    if settings.door.type == "mqtt" and settings.mqtt is None:
        return 'door.type "mqtt" needs the "mqtt" section (the broker the relay listens on)'
    return _door_problem(settings.door) or _mqtt_problem(settings)


def _setting(settings: Settings, key: str):
    """A setting by its dotted name ("door.open_seconds"); None inside an absent section."""
    value = settings
    for part in key.split("."):
        value = getattr(value, part, None) if value is not None else None
    return value


def _door_problem(door: DoorSettings) -> str | None:
    if door.type not in DOOR_TYPES:
        return f"door.type must be one of {', '.join(DOOR_TYPES)}, not {door.type!r}"
    if door.sensor_contact not in SENSOR_CONTACTS:
        return f"door.sensor_contact must be one of {', '.join(SENSOR_CONTACTS)}, not {door.sensor_contact!r}"
    if door.sensor_pin is not None and door.type == "gpio" and door.sensor_pin == door.pin:
        return f"door.sensor_pin must not be the relay's pin ({door.pin})"
    if door.type == "gpio" and door.pin is None:
        return "door.pin is needed for a gpio door (the BCM pin number, 0 to 27)"
    if door.type == "command" and not door.command:
        return 'door.command is needed for a command door (["program", "arg", ...])'
    if door.type == "serial":
        if not door.port:
            return "door.port is needed for a serial door (/dev/ttyUSB0, say)"
        for key in ("on_hex", "off_hex"):
            try:
                if not bytes.fromhex(getattr(door, key)):
                    raise ValueError
            except ValueError:
                return f"door.{key} must be bytes in hex (A00101A2, say), not {getattr(door, key)!r}"
    if door.type == "mqtt":
        if door.device not in MQTT_DEVICES:
            return f"door.device must be one of {', '.join(MQTT_DEVICES)}, not {door.device!r}"
        if not door.topic or any(c in door.topic for c in "+#"):
            return f"door.topic must be the device's MQTT topic (no + or #), not {door.topic!r}"
    if door.type == "webhook":
        url = urlsplit(door.url)
        if url.scheme not in ("http", "https") or not url.hostname:
            return f"door.url must be http://host/path or https://host/path for a webhook door, not {door.url!r}"
        if len(door.secret) < 16:
            return "door.secret must be at least 16 characters for a webhook door (its requests are signed with it)"
    return None


def _mqtt_problem(settings: Settings) -> str | None:
    mqtt = settings.mqtt
    if mqtt is None:
        return None
    url = urlsplit(mqtt.url)
    try:
        port = url.port
    except ValueError:
        port = -1
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname or port == -1:
        return f"mqtt.url must be mqtt://host:port or mqtts://host:port, not {mqtt.url!r}"
    if any(c in settings.kiosk_id for c in "/+#"):
        return f"kiosk_id must not contain /, + or # with mqtt on (it is part of the topics), not {settings.kiosk_id!r}"
    if not mqtt.discovery_prefix or any(c in mqtt.discovery_prefix for c in "+#"):
        return f"mqtt.discovery_prefix must be a topic without + or #, not {mqtt.discovery_prefix!r}"
    return None


def _type_words(types: tuple[type, ...]) -> str:
    words = {type(None): "null", tuple: "a list of strings"}
    return " or ".join(words.get(t, "an object" if dataclasses.is_dataclass(t) else t.__name__) for t in types)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings that differ from the defaults, atomically."""
    path = path or config_path(create_folder=True)
    defaults = Settings()
    changed = {f.name: _as_json(getattr(settings, f.name)) for f in dataclasses.fields(Settings)
               if getattr(settings, f.name) != getattr(defaults, f.name)}
    write_atomically(path, (json.dumps(changed, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


def _as_json(value):
    """A section ("door", "mqtt") as a JSON object of what differs from its defaults."""
    if not dataclasses.is_dataclass(value):
        return value
    defaults = type(value)()
    return {f.name: list(v) if isinstance(v := getattr(value, f.name), tuple) else v
            for f in dataclasses.fields(value) if getattr(value, f.name) != getattr(defaults, f.name)}


def site_scores_path(settings_file: Path | None = None) -> Path:
    """A site's own impostor scores (`kiosk calibrate --save`), beside its settings file."""
    return (settings_file or config_path()).with_name("impostor_scores.site.json")


def model_dir() -> Path:
    env = os.environ.get("KIOSK_MODEL_DIR")
    return Path(env) if env else paths.default_model_dir()


def default_db_url() -> str:
    """The SQLite gallery in the data folder (created with the folder on first use)."""
    return f"sqlite:///{paths.data_dir(create=True) / GALLERY_NAME}"


class ConfigError(ValueError):
    """A settings file that cannot be used."""
