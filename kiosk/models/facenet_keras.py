"""FaceNet (Inception-ResNet-v1) rebuilt in Keras 3 and filled from ``facenet_keras.h5``.

Only used when converting the model to TFLite and in tests: this module imports
TensorFlow, the kiosk at run time does not.

Why rebuild instead of ``keras.models.load_model``: the file is a Keras 2.1
full model whose ``*_ScaleSum`` Lambda layers hold marshalled Python 3.6
bytecode (``lambda inputs, scale: inputs[0] + inputs[1] * scale``), which no
current Python can load. So the network is declared here, with the exact layer
names, shapes and settings found in the file's ``model_config``, and the
weights are copied in by layer name from ``model_weights``.

Network (davidsandberg/facenet 20170512-110547, 160x160 RGB input):
stem Conv2d_1a..Conv2d_4b, 5x Block35 (scale 0.17), Mixed_6a, 10x Block17
(scale 0.1), Mixed_7a, 5x Block8 (scale 0.2), Block8_6 (scale 1, no ReLU),
global average pool, dropout, Bottleneck Dense(128, no bias),
Bottleneck_BatchNorm. The output is NOT L2-normalised (the embedder does it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import h5py
import keras
import numpy as np
import tensorflow as tf
from kiosk.common.files import write_atomically
from kiosk.vision.litert import LiteNetwork
from kiosk.vision.model_files import EMBEDDING_DIMENSION, FACE_SIZE

# Layers of the h5 that carry weights (every Conv2D, BatchNormalization and the Dense).
EXPECTED_WEIGHTED_LAYERS = 245

# Every BatchNorm of the file: momentum 0.995, epsilon 0.001, beta only (no gamma).
_BN_EPSILON = 0.001
_BN_MOMENTUM = 0.995


class WeightLoadError(RuntimeError):
    """The h5 file and the built network do not match layer for layer."""


@keras.saving.register_keras_serializable(package="kiosk")
class ScaleSum(keras.layers.Layer):
    """Residual join ``shortcut + residual * scale``, replacing the file's Lambda."""

    def __init__(self, scale: float, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        shortcut, residual = inputs
        if self.scale == 1.0:
            return shortcut + residual
        return shortcut + residual * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def _conv_bn_relu(x, filters: int, kernel: tuple[int, int], name: str,
                  strides: int = 1, padding: str = "same"):
    """Conv2D (no bias) -> BatchNorm (beta only) -> ReLU, named like the file."""
    x = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding,
                            use_bias=False, name=name)(x)
    x = keras.layers.BatchNormalization(axis=-1, momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON,
                                        scale=False, name=f"{name}_BatchNorm")(x)
    return keras.layers.Activation("relu", name=f"{name}_Activation")(x)


def _residual_join(x, branches: list, prefix: str, scale: float, activate: bool):
    """Concatenate branches, project back to x's depth (1x1 conv with bias), add scaled."""
    mixed = keras.layers.Concatenate(axis=-1, name=f"{prefix}_Concatenate")(branches)
    up = keras.layers.Conv2D(x.shape[-1], 1, padding="same", use_bias=True,
                             name=f"{prefix}_Conv2d_1x1")(mixed)
    x = ScaleSum(scale, name=f"{prefix}_ScaleSum")([x, up])
    if activate:
        x = keras.layers.Activation("relu", name=f"{prefix}_Activation")(x)
    return x


def _block35(x, index: int, scale: float = 0.17):
    """35x35-grid residual block (17x17 at 160 px input), 256 channels."""
    p = f"Block35_{index}"
    b0 = _conv_bn_relu(x, 32, (1, 1), f"{p}_Branch_0_Conv2d_1x1")
    b1 = _conv_bn_relu(x, 32, (1, 1), f"{p}_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn_relu(b1, 32, (3, 3), f"{p}_Branch_1_Conv2d_0b_3x3")
    b2 = _conv_bn_relu(x, 32, (1, 1), f"{p}_Branch_2_Conv2d_0a_1x1")
    b2 = _conv_bn_relu(b2, 32, (3, 3), f"{p}_Branch_2_Conv2d_0b_3x3")
    b2 = _conv_bn_relu(b2, 32, (3, 3), f"{p}_Branch_2_Conv2d_0c_3x3")
    return _residual_join(x, [b0, b1, b2], p, scale, activate=True)


def _block17(x, index: int, scale: float = 0.1):
    """17x17-grid residual block (8x8 at 160 px input), 896 channels."""
    return _factorised_block(x, f"Block17_{index}", 128, 7, scale, activate=True)


def _block8(x, index: int, scale: float = 0.2, activate: bool = True):
    """8x8-grid residual block (3x3 at 160 px input), 1792 channels."""
    return _factorised_block(x, f"Block8_{index}", 192, 3, scale, activate)


def _factorised_block(x, p: str, width: int, n: int, scale: float, activate: bool):
    """Block17's and Block8's shape: a 1x1 branch beside a 1x1 -> 1xn -> nx1 one."""
    b0 = _conv_bn_relu(x, width, (1, 1), f"{p}_Branch_0_Conv2d_1x1")
    b1 = _conv_bn_relu(x, width, (1, 1), f"{p}_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn_relu(b1, width, (1, n), f"{p}_Branch_1_Conv2d_0b_1x{n}")
    b1 = _conv_bn_relu(b1, width, (n, 1), f"{p}_Branch_1_Conv2d_0c_{n}x1")
    return _residual_join(x, [b0, b1], p, scale, activate=activate)


def _mixed_6a(x):
    """Reduction 17x17 -> 8x8: two strided conv branches and a max-pool, 896 channels."""
    b0 = _conv_bn_relu(x, 384, (3, 3), "Mixed_6a_Branch_0_Conv2d_1a_3x3", strides=2, padding="valid")
    b1 = _conv_bn_relu(x, 192, (1, 1), "Mixed_6a_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn_relu(b1, 192, (3, 3), "Mixed_6a_Branch_1_Conv2d_0b_3x3")
    b1 = _conv_bn_relu(b1, 256, (3, 3), "Mixed_6a_Branch_1_Conv2d_1a_3x3", strides=2, padding="valid")
    b2 = keras.layers.MaxPooling2D(3, strides=2, padding="valid", name="Mixed_6a_Branch_2_MaxPool_1a_3x3")(x)
    return keras.layers.Concatenate(axis=-1, name="Mixed_6a")([b0, b1, b2])


def _mixed_7a(x):
    """Reduction 8x8 -> 3x3: three strided conv branches and a max-pool, 1792 channels."""
    b0 = _conv_bn_relu(x, 256, (1, 1), "Mixed_7a_Branch_0_Conv2d_0a_1x1")
    b0 = _conv_bn_relu(b0, 384, (3, 3), "Mixed_7a_Branch_0_Conv2d_1a_3x3", strides=2, padding="valid")
    b1 = _conv_bn_relu(x, 256, (1, 1), "Mixed_7a_Branch_1_Conv2d_0a_1x1")
    b1 = _conv_bn_relu(b1, 256, (3, 3), "Mixed_7a_Branch_1_Conv2d_1a_3x3", strides=2, padding="valid")
    b2 = _conv_bn_relu(x, 256, (1, 1), "Mixed_7a_Branch_2_Conv2d_0a_1x1")
    b2 = _conv_bn_relu(b2, 256, (3, 3), "Mixed_7a_Branch_2_Conv2d_0b_3x3")
    b2 = _conv_bn_relu(b2, 256, (3, 3), "Mixed_7a_Branch_2_Conv2d_1a_3x3", strides=2, padding="valid")
    b3 = keras.layers.MaxPooling2D(3, strides=2, padding="valid", name="Mixed_7a_Branch_3_MaxPool_1a_3x3")(x)
    return keras.layers.Concatenate(axis=-1, name="Mixed_7a")([b0, b1, b2, b3])


def build_facenet() -> keras.Model:
    """Inception-ResNet-v1 with untrained weights.

    Input: float32 (batch, 160, 160, 3), prewhitened RGB. Output: float32
    (batch, 128) raw embedding (not L2-normalised).
    """
    inputs = keras.Input(shape=(FACE_SIZE, FACE_SIZE, 3), name="input_1")
    x = _conv_bn_relu(inputs, 32, (3, 3), "Conv2d_1a_3x3", strides=2, padding="valid")
    x = _conv_bn_relu(x, 32, (3, 3), "Conv2d_2a_3x3", padding="valid")
    x = _conv_bn_relu(x, 64, (3, 3), "Conv2d_2b_3x3")
    x = keras.layers.MaxPooling2D(3, strides=2, padding="valid", name="MaxPool_3a_3x3")(x)
    x = _conv_bn_relu(x, 80, (1, 1), "Conv2d_3b_1x1", padding="valid")
    x = _conv_bn_relu(x, 192, (3, 3), "Conv2d_4a_3x3", padding="valid")
    x = _conv_bn_relu(x, 256, (3, 3), "Conv2d_4b_3x3", strides=2, padding="valid")
    for i in range(1, 6):
        x = _block35(x, i)
    x = _mixed_6a(x)
    for i in range(1, 11):
        x = _block17(x, i)
    x = _mixed_7a(x)
    for i in range(1, 6):
        x = _block8(x, i)
    # The last block is a plain residual sum: scale 1 and no ReLU before pooling.
    x = _block8(x, 6, scale=1.0, activate=False)
    x = keras.layers.GlobalAveragePooling2D(name="AvgPool")(x)
    # Identity at inference; kept so the layer list mirrors the file.
    x = keras.layers.Dropout(0.2, name="Dropout")(x)
    x = keras.layers.Dense(EMBEDDING_DIMENSION, use_bias=False, name="Bottleneck")(x)
    outputs = keras.layers.BatchNormalization(axis=-1, momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON,
                                              scale=False, name="Bottleneck_BatchNorm")(x)
    return keras.Model(inputs, outputs, name="inception_resnet_v1")


def _short_variable_name(h5_name: str) -> str:
    """'Block35_1_Conv2d_1x1/bias:0' -> 'bias'."""
    return h5_name.rsplit("/", 1)[-1].split(":", 1)[0]


def read_h5_weights(h5_path: Path) -> dict[str, dict[str, np.ndarray]]:
    """All weights of a Keras 2 h5 file: {layer name: {variable name: array}}.

    Layers without weights (activations, pools, concatenations, ...) are left out.
    Raises WeightLoadError if a layer listed in the file has no data group.
    """
    weights: dict[str, dict[str, np.ndarray]] = {}
    with h5py.File(h5_path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        for raw_name in group.attrs["layer_names"]:
            layer_name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
            if layer_name not in group:
                raise WeightLoadError(f"{h5_path}: layer {layer_name!r} is listed but has no weight group")
            layer_group = group[layer_name]
            names = [n.decode() if isinstance(n, bytes) else str(n)
                     for n in layer_group.attrs.get("weight_names", [])]
            if names:
                weights[layer_name] = {_short_variable_name(n): np.asarray(layer_group[n]) for n in names}
    return weights


def load_h5_weights(model: keras.Model, h5_path: Path) -> int:
    """Copy every weight of ``h5_path`` into ``model`` by layer and variable name.

    Everything is checked before anything is assigned, so a failed load leaves
    the model untouched. Raises WeightLoadError unless every weighted layer of
    the file lands in the model and every weighted layer of the model is filled
    with arrays of matching names and shapes. Returns the number of layers loaded.
    """
    file_weights = read_h5_weights(h5_path)
    model_layers = {layer.name: layer for layer in model.layers if layer.weights}
    problems = []
    unused = sorted(set(file_weights) - set(model_layers))
    if unused:
        problems.append(f"{len(unused)} file layer(s) not in the model: {unused[:5]}")
    unfilled = sorted(set(model_layers) - set(file_weights))
    if unfilled:
        problems.append(f"{len(unfilled)} model layer(s) missing from the file: {unfilled[:5]}")
    assignments = []
    for name in sorted(set(model_layers) & set(file_weights)):
        arrays = file_weights[name]
        variables = model_layers[name].weights
        wanted = {v.name: tuple(v.shape) for v in variables}
        got = {k: a.shape for k, a in arrays.items()}
        if wanted != got:
            problems.append(f"layer {name!r}: model wants {wanted}, file has {got}")
            continue
        assignments.extend((v, arrays[v.name]) for v in variables)
    if problems:
        raise WeightLoadError(f"{h5_path} does not fit the FaceNet network: " + "; ".join(problems))
    for variable, array in assignments:
        variable.assign(array)
    return len(model_layers)


def load_facenet(h5_path: Path) -> keras.Model:
    """The FaceNet network with the weights of ``h5_path`` (all 245 layers, checked)."""
    model = build_facenet()
    loaded = load_h5_weights(model, h5_path)
    if loaded != EXPECTED_WEIGHTED_LAYERS:
        raise WeightLoadError(f"{h5_path}: loaded {loaded} weighted layers, expected {EXPECTED_WEIGHTED_LAYERS}")
    return model


def convert_to_tflite(model: keras.Model, out_path: Path) -> Path:
    """Write ``model`` as an fp32 TFLite flatbuffer (no quantisation), atomically.

    The input signature is (dynamic batch, 160, 160, 3) float32, so the
    interpreter can be resized to any batch with ``resize_tensor_input``.
    Returns ``out_path``.
    """
    out_path = Path(out_path)
    signature = tf.TensorSpec([None, FACE_SIZE, FACE_SIZE, 3], tf.float32, name="faces")
    # Through a SavedModel: converting a concrete function of the live Keras model
    # keeps the weights as resource variables (a 400 KB file that reads variables
    # at run time); the SavedModel path freezes them into constants, which lets
    # the converter fold every BatchNorm and residual scale into the convolutions.
    with tempfile.TemporaryDirectory(prefix="facenet-savedmodel-") as saved_model_dir:
        model.export(saved_model_dir, format="tf_saved_model", input_signature=[signature], verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        flatbuffer = converter.convert()
    write_atomically(out_path, flatbuffer)
    return out_path


def check_tflite(model: keras.Model, tflite_path: Path, min_cosine: float = 0.9999) -> float:
    """Compare the TFLite file with the Keras model on a batch of 2 synthetic inputs.

    Also proves the batch dimension is dynamic (the interpreter is resized to 2).
    Returns the smallest cosine similarity between matching output rows; raises
    WeightLoadError if it is below ``min_cosine``.
    """
    # Standard-normal pixels: roughly what prewhitened faces look like to the net.
    inputs = np.random.default_rng(20170512).standard_normal((2, FACE_SIZE, FACE_SIZE, 3)).astype(np.float32)
    expected = np.asarray(model(inputs, training=False))
    actual = LiteNetwork(Path(tflite_path)).run(inputs)[0]
    cosines = np.sum(expected * actual, axis=1) / (
        np.linalg.norm(expected, axis=1) * np.linalg.norm(actual, axis=1))
    worst = float(cosines.min())
    if not worst >= min_cosine:
        raise WeightLoadError(f"{tflite_path} disagrees with the Keras model: cosine {worst:.6f} < {min_cosine}")
    return worst
