"""`kiosk bench --gallery-scale`: loading and matching a large gallery, on the
kiosk's own database server (SQLite or PostgreSQL), in a throw-away database."""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np
from sqlalchemy import insert, text

from kiosk.store.db import FaceSample, Person, database_url, engine_of, make_engine, open_database
from kiosk.store.gallery import embedding_to_bytes
from kiosk.door.gallery_sync import GallerySync
from kiosk.vision.model_files import EMBEDDING_DIMENSION

SAMPLES_PER_PERSON = 10
MODEL = "bench-model"
# Any threshold and margin will do: a match costs the same whatever they are.
MATCH_THRESHOLD, MATCH_MARGIN = 0.4, 0.05


def random_embeddings(rng: np.random.Generator, count: int) -> np.ndarray:
    """count random unit vectors as long as FaceNet's: (count, EMBEDDING_DIMENSION) float32."""
    vectors = rng.normal(size=(count, EMBEDDING_DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new empty database beside url's (same server, or same folder), dropped afterwards."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    name = f"kiosk_bench_{secrets.token_hex(4)}"
    admin = make_engine(parsed).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fill(sessions, samples: int, start_person: int, rng: np.random.Generator) -> None:
    """Add samples // SAMPLES_PER_PERSON people with SAMPLES_PER_PERSON random unit vectors each."""
    people = samples // SAMPLES_PER_PERSON
    vectors = random_embeddings(rng, samples)
    with sessions.begin() as session:
        session.execute(insert(Person), [{"id": start_person + i, "name": f"person {start_person + i}"}
                                         for i in range(people)])
        session.execute(insert(FaceSample), [
            {"person_id": start_person + i // SAMPLES_PER_PERSON, "embedding": embedding_to_bytes(v),
             "model_name": MODEL, "thumbnail": b"", "quality": 1.0} for i, v in enumerate(vectors)])


def gallery_scale(url: str, sizes: tuple[int, ...] = (10_000, 100_000), runs: int = 30) -> dict:
    """Median time to load the whole gallery into memory (what a door does at
    start and after every change) and to match one face against it."""
    rng = np.random.default_rng(0)
    figures: dict = {}
    with scratch_database(url) as scratch:
        sessions = open_database(scratch)
        figures["gallery_backend"] = database_url(scratch).get_backend_name()
        enrolled = 0
        for size in sizes:
            _fill(sessions, size - enrolled, 1 + enrolled // SAMPLES_PER_PERSON, rng)
            enrolled = size
            sync = GallerySync(sessions, MODEL, on_index=lambda index: None)
            loads = []
            for _ in range(3):
                start = time.perf_counter()
                index = sync.load()
                loads.append(time.perf_counter() - start)
            if index.size != size:
                raise RuntimeError(f"gallery bench: loaded {index.size} samples, expected {size}")
            query = random_embeddings(rng, 1)
            matches = []
            for _ in range(runs):
                start = time.perf_counter()
                index.match(query, MATCH_THRESHOLD, MATCH_MARGIN)
                matches.append(time.perf_counter() - start)
            label = f"{size // 1000}k" if size >= 1000 else str(size)
            figures[f"gallery_load_ms_{label}"] = round(1000 * float(np.median(loads)), 1)
            figures[f"gallery_match_ms_{label}"] = round(1000 * float(np.median(matches)), 2)
        engine_of(sessions).dispose()
    return figures
