"""The Qt binding itself: guards against a PySide6 fault the kiosk cannot live with."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    value = Signal(object)


def test_emitting_a_signal_keeps_the_reference_count_of_true():
    # PySide6 6.12.0 decremented True's count on every emit(); at 30 frames a
    # second the interpreter aborted with "bool_dealloc" within minutes.
    emitter = _Emitter()
    received = []
    emitter.value.connect(received.append)
    before = sys.getrefcount(True)
    for i in range(200):
        emitter.value.emit(i)
    assert len(received) == 200
    assert sys.getrefcount(True) >= before - 5
