"""A throwaway Mosquitto broker on a free loopback port, for the tests and `kiosk bench`."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalBroker:
    """mosquitto on 127.0.0.1:port, with its sessions and retained messages
    persisted in `folder`, so stop() then start() is a broker restart."""

    def __init__(self, folder: Path, port: int | None = None, users: dict[str, str] | None = None):
        if shutil.which("mosquitto") is None:
            raise FileNotFoundError("mosquitto is not installed (scripts/setup.sh installs it)")
        self.port = port or free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.folder = folder
        self.config = folder / "mosquitto.conf"
        # 2.0 with a config file: an explicit listener and anonymous clients allowed.
        # users: name -> password; then only they may connect.
        access = "allow_anonymous true\n"
        if users:
            passwords = folder / "passwords"
            passwords.write_text("".join(f"{name}:{password}\n" for name, password in users.items()))
            subprocess.run(["mosquitto_passwd", "-U", str(passwords)], check=True)   # hashes them in place
            access = f"allow_anonymous false\npassword_file {passwords}\n"
        # user: started as root, mosquitto would drop to the "mosquitto" user,
        # which cannot read or write this folder; as anyone else it is ignored.
        self.config.write_text(f"listener {self.port} 127.0.0.1\nuser {getpass.getuser()}\n{access}"
                               f"persistence true\npersistence_location {folder}/\n", encoding="utf-8")
        self.process: subprocess.Popen | None = None

    def start(self) -> "LocalBroker":
        with (self.folder / "mosquitto.log").open("ab") as log:   # the child keeps its own copy
            self.process = subprocess.Popen(["mosquitto", "-c", str(self.config)],
                                            stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited {self.process.returncode}: see {self.folder}/mosquitto.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()   # SIGTERM: mosquitto saves its persistence file
            self.process.wait(10)
        self.process = None


@contextmanager
def local_broker(folder: Path):
    broker = LocalBroker(folder).start()
    try:
        yield broker
    finally:
        broker.stop()


class Listener:
    """A client that keeps every message on `topics` with the time it arrived.
    A fixed client_id with a persistent session (clean_session=False, QoS 1)
    is also sent what was published while it was away."""

    def __init__(self, url: str, topics: list[str], client_id: str = "", persistent: bool = False):
        self.messages: list[tuple[float, str, bytes, bool]] = []   # monotonic, topic, payload, retained
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=False if persistent else True)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.on_message = lambda c, u, m: self.messages.append((time.monotonic(), m.topic, m.payload,
                                                                      bool(m.retain)))
        url = urlsplit(url)
        self.client.connect(url.hostname, url.port)
        self.client.loop_start()
        if not self.subscribed.wait(START_TIMEOUT_S):
            raise RuntimeError("listener not subscribed")

    def payloads(self, topic: str) -> list[bytes]:
        return [payload for _, t, payload, _ in list(self.messages) if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
