"""The command line's conventions: global options on either side of the
command, --version, verify's exit status, `import` telling what it skipped and
never adding a photo twice, and one line for a gallery URL it cannot open."""

from __future__ import annotations

import json
import shutil

import pytest

from ui.cli import main


def run(capsys, *args) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit:   # argparse: --version, usage errors
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def own_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "kiosk.json"))
    monkeypatch.delenv("KIOSK_DB_URL", raising=False)


def test_global_options_work_after_the_command(capsys, db_url, model_dir, faces_dir):
    obama = faces_dir / "people" / "obama" / "obama.jpg"
    code, out, err = run(capsys, "enroll", "--db", db_url, "--model-dir", model_dir, "--json", "obama", obama)
    assert code == 0 and json.loads(out)["added"] == 1, err
    code, out, _ = run(capsys, "identify", "--json", "--db", db_url, "--model-dir", model_dir, obama)
    assert code == 0 and json.loads(out)["results"][0]["faces"][0]["name"] == "obama"
    code, out, _ = run(capsys, "people", "--db", db_url, "--json")
    assert code == 0 and json.loads(out)["people"] == [{"name": "obama", "samples": 1}]
    code, out, _ = run(capsys, "people", "list", "--json", "--db", db_url)
    assert json.loads(out)["people"] == [{"name": "obama", "samples": 1}]
    # before the command as ever; a sub-command's unset option keeps it
    code, out, _ = run(capsys, "--db", db_url, "--json", "people")
    assert code == 0 and json.loads(out)["gallery"] == db_url


def test_version_comes_from_the_package_metadata(capsys):
    from importlib.metadata import version
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"kiosk {version('door-kiosk')}"


def test_verify_exit_status_is_like_cmp(capsys, db_url, model_dir, faces_dir, tmp_path):
    obama, people = faces_dir / "people" / "obama", faces_dir / "people"
    common = ["--db", db_url, "--model-dir", model_dir]
    assert run(capsys, *common, "verify", obama / "obama.jpg", obama / "obama2.jpg")[0] == 0
    code, out, _ = run(capsys, *common, "verify", obama / "obama.jpg", people / "biden" / "biden.jpg")
    assert code == 1 and out.startswith("different people")
    missing = tmp_path / "nope.jpg"
    for photos, words in (((obama / "obama.jpg", missing), "nope.jpg"),
                          ((faces_dir / "scenes" / "two_people.jpg", obama / "obama.jpg"), "2 faces")):
        code, out, err = run(capsys, *common, "verify", *photos)
        assert code == 2 and words in err and err.count("\n") == 1 and out == ""
    code, out, _ = run(capsys, "verify", "--help")
    assert code == 0 and "1 different people, 2 could not compare" in " ".join(out.split())


def test_import_says_what_it_skipped_and_adds_no_photo_twice(kiosk, faces_dir, tmp_path):
    photos = tmp_path / "photos"
    shutil.copytree(faces_dir / "people" / "biden", photos / "biden")
    (photos / "nobody").mkdir()                                       # an empty person folder
    shutil.copy(faces_dir / "people" / "obama" / "obama.jpg", photos)  # a loose photo
    (photos / "biden" / "notes.txt").write_text("not a photo")
    (photos / ".DS_Store").write_bytes(b"\0")                          # hidden: not the admin's
    code, out, err = kiosk("import", photos)
    assert code == 1
    assert json.loads(out)["people"] == [{"name": "biden", "added": 2, "already_enrolled": 0, "skipped": 0}]
    lines = err.splitlines()
    assert lines == [f"skipped {photos / 'biden' / 'notes.txt'}: not a photo "
                     "(expected .bmp, .jpeg, .jpg, .png, .tif, .tiff, .webp)",
                     f"skipped {photos / 'nobody'}: no photos in this person's folder",
                     f"skipped {photos / 'obama.jpg'}: not in a person's folder (expected {photos}/<name>/obama.jpg)"]
    # the same folder again, tidied up: nothing new, nothing skipped, exit 0
    for stray in (photos / "nobody", photos / "obama.jpg", photos / "biden" / "notes.txt"):
        stray.rmdir() if stray.is_dir() else stray.unlink()
    code, out, err = kiosk("import", photos)
    assert code == 0 and json.loads(out)["people"][0] == \
        {"name": "biden", "added": 0, "already_enrolled": 2, "skipped": 0}
    assert err.count("already enrolled for biden, not added again") == 2
    # a copy of an enrolled photo under another name is the same photo too
    shutil.copy(photos / "biden" / "biden.jpg", photos / "biden" / "copy.jpg")
    assert json.loads(kiosk("import", photos)[1])["people"][0]["added"] == 0
    assert json.loads(kiosk("people")[1])["people"] == [{"name": "biden", "samples": 2}]


def test_enroll_does_not_add_the_same_photo_twice(kiosk, faces_dir):
    obama = faces_dir / "people" / "obama"
    assert json.loads(kiosk("enroll", "obama", obama / "obama.jpg", obama / "obama.jpg")[1])["added"] == 1
    code, out, err = kiosk("enroll", "obama", obama / "obama.jpg", obama / "obama2.jpg")
    assert code == 0 and json.loads(out) == {"name": "obama", "added": 1, "already_enrolled": 1, "samples": 2}
    assert "obama.jpg: already enrolled for obama" in err
    code, out, err = kiosk("enroll", "obama", obama / "obama2.jpg")   # every photo already in
    assert code == 0 and json.loads(out)["samples"] == 2 and "already enrolled" in err


def test_import_of_only_loose_photos_enrolls_nobody(kiosk, faces_dir, tmp_path):
    shutil.copy(faces_dir / "people" / "obama" / "obama.jpg", tmp_path / "obama.jpg")
    code, out, err = kiosk("import", tmp_path)
    assert code == 1 and "skipped" in err and "no sub-folders with photos" in err and out == ""
    assert json.loads(kiosk("people")[1])["people"] == []


@pytest.mark.parametrize("url, words", [
    ("mysql://kiosk:secret@db-server/kiosks", "no driver for mysql"),
    ("postgresql+psycopg2://kiosk@db-server/kiosks", "driver postgresql+psycopg2 is not installed"),
    ("not a url", "not a database URL"),
    ("postgresql://kiosk@db-server:port/kiosks", "not a database URL"),
    ("sqlite:///{tmp}/no-such-folder/gallery.db", "no-such-folder does not exist"),
])
def test_a_gallery_url_the_kiosk_cannot_use_is_one_line(capsys, tmp_path, data_folder, url, words, monkeypatch):
    url = url.format(tmp=tmp_path)
    before = sorted(data_folder.iterdir())
    code, out, err = run(capsys, "people", "--db", url)
    assert code == 2 and words in err and err.startswith("kiosk: --db ") and err.count("\n") == 1
    assert "secret" not in err and out == ""
    monkeypatch.setenv("KIOSK_DB_URL", url)
    code, _, err = run(capsys, "db", "current")
    assert code == 2 and err.startswith("kiosk: KIOSK_DB_URL ") and words in err
    assert sorted(data_folder.iterdir()) == before and not (tmp_path / "no-such-folder").exists()
