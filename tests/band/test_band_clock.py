"""BandClock: the virtual band's time, which stands still while the band is behind."""

from __future__ import annotations

import itertools
import time

import pytest

from legwatch.band.virtual_band import BandClock
from legwatch.errors import ParameterError


def _wait_s(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.001)


def test_runs_at_speed_and_stands_still_while_held() -> None:
    clock = BandClock(100.0)
    start_host = time.monotonic_ns()
    _wait_s(0.02)
    running_s = clock.band_s()
    elapsed_host_s = (time.monotonic_ns() - start_host) / 1e9
    # 100 band seconds per host second (the origin is a hair before start_host).
    assert 100 * 0.02 <= running_s <= 100 * (elapsed_host_s + 0.005)
    clock.hold()
    held_at = clock.band_s()
    _wait_s(0.03)
    assert clock.band_s() == pytest.approx(held_at, abs=1e-6)  # 30 ms held: no band time
    clock.release()
    _wait_s(0.01)
    assert clock.band_s() - held_at >= 100 * 0.01
    assert clock.holds == 1 and 0.03 <= clock.held_s < 0.2


def test_a_stamp_maps_to_the_same_band_time_before_and_after_later_holds() -> None:
    clock = BandClock(50.0)
    stamps = []
    for _ in range(5):
        stamps.append(time.monotonic_ns())
        _wait_s(0.003)
        clock.hold()
        stamps.append(time.monotonic_ns())  # inside a hold
        _wait_s(0.003)
        clock.release()
    before = [clock(s) for s in stamps]
    clock.hold()
    _wait_s(0.005)
    clock.release()
    assert [clock(s) for s in stamps] == before
    # Monotonic, and a hold adds no band time: the stamps inside holds sit where they began.
    assert all(b <= a for b, a in itertools.pairwise(before))
    assert clock.holds == 6


def test_journal_time_is_on_the_host_origin() -> None:
    clock = BandClock(10.0)
    now = time.monotonic_ns()
    journal = clock(now)
    assert journal == clock.origin_ns + round((now - clock.origin_ns) * 10.0)
    assert abs(clock.unix_offset_ns + clock.origin_ns - time.time_ns()) < 1e9


def test_forgets_old_holds_without_moving_recent_stamps() -> None:
    clock = BandClock(1.0)
    for _ in range(2 * BandClock.MAX_HOLDS + 5):
        clock.hold()
        clock.release()
    stamp = time.monotonic_ns()
    mapped = clock(stamp)
    assert clock(stamp) == mapped
    assert clock.holds == 2 * BandClock.MAX_HOLDS + 5
    assert mapped <= stamp  # held time is taken out, never added


def test_refuses_a_speed_that_is_not_positive() -> None:
    with pytest.raises(ParameterError, match="speed"):
        BandClock(0.0)
