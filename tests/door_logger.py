"""A door logging access events, in its own process, for tests/store/test_many_doors.py.

    door_logger.py burst DB_URL KIOSK_ID COUNT SPOOL
        Opens the gallery, prints {"ready": ...}, waits for a line on stdin (the
        test's start signal, sent to every door at once), then logs COUNT events
        through kiosk's EventWriter, one append([event]) (one transaction) each,
        and keeps retrying (flush(), as the door does every frame) until nothing
        is pending. Prints one JSON line of figures at the end.

    door_logger.py steady DB_URL KIOSK_ID SPOOL RATE RUN
        Opens the gallery, retrying every 0.2 s for up to 30 s while the
        database is unreachable (a kiosk cannot start without its gallery; its
        supervisor restarts it until it can), prints {"ready": ..., "attempts":
        ..., "loaded": events found in the spool}, then logs RATE events a second through BackgroundWriter(EventWriter(...,
        EventSpool(SPOOL))), the kiosk window's writer, printing {"event": name}
        once each is handed over, until stdin says "stop" (then waits up to
        15 s for the writer to have nothing queued or pending, closes it and
        prints {"done": ...}), "close" (closes at once: what is not written is
        spooled) or "pause" (stops logging and stays alive, to be killed).

Names are unique: KIOSK_ID-RUN-NUMBER (steady) or KIOSK_ID-NUMBER (burst).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError

from kiosk.common.door_events import DENIED, GRANTED, NewEvent
from kiosk.store.db import open_database, utc_now
from kiosk.store.event_spool import EventSpool
from kiosk.store.event_writer import BackgroundWriter, EventWriter


def say(**fields) -> None:
    print(json.dumps(fields), flush=True)


def event(kiosk_id: str, name: str, number: int) -> NewEvent:
    return NewEvent(GRANTED if number % 3 else DENIED, None, name, 0.25, None, kiosk_id, time=utc_now())


def burst(db_url: str, kiosk_id: str, count: int, spool_path: str) -> None:
    writer = EventWriter(open_database(db_url), EventSpool(Path(spool_path)))
    say(ready=kiosk_id)
    sys.stdin.readline()
    started = time.time()
    failures = 0
    for number in range(count):
        if writer.append([event(kiosk_id, f"{kiosk_id}-{number:05d}", number)]) is not None:
            failures += 1
    retries = 0
    while writer.pending:                      # the door retries until the log took everything
        time.sleep(0.05)
        if writer.flush() is not None:
            retries += 1
    say(kiosk_id=kiosk_id, started=started, ended=time.time(), failures=failures, retries=retries,
        pending=len(writer.pending), spool_left=Path(spool_path).exists())


def open_when_up(db_url: str) -> tuple[object, int]:
    """The gallery's sessions, and how many tries it took (a supervisor's restarts)."""
    deadline = time.monotonic() + 30
    attempts = 0
    while True:
        attempts += 1
        try:
            return open_database(db_url), attempts
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            say(attempt_failed=attempts)
            time.sleep(0.2)


def steady(db_url: str, kiosk_id: str, spool_path: str, rate: float, run: str) -> None:
    sessions, attempts = open_when_up(db_url)
    door_writer = EventWriter(sessions, EventSpool(Path(spool_path)))   # loads the spool
    loaded = [e.name for e in door_writer.pending]
    writer = BackgroundWriter(door_writer)
    command: list[str] = []
    got = threading.Event()

    def listen() -> None:
        command.append(sys.stdin.readline().strip())
        got.set()

    threading.Thread(target=listen, daemon=True).start()
    say(ready=kiosk_id, attempts=attempts, loaded=loaded)
    number, start = 0, time.monotonic()
    while not got.wait(max(0.0, start + number / rate - time.monotonic())):
        name = f"{kiosk_id}-{run}-{number:05d}"
        writer.append([event(kiosk_id, name, number)])
        say(event=name)
        number += 1
    if command[0] == "pause":
        threading.Event().wait()               # until the test kills this process
    if command[0] == "stop":
        deadline = time.monotonic() + 15
        while (writer.writer.pending or not writer._queue.empty()) and time.monotonic() < deadline:
            time.sleep(0.1)
    writer.close()
    spool = EventSpool(Path(spool_path))
    say(done=number, pending=len(writer.writer.pending), error=None if writer.writer.error is None else str(writer.writer.error),
        spooled=[e.name for e in spool.load()], spool_left=spool.path.exists())


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "burst":
        burst(args[0], args[1], int(args[2]), args[3])
    elif mode == "steady":
        steady(args[0], args[1], args[2], float(args[3]), args[4])
    else:
        sys.exit(f"unknown mode {mode!r}")
