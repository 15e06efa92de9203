"""KioskContext: the settings, the gallery database and the face engine of one kiosk,
each opened on first use (so `kiosk people` never loads a model)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from kiosk import paths
from kiosk.config import Settings
from kiosk.db import open_database
from kiosk.gallery import load_matrix
from kiosk.matcher import GalleryIndex


class KioskContext:
    def __init__(self, settings: Settings, db_url: str, model_dir: Path, engine=None):
        self.settings = settings
        self.db_url = db_url
        self.model_dir = Path(model_dir)
        if engine is not None:  # an engine already loaded (tests share one)
            self.__dict__["engine"] = engine
        # Where the door keeps access events the database cannot take yet
        # (kiosk.event_spool); one file per kiosk, in the data folder.
        self.spool_path = paths.data_dir(create=True) / f"events-{settings.kiosk_id}.spool.jsonl"

    @cached_property
    def sessions(self) -> sessionmaker:
        return open_database(self.db_url)

    @cached_property
    def engine(self):
        from kiosk.engine import FaceEngine  # loads LiteRT; not needed for gallery commands
        return FaceEngine.load(self.model_dir, min_face_size=self.settings.min_face_size)

    def load_index(self) -> GalleryIndex:
        """The gallery's current embeddings for this engine's model, in memory."""
        with self.sessions.begin() as session:
            return GalleryIndex(load_matrix(session, self.engine.model_name))

    def recognizer(self):
        from kiosk.recognizer import Recognizer
        return Recognizer(self.engine, self.load_index(), self.settings)
