"""Convert the MTCNN networks shipped in the ``mtcnn`` wheel to LiteRT (TFLite) files.

The kiosk runs face detection with the LiteRT interpreter (see ``kiosk.vision.detector``)
because importing TensorFlow alone costs seconds at start-up. TensorFlow is needed
only here, once, to turn the wheel's Keras networks into three fp32 ``.tflite``
files; it and ``mtcnn`` are imported lazily so importing this module stays cheap.

Files written into ``model_dir``:

- ``pnet.tflite``: input ``[1, H, W, 3]`` with dynamic H and W (the image pyramid).
- ``rnet.tflite``: input ``[N, 24, 24, 3]`` with dynamic batch N.
- ``onet.tflite``: input ``[N, 48, 48, 3]`` with dynamic batch N.
- ``mtcnn.tflite.source``: JSON naming the ``mtcnn`` version and the SHA-256 of
  each ``.lz4`` weight file the networks were built from. It is written last, so
  its presence (with matching content) means all three files are complete.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from kiosk.vision.model_files import mtcnn_paths
from kiosk.common.files import write_atomically
from kiosk.models.weights import WeightsError, conversion_output, details_in

# name -> (the wheel's weight file, input shape with None for dynamic axes)
NETWORKS: dict[str, tuple[str, tuple[int | None, ...]]] = {
    "pnet": ("pnet.lz4", (1, None, None, 3)),
    "rnet": ("rnet.lz4", (None, 24, 24, 3)),
    "onet": ("onet.lz4", (None, 48, 48, 3)),
}
SOURCE_FILE = "mtcnn.tflite.source"
_FORMAT = 1  # bump when the conversion itself changes, to force a rebuild
_MAX_ABS_ERROR = 1e-4  # TFLite vs Keras on the probe input; fp32 gives ~1e-6


def convert_mtcnn(model_dir: Path, log: Callable[[str], None] | None = None, verbose: bool = False) -> None:
    """Make sure ``model_dir`` holds up-to-date PNet/RNet/ONet ``.tflite`` files.

    Does nothing (and imports no TensorFlow) when the files exist and the
    ``.source`` record matches the installed ``mtcnn`` wheel; otherwise builds each
    network as ``mtcnn.stages`` does, converts it, checks the converted model
    against Keras on a probe input, and writes every file atomically.
    """
    model_dir = Path(model_dir)
    wanted = _source_record()
    if _is_up_to_date(model_dir, wanted):
        return
    model_dir.mkdir(parents=True, exist_ok=True)
    if log:
        log("converting MTCNN's three networks (about 30 s)")
    with conversion_output(model_dir, verbose) as log_path:
        for name, path in mtcnn_paths(model_dir).items():
            weights_file, input_shape = NETWORKS[name]
            try:
                flatbuffer = _convert_network(name, weights_file, input_shape)
            except RuntimeError as exc:
                raise WeightsError(f"cannot convert MTCNN's {name}: {exc}{details_in(log_path)}") from exc
            write_atomically(path, flatbuffer)
    write_atomically(model_dir / SOURCE_FILE, (json.dumps(wanted, indent=2) + "\n").encode())


def _weights_path(weights_file: str) -> Path:
    """The wheel's copy of a weight file, found without importing ``mtcnn`` (and TensorFlow)."""
    dist = importlib.metadata.distribution("mtcnn")
    return Path(dist.locate_file(f"mtcnn/assets/weights/{weights_file}"))


def _source_record() -> dict:
    """What the converted files must have been built from (no TensorFlow import)."""
    dist = importlib.metadata.distribution("mtcnn")
    hashes = {}
    for weights_file, _ in NETWORKS.values():
        hashes[weights_file] = hashlib.sha256(_weights_path(weights_file).read_bytes()).hexdigest()
    return {"format": _FORMAT, "mtcnn_version": dist.version, "weights_sha256": hashes}


def _is_up_to_date(model_dir: Path, wanted: dict) -> bool:
    """True if every ``.tflite`` exists and the recorded source equals ``wanted``."""
    if not all(p.is_file() for p in mtcnn_paths(model_dir).values()):
        return False
    try:
        recorded = json.loads((model_dir / SOURCE_FILE).read_text())
    except (OSError, ValueError):
        return False
    return recorded == wanted


def _build_keras_network(name: str, weights_file: str):
    """The wheel's Keras model for ``name`` with its weights, as ``mtcnn.stages`` builds it."""
    from mtcnn.network.onet import ONet
    from mtcnn.network.pnet import PNet
    from mtcnn.network.rnet import RNet
    from mtcnn.utils.tensorflow import load_weights

    model = {"pnet": PNet, "rnet": RNet, "onet": ONet}[name]()
    model.build()
    # load_weights would prefer a same-named file in the working directory; the
    # absolute path makes it load exactly the file whose hash we record
    model.set_weights(load_weights(str(_weights_path(weights_file))))
    return model


def _convert_network(name: str, weights_file: str, input_shape: tuple) -> bytes:
    """Convert one network to an fp32 TFLite flatbuffer with the given dynamic input shape.

    Goes through a SavedModel exported by Keras: converting the Keras 3 model's
    concrete function directly keeps its weights as resource variables, which the
    LiteRT interpreter then reads uninitialised (all-NaN outputs).
    """
    import tensorflow as tf

    model = _build_keras_network(name, weights_file)
    with tempfile.TemporaryDirectory() as tmp:
        saved = os.path.join(tmp, "saved_model")
        signature = [tf.TensorSpec(input_shape, tf.float32)]
        model.export(saved, format="tf_saved_model", verbose=False, input_signature=signature)
        flatbuffer = tf.lite.TFLiteConverter.from_saved_model(saved).convert()
    _check_conversion(model, flatbuffer, input_shape)
    return flatbuffer


def _check_conversion(model, flatbuffer: bytes, input_shape: tuple) -> None:
    """Raise if the TFLite model's outputs differ from Keras's on a random probe."""
    from kiosk.vision.litert import LiteNetwork

    probe_shape = [dim if dim is not None else (3 if i == 0 else 37) for i, dim in enumerate(input_shape)]
    probe = np.random.default_rng(0).uniform(-1, 1, probe_shape).astype(np.float32)
    got = LiteNetwork(flatbuffer, num_threads=1).run_by_size(probe)
    for expected in model(probe):
        expected = np.asarray(expected)
        actual = got.get(expected.shape[-1])
        if actual is None or actual.shape != expected.shape or not np.all(np.isfinite(actual)):
            raise RuntimeError(f"converted MTCNN network is broken: output {expected.shape} missing or not finite")
        error = float(np.max(np.abs(actual - expected)))
        if error > _MAX_ABS_ERROR:
            raise RuntimeError(f"converted MTCNN network differs from Keras by {error:g}")
