"""FaceEngine: the one owner of the face models (detect -> align -> embed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk.common.config import DEFAULT_MIN_FACE_SIZE
from kiosk.vision.align import align_face, crop_face, sharpness
from kiosk.vision.detector import Detection, FaceDetector
from kiosk.vision.embedder import FaceEmbedder
from kiosk.vision.litert import DEFAULT_THREADS
from kiosk.vision.model_files import FACENET_MODEL_NAME, TFLITE_NAME, WeightsMissing, mtcnn_paths

PIPELINE_NAME = f"{FACENET_MODEL_NAME}+2views"


@dataclass(frozen=True)
class Face:
    """A detected face, its aligned crop and its embedding."""

    detection: Detection
    aligned: np.ndarray    # (160, 160, 3) uint8 RGB
    embedding: np.ndarray  # (128,) float32, L2-normalised

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.detection.box


class FaceEngine:
    """Loads the converted models from model_dir once; callers ask it for faces,
    never for networks. Construct with FaceEngine.load(model_dir)."""

    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder):
        self.detector = detector
        self.embedder = embedder

    @classmethod
    def load(cls, model_dir: Path, min_face_size: int = DEFAULT_MIN_FACE_SIZE,
             threads: int = DEFAULT_THREADS) -> "FaceEngine":
        """Raises WeightsMissing (one line: how to get them) when the models are not there."""
        model_dir = Path(model_dir)
        needed = [model_dir / TFLITE_NAME, *mtcnn_paths(model_dir).values()]
        if not all(p.exists() for p in needed):
            raise WeightsMissing(f"face models not found in {model_dir}: run `kiosk fetch-model` first")
        return cls(FaceDetector(model_dir, min_face_size=min_face_size, num_threads=threads),
                   FaceEmbedder(model_dir / TFLITE_NAME, num_threads=threads))

    @property
    def model_name(self) -> str:
        """Names the samples this engine makes: the network and the views it
        averages. Samples made another way (a gallery enrolled before the
        two views) are never matched against these: those people must be
        enrolled again."""
        return PIPELINE_NAME

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in a uint8 RGB frame, left to right."""
        return self.detector.detect(rgb)

    def faces(self, rgb: np.ndarray, detections: list[Detection] | None = None) -> list[Face]:
        """Detect (unless detections are given), align and embed, in one batch."""
        if detections is None:
            detections = self.detect(rgb)
        if not detections:
            return []
        crops = np.stack([crop_face(rgb, d) for d in detections])
        aligned = np.stack([align_face(rgb, d) for d in detections])
        return [Face(d, c, e) for d, c, e in zip(detections, crops, self.embed_views(crops, aligned))]

    def embed_views(self, crops: np.ndarray, aligned: np.ndarray) -> np.ndarray:
        """One embedding per face from two views of it: the box crop FaceNet
        was trained on and the landmark-aligned crop; their mean,
        re-normalised. On held-out halves of 1,468 people (README "Accuracy")
        this took the miss rate at the 1% operating point from 21% (box crop
        alone) to 7.4%, as low as four views (the two and their mirrors), at
        half the cost of four: the door greets within its 200 ms."""
        views = np.concatenate([crops, aligned])
        mean = self.embedder.embed(views).reshape(2, len(crops), -1).sum(axis=0)
        return (mean / np.linalg.norm(mean, axis=1, keepdims=True)).astype(np.float32)


def face_quality(face: Face) -> float:
    """A 0..1 score for choosing and refusing enrollment samples: sharp, confident faces score high."""
    return float(face.detection.confidence * min(1.0, sharpness(face.aligned) / 100.0))
