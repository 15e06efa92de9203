"""The gallery-scale bench on both backends, at a small size (the real sizes are
`kiosk bench --gallery-scale`'s)."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from kiosk.store.db import database_url
from kiosk.bench.gallery_bench import gallery_scale


def test_gallery_scale_loads_and_matches_in_a_scratch_database_it_then_drops(any_db_url):
    figures = gallery_scale(any_db_url, sizes=(200, 1000), runs=2)
    backend = database_url(any_db_url).get_backend_name()
    assert figures["gallery_backend"] == backend
    assert figures["gallery_load_ms_1k"] > 0 and figures["gallery_match_ms_1k"] > 0
    if backend == "postgresql":
        engine = create_engine(database_url(any_db_url))
        with engine.connect() as connection:
            left = connection.execute(text("SELECT count(*) FROM pg_database WHERE datname LIKE 'kiosk_bench_%'"))
            assert left.scalar() == 0
        engine.dispose()
