"""The command line's gallery changes leave their audit row, as the admin
panel's do: real models and photos, a real SQLite file and a real PostgreSQL database."""

import json
import shutil

import pytest
from sqlalchemy import select

from kiosk.store.db import AdminAction, engine_of, open_database
from ui.cli import main


@pytest.fixture
def kiosk_on(any_db_url, model_dir, tmp_path, monkeypatch, capsys):
    """`kiosk --db ANY_DB_URL --json ARGS` in this process: (exit code, stdout)."""
    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "kiosk.json"))
    (tmp_path / "kiosk.json").write_text('{"kiosk_id": "door-7"}')

    def run(*args):
        code = main(["--db", any_db_url, "--model-dir", str(model_dir), "--json", *map(str, args)])
        return code, capsys.readouterr().out
    return run


def audit(db_url) -> list[tuple[str, str, str]]:
    sessions = open_database(db_url)
    with sessions.begin() as s:
        found = [(a.kiosk_id, a.action, a.detail) for a in s.scalars(select(AdminAction).order_by(AdminAction.id))]
    engine_of(sessions).dispose()
    return found


def test_enroll_import_rename_and_delete_are_recorded(kiosk_on, any_db_url, faces_dir, tmp_path):
    obama = faces_dir / "people" / "obama"
    assert kiosk_on("enroll", "Obama", obama / "obama.jpg")[0] == 0
    assert kiosk_on("enroll", "Obama", obama / "obama.jpg", obama / "obama2.jpg")[0] == 0
    assert kiosk_on("enroll", "Obama", obama / "obama2.jpg")[0] == 0     # nothing new: nothing recorded
    shutil.copytree(faces_dir / "people" / "biden", tmp_path / "photos" / "Biden")
    assert kiosk_on("import", tmp_path / "photos")[0] == 0
    assert kiosk_on("people", "rename", "Obama", "Barack")[0] == 0
    assert kiosk_on("people", "delete", "Barack")[0] == 0
    assert kiosk_on("people", "delete", "Nobody")[0] == 1                # refused: nothing recorded
    assert audit(any_db_url) == [
        ("door-7", "enroll", "command line: Obama: 1 sample(s) added, 1 in all"),
        ("door-7", "add-samples", "command line: Obama: 1 sample(s) added, 2 in all"),
        ("door-7", "enroll", "command line: Biden: 2 sample(s) added, 2 in all"),
        ("door-7", "rename", "command line: Obama -> Barack"),
        ("door-7", "delete", "command line: Barack (2 samples)"),
    ]
    assert [p["name"] for p in json.loads(kiosk_on("people")[1])["people"]] == ["Biden"]
