"""Many doors, one gallery, with real processes (tests/door_logger.py): eight
doors logging at once lose and duplicate nothing, on SQLite and PostgreSQL; a
door logging through a PostgreSQL restart, or itself restarted during the
outage, loses and duplicates nothing either.

The outage tests stop and start a PostgreSQL server of their own (the same
scripts/postgres.sh, another directory and port), never the shared test
server other tests (and other test runs) are using meanwhile.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from helpers import PROJECT_DIR
from kiosk.store.db import AccessEvent, engine_of
from kiosk.store.event_spool import EventSpool

LOGGER = Path(__file__).parents[1] / "door_logger.py"
DOORS = 8
EVENTS_PER_DOOR = 1000
RATE = 20.0            # events a second, a busy door's burst


class Door:
    """One kiosk process (tests/door_logger.py) and the JSON lines it prints."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, str(LOGGER), *args], cwd=PROJECT_DIR, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.lines: queue.Queue = queue.Queue()
        self.events: list[str] = []     # names handed to the writer, in order
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            message = json.loads(line)
            if "event" in message:
                self.events.append(message["event"])
            else:
                self.lines.put(message)
        self.lines.put(None)

    def expect(self, key: str, timeout: float = 30) -> dict:
        """The next non-event line; it must carry key. Failed attempts to open
        the gallery (a door started while the database is down) are passed
        over unless they are what is expected."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {key!r} from the door within {timeout} s") from None
            if key == "attempt_failed" or message is None or "attempt_failed" not in message:
                break
        assert message is not None, f"the door ended (exit code {self.proc.wait()}) before {key!r}"
        assert key in message, message
        return message

    def logged_at_least(self, count: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            assert time.monotonic() < deadline, f"the door logged {len(self.events)} of {count} events"
            time.sleep(0.02)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self) -> int:
        return self.proc.wait(timeout=30)

    def kill(self) -> None:
        """Ends the process if it still runs, and closes its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self._reader.join(5)   # it reads to the end of the pipe, then lets it go
        self.proc.stdout.close()


def logged(sessions) -> Counter:
    """How many times each (kiosk_id, name) is in the access log."""
    with sessions.begin() as session:
        return Counter((kiosk_id, name) for kiosk_id, name in
                       session.execute(select(AccessEvent.kiosk_id, AccessEvent.name)))


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


# --- eight doors at once --------------------------------------------------------------

@pytest.mark.slow   # eight door processes at once, on both databases
def test_eight_doors_logging_at_once_lose_and_duplicate_nothing(any_db_url, tmp_path, record_property,
                                                               open_gallery):
    sessions = open_gallery(any_db_url)            # the gallery exists before the doors start
    doors = [Door("burst", any_db_url, f"door-{n}", str(EVENTS_PER_DOOR), str(tmp_path / f"door-{n}.spool.jsonl"))
             for n in range(DOORS)]
    try:
        for door in doors:
            door.expect("ready")
        started = time.monotonic()
        for door in doors:                          # the start signal, to all of them at once
            door.send("go")
        results = [door.expect("kiosk_id", timeout=240) for door in doors]
        wall = time.monotonic() - started
        assert [door.finish() for door in doors] == [0] * DOORS
    finally:
        for door in doors:
            door.kill()
    backend = engine_of(sessions).dialect.name
    record_property(f"wall_s_{backend}", round(wall, 2))
    print(f"\n{backend}: {DOORS} doors x {EVENTS_PER_DOOR} events in {wall:.2f} s wall "
          f"({DOORS * EVENTS_PER_DOOR / wall:.0f} events/s); failed appends "
          f"{[r['failures'] for r in results]}, failed retries {[r['retries'] for r in results]}")

    # They did write at the same time: every door started before any finished.
    assert max(r["started"] for r in results) < min(r["ended"] for r in results)
    assert [(r["pending"], r["spool_left"]) for r in results] == [(0, False)] * DOORS
    with sessions.begin() as session:
        assert session.scalar(select(func.count(AccessEvent.id))) == DOORS * EVENTS_PER_DOOR
        per_door = {kiosk_id: count for kiosk_id, count in session.execute(
            select(AccessEvent.kiosk_id, func.count(AccessEvent.id)).group_by(AccessEvent.kiosk_id))}
    assert per_door == {f"door-{n}": EVENTS_PER_DOOR for n in range(DOORS)}
    expected = Counter((f"door-{n}", f"door-{n}-{i:05d}") for n in range(DOORS) for i in range(EVENTS_PER_DOOR))
    assert logged(sessions) == expected             # each exactly once, under its own door


# --- a PostgreSQL server of their own, for the outage tests ---------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnPostgres:
    """A throw-away cluster run by scripts/postgres.sh in a directory and on a
    port of its own, so it can be stopped without disturbing anyone else."""

    def __init__(self):
        # The server runs as `postgres` when the tests run as root: a directory
        # it can reach (pytest's tmp_path is private to the test user).
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.root = Path(tempfile.mkdtemp(prefix="kiosk-pg-outage-", dir=base))
        self.root.chmod(0o755)
        self.env = {**os.environ, "KIOSK_PG_DIR": str(self.root), "KIOSK_PG_PORT": str(free_port())}
        try:
            self.start()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.env['KIOSK_PG_PORT']}/postgres"
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        self._databases = 0

    def _script(self, *args: str) -> None:
        done = subprocess.run([str(PROJECT_DIR / "scripts" / "postgres.sh"), *args], env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    def start(self) -> None:
        self._script()

    def stop(self) -> None:
        self._script("stop")

    def new_database(self) -> str:
        self._databases += 1
        name = f"outage_{self._databases}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def remove(self) -> None:
        self.admin.dispose()
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def own_postgres(pg_server):
    """A PostgreSQL server the test may stop (only where the PostgreSQL tests run at all)."""
    server = OwnPostgres()
    yield server
    server.remove()


@pytest.fixture
def outage(own_postgres):
    """Stops the server for a while; it is running again after the test, whatever happened."""
    try:
        yield own_postgres
    finally:
        own_postgres.start()


# --- a door through a database restart ------------------------------------------------

def test_a_door_logging_through_a_postgres_restart_loses_and_duplicates_nothing(outage, tmp_path, open_gallery):
    url = outage.new_database()
    sessions = open_gallery(url)
    spool = EventSpool(tmp_path / "events-door-1.spool.jsonl")
    door = Door("steady", url, "door-1", str(spool.path), str(RATE), "a")
    try:
        door.expect("ready")
        door.logged_at_least(int(1 * RATE))         # a second of ordinary logging
        before = len(door.events)
        outage.stop()
        try:
            # The outage reaches the door: what it logs now waits on disk.
            wait_until(spool.path.exists, 3, "the door spools its events")
            time.sleep(3)
            during = len(door.events) - before
        finally:
            outage.start()
        restarted = len(door.events)
        door.logged_at_least(restarted + int(2 * RATE))   # 2 s more, the server back
        door.send("stop")
        done = door.expect("done")
        assert door.finish() == 0
    finally:
        door.kill()
    assert during >= 2 * RATE                        # the door kept logging through the outage
    assert (done["pending"], done["spool_left"], done["error"]) == (0, False, None)
    assert len(door.events) == done["done"]
    assert logged(sessions) == Counter(("door-1", name) for name in door.events)


# --- a door restarted during the outage -----------------------------------------------

@pytest.mark.parametrize("ending", ["closed", "killed"])
def test_events_spooled_by_a_door_are_written_by_its_next_run_once_the_database_is_back(
        outage, tmp_path, ending, open_gallery):
    """closed: the kiosk is shut down during the outage (its writer spools what
    it could not write). killed: a power cut (SIGKILL) once its events reached
    the spool file."""
    url = outage.new_database()
    sessions = open_gallery(url)
    spool = EventSpool(tmp_path / "events-door-1.spool.jsonl")
    first = Door("steady", url, "door-1", str(spool.path), str(RATE), "first")
    second = None
    try:
        first.expect("ready")
        first.logged_at_least(int(1 * RATE))
        outage.stop()
        try:
            wait_until(spool.path.exists, 3, "the door spools its events")
            first.logged_at_least(len(first.events) + int(1.5 * RATE))
            if ending == "closed":
                first.send("close")
                done = first.expect("done")
                assert done["pending"] == len(done["spooled"]) and done["spool_left"]
            else:
                first.send("pause")
                last = first.events[-1]   # once paused, nothing more is logged
                wait_until(lambda: spool.load() and spool.load()[-1].name == last, 5,
                           "the last event reaches the spool")
                first.proc.send_signal(signal.SIGKILL)
            assert first.finish() in (0, -signal.SIGKILL)
            spooled = [e.name for e in spool.load()]
            # The events of the outage wait on disk, the newest last.
            assert len(spooled) >= 1.5 * RATE and spooled == first.events[-len(spooled):]
            # The door starts again while the database is still down: it keeps
            # trying to open the gallery (its supervisor restarting it).
            second = Door("steady", url, "door-1", str(spool.path), str(RATE), "second")
            second.expect("attempt_failed")          # it did start during the outage
        finally:
            outage.start()
        ready = second.expect("ready")
        assert ready["attempts"] > 1
        assert ready["loaded"] == spooled            # and found the first run's events
        second.logged_at_least(int(1 * RATE))
        second.send("stop")
        done = second.expect("done")
        assert second.finish() == 0
    finally:
        first.kill()
        if second:
            second.kill()
    assert (done["pending"], done["spool_left"], done["error"]) == (0, False, None)
    assert logged(sessions) == Counter(("door-1", name) for name in first.events + second.events)
