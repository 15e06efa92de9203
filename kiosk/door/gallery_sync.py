"""Keeps a kiosk's in-memory gallery current when the gallery changes anywhere
(this kiosk's admin panel, another door, `kiosk enroll`), without a restart.

A thread of its own reads the gallery's version (one row, bumped by every
enroll, rename and delete) every interval; when it moved, it loads the new
matrix there and hands the index over. Recognition never waits for it, and
an unreachable database only means the last gallery stays in use.
The door's access rules (given `access`) are read in the same transaction
and handed over with it.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from kiosk.door.access_rules import DoorAccess
from kiosk.store.access_rules import load_door_rules
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
        self.error: str | None = None
        self._stop = threading.Event()
        self._poke = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kiosk-gallery-sync", daemon=True)

    def load(self) -> GalleryIndex:
        """The gallery now, remembering its version (call once before start())."""
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

    def check(self) -> bool:
        """One check; True when a new gallery was handed over."""
        try:
            with self.sessions.begin() as session:
                version = gallery_version(session)
            if version == self.version:
                return False
            index = self.load()
        except SQLAlchemyError as exc:
            if self.error is None:
                log.warning("gallery not refreshed (database unavailable: %s); the last one stays in use",
                            exc.__class__.__name__)
            self.error = str(exc)
            return False
        self.error = None
        self.on_index(index)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self._poke.wait(self.check_every_s)
            self._poke.clear()
            if not self._stop.is_set():
                self.check()
