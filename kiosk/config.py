"""The kiosk's settings: defaults, the JSON file that overrides them, and the environment."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from kiosk import paths
from kiosk.files import write_atomically
from kiosk.liveness import MODES as LIVENESS_MODES

PROJECT_DIR = Path(__file__).resolve().parent.parent
# In the data folder (kiosk.paths.data_dir), never the current directory.
GALLERY_NAME = "gallery.db"
CONFIG_NAME = "kiosk.json"


@dataclass(frozen=True)
class Settings:
    """Everything an admin can tune. Distances are cosine distances (1 - cos) between
    L2-normalised FaceNet embeddings: 0 is identical, 2 is opposite."""

    # The door's operating point: the chance that a stranger's face is named
    # as some enrolled person (NIST's FPIR). The distance threshold follows
    # from it and the gallery size (kiosk.operating_point), on the model's
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
    min_face_size: int = 60
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
    # The door grants only a face that has shown it is a real head, not a
    # print or a screen (kiosk.liveness): "passive", or "off" (a photo of a
    # member opens the door; the window and the commands say so).
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
    unknown = set(values) - {f.name for f in dataclasses.fields(Settings)}
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    for key, value in values.items():
        expected = _SETTING_TYPES[key]
        if float in expected and isinstance(value, int) and not isinstance(value, bool):
            values[key] = value = float(value)
        if type(value) not in expected:
            raise ConfigError(f"{path}: {key} must be {_type_words(expected)}, not {value!r}")
    settings = Settings(**values)
    if problem := settings_problem(settings):
        raise ConfigError(f"{path}: {problem}")
    return settings


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
}


def settings_problem(settings: Settings) -> str | None:
    """Why these settings cannot run a door (one line naming the key and the
    allowed range), or None. The settings file, the command line and the
    admin panel all check through here."""
    for key, (low, high) in SETTING_RANGES.items():
        value = getattr(settings, key)
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
    return None


def _type_words(types: tuple[type, ...]) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


_SETTING_TYPES = {f.name: ((float, type(None)) if f.name == "threshold" else (type(f.default),))
                  for f in dataclasses.fields(Settings)}


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings that differ from the defaults, atomically."""
    path = path or config_path(create_folder=True)
    defaults = Settings()
    changed = {f.name: getattr(settings, f.name) for f in dataclasses.fields(Settings)
               if getattr(settings, f.name) != getattr(defaults, f.name)}
    write_atomically(path, (json.dumps(changed, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


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
