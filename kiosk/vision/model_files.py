"""The converted model files the running kiosk loads, by name, FaceNet's input
and output sizes, and the one error for their absence. kiosk.models makes
these files; this module only names them, so the run-time engine never
imports the TensorFlow side to find them."""

from __future__ import annotations

from pathlib import Path

FACENET_MODEL_NAME = "facenet-20170512-110547-keras"
TFLITE_NAME = "facenet.tflite"
FACE_SIZE = 160             # pixels: FaceNet's square RGB input, the side of every aligned face crop
EMBEDDING_DIMENSION = 128   # FaceNet's output: one embedding's length
MTCNN_NETWORK_NAMES = ("pnet", "rnet", "onet")


class WeightsError(Exception):
    """The weights could not be fetched, checked or converted (one-line message)."""


class WeightsMissing(WeightsError):
    """The model files are not in the model folder (or are damaged).

    The message is always one line ending with how to fix it (``kiosk fetch-model``),
    whatever the caller passed.
    """

    def __init__(self, message: str = "face models are missing"):
        line = " ".join(str(message).split())
        if "kiosk fetch-model" not in line:
            line = f"{line}: run `kiosk fetch-model` first"
        super().__init__(line)


def mtcnn_paths(model_dir: Path) -> dict[str, Path]:
    """The converted MTCNN networks in model_dir, by network name."""
    return {name: Path(model_dir) / f"{name}.tflite" for name in MTCNN_NETWORK_NAMES}


def require_file(path: Path) -> Path:
    """path, or WeightsMissing naming it."""
    if not Path(path).is_file():
        raise WeightsMissing(f"face model {path} not found")
    return Path(path)
