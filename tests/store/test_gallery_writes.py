"""kiosk.store.gallery_writes on a real SQLite file and a real PostgreSQL database:
every change of the gallery leaves its audit row, in the same transaction
(made-up embeddings: these tests are about storage, not recognition)."""

import numpy as np
import pytest
from sqlalchemy import select

from kiosk.store.db import AdminAction
from kiosk.store.gallery import GalleryError, NewSample, list_people
from kiosk.store.gallery_writes import ADMIN_PANEL, COMMAND_LINE, Author, delete, enroll, rename

MODEL = "test-model"
PANEL = Author("door-1", ADMIN_PANEL)


def sample(seed: int) -> NewSample:
    vector = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return NewSample(vector / np.linalg.norm(vector), thumbnail_jpeg=b"\xff\xd8jpeg", quality=0.9)


@pytest.fixture
def sessions(any_db_url, open_gallery):
    return open_gallery(any_db_url)


def audit(sessions) -> list[tuple[str, str, str]]:
    with sessions.begin() as s:
        return [(a.kiosk_id, a.action, a.detail)
                for a in s.scalars(select(AdminAction).order_by(AdminAction.id))]


def test_each_write_is_recorded_with_who_made_it(sessions):
    shell = Author("door-2", COMMAND_LINE)
    with sessions.begin() as s:
        done = enroll(s, PANEL, " Zoë ", [sample(1), sample(2)], MODEL)
    assert (done.name, done.added, done.samples, done.new_person) == ("Zoë", 2, 2, True)
    with sessions.begin() as s:
        more = enroll(s, shell, "Zoë", [sample(3)], MODEL)
        assert rename(s, shell, "Zoë", "Zoë B.") == "Zoë B."
    assert (more.added, more.samples, more.new_person) == (1, 3, False)
    with sessions.begin() as s:
        assert delete(s, PANEL, "Zoë B.").samples == 3
    assert audit(sessions) == [
        ("door-1", "enroll", "admin panel: Zoë: 2 sample(s) added, 2 in all"),
        ("door-2", "add-samples", "command line: Zoë: 1 sample(s) added, 3 in all"),
        ("door-2", "rename", "command line: Zoë -> Zoë B."),
        ("door-1", "delete", "admin panel: Zoë B. (3 samples)"),
    ]


@pytest.mark.parametrize("write", [
    lambda s: enroll(s, PANEL, "Ada", [], MODEL),
    lambda s: enroll(s, PANEL, "Ada\nBob", [sample(2)], MODEL),
    lambda s: rename(s, PANEL, "Nobody", "Ada"),
    lambda s: rename(s, PANEL, "Bob", "Ada"),
    lambda s: delete(s, PANEL, "Nobody"),
], ids=["no samples", "bad name", "rename unknown", "rename to a taken name", "delete unknown"])
def test_a_refused_write_records_nothing(sessions, write):
    with sessions.begin() as s:
        enroll(s, PANEL, "Ada", [sample(1)], MODEL)
        enroll(s, PANEL, "Bob", [sample(3)], MODEL)
    with pytest.raises(GalleryError):
        with sessions.begin() as s:
            write(s)
    assert [action for _, action, _ in audit(sessions)] == ["enroll", "enroll"]


def test_a_write_rolled_back_takes_its_audit_row_with_it(sessions):
    with pytest.raises(RuntimeError):
        with sessions.begin() as s:
            enroll(s, PANEL, "Ada", [sample(1)], MODEL)
            raise RuntimeError("the disk filled up half-way")
    assert audit(sessions) == []
    with sessions.begin() as s:
        assert list_people(s) == []
