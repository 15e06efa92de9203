"""KioskContext: the settings, the gallery database and the face engine of one kiosk,
each opened on first use (so `kiosk people` never loads a model); whoever makes
one closes it."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from kiosk.common import paths
from kiosk.common.config import Settings, site_scores_path
from kiosk.door.access_rules import DoorAccess
from kiosk.store.access_rules import load_door_rules
from kiosk.store.db import engine_of, open_database
from kiosk.store.gallery import load_matrix
from kiosk.vision.matcher import GalleryIndex
from kiosk.vision.operating_point import ImpostorScores, OperatingPoint, Thresholds, operating_point, thresholds_for


class KioskContext:
    def __init__(self, settings: Settings, db_url: str, model_dir: Path, engine=None,
                 settings_file: Path | None = None):
        self.settings = settings
        self.settings_file = settings_file
        self.db_url = db_url
        self.model_dir = Path(model_dir)
        if engine is not None:  # an engine already loaded (tests share one)
            self.__dict__["engine"] = engine
        # Where the door keeps access events the database cannot take yet
        # (kiosk.store.event_spool); one file per kiosk, in the data folder.
        self.spool_path = paths.data_dir(create=True) / f"events-{settings.kiosk_id}.spool.jsonl"

    @cached_property
    def sessions(self) -> sessionmaker:
        return open_database(self.db_url)

    def close(self) -> None:
        """Close the gallery's pooled connections, if it was opened; closing again
        does nothing. Not the face engine: a caller may have lent it (a test's,
        the demo's), and it holds no connection."""
        sessions = self.__dict__.pop("sessions", None)
        if sessions is not None:
            engine_of(sessions).dispose()

    @cached_property
    def engine(self):
        from kiosk.vision.engine import FaceEngine  # loads LiteRT; not needed for gallery commands
        return FaceEngine.load(self.model_dir, min_face_size=self.settings.min_face_size)

    def load_index(self) -> GalleryIndex:
        """The gallery's current embeddings for this engine's model, in memory."""
        with self.sessions.begin() as session:
            return GalleryIndex(load_matrix(session, self.engine.model_name))

    @cached_property
    def impostor_scores(self) -> ImpostorScores:
        """What the thresholds derive from: the shipped impostor scores, made
        stricter by the site's own (`kiosk calibrate --save`) when saved."""
        return ImpostorScores.in_use(site_scores_path(self.settings_file))

    def operating_point(self, people: int) -> OperatingPoint:
        """Where the door accepts a face with `people` enrolled (kiosk.vision.operating_point)."""
        return operating_point(self.settings, people, self.impostor_scores)

    def thresholds(self, index: GalleryIndex) -> Thresholds:
        """The enrollment checks' thresholds for this gallery."""
        return thresholds_for(self.settings, index.people, self.impostor_scores)

    @cached_property
    def door_access(self) -> DoorAccess:
        """This door's access rules (groups, windows, anti-passback) as the
        gallery has them now; a kiosk's GallerySync keeps them current."""
        with self.sessions.begin() as session:
            return DoorAccess(self.settings.kiosk_id, load_door_rules(session, self.settings.kiosk_id))

    def recognizer(self):
        from kiosk.door.recognizer import Recognizer
        return Recognizer(self.engine, self.load_index(), self.settings, scores=self.impostor_scores,
                          access=self.door_access)
