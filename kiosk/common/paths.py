"""Where the kiosk keeps things, decided here and nowhere else.

- The data folder (the default gallery.db, kiosk.json and the event spool):
  $KIOSK_HOME when set; else the project folder when running from a checkout
  (the folder holding this project's pyproject.toml above kiosk/); else, for an
  installed kiosk, $XDG_DATA_HOME/door-kiosk (~/.local/share/door-kiosk).
  Never the current directory: `cd /tmp && kiosk people` must find the same
  gallery as anywhere else.
- The bundled resources (sample faces, the CJK font): the top-level
  resources/ folder of a checkout, which an installed kiosk carries as package
  data in kiosk/resources/ (pyproject.toml maps one onto the other).
- The models: facenet_model/ of a checkout, or facenet_model/ in the data
  folder of an installed kiosk.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # kiosk/
DISTRIBUTION = "door-kiosk"
DATA_HOME_VAR = "KIOSK_HOME"


class DataFolderError(ValueError):
    """$KIOSK_HOME names no usable folder."""


@lru_cache(maxsize=1)
def project_dir() -> Path | None:
    """The checkout this code runs from, or None for an installed kiosk."""
    candidate = PACKAGE_DIR.parent
    try:
        project = tomllib.loads((candidate / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    except (OSError, ValueError, KeyError):
        return None
    return candidate if project.get("name") == DISTRIBUTION else None


def user_data_dir() -> Path:
    """An installed kiosk's data folder when $KIOSK_HOME is not set."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / DISTRIBUTION


def data_dir(create: bool = False) -> Path:
    """The data folder (see the module's docstring), absolute. $KIOSK_HOME must
    exist: a typo there must not start a new empty gallery. The per-user
    default is created when create is set (before something is written)."""
    home = os.environ.get(DATA_HOME_VAR)
    if home:
        folder = Path(home).expanduser().resolve()
        if not folder.is_dir():
            raise DataFolderError(f"{DATA_HOME_VAR}={home}: no such folder (create it, or unset {DATA_HOME_VAR})")
        return folder
    folder = project_dir() or user_data_dir()
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def resources_dir() -> Path:
    """The bundled sample faces (faces/) and font (fonts/)."""
    checkout = project_dir()
    return checkout / "resources" if checkout else PACKAGE_DIR / "resources"


def default_model_dir() -> Path:
    checkout = project_dir()
    return checkout / "facenet_model" if checkout else user_data_dir() / "facenet_model"
