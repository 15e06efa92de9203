"""The kiosk's settings: defaults, the JSON file that overrides them, and the environment."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from kiosk import paths
from kiosk.files import write_atomically

PROJECT_DIR = Path(__file__).resolve().parent.parent
# In the data folder (kiosk.paths.data_dir), never the current directory.
GALLERY_NAME = "gallery.db"
CONFIG_NAME = "kiosk.json"


@dataclass(frozen=True)
class Settings:
    """Everything an admin can tune. Distances are cosine distances (1 - cos) between
    L2-normalised FaceNet embeddings: 0 is identical, 2 is opposite."""

    # Accept a face when its best person is at most this far ... (from
    # `kiosk calibrate` on the 5-celebrity set at 0.1% false-accept; README)
    threshold: float = 0.669
    # ... and every other person is at least this much farther (never greet
    # the wrong one of two look-alikes).
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
    defaults = Settings()
    for key, value in values.items():
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            values[key] = value = float(value)
        if type(value) is not expected:
            raise ConfigError(f"{path}: {key} must be {expected.__name__}, not {value!r}")
    settings = Settings(**values)
    if not 1 <= settings.vote_k <= settings.vote_n:
        raise ConfigError(f"{path}: need 1 <= vote_k <= vote_n, got {settings.vote_k} and {settings.vote_n}")
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings that differ from the defaults, atomically."""
    path = path or config_path(create_folder=True)
    defaults = Settings()
    changed = {f.name: getattr(settings, f.name) for f in dataclasses.fields(Settings)
               if getattr(settings, f.name) != getattr(defaults, f.name)}
    write_atomically(path, (json.dumps(changed, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


def model_dir() -> Path:
    env = os.environ.get("KIOSK_MODEL_DIR")
    return Path(env) if env else paths.default_model_dir()


def default_db_url() -> str:
    """The SQLite gallery in the data folder (created with the folder on first use)."""
    return f"sqlite:///{paths.data_dir(create=True) / GALLERY_NAME}"


class ConfigError(ValueError):
    """A settings file that cannot be used."""
