"""The live figures of a running door (the window's --stats overlay and report):
draw rate and frame intervals, recognition stage times, time to greet, CPU."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from kiosk.door.recognizer import StageTimes


@dataclass(frozen=True)
class StatsSnapshot:
    draw_fps: float
    frame_interval_p99_ms: float
    detect_ms: float
    embed_ms: float
    match_ms: float
    recognised_share: float        # of captured frames that went through full recognition
    last_greet_latency_s: float | None
    cpu_percent: float             # of one core, this process, over the window
    frames: int

    def as_text(self) -> str:
        greet = "-" if self.last_greet_latency_s is None else f"{1000 * self.last_greet_latency_s:.0f} ms"
        return (f"draw {self.draw_fps:.1f} fps (p99 {self.frame_interval_p99_ms:.0f} ms)\n"
                f"detect {self.detect_ms:.1f}  embed {self.embed_ms:.1f}  match {self.match_ms:.1f} ms\n"
                f"recognising {100 * self.recognised_share:.0f}% of frames\n"
                f"time to greet {greet}\nCPU {self.cpu_percent:.0f}% of a core")


class DoorStats:
    """Rolling figures over the last window_s seconds. Feed it from one thread."""

    def __init__(self, window_s: float = 10.0):
        self.window_s = window_s
        self._drawn: deque[float] = deque()
        self._stages: deque[tuple[float, StageTimes]] = deque()
        self._seen: deque[tuple[float, bool]] = deque()
        self._cpu: deque[tuple[float, float]] = deque([(time.monotonic(), time.process_time())])
        self.last_greet_latency_s: float | None = None
        self.greet_latencies_s: list[float] = []

    def frame_drawn(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._drawn.append(now)
        self._trim(self._drawn, now, lambda t: t)

    def frame_examined(self, now: float, recognised: bool, times: StageTimes | None,
                       greet_latency_s: float | None) -> None:
        self._seen.append((now, recognised))
        self._trim(self._seen, now, lambda p: p[0])
        if times is not None:
            self._stages.append((now, times))
            self._trim(self._stages, now, lambda p: p[0])
        if greet_latency_s is not None:
            self.last_greet_latency_s = greet_latency_s
            self.greet_latencies_s.append(greet_latency_s)

    def snapshot(self, now: float | None = None) -> StatsSnapshot:
        now = time.monotonic() if now is None else now
        self._cpu.append((now, time.process_time()))
        while len(self._cpu) > 2 and now - self._cpu[1][0] >= self.window_s:
            self._cpu.popleft()  # keeps one sample at or before the window's start
        drawn = np.array(self._drawn)
        intervals = np.diff(drawn) if len(drawn) > 1 else np.array([0.0])
        span = drawn[-1] - drawn[0] if len(drawn) > 1 else 0.0
        stages = [t for _, t in self._stages]

        def median(attr: str) -> float:
            # over the frames that had work for this stage (no face, no embedding)
            values = [getattr(t, attr) for t in stages if getattr(t, attr) > 0]
            return float(np.median(values)) if values else 0.0

        (t0, cpu0), (t1, cpu1) = self._cpu[0], self._cpu[-1]
        return StatsSnapshot(
            draw_fps=(len(drawn) - 1) / span if span > 0 else 0.0,
            frame_interval_p99_ms=1000 * float(np.percentile(intervals, 99)),
            detect_ms=median("detect_ms"), embed_ms=median("embed_ms"), match_ms=median("match_ms"),
            recognised_share=float(np.mean([r for _, r in self._seen])) if self._seen else 0.0,
            last_greet_latency_s=self.last_greet_latency_s,
            cpu_percent=100 * (cpu1 - cpu0) / (t1 - t0) if t1 > t0 else 0.0,
            frames=len(self._seen))

    def _trim(self, queue: deque, now: float, time_of) -> None:
        while queue and now - time_of(queue[0]) > self.window_s:
            queue.popleft()
