"""within_night recovers a simulated post-session drop; exposure and series timing."""

import numpy as np
import pytest

from legwatch.errors import ParameterError
from legwatch.nights.stats import poisson_rate_ratio, pool_within_night, within_night


def _poisson_onsets(
    rng: np.random.Generator, rate_per_h: float, t0: float, t1: float
) -> np.ndarray:
    n = rng.poisson(rate_per_h * (t1 - t0) / 3600)
    return np.sort(rng.uniform(t0, t1, n))


def test_within_night_recovers_a_drop_after_the_session() -> None:
    rng = np.random.default_rng(7)
    session = 3 * 3600.0
    onsets = np.r_[
        _poisson_onsets(rng, 40, 0, session), _poisson_onsets(rng, 10, session, 9 * 3600)
    ]
    res = within_night(onsets, [(0.0, 9 * 3600.0)], session, session_duration_s=120.0)
    c = res.comparison
    assert c.exposure_before_h == pytest.approx(1.0)
    assert c.exposure_after_h == pytest.approx(5.0)
    assert c.ci95[0] < 0.25 < c.ci95[1]
    assert c.ci95[1] < 0.5 and c.p_value < 1e-6


def test_only_analysable_time_and_movements_count() -> None:
    onsets = np.array([100.0, 200.0, 1900.0, 4000.0, 5000.0])
    # the 30 min gap 1800-3600 s removes the onset at 1900 s and halves the before window
    res = within_night(onsets, [(0.0, 1800.0), (3600.0, 9000.0)], 3600.0, after_s=3600.0)
    assert res.comparison.exposure_before_h == pytest.approx(0.5)
    assert res.comparison.count_before == 2
    assert res.comparison.count_after == 2
    assert res.comparison.rate_ratio == pytest.approx(0.5)
    with pytest.raises(ParameterError, match="analysable time both before and after"):
        within_night(onsets, [(0.0, 1800.0)], 3600.0)


def test_time_to_first_series_after_the_session() -> None:
    res = within_night(
        [10.0, 4000.0],
        [(0.0, 20000.0)],
        3600.0,
        session_duration_s=60.0,
        series_onsets_s=[1000.0, 3630.0, 9000.0, 12000.0],
    )
    assert res.time_to_first_series_s == pytest.approx(9000.0 - 3660.0)
    none = within_night([10.0, 4000.0], [(0.0, 20000.0)], 3600.0, series_onsets_s=[100.0])
    assert none.time_to_first_series_s is None
    assert none.followed_until_s == pytest.approx(20000.0)


def test_exact_rate_ratio_against_hand_values() -> None:
    rr, ci, p = poisson_rate_ratio(10, 1.0, 10, 1.0)
    assert rr == 1.0 and p == pytest.approx(1.0)
    assert ci[0] < 1.0 < ci[1]
    assert ci[0] * ci[1] == pytest.approx(1.0)  # symmetric on the log scale for equal counts


def test_pooled_sessions_recover_the_drop_and_widen_for_spread() -> None:
    rng = np.random.default_rng(3)
    results = []
    for _ in range(6):
        level = 20 * np.exp(rng.normal(0, 0.4))  # nights differ; the ratio is 0.4 each night
        session = 2 * 3600.0
        onsets = np.r_[
            _poisson_onsets(rng, level, 0, session),
            _poisson_onsets(rng, 0.4 * level, session, 8 * 3600),
        ]
        results.append(within_night(onsets, [(0.0, 8 * 3600.0)], session))
    pooled = pool_within_night(results)
    assert pooled.ci95[0] < 0.4 < pooled.ci95[1]
    assert pooled.ci95[1] < 0.7
    assert "widened" in pooled.method
    assert pooled.count_before == sum(r.comparison.count_before for r in results)
