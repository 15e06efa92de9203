"""kiosk.store.gallery and kiosk.store.access_log on a real SQLite file and a real PostgreSQL
database (made-up embeddings: these tests are about storage, not recognition)."""

import io
import threading
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import func, select

from kiosk.common.door_events import DENIED, GRANTED, NewEvent

from kiosk.store.access_log import LogFilter, append_event, list_events, write_csv
from kiosk.store.db import FaceSample, Person
from kiosk.store.gallery import (GalleryError, NewSample, add_samples, delete_person, gallery_version,
                           list_people, load_matrix, person_name, rename_person)
from kiosk.vision.matcher import GalleryIndex

MODEL = "test-model"


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def sample(seed: int) -> NewSample:
    return NewSample(unit(seed), thumbnail_jpeg=b"\xff\xd8jpeg", quality=0.9, source=f"photo{seed}.jpg")


@pytest.fixture
def sessions(any_db_url, open_gallery):
    return open_gallery(any_db_url)


def count(sessions, model) -> int:
    with sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_unicode_names_round_trip(sessions):
    with sessions.begin() as s:
        add_samples(s, "胡歌", [sample(1), sample(2)], MODEL)
        add_samples(s, "Zoë", [sample(3)], MODEL)
    with sessions.begin() as s:
        assert [(p.name, p.samples) for p in list_people(s)] == [("Zoë", 1), ("胡歌", 2)]
        matrix = load_matrix(s, MODEL)
    assert matrix.embeddings.shape == (3, 128)
    assert np.allclose(matrix.embeddings[0], unit(1))
    assert sorted(matrix.names.values()) == ["Zoë", "胡歌"]


def test_failed_enrollment_leaves_nothing(sessions):
    with pytest.raises(RuntimeError):
        with sessions.begin() as s:
            add_samples(s, "Ada", [sample(1)], MODEL)
            raise RuntimeError("the disk filled up half-way")
    assert count(sessions, Person) == 0 and count(sessions, FaceSample) == 0


def test_embeddings_of_another_model_are_not_loaded(sessions):
    with sessions.begin() as s:
        add_samples(s, "Ada", [sample(1)], "old-model")
    with sessions.begin() as s:
        assert load_matrix(s, MODEL).embeddings.shape == (0, 128)


def test_rename_and_refusals(sessions):
    with sessions.begin() as s:
        add_samples(s, "Ada", [sample(1)], MODEL)
        add_samples(s, "Bob", [sample(2)], MODEL)
    with sessions.begin() as s:
        rename_person(s, "Ada", "Ada L.")
    with sessions.begin() as s:
        with pytest.raises(GalleryError, match="already enrolled"):
            rename_person(s, "Ada L.", "Bob")
        with pytest.raises(GalleryError, match="no enrolled person"):
            rename_person(s, "Nobody", "X")
        with pytest.raises(GalleryError):
            add_samples(s, "  ", [sample(3)], MODEL)
    with sessions.begin() as s:
        assert [p.name for p in list_people(s)] == ["Ada L.", "Bob"]


def test_a_name_typed_two_ways_is_one_person(sessions):
    composed, decomposed = "Zo\u00eb", "Zoe\u0308"     # "Zoë": one code point, or e + diaeresis
    with sessions.begin() as s:
        add_samples(s, decomposed, [sample(1)], MODEL)
    with sessions.begin() as s:
        add_samples(s, composed, [sample(2)], MODEL)
        rename_person(s, decomposed, " Zoë B. ")
    with sessions.begin() as s:
        assert [(p.name, p.samples) for p in list_people(s)] == [("Zoë B.", 2)]


def test_a_name_stored_before_names_were_checked_can_still_be_renamed(sessions):
    with sessions.begin() as s:
        s.add(Person(name="Zoe\u0308\nfake line"))   # as an older version stored it
    with sessions.begin() as s:
        rename_person(s, "Zoe\u0308\nfake line", "Zoe\u0308")
    with sessions.begin() as s:
        assert [p.name for p in list_people(s)] == ["Zo\u00eb"]
        assert delete_person(s, "Zoe\u0308").name == "Zo\u00eb"


@pytest.mark.parametrize("typed, words", [
    ("Ada\nBob\t2 sample(s)", "control character (U+000A)"),
    ("Ada\u2028Bob", "control character (U+2028)"),
    ("A" * 10_000, "10000 characters long; at most 100"),
    (" \t", "needs a name"),
])
def test_a_bad_name_is_refused_in_one_line_and_nothing_is_written(sessions, typed, words):
    with sessions.begin() as s:
        add_samples(s, "Ada", [sample(1)], MODEL)
    for write in (lambda s: add_samples(s, typed, [sample(2)], MODEL), lambda s: rename_person(s, "Ada", typed)):
        with pytest.raises(GalleryError) as info:
            with sessions.begin() as s:
                write(s)
        assert words in str(info.value) and "\n" not in str(info.value) and len(str(info.value)) < 200
    with sessions.begin() as s:
        assert [(p.name, p.samples) for p in list_people(s)] == [("Ada", 1)]
    assert person_name("A" * 100) == "A" * 100 and person_name("胡歌\u200d") == "胡歌\u200d"


def test_delete_removes_embeddings_and_snapshots(sessions):
    with sessions.begin() as s:
        ada = add_samples(s, "Ada", [sample(1), sample(2)], MODEL)
        add_samples(s, "Bob", [sample(3)], MODEL)
        append_event(s, NewEvent(GRANTED, ada.id, "Ada", 0.2, b"face-jpeg", "door-1"))
    with sessions.begin() as s:
        assert delete_person(s, "Ada").samples == 2
    assert count(sessions, FaceSample) == 1
    with sessions.begin() as s:
        (event,) = list_events(s)
        assert event.snapshot is None and event.person_id is None
        assert event.decision == GRANTED  # what the door did stays on record


def test_log_filters_pages_and_csv(sessions):
    base = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
    with sessions.begin() as s:
        for i in range(30):
            granted = i % 3 != 0
            append_event(s, NewEvent(GRANTED if granted else DENIED, None, "Ada" if granted else None,
                                     0.3, None, "door-1", time=base + timedelta(minutes=i)))
    with sessions.begin() as s:
        newest = list_events(s, limit=5)
        assert [e.time.minute for e in newest] == [29, 28, 27, 26, 25]
        assert len(list_events(s, LogFilter(decision=DENIED))) == 10
        assert len(list_events(s, LogFilter(name="ad"))) == 20
        window = LogFilter(since=base + timedelta(minutes=10), until=base + timedelta(minutes=20))
        assert len(list_events(s, window)) == 10
        assert len(list_events(s, offset=25, limit=10)) == 5
        out = io.StringIO()
        assert write_csv(list_events(s, LogFilter(decision=DENIED)), out) == 10
    lines = out.getvalue().splitlines()
    assert lines[0] == "time,kiosk_id,decision,name,distance" and len(lines) == 11


def test_index_from_gallery_matches_the_right_person(sessions):
    with sessions.begin() as s:
        add_samples(s, "Ada", [sample(1), sample(2)], MODEL)
        add_samples(s, "Bob", [sample(3)], MODEL)
        index = GalleryIndex(load_matrix(s, MODEL))
    probe = unit(3) + 0.05 * unit(9)
    probe /= np.linalg.norm(probe)
    (match,) = index.match(probe[None], threshold=0.4, margin=0.05)
    assert match.name == "Bob" and match.distance < 0.05
    (stranger,) = index.match(unit(42)[None], threshold=0.4, margin=0.05)
    assert stranger.name is None and stranger.best_name in ("Ada", "Bob")


def version(sessions) -> int:
    with sessions.begin() as s:
        return gallery_version(s)


def test_every_gallery_write_counts_one_version(sessions):
    assert version(sessions) == 0
    with sessions.begin() as s:
        add_samples(s, "Ada", [sample(1)], MODEL)
    assert version(sessions) == 1
    with sessions.begin() as s:
        add_samples(s, "Ada", [sample(2)], MODEL)
        add_samples(s, "Bob", [sample(3)], MODEL)
    assert version(sessions) == 3
    with sessions.begin() as s:
        rename_person(s, "Bob", "Robert")
    assert version(sessions) == 4
    with sessions.begin() as s:
        delete_person(s, "Robert")
    assert version(sessions) == 5
    with sessions.begin() as s:   # reading and logging are not gallery changes
        list_people(s)
        load_matrix(s, MODEL)
        append_event(s, NewEvent(DENIED, None, None, 0.9, None, "door-1"))
    assert version(sessions) == 5


def test_a_write_rolled_back_leaves_the_version(sessions):
    with pytest.raises(GalleryError):
        with sessions.begin() as s:
            delete_person(s, "Nobody")
    with pytest.raises(RuntimeError):
        with sessions.begin() as s:
            add_samples(s, "Ada", [sample(1)], MODEL)
            raise RuntimeError("the disk filled up half-way")
    assert version(sessions) == 0


def test_two_doors_enrolling_one_new_name_make_one_person(sessions):
    """Door B enrolls "Ada" while door A's enrollment of "Ada" is not yet
    committed: B waits for A, then adds its sample to A's Ada (without the
    gallery-version lock, B fails on the unique name)."""
    a = sessions()
    a.begin()
    add_samples(a, "Ada", [sample(1)], MODEL)
    errors = []

    def door_b():
        try:
            with sessions.begin() as b:
                add_samples(b, "Ada", [sample(2)], MODEL)
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=door_b)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()          # B waits for A's transaction
    a.commit()
    a.close()
    thread.join(10)
    assert not thread.is_alive() and errors == []
    with sessions.begin() as s:
        assert [(p.name, p.samples) for p in list_people(s)] == [("Ada", 2)]
        assert gallery_version(s) == 2


def test_a_deleted_persons_face_crops_are_gone_from_the_sqlite_file(db_url, tmp_path, open_gallery):
    """secure_delete zeroes the freed pages and erase_traces empties the
    write-ahead log, while the kiosk's connections stay open."""
    from kiosk.store.db import AccessEvent
    from kiosk.store.gallery import erase_traces
    from kiosk.vision.images import encode_jpeg
    crop = encode_jpeg(np.random.default_rng(7).integers(0, 255, (160, 160, 3), dtype=np.uint8))
    snapshot = encode_jpeg(np.random.default_rng(8).integers(0, 255, (160, 160, 3), dtype=np.uint8))
    sessions = open_gallery(db_url)
    with sessions.begin() as s:
        ada = add_samples(s, "Ada", [NewSample(unit(1), crop, 0.9)], MODEL)
        add_samples(s, "Bob", [sample(2)], MODEL)
        append_event(s, NewEvent(GRANTED, ada.id, "Ada", 0.2, snapshot, "door-1"))
    files = [tmp_path / "gallery.db", tmp_path / "gallery.db-wal"]
    sessions.kw["bind"].dispose()   # the crops reach the file itself, not only the log
    assert all(any(blob[100:400] in f.read_bytes() for f in files if f.exists()) for blob in (crop, snapshot))
    with sessions.begin() as s:
        deleted = delete_person(s, "Ada")
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(AccessEvent)) == 1   # a connection stays open
        erase_traces(sessions, tmp_path, deleted)
        for blob in (crop, snapshot):
            assert not any(blob[100:400] in f.read_bytes() for f in files if f.exists())
