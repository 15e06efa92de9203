"""One LiteRT interpreter over a converted network: the one way the kiosk, and
the conversion's checks, create, resize and run them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from kiosk.common import quiet

# LiteRT threads per network. The machine the kiosk is built for has 2 cores,
# and the door runs one network at a time.
DEFAULT_THREADS = 2


class LiteNetwork:
    """A LiteRT interpreter for the network in ``model`` (a .tflite path, or its
    bytes), with ``num_threads`` threads. It is resized, and its tensors
    reallocated, only when the input's shape changes; LiteRT's XNNPACK line
    stays off the terminal (kiosk.common.quiet). Not thread-safe: callers
    serialise their calls."""

    def __init__(self, model: Path | bytes, num_threads: int = DEFAULT_THREADS):
        source = {"model_content": model} if isinstance(model, bytes) else {"model_path": str(model)}
        self._interpreter = Interpreter(**source, num_threads=int(num_threads))
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = [d["index"] for d in self._interpreter.get_output_details()]
        self._shape: tuple[int, ...] | None = None

    def resize(self, shape: tuple[int, ...]) -> None:
        """Make the input shape (batch first); a no-op when it is already that."""
        shape = tuple(int(n) for n in shape)
        if shape != self._shape:
            self._interpreter.resize_tensor_input(self._input, shape, strict=False)
            quiet.allocate_tensors(self._interpreter)
            self._shape = shape

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """The network's outputs for ``batch`` (any shape its input takes; run as
        float32), in the interpreter's order."""
        self.resize(batch.shape)
        self._interpreter.set_tensor(self._input, np.ascontiguousarray(batch, dtype=np.float32))
        self._interpreter.invoke()
        return [self._interpreter.get_tensor(index) for index in self._outputs]

    def run_by_size(self, batch: np.ndarray) -> dict[int, np.ndarray]:
        """run's outputs keyed by their last dimension: TFLite does not keep
        Keras's output order, and MTCNN's networks have one output of each size
        (2 class probabilities, 4 box offsets, 10 landmarks)."""
        return {out.shape[-1]: out for out in self.run(batch)}
