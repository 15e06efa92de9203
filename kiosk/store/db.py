"""The gallery's tables (SQLAlchemy 2.0) and how to open a database by URL:
a SQLite file (one door) or PostgreSQL through psycopg 3 (many doors).

The schema's history is in kiosk/store/migrations (Alembic). open_database creates a
brand-new database at the newest revision and refuses an older one: that is
`kiosk db upgrade`'s job, run on purpose, not by whichever door starts first.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, Connection, ForeignKey, Index, LargeBinary, MetaData,
    PrimaryKeyConstraint, String, Table, create_engine, event, func, inspect, insert, select, DateTime,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    samples: Mapped[list["FaceSample"]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True)

    def __repr__(self) -> str:
        return f"Person(id={self.id!r}, name={self.name!r})"


class FaceSample(Base):
    """One enrolled face: its embedding, and the aligned crop it came from."""

    __tablename__ = "face_sample"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    # float32 little-endian bytes; model_name says which network made them, so
    # a later model never compares its vectors with these.
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    model_name: Mapped[str] = mapped_column(String(100))
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary)  # aligned 160x160 JPEG
    quality: Mapped[float]
    source: Mapped[Optional[str]] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)

    person: Mapped[Person] = relationship(back_populates="samples")


class AccessEvent(Base):
    """One decision at a door: granted to a person, or denied to an unknown face."""

    __tablename__ = "access_event"
    __table_args__ = (
        Index("ix_access_event_time", "time"),
        # Counting the log by its filters (kiosk.store.access_log) without reading
        # the rows and their snapshots: decision over a time window, with or
        # without a name; a name alone. (SQLite, 40,000 events: a count and
        # its first page take 3-11 ms instead of 11-44. PostgreSQL keeps the
        # snapshots out of line and scans the rest as fast either way.)
        Index("ix_access_event_decision_time_name", "decision", "time", "name"),
        Index("ix_access_event_name", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    person_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True)
    # The name as it was at the door, so the log still reads after a rename.
    name: Mapped[Optional[str]] = mapped_column(String(200))
    # kiosk.common.door_events.DECISIONS: "granted", "denied", "spoof", "outside_hours", ...
    decision: Mapped[str] = mapped_column(String(20))
    distance: Mapped[Optional[float]]
    snapshot: Mapped[Optional[bytes]] = mapped_column(LargeBinary)  # face crop, JPEG
    kiosk_id: Mapped[str] = mapped_column(String(100))


class AdminAction(Base):
    """The audit trail: every enrollment, rename, deletion and settings change."""

    __tablename__ = "admin_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    action: Mapped[str] = mapped_column(String(50))   # "enroll", "rename", "delete", "settings", ...
    detail: Mapped[str] = mapped_column(String(1000))
    kiosk_id: Mapped[str] = mapped_column(String(100))


class AdminSecret(Base):
    """The admin PIN, only as a salted scrypt hash, and the wrong-PIN lock-out state."""

    __tablename__ = "admin_secret"

    kiosk_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    pin_hash: Mapped[bytes] = mapped_column(LargeBinary)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))


class GalleryState(Base):
    """One row (id 1) whose version every gallery write increments in its own
    transaction (kiosk.store.gallery.bump_gallery_version): the cheap "has the
    gallery changed?" a door polls before reloading the embeddings."""

    __tablename__ = "gallery_state"
    __table_args__ = (CheckConstraint("id = 1", name="ck_gallery_state_one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class AccessGroup(Base):
    """People a door admits together, in the group's time windows (kiosk.store.access_rules)."""

    __tablename__ = "access_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class PersonGroup(Base):
    """A person's membership of a group; goes with either of them."""

    __tablename__ = "person_group"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("access_group.id", ondelete="CASCADE"), primary_key=True,
                                          index=True)


class AccessWindow(Base):
    """When a group may enter: on some weekdays, between two times of day (the
    door's local time). A window whose end is before its start runs past
    midnight into the next day (22:00-06:00). kiosk_id None: at every door."""

    __tablename__ = "access_window"
    __table_args__ = (
        CheckConstraint("days BETWEEN 1 AND 127", name="ck_access_window_days"),
        CheckConstraint("start_minute BETWEEN 0 AND 1439 AND end_minute BETWEEN 1 AND 1440 "
                        "AND start_minute <> end_minute", name="ck_access_window_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("access_group.id", ondelete="CASCADE"), index=True)
    kiosk_id: Mapped[Optional[str]] = mapped_column(String(100))
    days: Mapped[int]            # bit 0 Monday ... bit 6 Sunday (datetime.weekday())
    start_minute: Mapped[int]    # minutes after midnight, 0-1439
    end_minute: Mapped[int]      # 1-1440 (24:00), exclusive


class DoorPolicy(Base):
    """A door's policy: whether it is restricted (admits only its groups'
    windows; set by a window there, cleared only by
    kiosk.store.access_rules.open_door), and its anti-passback: no second
    grant to one person within this many seconds (None: every door's).
    kiosk_id "*" (kiosk.store.access_rules.EVERY_DOOR): every door; a
    sentinel, not NULL, so the unique key holds one such row (NULLs are all
    distinct to it, on SQLite and PostgreSQL)."""

    __tablename__ = "door_policy"
    __table_args__ = (CheckConstraint("anti_passback_s BETWEEN 0 AND 86400", name="ck_door_policy_anti_passback"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(100), unique=True)
    restricted: Mapped[bool] = mapped_column(default=False)
    anti_passback_s: Mapped[Optional[int]]


# The Alembic revision these models are (the head of kiosk/store/migrations; a test
# keeps the two equal). A constant, so opening a database never imports Alembic.
SCHEMA_REVISION = "0003"
# Every revision of kiosk/store/migrations: they are numbered 0001, 0002, ...
# up to SCHEMA_REVISION (a test keeps them so). A database at another
# revision was made by a newer kiosk.
SCHEMA_REVISIONS = tuple(f"{n:04d}" for n in range(1, int(SCHEMA_REVISION) + 1))
# Alembic's record of a database's revision, as Alembic makes it: a new
# gallery is stamped here, so that opening one never needs the migrations.
ALEMBIC_VERSION = Table("alembic_version", MetaData(),
                        Column("version_num", String(32), nullable=False),
                        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
# Revision 0001's tables: a database that has them and no alembic_version was
# made before migrations existed.
V1_TABLES = frozenset({"person", "face_sample", "access_event", "admin_action", "admin_secret"})
# Serialises schema changes of one PostgreSQL database (creation, upgrades)
# between kiosks: pg_advisory_xact_lock's key, any constant of our own.
SCHEMA_LOCK = 0x6B696F736B


# How long a SQLite connection waits for a lock another program holds before
# it gives up with "database is locked".
BUSY_TIMEOUT_MS = 5000


class SchemaError(RuntimeError):
    """The database is not a gallery this kiosk can use as it is; the message says why."""


class DatabaseOutdated(SchemaError):
    """The gallery is at an older revision of the schema: `kiosk db upgrade` brings it up."""


PRE_MIGRATION = "0001 (made before migrations)"
# A revision this kiosk does not know was made by a newer kiosk: migrations
# only go forward, so the software is what must be upgraded.
NEWER_DATABASE_ADVICE = (f"newer than this kiosk, which knows revisions up to {SCHEMA_REVISION}; "
                         "this kiosk is older than the database: upgrade the kiosk software, "
                         "not the database")


def database_url(url: str | URL) -> URL:
    """url, with plain postgresql:// (and postgres://) meaning psycopg 3."""
    url = make_url(url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(url: str | URL, foreign_keys: bool = True) -> Engine:
    """An engine for url; SQLite files get their pragmas on every connection
    (foreign_keys=False only for migrations, which may copy tables)."""
    url = database_url(url)
    if url.get_backend_name() != "sqlite":
        # A door keeps its pool for days; the server may restart meanwhile.
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_pragmas if foreign_keys else _sqlite_pragmas_no_fk)
    return engine


def open_database(url: str) -> sessionmaker:
    """A session factory for the gallery at url. A database with none of the
    gallery's tables is created at SCHEMA_REVISION; one at another revision
    raises DatabaseOutdated (older: run `kiosk db upgrade`) or SchemaError."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            revision = schema_revision(conn)
        if revision is None:
            with engine.begin() as conn:
                lock_schema(conn)
                revision = schema_revision(conn)   # again, now that no one else can create it
                if revision is None:
                    _create_schema(conn)
                    revision = SCHEMA_REVISION
        if revision != SCHEMA_REVISION:
            raise _wrong_revision(revision)
    except BaseException:
        engine.dispose()
        raise
    return sessionmaker(engine, expire_on_commit=False)


def schema_revision(conn: Connection) -> str | None:
    """The database's schema revision: alembic_version's, PRE_MIGRATION for a
    gallery made before migrations, None when it has no gallery tables at all."""
    tables = set(inspect(conn).get_table_names())
    if ALEMBIC_VERSION.name in tables:
        version = conn.scalar(select(ALEMBIC_VERSION.c.version_num))
        if version is not None:
            return version
    gallery = tables & (V1_TABLES | {"gallery_state"})
    if not gallery:
        return None
    if gallery == V1_TABLES:
        return PRE_MIGRATION
    raise SchemaError(f"gallery database with tables {', '.join(sorted(gallery))} but no "
                      "schema revision: not a gallery this kiosk knows")


def lock_schema(conn: Connection) -> None:
    """Hold the database's schema lock until conn's transaction ends: on
    PostgreSQL an advisory lock, on SQLite the write lock (BEGIN IMMEDIATE, so
    the DDL that follows is inside the transaction too)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))


def _create_schema(conn: Connection) -> None:
    Base.metadata.create_all(conn)
    conn.execute(insert(GalleryState).values(id=1, version=0))
    ALEMBIC_VERSION.create(conn)
    conn.execute(insert(ALEMBIC_VERSION).values(version_num=SCHEMA_REVISION))


def known_revision(revision: str | None) -> bool:
    """Whether this kiosk knows a database at revision (schema_revision's):
    empty, made before migrations, or at one of SCHEMA_REVISIONS. Any other
    was made by a newer kiosk: only upgrading the kiosk helps."""
    return revision is None or revision == PRE_MIGRATION or revision in SCHEMA_REVISIONS


def _wrong_revision(revision: str) -> SchemaError:
    if known_revision(revision):
        return DatabaseOutdated(f"gallery database at revision {revision}, this kiosk needs "
                                f"{SCHEMA_REVISION}: run `kiosk db upgrade`")
    return SchemaError(f"gallery database at revision {revision}: {NEWER_DATABASE_ADVICE}")


def _sqlite_pragmas(dbapi_connection, record, foreign_keys: bool = True) -> None:
    cursor = dbapi_connection.cursor()
    # Without this SQLite ignores ON DELETE CASCADE: a deleted person would
    # leave their embeddings behind.
    cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # A deleted face crop is overwritten with zeros, not left in free pages
    # (or the WAL) where a copy of the file would still hold it.
    cursor.execute("PRAGMA secure_delete=ON")
    # The window reads the log while the recognizer writes it. Switching a new
    # file to WAL needs it to itself and SQLite does not always wait for that
    # (a busy handler is not called for every lock it needs), so doors opening
    # a new gallery at once retry briefly; a file held by another program
    # waits busy_timeout at each try, so the retries share one deadline.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.1)
    cursor.close()


def _sqlite_pragmas_no_fk(dbapi_connection, record) -> None:
    _sqlite_pragmas(dbapi_connection, record, foreign_keys=False)


def checkpoint(factory: sessionmaker) -> None:
    """After deleting face images from a SQLite gallery: copy the write-ahead log
    into the file and empty it, so neither keeps the old pages (secure_delete
    zeroes them only in the new copy). Best effort: a reader holding an old
    snapshot lets it finish later, at SQLite's own next checkpoint."""
    engine = engine_of(factory)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def engine_of(factory: sessionmaker) -> Engine:
    return factory.kw["bind"]
