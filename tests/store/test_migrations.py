"""The gallery schema's migrations (kiosk/store/migrations, `kiosk db upgrade`, `kiosk db
current`) on real SQLite files and real databases on the test PostgreSQL server."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from helpers import PROJECT_DIR
from kiosk.store import migrations
from kiosk.cli.parser import main
from kiosk.store.db import (SCHEMA_REVISION, SCHEMA_REVISIONS, Base, DatabaseOutdated, SchemaError, database_url,
                            engine_of, open_database)
from kiosk.store.gallery import NewSample, add_samples, gallery_version, list_people, load_matrix

V1_SQL = Path(__file__).parents[1] / "data" / "gallery_v1_sqlite.sql"
V1_COUNTS = {"person": 3, "face_sample": 4, "access_event": 5, "admin_action": 4, "admin_secret": 2}


@pytest.fixture
def kiosk(tmp_path, monkeypatch, capsys):
    """`kiosk --db URL ARGS` in this process: (exit code, stdout, stderr)."""
    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "kiosk.json"))

    def run(url, *args):
        code = main(["--db", url, *args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def engine_for(url):
    return create_engine(database_url(url))


def rows(url) -> dict[str, list[tuple]]:
    """Every row of revision 0001's tables, in primary-key order, as SQLAlchemy reads them."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return {name: [tuple(r) for r in conn.execute(
                        select(table).order_by(*table.primary_key.columns))]
                    for name, table in Base.metadata.tables.items() if name in V1_COUNTS}
    finally:
        engine.dispose()


def sqlite_v1(path: Path) -> str:
    """A gallery.db made before migrations: tests/data/gallery_v1_sqlite.sql run by sqlite3."""
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SQL.read_text(encoding="utf-8"))
    conn.close()
    return f"sqlite:///{path}"


def postgresql_v1(url: str, v1_rows: dict[str, list[tuple]]) -> str:
    """Revision 0001 made by Alembic on PostgreSQL, holding the same rows as the SQLite gallery."""
    command.upgrade(migrations.alembic_config(url=url), "0001")
    engine = engine_for(url)
    with engine.begin() as conn:
        for name in ["person", "face_sample", "access_event", "admin_action", "admin_secret"]:
            table = Base.metadata.tables[name]
            values = [dict(zip(table.columns.keys(), map(_utc, row))) for row in v1_rows[name]]
            conn.execute(table.insert(), values)
            if "id" in table.columns:   # what a real copy must do too: the next id follows
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"))
    engine.dispose()
    return url


def _utc(value):
    """SQLite hands back the stored UTC times without their zone."""
    return value.replace(tzinfo=timezone.utc) if hasattr(value, "tzinfo") and value.tzinfo is None else value


@pytest.fixture
def v1_gallery(any_db_url, tmp_path):
    """(url, its rows, the revision open_database reports) of a gallery at revision
    0001 with rows in every table: on SQLite a file made before migrations, on
    PostgreSQL the 0001 schema made by Alembic."""
    sqlite_url = sqlite_v1(tmp_path / "v1.db")
    if any_db_url.startswith("sqlite"):
        return sqlite_url, rows(sqlite_url), r"0001 \(made before migrations\)"
    v1_rows = rows(sqlite_url)
    url = postgresql_v1(any_db_url, v1_rows)
    copied = rows(url)
    assert copied == {name: [tuple(map(_utc, row)) for row in table] for name, table in v1_rows.items()}
    return url, copied, "0001"


def test_a_gallery_at_0001_is_refused_then_upgraded_without_losing_a_row(v1_gallery, kiosk, open_gallery):
    url, before, revision = v1_gallery
    assert {name: len(r) for name, r in before.items()} == V1_COUNTS
    needs = f"gallery database at revision {revision}, this kiosk needs 0003: run `kiosk db upgrade`"
    with pytest.raises(DatabaseOutdated, match=needs):
        open_database(url)
    code, _, err = kiosk(url, "people")
    assert code == 1 and err.count("\n") == 1 and "run `kiosk db upgrade`" in err

    code, out, _ = kiosk(url, "db", "upgrade")
    assert code == 0
    stamped = ["stamped 0001: a gallery made before migrations"] if url.startswith("sqlite") else []
    assert out.splitlines() == stamped + ["upgraded 0001 to 0003"]
    after = rows(url)
    assert after == before
    event, secret = after["access_event"][0], after["admin_secret"][0]
    assert event[2:5] == (1, "Ada Lovelace", "granted") and event[6] == b"\xff\xd8snap-1"
    assert _utc(event[1]) == datetime(2026, 11, 20, 8, 15, 2, 250000, tzinfo=timezone.utc)
    assert secret[:4] == ("door-1", bytes(range(16)), bytes(range(32, 64)), 2)

    sessions = open_gallery(url)
    with sessions.begin() as s:
        assert [(p.name, p.samples) for p in list_people(s)] == [("Ada Lovelace", 2), ("Zoë", 1), ("胡歌", 1)]
        matrix = load_matrix(s, "facenet-keras-tflite")
        assert gallery_version(s) == 0
    assert matrix.embeddings.shape == (3, 128)
    assert np.allclose(np.linalg.norm(matrix.embeddings, axis=1), 1.0, atol=1e-6)
    with sessions.begin() as s:   # the upgraded gallery takes writes: ids go on from the old rows
        person = add_samples(s, "Grace", [NewSample(matrix.embeddings[0], b"\xff\xd8", 0.9)], "facenet-keras-tflite")
        assert person.id == 4 and gallery_version(s) == 1
    assert kiosk(url, "db", "upgrade")[1] == "already at 0003, the newest\n"


def test_upgrading_a_sqlite_file_keeps_its_integrity_and_adds_the_new_indexes(tmp_path, kiosk):
    url = sqlite_v1(tmp_path / "gallery.db")
    assert kiosk(url, "db", "upgrade")[0] == 0
    with sqlite3.connect(tmp_path / "gallery.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"ix_access_event_decision_time_name", "ix_access_event_name"} <= indexes
        assert conn.execute("SELECT id, version FROM gallery_state").fetchall() == [(1, 0)]
    conn.close()


def test_db_current_prints_the_revision(any_db_url, kiosk, open_gallery):
    assert kiosk(any_db_url, "db", "current")[1] == "none (an empty database)\n"
    open_gallery(any_db_url)
    assert kiosk(any_db_url, "db", "current")[1] == f"{migrations.head()}\n"
    assert kiosk(any_db_url, "--json", "db", "current")[1] == '{"revision": "0003", "head": "0003"}\n'


def test_db_current_names_an_outdated_gallery(tmp_path, kiosk):
    url = sqlite_v1(tmp_path / "gallery.db")
    code, out, _ = kiosk(url, "db", "current")
    assert code == 0
    assert out == "0001 (made before migrations); this kiosk needs 0003: run `kiosk db upgrade`\n"


def test_the_models_revision_is_the_migrations_head():
    script = migrations.script_directory()
    assert script.get_heads() == [SCHEMA_REVISION]
    assert [s.revision for s in script.walk_revisions()] == ["0003", "0002", "0001"]


def test_the_revisions_are_numbered_as_the_kiosk_knows_them():
    """kiosk.store.db knows the revisions without the migrations (SCHEMA_REVISIONS):
    they must be numbered 0001, 0002, ... each on top of the one before."""
    script = migrations.script_directory()
    assert [(s.revision, s.down_revision) for s in script.walk_revisions()] == \
        [(revision, SCHEMA_REVISIONS[i - 1] if i else None) for i, revision in enumerate(SCHEMA_REVISIONS)][::-1]


def test_opening_a_new_gallery_needs_no_alembic(tmp_path):
    """kiosk.store.db stamps a new gallery itself: the migrations (and Alembic)
    are for `kiosk db`, and the two modules depend one way only."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code = ("import sys; from kiosk.store.db import open_database; "
            f"open_database({url!r}); "
            "print(sorted(m for m in sys.modules if m.startswith(('alembic', 'kiosk.store.migrations'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr
    assert migrations.current(url) == SCHEMA_REVISION


def test_the_migrations_make_exactly_the_models_schema(any_db_url, kiosk):
    """Autogenerate finds nothing to do: a model changed without a migration fails here."""
    code, out, _ = kiosk(any_db_url, "db", "upgrade")
    assert code == 0 and out == "created the gallery schema at 0003\n"
    engine = engine_for(any_db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert conn.execute(text("SELECT id, version FROM gallery_state")).all() == [(1, 0)]
    engine.dispose()


def schema(url) -> dict:
    """Tables, columns, keys, indexes and checks as the database reports them."""
    engine = engine_for(url)
    with engine.connect() as conn:
        insp = inspect(conn)
        out = {}
        for table in sorted(insp.get_table_names()):
            out[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                            for c in insp.get_columns(table)],
                "pk": insp.get_pk_constraint(table)["constrained_columns"],
                "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"],
                               tuple(f["referred_columns"]), f["options"].get("ondelete"))
                              for f in insp.get_foreign_keys(table)),
                "indexes": sorted((i["name"], tuple(i["column_names"]), i["unique"])
                                  for i in insp.get_indexes(table)),
                "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
                "checks": sorted((c["name"], c["sqltext"]) for c in insp.get_check_constraints(table)),
            }
    engine.dispose()
    return out


def test_a_new_gallery_and_an_upgraded_one_have_one_schema(any_db_url, kiosk):
    """open_database makes a new gallery with create_all, `db upgrade` by running
    every migration: both give the same tables."""
    engine_of(open_database(any_db_url)).dispose()
    created = schema(any_db_url)
    engine = engine_for(any_db_url)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()
    assert schema(any_db_url) == {}
    assert kiosk(any_db_url, "db", "upgrade")[0] == 0
    migrated = schema(any_db_url)
    assert migrated == created
    assert set(migrated) == set(Base.metadata.tables) | {"alembic_version"}
    assert migrated["gallery_state"]["checks"] == [("ck_gallery_state_one_row", "id = 1")]


def test_gallery_state_holds_one_row(any_db_url, open_gallery):
    sessions = open_gallery(any_db_url)
    with pytest.raises(IntegrityError):
        with sessions.begin() as s:
            s.execute(text("INSERT INTO gallery_state (id, version) VALUES (2, 0)"))


def test_migrations_go_down_and_up_again(any_db_url, open_gallery):
    engine_of(open_database(any_db_url)).dispose()
    config = migrations.alembic_config(url=any_db_url)
    command.downgrade(config, "0001")
    tables = set(schema(any_db_url))
    assert "gallery_state" not in tables and set(V1_COUNTS) <= tables
    assert migrations.current(any_db_url) == "0001"
    command.downgrade(config, "base")
    assert set(schema(any_db_url)) == {"alembic_version"}
    assert migrations.upgrade(any_db_url).after == "0003"
    open_gallery(any_db_url)


LOGGED = ["granted", "outside_hours", "anti_passback", "door_forced", "door_held", "remote_unlock"]


def test_0003_goes_down_and_up_keeping_the_log(any_db_url, open_gallery):
    """Down to 0002 the access rules' tables go, and the decisions 0002 cannot
    hold become codes of their own (never "denied", which is an unknown face
    there); up again, the rules' tables come back empty and the log reads as
    it did before."""
    from kiosk.common.door_events import NewEvent
    from kiosk.store.access_log import append_event
    from kiosk.store.access_rules import add_window, create_group, list_groups, set_member
    from kiosk.store.gallery_writes import COMMAND_LINE, Author
    ADMIN = Author("door-1", COMMAND_LINE)
    sessions = open_database(any_db_url)
    with sessions.begin() as s:
        add_samples(s, "Ada", [NewSample(np.ones(128, np.float32), b"\xff\xd8", 0.9)], "m")
        create_group(s, ADMIN, "staff")
        set_member(s, ADMIN, "Ada", "staff", True)
        add_window(s, ADMIN, "staff", 0b11111, 7 * 60, 19 * 60)
        for decision in LOGGED:
            append_event(s, NewEvent(decision, None, "Ada", None, None, "door-1"))
    engine_of(sessions).dispose()
    config = migrations.alembic_config(url=any_db_url)
    command.downgrade(config, "0002")
    tables = set(schema(any_db_url))
    assert not tables & {"access_group", "person_group", "access_window", "door_policy"}
    engine = engine_for(any_db_url)
    with engine.connect() as conn:
        decisions = conn.execute(text("SELECT decision FROM access_event ORDER BY id")).scalars().all()
        assert decisions == ["granted", "outside_hr", "passback", "forced", "door_held", "remote"]
        if conn.dialect.name == "postgresql":   # 0002's column holds 10 characters again
            with pytest.raises(Exception, match="too long"):
                conn.execute(text("UPDATE access_event SET decision = 'outside_hours'"))
    engine.dispose()
    assert migrations.upgrade(any_db_url).after == "0003"
    engine = engine_for(any_db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT decision, name FROM access_event ORDER BY id")).all() == \
            [(d, "Ada") for d in LOGGED]
    engine.dispose()
    with open_gallery(any_db_url).begin() as s:
        assert list_groups(s) == []
        assert append_event(s, NewEvent("outside_hours", None, "Ada", None, None, "door-1")).id == 7


def test_a_gallery_newer_than_this_kiosk_is_refused(any_db_url, kiosk):
    engine_of(open_database(any_db_url)).dispose()
    engine = engine_for(any_db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(SchemaError, match="at revision 0099: newer than this kiosk") as refused:
        open_database(any_db_url)
    assert not isinstance(refused.value, DatabaseOutdated)
    code, _, err = kiosk(any_db_url, "db", "upgrade")
    assert code == 1 and "upgrade the kiosk software, not the database" in err
    assert migrations.current(any_db_url) == "0099"
    # `db current` gives the same advice, never "run `kiosk db upgrade`"
    code, out, _ = kiosk(any_db_url, "db", "current")
    assert code == 0 and out.startswith("0099: newer than this kiosk")
    assert "this kiosk is older than the database: upgrade the kiosk software" in out
    assert "db upgrade`" not in out


def test_stray_tables_without_a_revision_are_refused(any_db_url, kiosk):
    engine = engine_for(any_db_url)
    with engine.begin() as conn:
        Base.metadata.tables["person"].create(conn)
    engine.dispose()
    with pytest.raises(SchemaError, match="tables person but no schema revision"):
        open_database(any_db_url)
    code, _, err = kiosk(any_db_url, "db", "upgrade")
    assert code == 1 and "no schema revision" in err


def test_doors_opening_a_new_database_at_once_create_it_once(any_db_url):
    doors = 4
    start = threading.Barrier(doors)
    errors = []

    def door():
        start.wait()
        try:
            engine_of(open_database(any_db_url)).dispose()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=door) for _ in range(doors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    engine = engine_for(any_db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [("0003",)]
        assert conn.execute(text("SELECT id, version FROM gallery_state")).all() == [(1, 0)]
    engine.dispose()


def test_an_unreachable_server_is_one_line(kiosk):
    code, _, err = kiosk("postgresql://postgres@127.0.0.1:1/nowhere", "people")
    assert code == 1 and err.count("\n") == 1 and "Connection refused" in err


def test_plain_postgresql_urls_mean_psycopg(pg_url, open_gallery):
    assert database_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert database_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert database_url("sqlite:///g.db").drivername == "sqlite"
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    assert plain.startswith("postgresql://")
    with open_gallery(plain).begin() as s:
        add_samples(s, "Ada", [NewSample(np.ones(128, np.float32), b"\xff\xd8", 0.9)], "m")
    assert migrations.current(plain) == "0003"


def test_postgresql_tests_fail_without_a_server_unless_skipped_on_purpose():
    """Without KIOSK_TEST_PG_URL a PostgreSQL test is an error naming ./test.sh,
    never a silent skip; KIOSK_SKIP_POSTGRES=1 skips it."""
    env = {k: v for k, v in os.environ.items() if k not in ("KIOSK_TEST_PG_URL", "KIOSK_SKIP_POSTGRES")}
    test = "tests/store/test_gallery.py::test_failed_enrollment_leaves_nothing[postgresql]"
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test]
    failed = subprocess.run(run, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert failed.returncode != 0 and "1 error" in failed.stdout
    assert "KIOSK_TEST_PG_URL is not set: run the tests with ./test.sh" in failed.stdout
    skipped = subprocess.run(run, cwd=PROJECT_DIR, env={**env, "KIOSK_SKIP_POSTGRES": "1"},
                             capture_output=True, text=True, timeout=120)
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout
