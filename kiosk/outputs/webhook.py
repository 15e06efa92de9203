"""A door opened by an HTTP endpoint (a door controller's API, a home server):
each message a signed JSON POST (standard library: no HTTP client to install)."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from datetime import datetime, timezone

from kiosk.outputs.door_output import MessageRelay

TIMEOUT_S = 5.0
SIGNATURE_HEADER = "X-Kiosk-Signature"


class WebhookFailed(RuntimeError):
    pass


def signature(secret: str, body: bytes) -> str:
    """What the receiver recomputes over the raw body: sha256=<hex HMAC-SHA256>."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookRelay(MessageRelay):
    """POSTs {"action": "open", "seconds", "event", "sent"} on a grant and
    {"action": "close", "sent"} after the open time, at start and at exit, each
    signed in the X-Kiosk-Signature header ("sent", inside the signed body, lets
    the receiver refuse a replayed request). Any answer but 2xx is a failure."""

    def __init__(self, url: str, secret: str):
        self.url, self.secret = url, secret

    def send(self, message: dict) -> None:
        message["sent"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        body = json.dumps(message).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", SIGNATURE_HEADER: signature(self.secret, body)})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            raise WebhookFailed(f"{self.url} answered {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise WebhookFailed(f"{self.url}: {getattr(exc, 'reason', exc)}") from exc
