"""The gallery schema's history as Alembic migrations, configured in code (no
alembic.ini): `kiosk db upgrade` and `kiosk db current` call upgrade() and
current(). Revisions are numbered 0001, 0002, ... in versions/.

After changing the models in kiosk/store/db.py, write the next revision against a
database at the current head, review it, and set kiosk.store.db.SCHEMA_REVISION
(kiosk.store.db stamps a new gallery itself and never imports this package):

    from alembic import command
    from kiosk.store.migrations import alembic_config
    command.revision(alembic_config(url="sqlite:////tmp/head.db"), "what changed",
                     autogenerate=True, rev_id="0003")

tests/store/test_migrations.py fails while the models and the migrations differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from kiosk.store.db import (NEWER_DATABASE_ADVICE, PRE_MIGRATION, SchemaError, known_revision, lock_schema,
                            make_engine, schema_revision)

MIGRATIONS_DIR = Path(__file__).resolve().parent
# Revision 0001 is the schema as it was before migrations: a database made
# then is stamped with it, not migrated to it.
BASELINE = "0001"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """Alembic's configuration: migrate over connection (inside its transaction),
    or over a new connection to url."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    return script_directory().get_current_head()


@dataclass(frozen=True)
class Upgrade:
    """What `kiosk db upgrade` did: before is None for an empty database."""

    before: str | None
    after: str

    @property
    def stamped(self) -> bool:
        return self.before == PRE_MIGRATION


def upgrade(url: str) -> Upgrade:
    """Bring the gallery at url to the newest revision, in one transaction (on
    SQLite too): a gallery made before migrations is stamped 0001 first; an
    empty database gets the whole schema."""
    engine = make_engine(url, foreign_keys=False)   # a migration may copy a table
    try:
        with engine.begin() as conn:
            lock_schema(conn)
            before = schema_revision(conn)
            if not known_revision(before):
                raise SchemaError(f"gallery database at revision {before}: {NEWER_DATABASE_ADVICE}")
            config = alembic_config(conn)
            if before == PRE_MIGRATION:
                command.stamp(config, BASELINE)
            command.upgrade(config, "head")
            _check_foreign_keys(conn)
            return Upgrade(before, schema_revision(conn))
    finally:
        engine.dispose()


def current(url: str) -> str | None:
    """The gallery's revision (kiosk.store.db.schema_revision), None for an empty database."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return schema_revision(conn)
    finally:
        engine.dispose()


def _check_foreign_keys(conn: Connection) -> None:
    """Migrations on SQLite run with foreign keys off: check none broke before committing."""
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise SchemaError(f"upgrade abandoned: it would break {len(broken)} foreign key(s), "
                              f"first in table {broken[0][0]}")
