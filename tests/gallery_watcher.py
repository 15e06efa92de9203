"""A second kiosk's gallery, in its own process, for the sync tests: keeps its
in-memory gallery current with GallerySync and prints a JSON line
{"time": wall clock, "people": [...]} each time it changes."""

from __future__ import annotations

import json
import sys
import threading
import time

from kiosk.store.db import open_database
from kiosk.door.gallery_sync import GallerySync


def main(db_url: str, model_name: str) -> None:
    def show(index) -> None:
        print(json.dumps({"time": time.time(), "people": sorted(index.names())}), flush=True)

    sync = GallerySync(open_database(db_url), model_name, on_index=show)
    show(sync.load())
    sync.start()
    threading.Event().wait()   # until the test kills this process


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
