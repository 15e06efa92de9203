"""FaceEmbedder on the real converted FaceNet and real celebrity photos (no fakes).

The model folder comes from KIOSK_MODEL_DIR (default facenet_model/);
it is fetched and converted once if it is not ready yet.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.vision.embedder import FaceEmbedder, l2_normalise, prewhiten
from kiosk.models.weights import CELEBRITIES_NAME, FACENET_MODEL_NAME, H5_NAME, TFLITE_NAME


@pytest.fixture(scope="module")
def embedder(model_dir) -> FaceEmbedder:
    return FaceEmbedder(model_dir / TFLITE_NAME)


@pytest.fixture(scope="module")
def keras_facenet(model_dir):
    from kiosk.models import facenet_keras

    return facenet_keras.load_facenet(model_dir / H5_NAME)


def centre_face(photo: Path) -> np.ndarray:
    """uint8 RGB (160, 160, 3): the photo's centred square, resized. Celebrity shots are face-centred."""
    rgb = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return cv2.resize(rgb[top:top + side, left:left + side], (160, 160), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def celebrity_faces(celebrities):
    """split ('train' or 'val') -> (faces uint8 (N, 160, 160, 3), person index (N,)), sorted by name."""
    return {split: _faces_of(celebrities / split) for split in ("train", "val")}


def _faces_of(root: Path) -> tuple[np.ndarray, np.ndarray]:
    faces, labels = [], []
    for index, person in enumerate(sorted(p.name for p in root.iterdir())):
        for photo in sorted((root / person).glob("*.jpg")):
            faces.append(centre_face(photo))
            labels.append(index)
    return np.stack(faces), np.array(labels)


def test_prewhiten_of_a_constant_image_is_finite_zeros():
    flat = np.stack([np.zeros((160, 160, 3), np.uint8), np.full((160, 160, 3), 255, np.uint8)])
    whitened = prewhiten(flat)
    assert whitened.dtype == np.float32
    assert np.all(np.isfinite(whitened))
    assert np.all(whitened == 0)


def test_prewhiten_standardises_each_image_on_its_own():
    rng = np.random.default_rng(1)
    faces = np.stack([rng.integers(0, 60, (160, 160, 3)), rng.integers(100, 256, (160, 160, 3))]).astype(np.uint8)
    whitened = prewhiten(faces)
    assert whitened.shape == faces.shape
    for image, original in zip(whitened, faces):
        assert abs(float(image.mean())) < 1e-5
        assert abs(float(image.std()) - 1.0) < 1e-4
        # davidsandberg's formula, one image at a time
        x = original.astype(np.float64)
        expected = (x - x.mean()) / max(x.std(), 1.0 / np.sqrt(x.size))
        np.testing.assert_allclose(image, expected, atol=1e-5)


def test_prewhiten_floor_divides_nearly_flat_images():
    nearly_flat = np.zeros((1, 160, 160, 3), np.uint8)
    nearly_flat[0, 0, 0, 0] = 1
    # One lit value out of n = 76800: std = sqrt(p(1-p)) with p = 1/n is just
    # under the floor 1/sqrt(n), so the floor is the divisor.
    n = nearly_flat.size
    mean = 1.0 / n
    whitened = prewhiten(nearly_flat)[0]
    assert whitened[0, 0, 0] == pytest.approx((1.0 - mean) * np.sqrt(n), rel=1e-5)
    assert whitened[0, 0, 1] == pytest.approx(-mean * np.sqrt(n), rel=1e-5)


def test_l2_normalise_keeps_zero_rows_zero():
    rows = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    assert rows.dtype == np.float32


def test_embedder_describes_its_model(embedder):
    assert embedder.dimension == 128
    assert embedder.model_name == FACENET_MODEL_NAME == "facenet-20170512-110547-keras"


def test_embed_of_an_empty_batch(embedder):
    out = embedder.embed(np.zeros((0, 160, 160, 3), np.uint8))
    assert out.shape == (0, 128)
    assert out.dtype == np.float32


def test_embed_rejects_wrong_shapes(embedder):
    with pytest.raises(ValueError, match="160"):
        embedder.embed(np.zeros((1, 112, 112, 3), np.uint8))
    with pytest.raises(ValueError):
        embedder.embed(np.zeros((160, 160, 3), np.uint8))


def test_embeddings_are_unit_float32_rows(embedder, celebrity_faces):
    faces, _ = celebrity_faces["val"]
    out = embedder.embed(faces[:3])
    assert out.shape == (3, 128)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_batches_of_any_size_give_the_same_embeddings(embedder, celebrity_faces):
    faces, _ = celebrity_faces["val"]
    faces = faces[:11]  # one full batch of 8, then 3, so the interpreter is resized both ways
    together = embedder.embed(faces)
    alone = np.concatenate([embedder.embed(face[None]) for face in faces])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_tflite_matches_the_keras_model_on_real_faces(embedder, celebrity_faces, keras_facenet):
    faces, _ = celebrity_faces["val"]
    faces = faces[::3]  # 10 faces of all five people
    expected = l2_normalise(np.asarray(keras_facenet(prewhiten(faces), training=False)))
    actual = embedder.embed(faces)
    cosines = np.sum(expected * actual, axis=1)
    assert cosines.min() >= 0.9999, cosines


def test_same_person_is_closer_than_different_people(embedder, celebrity_faces):
    """Sanity on rough centre crops: same-person pairs are more alike, and the
    nearest train centroid names most val photos (chance would be 20%)."""
    train_faces, train_labels = celebrity_faces["train"]
    val_faces, val_labels = celebrity_faces["val"]
    val = embedder.embed(val_faces)
    similarity = val @ val.T
    same = val_labels[:, None] == val_labels[None, :]
    off_diagonal = ~np.eye(len(val_labels), dtype=bool)
    assert similarity[same & off_diagonal].mean() > similarity[~same].mean() + 0.05

    train = embedder.embed(train_faces)
    centroids = l2_normalise(np.stack([train[train_labels == k].mean(axis=0) for k in range(5)]))
    accuracy = float(np.mean((val @ centroids.T).argmax(axis=1) == val_labels))
    assert accuracy >= 0.5, accuracy
