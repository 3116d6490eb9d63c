"""A virtual night on a host too busy for its speed: slower, never mis-timed.

The event loop is starved by a task that blocks it most of the time (what another CPU-heavy
process does to the demo). The band's clock holds while the band is behind, so the journaled
receive times still agree with the sample index and replay's rate check (unchanged, 5 %) passes
with a rate within a few per mille of nominal (the receive times' jitter on a busy host).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np

from legwatch.collect import open_or_resume, replay_night
from legwatch.collect.demo import VirtualRun, record_virtual_night
from legwatch.synth import scenario, simulate_night

RATE_HZ = 104.0


async def _starved(coro_factory, busy_s: float, idle_s: float) -> VirtualRun:  # type: ignore[no-untyped-def]
    async def hog() -> None:
        while True:
            time.sleep(busy_s)  # blocks the loop, as a busy CPU does
            await asyncio.sleep(idle_s)

    task = asyncio.create_task(hog())
    try:
        result: VirtualRun = await coro_factory()
        return result
    finally:
        task.cancel()


def test_a_starved_band_holds_its_clock_and_the_night_keeps_its_rate(tmp_path: Path) -> None:
    accel = simulate_night(scenario("nominal", 2, hours=10 / 60, rate_hz=RATE_HZ))
    accel_g = accel.recordings["left"].accel_g
    n = accel_g.shape[0]
    store = open_or_resume(tmp_path, "night")
    night_dir = store.night_dir
    speed = 1000.0  # 10 min in 0.6 s: more than a loop blocked 2/3 of the time can carry

    run = asyncio.run(
        _starved(
            lambda: record_virtual_night(accel_g, store, speed=speed, timeout_s=60.0),
            busy_s=0.002,
            idle_s=0.001,
        )
    )
    assert run.finished
    # The band could not keep up and its clock waited for it.
    assert run.holds > 0 and run.held_s > 0.05
    replayed = replay_night(night_dir)
    report = replayed.reports["left"]
    assert report.samples == n and report.missing_samples == 0
    assert report.fs_estimated_hz is not None
    # A band whose clock ran on while it was behind would read slow by about the share of the
    # run it was held (held_s / wall_s: about a quarter here). A held clock leaves only the
    # jitter of the receive times: at 1000x real time 1 ms of host time is 1 s of night, and a
    # busy CI host has given up to 1,400 ppm. Bound: 5,000 ppm, and a tenth of that share.
    held_ppm = run.held_s / run.wall_s * 1e6
    bound_ppm = min(5000.0, 0.1 * held_ppm)
    assert abs(report.rate_error_ppm or 0.0) < bound_ppm, (report.rate_error_ppm, held_ppm)
    # The band clock (device time) agrees with the journaled receive times too.
    assert report.device_drift_ppm is not None
    assert abs(report.device_drift_ppm) < bound_ppm, (report.device_drift_ppm, held_ppm)
    # The night spans its simulated length on the journal's time axis, within the same bound:
    # that axis runs at the estimated rate, so its span is off by the rate error (-1,422 ppm
    # once on CI, over the 1,000 ppm this check used to allow while the rate check passed).
    rec = replayed.recordings["left"]
    assert np.isclose(rec.t_s[-1], (n - 1) / RATE_HZ, rtol=bound_ppm * 1e-6)
