"""The streaming and offline paths give identical events on the same data."""

from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pytest
import threadpoolctl

from legwatch import synth
from legwatch.events import EventTable
from legwatch.signal.detect import StreamingDetector, detect_movements


def _stream(rec, chunk: int) -> EventTable:  # type: ignore[no-untyped-def]
    det = StreamingDetector(rec.fs_effective_hz, rec.side)
    parts = [
        det.push(rec.t_s[i : i + chunk], rec.accel_g[i : i + chunk])
        for i in range(0, rec.n_samples, chunk)
    ]
    parts.append(det.flush())
    return EventTable.concat(parts)


#: (seed, chunk in samples, rate in Hz), the slowest first (seconds each on a slow machine: 30, 23,
#: 13, 11, 11, 6, 1, 1; the emission night, 22 s, runs after the first two), so that the two
#: processes of the ``streamed`` fixture finish together.
CASES = [
    (36, 5, 50.0),
    (37, 13, 50.0),
    (31, 1, 50.0),
    (34, 26, 50.0),
    (32, 26, 50.0),
    (39, 27, 100.0),  # the legwatch band's own rate
    (33, 997, 50.0),
    (38, 4096, 50.0),
]


def _offline_and_streamed(case: tuple[int, int, float]) -> tuple[EventTable, EventTable]:
    seed, chunk, rate_hz = case
    cfg = synth.scenario(
        "nominal", seed, hours=0.35 if chunk < 5 or rate_hz > 60 else 1.0, rate_hz=rate_hz
    )
    rec = synth.simulate_night(cfg).recordings["left"]
    return detect_movements(rec).events, _stream(rec, chunk)


def _emission_lags() -> tuple[list[float], list[float], float]:
    """Stream a night in 250 ms packets; how long after its offset each event was emitted (s):
    posture changes apart, and the longest a posture change may be held back."""
    rec = synth.simulate_night(synth.scenario("nominal", 35, hours=1.5)).recordings["left"]
    det = StreamingDetector(rec.fs_effective_hz, rec.side)
    chunk = max(1, round(rec.fs_effective_hz / 4))  # a packet every 250 ms
    lags: list[float] = []
    turn_lags: list[float] = []
    for i in range(0, rec.n_samples, chunk):
        now = rec.t_s[min(i + chunk, rec.n_samples) - 1]
        out = det.push(rec.t_s[i : i + chunk], rec.accel_g[i : i + chunk])
        lag = now - out.offset_s
        timed = ~out.props["at_gap"].astype(bool)
        turn = out.kind == "posture_change"
        lags += lag[timed & ~turn].tolist()
        turn_lags += lag[timed & turn].tolist()
    return lags, turn_lags, det.params.thresholds.reacquire_still_s


@pytest.fixture(scope="module")
def streamed() -> tuple[
    dict[tuple[int, int, float], tuple[EventTable, EventTable]],
    tuple[list[float], list[float], float],
]:
    """Every case of this module, over two processes (one BLAS thread each), the longest first."""
    with ProcessPoolExecutor(2, initializer=threadpoolctl.threadpool_limits, initargs=(1,)) as ex:
        jobs = {case: ex.submit(_offline_and_streamed, case) for case in CASES[:2]}
        emission = ex.submit(_emission_lags)
        jobs |= {case: ex.submit(_offline_and_streamed, case) for case in CASES[2:]}
        return {case: job.result() for case, job in jobs.items()}, emission.result()


@pytest.fixture(scope="module")
def pairs(
    streamed: tuple[dict[tuple[int, int, float], tuple[EventTable, EventTable]], Any],
) -> dict[tuple[int, int, float], tuple[EventTable, EventTable]]:
    return streamed[0]


@pytest.mark.parametrize("case", CASES, ids=[f"{s}-{c}-{r:g}" for s, c, r in CASES])
def test_streaming_equals_offline(
    case: tuple[int, int, float],
    pairs: dict[tuple[int, int, float], tuple[EventTable, EventTable]],
) -> None:
    offline, streamed = pairs[case]
    assert len(offline) >= 3
    assert len(streamed) == len(offline)
    assert np.array_equal(streamed.onset_s, offline.onset_s)
    assert np.array_equal(streamed.duration_s, offline.duration_s)
    assert np.array_equal(streamed.kind, offline.kind)
    for name, col in offline.props.items():
        assert np.array_equal(streamed.props[name], col, equal_nan=True), name


def test_each_event_is_emitted_within_one_second_of_its_offset(
    streamed: tuple[Any, tuple[list[float], list[float], float]],
) -> None:
    lags, turn_lags, reacquire_still_s = streamed[1]
    assert len(lags) > 5
    assert max(lags) <= 1.0
    # a posture change waits until it cannot be the first half of a held movement
    assert turn_lags
    assert max(turn_lags) <= reacquire_still_s + 1.0
