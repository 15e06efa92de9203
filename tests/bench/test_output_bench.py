"""`kiosk bench`'s door-output figures run end to end (a few runs; the figures
themselves are the bench's to report, not a test's to judge)."""

from __future__ import annotations

import shutil

import pytest

from kiosk.bench.output_bench import output_figures


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="mosquitto is not installed")
def test_the_bench_measures_the_relay_and_the_mqtt_event():
    figures = output_figures(runs=3)
    assert set(figures) == {"grant_to_relay_ms_median", "grant_to_mqtt_event_ms_median"}
    assert all(isinstance(v, float) and v > 0 for v in figures.values())
