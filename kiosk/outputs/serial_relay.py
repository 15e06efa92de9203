"""A USB-serial relay board: fixed byte strings switch it on and off (pyserial)."""

from __future__ import annotations

import serial


class SerialRelay:
    def __init__(self, port: str, baudrate: int, on_bytes: bytes, off_bytes: bytes):
        # serial_for_url: a device path or a pyserial URL (loop://, socket://, rfc2217://).
        self.port = serial.serial_for_url(port, baudrate=baudrate, timeout=1, write_timeout=1)
        self.on_bytes, self.off_bytes = on_bytes, off_bytes

    def on(self, seconds: float, event: dict | None) -> None:
        self._send(self.on_bytes)

    def off(self) -> None:
        self._send(self.off_bytes)

    def _send(self, command: bytes) -> None:
        if self.port.write(command) != len(command):
            raise serial.SerialTimeoutException(f"{len(command)} bytes not written")
        self.port.flush()

    def close(self) -> None:
        self.port.close()
