"""The gallery's tables (SQLAlchemy 2.0) and how to open a database by URL."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import (
    ForeignKey, Index, LargeBinary, String, create_engine, event, DateTime,
)
from sqlalchemy.engine import Engine
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
    __table_args__ = (Index("ix_access_event_time", "time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    person_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True)
    # The name as it was at the door, so the log still reads after a rename.
    name: Mapped[Optional[str]] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(10))  # "granted" | "denied"
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


def open_database(url: str) -> sessionmaker:
    """A session factory for the database at url, its tables created if missing."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    Base.metadata.create_all(engine)
    return sessionmaker(engine, expire_on_commit=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # Without this SQLite ignores ON DELETE CASCADE: a deleted person would
    # leave their embeddings behind.
    cursor.execute("PRAGMA foreign_keys=ON")
    # The window reads the log while the recognizer writes it.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def engine_of(factory: sessionmaker) -> Engine:
    return factory.kw["bind"]
