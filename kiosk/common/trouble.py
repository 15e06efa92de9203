"""Trouble a running door shows on its screen: the access log's, the lock's, the broker's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Trouble:
    """summary: a few words for the door's screen ("access log not written (3
    waiting)"); details: the cause, for the tooltip and the log."""

    summary: str
    details: str

    def __str__(self) -> str:
        return f"{self.summary}: {self.details}"
