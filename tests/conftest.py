"""Shared fixtures: the real models loaded once per session, the real sample photos,
fresh gallery databases (a SQLite file, or a database on the PostgreSQL server
./test.sh starts: scripts/postgres.sh).

Qt runs offscreen (set here, before any QApplication exists); engine tests never
create a QApplication.
"""

from __future__ import annotations

import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from helpers import TEST_FACES_DIR


@pytest.fixture(scope="session", autouse=True)
def data_folder(tmp_path_factory) -> Path:
    """KIOSK_HOME for the whole session (subprocesses inherit it): no test reads
    or writes the gallery, settings or spool of the checkout it runs in."""
    folder = tmp_path_factory.mktemp("kiosk-home")
    saved = os.environ.get("KIOSK_HOME")
    os.environ["KIOSK_HOME"] = str(folder)
    yield folder
    if saved is None:
        del os.environ["KIOSK_HOME"]
    else:
        os.environ["KIOSK_HOME"] = saved


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """tests/data/faces: people/<name>/*.jpg, scenes/*.jpg, odd/*.png (see its README)."""
    return TEST_FACES_DIR


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """facenet_model/ with the weights fetched and every model converted."""
    from kiosk.common.config import model_dir as configured
    from kiosk.models.weights import fetch_model, prepare_models
    path = configured()
    fetch_model(path)
    prepare_models(path)
    return path


@pytest.fixture(scope="session")
def celebrities(model_dir) -> Path:
    """The 5-celebrity set from the weights archive: train/<name>/, val/<name>/."""
    return model_dir / "celebrities"


@pytest.fixture(scope="session")
def engine(model_dir):
    """The one FaceEngine of the test session (LiteRT interpreters are reused)."""
    from kiosk.vision.engine import FaceEngine
    return FaceEngine.load(model_dir)


@pytest.fixture
def db_url(tmp_path) -> str:
    """A real SQLite file, new for each test."""
    return f"sqlite:///{tmp_path / 'gallery.db'}"


@pytest.fixture
def open_gallery():
    """open_database for this test: each gallery it opens has its engine (the
    pooled connections) disposed at the test's end, not left to the collector."""
    from kiosk.store.db import engine_of, open_database
    opened = []

    def open_(url: str):
        sessions = open_database(url)
        opened.append(sessions)
        return sessions
    yield open_
    for sessions in opened:
        engine_of(sessions).dispose()


@pytest.fixture
def kiosk_context():
    """KioskContext(...) for this test, closed at the test's end (a kiosk's
    owner closes it: kiosk.cli, `kiosk run`)."""
    from kiosk.context import KioskContext
    made = []

    def make(*args, **kwargs):
        made.append(KioskContext(*args, **kwargs))
        return made[-1]
    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def sessions(db_url, open_gallery):
    """The gallery's session factory on that SQLite file (created by open_database)."""
    return open_gallery(db_url)


@pytest.fixture
def kiosk(model_dir, db_url, tmp_path, monkeypatch, capsys):
    """`kiosk --db DB_URL --model-dir ... --json ARGS` in this process: (exit code, stdout, stderr)."""
    from ui.cli import main
    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "kiosk.json"))

    def run(*args):
        code = main(["--db", db_url, "--model-dir", str(model_dir), "--json", *map(str, args)])
        out, err = capsys.readouterr()
        return code, out, err
    return run


PG_URL_VAR = "KIOSK_TEST_PG_URL"


class PostgresServer:
    """The test PostgreSQL server: creates databases, and drops them behind the
    tests' backs (DROP ... FORCE of a database a test left connections to polls
    for them every 100 ms)."""

    def __init__(self, url: str):
        from kiosk.store.db import database_url
        self.engine = create_engine(database_url(url), isolation_level="AUTOCOMMIT")
        self._dropper = ThreadPoolExecutor(max_workers=1)
        self._drops = []

    def create(self) -> str:
        name = f"kiosk_test_{secrets.token_hex(6)}"
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except OperationalError as exc:
            pytest.fail(f"no PostgreSQL server at {PG_URL_VAR} ({self.engine.url}): start it with "
                        f"scripts/postgres.sh (./test.sh does)\n{exc.orig}", pytrace=False)
        return name

    def url(self, name: str) -> str:
        return self.engine.url.set(database=name).render_as_string(hide_password=False)

    def drop_later(self, name: str) -> None:
        self._drops.append(self._dropper.submit(self._drop, name))

    def _drop(self, name: str) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._dropper.shutdown(wait=True)
        self.engine.dispose()
        for drop in self._drops:
            drop.result()   # a database left behind is an error of the last test


@pytest.fixture(scope="session")
def pg_server():
    """The PostgreSQL server at KIOSK_TEST_PG_URL. Without it the PostgreSQL
    tests fail (they are never skipped silently) unless KIOSK_SKIP_POSTGRES=1."""
    url = os.environ.get(PG_URL_VAR)
    if not url:
        if os.environ.get("KIOSK_SKIP_POSTGRES") == "1":
            pytest.skip("PostgreSQL tests skipped: KIOSK_SKIP_POSTGRES=1")
        pytest.fail(f"{PG_URL_VAR} is not set: run the tests with ./test.sh, which starts a PostgreSQL "
                    "server (scripts/postgres.sh), or set KIOSK_SKIP_POSTGRES=1 to skip them", pytrace=False)
    server = PostgresServer(url)
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A new, empty PostgreSQL database for this test (kiosk_test_<random>),
    dropped afterwards with any connections the test left open."""
    name = pg_server.create()
    yield pg_server.url(name)
    pg_server.drop_later(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request, tmp_path) -> str:
    """A fresh gallery database URL of each kind: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gallery.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def pins():
    """gpiozero's mock pin factory (GPIOZERO_PIN_FACTORY=mock): each pin records
    its states and the time between them."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory
    previous, Device.pin_factory = Device.pin_factory, MockFactory()
    yield Device.pin_factory
    Device.pin_factory.reset()
    Device.pin_factory = previous


@pytest.fixture
def broker(tmp_path):
    """Debian's mosquitto on a free loopback port (skipped where it is not installed)."""
    import shutil
    from kiosk.outputs.local_broker import LocalBroker
    if shutil.which("mosquitto") is None:
        pytest.skip("mosquitto is not installed (scripts/setup.sh installs it)")
    broker = LocalBroker(tmp_path).start()
    yield broker
    broker.stop()
