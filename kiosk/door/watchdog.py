"""systemd's notify protocol (sd_notify), without libsystemd: READY=1 once the
kiosk runs, WATCHDOG=1 while it is alive, so systemd restarts a hung kiosk."""

from __future__ import annotations

import os
import socket
from typing import Mapping


def sd_notify(message: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send one notification to $NOTIFY_SOCKET; False when not run by systemd
    (or the socket is gone: a notification is never worth stopping the door)."""
    address = environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):   # Linux's abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError:
        return False
    return True


def watchdog_interval_s(environ: Mapping[str, str] = os.environ) -> float | None:
    """systemd's WatchdogSec for this process, in seconds, or None when unset.
    WATCHDOG=1 must come more often than this."""
    usec, pid = environ.get("WATCHDOG_USEC"), environ.get("WATCHDOG_PID")
    if not usec or (pid and pid.isdigit() and int(pid) != os.getpid()):
        return None
    try:
        return int(usec) / 1e6
    except ValueError:
        return None
