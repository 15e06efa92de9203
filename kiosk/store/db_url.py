"""Which gallery database a command opens, checked before anything connects:
one line naming the setting for a URL this kiosk cannot use, instead of a
driver's traceback or a new empty gallery in a folder that is not there."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from kiosk.common.config import ConfigError, default_db_url
from kiosk.store.db import database_url

# The databases this kiosk ships a driver for (SQLite: Python's own;
# PostgreSQL: psycopg 3), as the messages show them.
SUPPORTED = "sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DATABASE"
DB_URL_VAR = "KIOSK_DB_URL"


class DatabaseUrlError(ConfigError):
    """A gallery URL that names no database this kiosk can open."""


@dataclass(frozen=True)
class GalleryUrl:
    url: str
    origin: str   # "--db", "KIOSK_DB_URL" or "the data folder"

    def __str__(self) -> str:
        return shown(self.url)


def gallery_url(cli_value: str | None) -> GalleryUrl:
    """--db, else $KIOSK_DB_URL, else gallery.db in the data folder; checked.
    A relative SQLite path in the first two stays relative to the current
    directory: that is what the user typed."""
    if cli_value is not None:
        chosen = GalleryUrl(cli_value, "--db")
    elif os.environ.get(DB_URL_VAR):
        chosen = GalleryUrl(os.environ[DB_URL_VAR], DB_URL_VAR)
    else:
        chosen = GalleryUrl(default_db_url(), "the data folder")
    check(chosen.url, chosen.origin)
    return chosen


def check(url: str, origin: str) -> URL:
    """The parsed URL, or DatabaseUrlError saying what is wrong with it."""
    try:
        parsed = database_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseUrlError(f"{origin} {url!r}: not a database URL (expected {SUPPORTED})") from None
    what = f"{origin} {shown(parsed)}"
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(f"{what}: this kiosk has no driver for {backend} (it uses {SUPPORTED})")
    try:
        parsed.get_dialect().import_dbapi()
    except (ImportError, ArgumentError):
        raise DatabaseUrlError(f"{what}: the driver {parsed.drivername} is not installed "
                               f"(this kiosk uses {SUPPORTED})") from None
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            raise DatabaseUrlError(f"{what}: the folder {folder} does not exist")
    return parsed


def shown(url: str | URL) -> str:
    """url for messages: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return str(url)
