"""kiosk.door.feed: the camera feed over real video files (paced, looped, ended), a
missing file and a camera unplugged mid-stream (retried, never raised), and the
one-slot mailbox between capture and recognition."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from kiosk.door.feed import LatestFrame, SourceDown, SourceEnded, camera_feed
from kiosk.vision.images import load_rgb
from kiosk.door.video import Frame, SourceError, VideoSource, write_video
from kiosk.demo.walk_in import walk_in_frames

FPS = 30.0
CLIP_FRAMES = 10
TINY_DELAYS = (0.01, 0.02, 0.04)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, faces_dir) -> str:
    """A real video file: a third of a second of Biden walking in, 320x180 at 30 fps."""
    photo = load_rgb(faces_dir / "people" / "biden" / "biden.jpg")
    path = tmp_path_factory.mktemp("feed") / "walk.avi"
    return str(write_video(path, walk_in_frames(photo, size=(320, 180), frames=CLIP_FRAMES), fps=FPS))


class FlakyCamera:
    """Stands in for a USB camera whose cable comes loose mid-stream.

    Plays a real video file but reports ``live = True``, as a camera does (the
    feed does not pace it, and takes an end as a failure, not the end of a
    file). When ``fail_after`` is set it raises SourceError after that many
    frames, with the message VideoSource gives when a camera stops delivering.
    """

    live = True

    def __init__(self, spec: str, fail_after: int | None):
        self._file = VideoSource(spec)
        self.fail_after = fail_after

    def frames(self):
        for frame in self._file.frames():
            if frame.index == self.fail_after:
                raise SourceError(f"{self._file.spec}: the video source stopped delivering frames")
            yield frame

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "FlakyCamera":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def test_file_plays_at_its_own_rate_then_ends(clip):
    stop = threading.Event()
    before = time.monotonic()
    items = list(camera_feed(clip, stop))
    *frames, end = items
    assert end == SourceEnded(clip)
    assert all(isinstance(f, Frame) for f in frames)
    assert [f.index for f in frames] == list(range(CLIP_FRAMES))
    assert frames[0].rgb.shape == (180, 320, 3)
    times = [f.time for f in frames]
    assert all(later > earlier for earlier, later in zip(times, times[1:]))
    assert 0.0 <= times[0] <= frames[0].captured - before   # seconds since the feed started
    # Held back to 30 fps: the last frame cannot arrive before its place in the
    # file (a lower bound only: a busy machine can only make it later).
    assert frames[-1].captured - before >= (CLIP_FRAMES - 1) / FPS - 0.002


def test_looping_file_plays_on_past_its_end_with_indexes_continuing(clip):
    stop = threading.Event()
    feed = camera_feed(clip, stop, loop_files=True)
    items = [next(feed) for _ in range(2 * CLIP_FRAMES + 3)]
    stop.set()
    assert list(feed) == []                     # stops when told, without a SourceEnded
    assert all(isinstance(f, Frame) for f in items)
    assert [f.index for f in items] == list(range(2 * CLIP_FRAMES + 3))
    # The second play starts the file again: the first picture, not the last.
    np.testing.assert_array_equal(items[CLIP_FRAMES].rgb, items[0].rgb)
    assert not np.array_equal(items[CLIP_FRAMES].rgb, items[CLIP_FRAMES - 1].rgb)


def test_missing_file_is_retried_with_growing_delays_until_it_appears(tmp_path, faces_dir):
    missing = tmp_path / "door.avi"
    stop = threading.Event()
    feed = camera_feed(str(missing), stop, retry_delays_s=TINY_DELAYS)
    downs = [next(feed) for _ in range(5)]
    assert all(isinstance(d, SourceDown) and "door.avi" in d.message for d in downs)
    assert [d.retry_in_s for d in downs] == [0.01, 0.02, 0.04, 0.04, 0.04]
    # The file turns up: the feed's next attempt opens it.
    photo = load_rgb(faces_dir / "people" / "biden" / "biden.jpg")
    write_video(missing, walk_in_frames(photo, size=(320, 180), frames=3), fps=FPS)
    assert [type(next(feed)) for _ in range(4)] == [Frame, Frame, Frame, SourceEnded]


def test_missing_file_stops_when_told(tmp_path):
    stop = threading.Event()
    feed = camera_feed(str(tmp_path / "nope.avi"), stop, retry_delays_s=(30.0,))
    assert isinstance(next(feed), SourceDown)
    stop.set()
    started = time.monotonic()
    assert list(feed) == []
    assert time.monotonic() - started < 10.0   # did not sit out the 30 s retry delay


def test_camera_unplugged_mid_stream_is_reopened_and_recovers(clip):
    openings = []

    def open_flaky(spec):
        camera = FlakyCamera(spec, fail_after=4 if not openings else None)
        openings.append(camera)
        return camera

    stop = threading.Event()
    feed = camera_feed(clip, stop, open_source=open_flaky, retry_delays_s=TINY_DELAYS)
    items = [next(feed) for _ in range(4 + 1 + 5)]
    stop.set()
    assert list(feed) == []
    assert [type(i) for i in items] == [Frame] * 4 + [SourceDown] + [Frame] * 5
    down = items[4]
    assert "stopped delivering" in down.message and down.retry_in_s == TINY_DELAYS[0]
    assert [f.index for f in items if isinstance(f, Frame)] == list(range(9))
    assert len(openings) == 2
    # After the reconnection the camera's picture comes through again.
    np.testing.assert_array_equal(items[5].rgb, items[0].rgb)


def test_a_camera_that_keeps_failing_after_delivering_starts_the_delays_over(clip):
    stop = threading.Event()
    feed = camera_feed(clip, stop, open_source=lambda spec: FlakyCamera(spec, fail_after=2),
                       retry_delays_s=TINY_DELAYS)
    items = [next(feed) for _ in range(3 * 3)]
    stop.set()
    assert [type(i) for i in items] == [Frame, Frame, SourceDown] * 3
    # Each failure follows working frames, so none of them counts as a repeat.
    assert [i.retry_in_s for i in items if isinstance(i, SourceDown)] == [TINY_DELAYS[0]] * 3


def _frame(index: int) -> Frame:
    return Frame(index, float(index), np.full((4, 4, 3), index, np.uint8))


def test_latest_frame_hands_over_only_the_newest():
    mailbox = LatestFrame()
    old, new = _frame(1), _frame(2)
    mailbox.put(old)
    mailbox.put(new)
    assert mailbox.take(timeout=1.0) is new
    assert mailbox.dropped == 1
    assert mailbox.take(timeout=0.01) is None   # taken frames are gone


def test_latest_frame_take_times_out_empty():
    mailbox = LatestFrame()
    started = time.monotonic()
    assert mailbox.take(timeout=0.05) is None
    assert time.monotonic() - started >= 0.04
    assert mailbox.dropped == 0


def test_latest_frame_take_wakes_for_a_frame_from_another_thread():
    mailbox = LatestFrame()
    frame = _frame(7)
    putter = threading.Timer(0.05, mailbox.put, [frame])
    putter.start()
    started = time.monotonic()
    try:
        assert mailbox.take(timeout=30.0) is frame
    finally:
        putter.join()
    assert time.monotonic() - started < 10.0    # woken by put(), not by the timeout
    assert mailbox.dropped == 0
