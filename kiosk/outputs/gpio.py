"""A relay on a GPIO pin (gpiozero: a Raspberry Pi's header, or its mock pins in tests)."""

from __future__ import annotations

from gpiozero import DigitalOutputDevice


class GpioRelay:
    def __init__(self, pin: int, active_high: bool = True):
        # initial_value=False: the pin is driven to "off" the moment it is claimed.
        self.device = DigitalOutputDevice(pin, active_high=active_high, initial_value=False)

    def on(self, seconds: float, event: dict | None) -> None:
        self.device.on()

    def off(self) -> None:
        self.device.off()

    def close(self) -> None:
        self.device.close()
