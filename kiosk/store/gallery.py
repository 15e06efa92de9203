"""Enrolled people and their face samples: the gallery's reads and writes.

Functions take a Session; callers own the transaction (``with factory.begin() as s``),
so an enrollment that fails half-way writes nothing. An admin's changes (the
panel, the command line, the demo) go through kiosk.store.gallery_writes,
which records each in the audit trail; the writes here unrecorded are for
scratch galleries (evaluation, benches) and tests.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from kiosk.vision.matcher import GalleryMatrix
from kiosk.vision.model_files import EMBEDDING_DIMENSION
from kiosk.store.db import AccessEvent, FaceSample, GalleryState, Person, checkpoint
from kiosk.store.event_spool import purge_person


class GalleryError(ValueError):
    """A request the gallery refuses (unknown person, name taken); the message says which."""


MAX_NAME_LENGTH = 100
# Control characters (a newline would fake lines in `kiosk people`) and the
# Unicode line and paragraph separators. Format characters (Cf) stay: the
# zero-width joiners are part of how some scripts write names.
_REFUSED_IN_NAMES = {"Cc", "Zl", "Zp"}


def normal_form(typed: str) -> str:
    """A typed name as names are compared: NFC, without surrounding spaces."""
    return unicodedata.normalize("NFC", typed).strip()


def person_name(typed: str) -> str:
    """The name as the gallery stores it, or GalleryError saying why not: NFC
    (so "Zoë" typed with a combining diaeresis is the same person as with the
    precomposed letter), without surrounding spaces, no control characters, at
    most MAX_NAME_LENGTH characters. Every write of a name goes through here."""
    name = normal_form(typed)
    if not name:
        raise GalleryError("a person needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise GalleryError(f"the name {name[:20]!r}... is {len(name)} characters long; "
                           f"at most {MAX_NAME_LENGTH} are allowed")
    bad = next((c for c in name if unicodedata.category(c) in _REFUSED_IN_NAMES), None)
    if bad is not None:
        raise GalleryError(f"the name {name!r} contains a control character (U+{ord(bad):04X}); "
                           "a name is one line of text")
    return name


@dataclass(frozen=True)
class NewSample:
    """A face ready to store: its embedding and the aligned crop it came from."""

    embedding: np.ndarray  # (D,) float32, L2-normalised
    thumbnail_jpeg: bytes
    quality: float
    source: str | None = None


@dataclass(frozen=True)
class PersonSummary:
    id: int
    name: str
    samples: int


def embedding_to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def embedding_from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4")


def find_person(session: Session, name: str) -> Person | None:
    """The person called name as typed or as stored (NFC: a name typed with
    combining accents still finds its person; a name stored exactly as typed by
    an older version, before names were normalised, is found as it is)."""
    for candidate in dict.fromkeys((name, normal_form(name))):
        person = session.scalars(select(Person).where(Person.name == candidate)).one_or_none()
        if person is not None:
            return person
    return None


def get_person(session: Session, name: str) -> Person:
    person = find_person(session, name)
    if person is None:
        raise GalleryError(f"no enrolled person named {name!r}")
    return person


def add_samples(session: Session, name: str, samples: list[NewSample], model_name: str) -> Person:
    """Add samples to the person called name, creating the person if new."""
    name = person_name(name)
    if not samples:
        raise GalleryError(f"no face samples to enroll for {name!r}")
    bump_gallery_version(session)
    person = find_person(session, name)
    if person is None:
        person = Person(name=name)
        session.add(person)
    for sample in samples:
        person.samples.append(FaceSample(
            embedding=embedding_to_bytes(sample.embedding), model_name=model_name,
            thumbnail=sample.thumbnail_jpeg, quality=float(sample.quality), source=sample.source))
    session.flush()
    return person


def list_people(session: Session) -> list[PersonSummary]:
    rows = session.execute(
        select(Person.id, Person.name, func.count(FaceSample.id))
        .outerjoin(FaceSample).group_by(Person.id).order_by(Person.name))
    return [PersonSummary(id=i, name=n, samples=c) for i, n, c in rows]


def count_people(session: Session, model_name: str) -> int:
    """People with samples of model_name: the gallery size the door's operating point is for."""
    return session.scalar(select(func.count(func.distinct(FaceSample.person_id)))
                          .where(FaceSample.model_name == model_name)) or 0


def first_thumbnails(session: Session) -> dict[int, bytes]:
    """Each person's first face sample's JPEG crop, by person id (for lists of people)."""
    first = select(func.min(FaceSample.id)).group_by(FaceSample.person_id)
    return dict(session.execute(
        select(FaceSample.person_id, FaceSample.thumbnail).where(FaceSample.id.in_(first))).all())


def rename_person(session: Session, old: str, new: str) -> Person:
    new = person_name(new)
    bump_gallery_version(session)
    person = get_person(session, old)
    if new != person.name and find_person(session, new) is not None:
        raise GalleryError(f"the name {new!r} is already enrolled")
    person.name = new
    return person


@dataclass(frozen=True)
class DeletedPerson:
    id: int
    name: str
    samples: int   # face samples deleted with them


def delete_person(session: Session, name: str) -> DeletedPerson:
    """Delete a person with every embedding and face image of theirs, the access
    log's snapshots included (biometric data); the log rows stay, unlinked, as the
    record of what the door decided. (Events still spooled on disk are purged
    by kiosk.store.event_spool.purge_person, once this has committed.)"""
    bump_gallery_version(session)
    person = get_person(session, name)
    deleted = DeletedPerson(person.id, person.name, len(person.samples))
    session.execute(update(AccessEvent).where(AccessEvent.person_id == person.id)
                    .values(snapshot=None, person_id=None))
    session.delete(person)
    session.flush()
    return deleted


def erase_traces(sessions: sessionmaker, spool_dir: Path, deleted: DeletedPerson) -> int:
    """Once a deletion has committed: the person's crops in events still
    spooled in spool_dir are blanked, and no old copy of their pages stays in
    the SQLite file or its log. Returns the number of spooled crops removed."""
    removed = purge_person(spool_dir, deleted.id)
    checkpoint(sessions)
    return removed


def bump_gallery_version(session: Session) -> None:
    """Count one more change of the gallery, in session's transaction (so the
    change and the count commit, or roll back, together).

    Every gallery write calls this before it reads: the row lock it takes
    (PostgreSQL; SQLite locks the whole file) makes writes from several doors
    wait for each other, so a door enrolling a name another door has just
    created adds to that person instead of failing on the unique name."""
    bumped = session.execute(update(GalleryState).where(GalleryState.id == 1)
                             .values(version=GalleryState.version + 1)
                             .execution_options(synchronize_session=False))
    if bumped.rowcount == 0:   # tables made without kiosk.store.db.open_database
        session.add(GalleryState(id=1, version=1))
        session.flush()


def gallery_version(session: Session) -> int:
    """How many times the gallery has changed: a door that remembers it and
    finds it changed reloads its embeddings (read it before load_matrix)."""
    return session.scalar(select(GalleryState.version).where(GalleryState.id == 1)) or 0


def load_matrix(session: Session, model_name: str) -> GalleryMatrix:
    """All samples made by model_name, for matching (see kiosk.vision.matcher)."""
    rows = session.execute(
        select(FaceSample.person_id, FaceSample.embedding, Person.name)
        .join(Person).where(FaceSample.model_name == model_name)
        .order_by(FaceSample.person_id, FaceSample.id)).all()
    if not rows:
        return GalleryMatrix(np.zeros((0, EMBEDDING_DIMENSION), np.float32), np.zeros(0, np.int64), {})
    # One buffer for all rows: 100,000 small arrays cost a third of a second more.
    embeddings = embedding_from_bytes(b"".join(r.embedding for r in rows)).reshape(len(rows), -1)
    return GalleryMatrix(embeddings=embeddings,
                         person_ids=np.array([r.person_id for r in rows], dtype=np.int64),
                         names={r.person_id: r.name for r in rows})
