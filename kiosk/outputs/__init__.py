"""The door's outputs: what opens the lock on a grant (kiosk.json "door")."""

from __future__ import annotations

import logging
from typing import Callable

from kiosk.common.config import DoorSettings, MqttSettings
from kiosk.common.trouble import Trouble
from kiosk.outputs.door_output import DoorOutput, NoRelay

log = logging.getLogger("kiosk.door")

__all__ = ["DoorOutput", "open_output"]


def open_output(door: DoorSettings, on_state: Callable[[str], None] | None = None,
                broker: MqttSettings | None = None, kiosk_id: str = "door-1") -> DoorOutput:
    """The output the settings name, forced closed. An output that cannot be
    opened (no GPIO on this machine, no serial device) is logged and returned
    as a door that never opens, its error shown: the kiosk still greets and logs."""
    try:
        relay = _relay(door, broker, kiosk_id)
    except Exception as exc:   # each backend's own errors: gpiozero's, pyserial's, OSError
        trouble = Trouble(f"door output {door.type} unavailable", f"{exc.__class__.__name__}: {exc}")
        log.error("%s", trouble)
        return DoorOutput(NoRelay(), door.open_seconds, on_state, broken=trouble)
    return DoorOutput(relay, door.open_seconds, on_state)


def _relay(door: DoorSettings, broker: MqttSettings | None, kiosk_id: str):
    # Imported on use: a kiosk without door hardware needs none of these libraries loaded.
    if door.type == "gpio":
        from kiosk.outputs.gpio import GpioRelay
        return GpioRelay(door.pin, door.active_high)
    if door.type == "command":
        from kiosk.outputs.command import CommandRelay
        return CommandRelay(door.command)
    if door.type == "serial":
        from kiosk.outputs.serial_relay import SerialRelay
        return SerialRelay(door.port, door.baudrate, bytes.fromhex(door.on_hex), bytes.fromhex(door.off_hex))
    if door.type == "mqtt":
        from kiosk.outputs.mqtt_relay import MqttRelay
        if broker is None:
            raise ValueError('door.type "mqtt" needs the "mqtt" section')
        return MqttRelay(broker, door.device, door.topic, client_id=f"door-kiosk-{kiosk_id}-relay")
    if door.type == "webhook":
        from kiosk.outputs.webhook import WebhookRelay
        return WebhookRelay(door.url, door.secret)
    return NoRelay()
