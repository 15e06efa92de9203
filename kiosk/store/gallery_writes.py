"""The gallery's writes as an admin makes them: enroll a new person, add
samples to one, rename, delete. Each writes its audit row (kiosk.store.admin_auth)
in the caller's transaction, so the change and its record commit, or roll
back, together. The admin panel, the command line and the demo all write
through here; kiosk.enrollment makes the samples, this module stores them. The access
rules' writes (kiosk.store.access_rules) record themselves with the same Author.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from kiosk.store.admin_auth import record_action
from kiosk.store.gallery import DeletedPerson, NewSample, add_samples, delete_person, rename_person

# Who made a change, as the audit trail says it.
ADMIN_PANEL = "admin panel"
COMMAND_LINE = "command line"
DEMO = "demo"


@dataclass(frozen=True)
class Author:
    """Where a change comes from: the kiosk's id and ADMIN_PANEL, COMMAND_LINE or DEMO."""

    kiosk_id: str
    via: str

    def record(self, session: Session, action: str, detail: str) -> None:
        record_action(session, self.kiosk_id, action, f"{self.via}: {detail}")


@dataclass(frozen=True)
class Enrolled:
    name: str            # as stored (kiosk.store.gallery.person_name)
    added: int           # samples written now
    samples: int         # the person's samples in all
    new_person: bool


def enroll(session: Session, author: Author, name: str, samples: list[NewSample], model_name: str) -> Enrolled:
    """Store samples for name: a new person ("enroll" in the audit trail), or
    more samples of an enrolled one ("add-samples"). GalleryError for a name
    the gallery refuses or no samples."""
    person = add_samples(session, name, samples, model_name)
    # Asked after add_samples, which takes the gallery's write lock first (a
    # door may have just created this person). Nobody is left without samples
    # (a person's last samples go only with the person), so a person whose
    # samples are all new is a new person.
    done = Enrolled(person.name, len(samples), len(person.samples), len(person.samples) == len(samples))
    author.record(session, "enroll" if done.new_person else "add-samples",
                  f"{done.name}: {done.added} sample(s) added, {done.samples} in all")
    return done


def rename(session: Session, author: Author, old: str, new: str) -> str:
    """Rename old to new; the name as stored. GalleryError for an unknown person or a name taken."""
    renamed = rename_person(session, old, new).name
    author.record(session, "rename", f"{old} -> {renamed}")
    return renamed


def delete(session: Session, author: Author, name: str) -> DeletedPerson:
    """Delete name with every face sample (kiosk.store.gallery.delete_person; once
    committed, kiosk.store.gallery.erase_traces). GalleryError for an unknown person."""
    deleted = delete_person(session, name)
    author.record(session, "delete", f"{deleted.name} ({deleted.samples} samples)")
    return deleted
