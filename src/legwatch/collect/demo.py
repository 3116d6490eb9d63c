"""``legwatch demo``: a simulated night recorded through the real BLE code path, then analysed.

A :class:`~legwatch.band.virtual_band.VirtualBand` plays a simulated night at ``speed`` times real
time on an in-process Bumble link; ``bleak.BleakClient(backend=BumbleBleakBackend)`` and
:class:`~legwatch.band.link.BandLink` carry it to the collector (:mod:`legwatch.collect.collector`),
which journals it like a real night. The night is then replayed from the journal, analysed
(:func:`~legwatch.nights.analysis.analyze_night`) and reported
(:func:`~legwatch.report.write_night_report`).

Receive times are journaled on the band's own clock (``Collector(clock=band.clock)``, a
:class:`~legwatch.band.virtual_band.BandClock`), so the accelerated night replays as the 8-hour
night it simulates; on a machine too busy for ``speed`` that clock slows with the band, and the
night takes longer instead of coming out mis-timed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from legwatch.collect.collector import BandSpec, Collector, CollectorParams, Publisher
from legwatch.collect.store import NightStore

logger = logging.getLogger(__name__)

RATE_HZ = 104.0


@dataclass(frozen=True)
class VirtualRun:
    """What recording a virtual night took.

    ``held_s`` is the host time the band's clock stood still because the process could not keep
    up with ``speed`` (:class:`~legwatch.band.virtual_band.BandClock`), ``holds`` how often.
    """

    summary: dict[str, Any]
    wall_s: float
    notifications: int
    band_counters: Any
    finished: bool
    held_s: float = 0.0
    holds: int = 0


async def record_virtual_night(
    accel_g: ArrayLike,
    store: NightStore,
    *,
    speed: float,
    band_config: Any = None,
    params: CollectorParams | None = None,
    band_id: str = "left",
    site: str = "left_ankle",
    publisher: Publisher | None = None,
    raw: bool = False,
    on_status: Callable[[dict[str, Any]], None] | None = None,
    timeout_s: float = 600.0,
    settle_s: float = 0.5,
) -> VirtualRun:
    """Stream ``accel_g`` (g, 104 Hz) from a virtual band through the collector into ``store``.

    Stops when the band has played every sample and the collector holds them all (no open hole
    left, or holes only given up), after ``settle_s`` more seconds for late backfill, or after
    ``timeout_s``. The store is closed on return.
    """
    from bumble.link import LocalLink

    from legwatch.band.bumble_backend import BumbleBleakBackend, BumbleCentral
    from legwatch.band.link import LinkConfig
    from legwatch.band.virtual_band import VirtualBand, VirtualBandConfig
    from legwatch.collect.collector import ble_link_factory

    source = np.asarray(accel_g, dtype=np.float64)
    n = source.shape[0]
    band_config = band_config or VirtualBandConfig()
    band_config = replace(band_config, speed=speed)
    params = params or CollectorParams()
    link = LocalLink()
    band = VirtualBand(link, source, RATE_HZ, band_config)
    central = BumbleCentral(link)
    await band.start()

    def finder(_spec: BandSpec) -> Any:
        async def find() -> Any:
            return await central.find_device(name=band.name, timeout_s=2.0)

        return find

    # Backoff in host seconds: a virtual band played fast comes back fast.
    factory = ble_link_factory(
        BumbleBleakBackend,
        finder=finder,
        config=LinkConfig(backoff_initial_s=0.05, backoff_max_s=0.5, queue_size=65536),
    )
    collector = Collector(
        store,
        [BandSpec(band_id, site)],
        link_factory=factory,
        params=params,
        publisher=publisher,
        on_status=on_status,
        raw=raw,
        clock=band.clock,
    )
    stop = asyncio.Event()
    ingest = collector.ingests[band_id]
    t0 = time.perf_counter()
    finished = False

    async def watch() -> None:
        nonlocal finished
        done_since: float | None = None
        while time.perf_counter() - t0 < timeout_s:
            await asyncio.sleep(0.05)
            complete = band.finished and ingest.stats.last_index == n - 1
            if complete and not ingest.open_holes:
                finished = True
                if done_since is None:
                    done_since = time.perf_counter()
                if time.perf_counter() - done_since >= settle_s:
                    break
            else:
                done_since = None
        stop.set()

    watcher = asyncio.create_task(watch(), name="virtual night watcher")
    try:
        summary = await collector.run(stop)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await band.stop()
    wall_s = time.perf_counter() - t0
    return VirtualRun(
        summary,
        wall_s,
        ingest.stats.notifications,
        band.counters,
        finished,
        held_s=band.clock.held_s,
        holds=band.clock.holds,
    )


@dataclass(frozen=True)
class DemoResult:
    """What ``legwatch demo`` found and where it put it."""

    night_dir: Path
    report_html: Path
    json_path: Path
    indices: dict[str, Any]
    summary_text: str
    record_wall_s: float
    total_wall_s: float
    hours: float
    speed: float
    notifications: int


def run_demo(
    out_root: str | Path = "recordings",
    *,
    hours: float = 8.0,
    speed: float = 720.0,
    seed: int = 1,
    night_id: str | None = None,
    on_status: Callable[[dict[str, Any]], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> DemoResult:
    """Simulate a night, record it through the virtual band and the collector, analyse it,
    write its report. Returns the indices and the paths written.

    Parameters
    ----------
    out_root : str or Path
        Root of the recordings; the night goes to ``out_root/<night_id>``.
    hours : float
        Length of the simulated night, hours.
    speed : float
        How many times faster than real time the band streams. Default 720: 8 h in 40 s when
        the machine keeps up (an 8-h night needs ~25 s of one core, measured); a machine too
        busy for it slows the band's clock (BandClock): longer, never mis-timed.
    seed : int
        Seed of the simulated night ("nominal" scenario).
    night_id : str, optional
        Default ``demo-seed<seed>-<unix time>``.
    on_status, on_stage : callable, optional
        Progress: collector status snapshots; stage names ("simulating", "recording",
        "analysing", "reporting").
    """
    from legwatch.band.virtual_band import VirtualBandConfig
    from legwatch.collect.replay import replay
    from legwatch.collect.store import open_or_resume
    from legwatch.nights.analysis import analyze_night
    from legwatch.report import write_night_report
    from legwatch.synth import scenario, simulate_night

    t0 = time.perf_counter()
    stage = on_stage or (lambda _name: None)
    stage("simulating")
    cfg = scenario("nominal", seed, hours=hours, rate_hz=RATE_HZ)
    # The virtual band numbers its samples at its nominal rate, one after the other: the
    # simulated sensor's clock must run exactly at that rate (the simulator's default draws a
    # 1-6 % fast or slow clock, which would stretch the night), and the simulator's own gaps must
    # be off (their samples are missing, and played back to back they would shorten the night;
    # the demo's link makes real gaps of its own when packets are lost).
    cfg = replace(
        cfg,
        sensor=replace(
            cfg.sensor, rate_error_frac_range=(0.0, 0.0), rate_drift_frac_range=(0.0, 0.0)
        ),
        gaps=replace(cfg.gaps, enabled=False),
    )
    night = simulate_night(cfg)
    accel = night.recordings["left"].accel_g
    night_id = night_id or f"demo-seed{seed}-{int(time.time())}"
    store = open_or_resume(out_root, night_id)
    night_dir = store.night_dir
    stage("recording")
    # The band may run 10 s of band time (14 ms at 720x) behind before its clock holds: the
    # scheduler's time slices on a busy machine then cost nothing, and the 8-h night's clock fit
    # (72-s windows, replay.py) never sees the lag.
    band_config = VirtualBandConfig(max_lag_s=10.0)
    run = asyncio.run(
        record_virtual_night(
            accel, store, speed=speed, band_config=band_config, on_status=on_status
        )
    )
    logger.info("recorded %g h in %.1f s (%d notifications)", hours, run.wall_s, run.notifications)
    stage("analysing")
    recordings = replay(night_dir)
    analysis = analyze_night(list(recordings.values()))
    # <night>.night.json: the name `legwatch nights` and the comparisons look for
    json_path = night_dir / f"{night_id}.night.json"
    json_path.write_text(analysis.to_json())
    stage("reporting")
    html = write_night_report(analysis, night_dir / "report")
    return DemoResult(
        night_dir=night_dir,
        report_html=html,
        json_path=json_path,
        indices=dict(analysis.indices),
        summary_text=analysis.summary(),
        record_wall_s=run.wall_s,
        total_wall_s=time.perf_counter() - t0,
        hours=hours,
        speed=speed,
        notifications=run.notifications,
    )
