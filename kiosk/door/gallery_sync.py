"""Keeps a kiosk's in-memory gallery current when the gallery changes anywhere
(this kiosk's admin panel, another door, `kiosk enroll`), without a restart.

A thread of its own reads the gallery's version (one row, bumped by every
enroll, rename and delete) every interval; when it moved, it loads the new
matrix there and hands the index over. Recognition never waits for it, and
an unreachable database only means the last gallery stays in use.
The door's access rules (given `access`) are read in the same transaction
and handed over with it; a door given a new kiosk id (follow()) reloads at
once, whatever the version.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from kiosk.common.trouble import Trouble
from kiosk.door.access_rules import DoorAccess
from kiosk.store.access_rules import DoorRules, load_door_rules
from kiosk.store.gallery import gallery_version, load_matrix
from kiosk.vision.matcher import GalleryIndex

log = logging.getLogger("kiosk.sync")

CHECK_EVERY_S = 1.0  # a deletion stops being recognised everywhere within ~1 s plus a load


class GallerySync:
    def __init__(self, sessions: sessionmaker, model_name: str, on_index: Callable[[GalleryIndex], None],
                 check_every_s: float = CHECK_EVERY_S, access: DoorAccess | None = None):
        self.sessions = sessions
        self.model_name = model_name
        self.on_index = on_index
        self.access = access
        self.check_every_s = check_every_s
        self.version: int | None = None
        self.error: Trouble | None = None   # the last check's, shown at the door
        # One load at a time: the door's thread (follow()) and the sync's own
        # both load, and rules read under an old kiosk id must not land last.
        self._loading = threading.Lock()
        self._stop = threading.Event()
        self._poke = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kiosk-gallery-sync", daemon=True)

    def load(self) -> GalleryIndex:
        """The gallery now, remembering its version (call once before start())."""
        with self._loading:
            return self._load()

    def _load(self) -> GalleryIndex:
        with self.sessions.begin() as session:
            # Version first: a change committed between the two reads shows as a
            # newer version at the next check, so it is loaded then, never missed.
            version = gallery_version(session)
            index = GalleryIndex(load_matrix(session, self.model_name))
            rules = load_door_rules(session, self.access.kiosk_id) if self.access is not None else None
        self.version = version
        if rules is not None:
            self.access.set_rules(rules)
        return index

    def start(self) -> None:
        self._thread.start()

    def check_now(self) -> None:
        """This kiosk changed the gallery: look at once rather than within a second."""
        self._poke.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._poke.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def follow(self, kiosk_id: str) -> bool:
        """The door is now kiosk_id: its rules and the gallery loaded and handed
        over now, whatever the version. False when the database did not answer:
        the next check loads them then."""
        with self._loading:
            if self.access is not None:
                self.access.kiosk_id = kiosk_id
                # Until this door's rules are read, nobody: never the old door's
                # (fail closed while the database does not answer).
                self.access.set_rules(DoorRules(restricted=True))
            self.version = None   # until loaded for this id, every check loads
        return self.check()

    def check(self) -> bool:
        """One check; True when a new gallery was handed over."""
        try:
            with self.sessions.begin() as session:
                version = gallery_version(session)
            with self._loading:
                # Handed over under the lock too: two loads reach the door in the
                # order they were read.
                fresh = version != self.version
                if fresh:
                    self.on_index(self._load())
        except Exception as exc:   # any: a sync that stops leaves the door on an old gallery for good
            self._failed(exc)
            return False
        if self.error is not None:
            log.warning("gallery sync working again")
        self.error = None
        return fresh

    def _failed(self, exc: Exception) -> None:
        unavailable = isinstance(exc, SQLAlchemyError)
        trouble = Trouble("gallery not refreshed" + (" (database unavailable)" if unavailable else ""),
                          f"{exc.__class__.__name__}: {exc}")
        if self.error is None:
            if unavailable:
                log.warning("%s; the last gallery stays in use", trouble)
            else:
                log.exception("%s; the last gallery stays in use", trouble)
        self.error = trouble

    def _run(self) -> None:
        while not self._stop.is_set():
            self._poke.wait(self.check_every_s)
            self._poke.clear()
            if not self._stop.is_set():
                self.check()
