"""Keeping libraries' chatter off the terminal. TensorFlow and LiteRT log from
C++ straight to file descriptor 2, past sys.stderr and past Python's logging,
so this works on the descriptors themselves."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import BinaryIO, Iterator

# LiteRT (ai-edge-litert 2.3) logs this line when the first interpreter of the
# process applies its XNNPACK delegate, in allocate_tensors(). It comes from
# LiteRT's own minimal logger: TF_CPP_MIN_LOG_LEVEL does not reach it (tried:
# 1, 2 and 3), nor does any exported setting.
XNNPACK_CHATTER = "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."

_lock = threading.RLock()   # one redirection at a time: they restore what they saved
_chatter_seen = False


@contextmanager
def output_to(file: BinaryIO, fds: tuple[int, ...] = (2,)) -> Iterator[None]:
    """Send what is written to fds (C++ libraries included) into file, for the block."""
    with _lock:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(fd) for fd in fds]
        try:
            for fd in fds:
                os.dup2(file.fileno(), fd)
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip(fds, saved):
                os.dup2(copy, fd)
                os.close(copy)


def allocate_tensors(interpreter) -> None:
    """interpreter.allocate_tensors() without LiteRT's XNNPACK line; anything
    else written meanwhile is passed on to stderr. Once the line has been seen
    (LiteRT writes it once a process) allocations run as they are."""
    global _chatter_seen
    if _chatter_seen:
        interpreter.allocate_tensors()
        return
    with tempfile.TemporaryFile() as captured:
        with output_to(captured):
            interpreter.allocate_tensors()
        captured.seek(0)
        lines = captured.read().decode("utf-8", "replace").splitlines(keepends=True)
    kept = [line for line in lines if line.strip() != XNNPACK_CHATTER]
    _chatter_seen = _chatter_seen or len(kept) < len(lines)
    if kept:
        sys.stderr.write("".join(kept))
        sys.stderr.flush()
