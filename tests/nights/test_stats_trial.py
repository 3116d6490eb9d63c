"""analyze_trial, randomisation_test and naive_before_after on hand-made nights."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from legwatch.errors import ParameterError
from legwatch.nights.stats import Night, analyze_trial, naive_before_after, randomisation_test
from legwatch.nights.trial_plan import plan_trial


def _nights(plan, rr: float, seed: int = 0, rate: float = 15.0, sd: float = 0.1) -> list[Night]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    out = []
    for i, tech in enumerate(plan.schedule):
        hours = float(rng.uniform(6, 8))
        mu = rate * hours * math.exp(rng.normal(0, sd)) * (rr if tech else 1.0)
        out.append(Night(i, tech, int(rng.poisson(mu)), hours))
    return out


def test_exact_randomisation_test_matches_scipy_and_its_floor() -> None:
    d = np.array([0.3, -0.1, 0.5, 0.2, 0.4, -0.05, 0.25, 0.1])
    ours = randomisation_test(d)
    ref = sps.permutation_test(
        (d,), np.mean, permutation_type="samples", n_resamples=np.inf, alternative="two-sided"
    )
    assert ours.exact
    assert ours.p_value == pytest.approx(ref.pvalue)
    assert randomisation_test(np.ones(6)).p_value == pytest.approx(2 / 64)
    assert randomisation_test(np.ones(5)).p_value == pytest.approx(2 / 32)


def test_monte_carlo_randomisation_test_uses_plus_one() -> None:
    d = np.full(20, 0.3)
    res = randomisation_test(d, n_random=999, seed=1)
    assert not res.exact
    assert res.p_value == pytest.approx(1 / 1000)  # no random allocation is as extreme


def test_clear_reduction_is_likely_fewer_and_reversal_likely_more() -> None:
    plan = plan_trial(sigma_log=0.4, n_pairs=10, seed=5)
    fewer = analyze_trial(_nights(plan, 0.5), plan)
    assert fewer.verdict == "likely fewer"
    assert fewer.ci95[0] < 0.5 * 1.15 and fewer.ci95[1] < 1.0
    assert fewer.rate_ratio == pytest.approx(0.5, rel=0.15)
    assert fewer.p_rr_below_1 > 0.99 and fewer.p_rr_below_08 > 0.9
    assert fewer.randomisation is not None and fewer.randomisation.p_value < 0.05
    assert fewer.bootstrap_ci95 is not None and fewer.bootstrap_ci95[1] < 1.0
    assert fewer.nights_still_needed == 0
    more = analyze_trial(_nights(plan, 2.0), plan)
    assert more.verdict == "likely more"
    assert more.ci95[0] > 1.0
    text = fewer.summary()
    assert text.startswith("Verdict: likely fewer.")
    assert text.endswith("This does not prove cause.")


def test_no_effect_is_no_clear_difference_and_asks_for_more_nights() -> None:
    plan = plan_trial(sigma_log=0.4, n_pairs=6, seed=2)
    res = analyze_trial(_nights(plan, 1.0, sd=0.5, seed=3), plan)
    assert res.verdict == "no clear difference"
    assert res.ci95[0] < 1.0 < res.ci95[1]
    assert res.nights_still_needed > 0


def test_fewer_than_six_pairs_is_too_early_and_says_p_is_impossible() -> None:
    plan = plan_trial(sigma_log=0.4, n_pairs=8, seed=5)
    nights = _nights(plan, 0.3)[:10]  # 5 complete pairs, a huge effect
    res = analyze_trial(nights, plan)
    assert res.verdict == "too early"
    assert res.randomisation is not None and res.randomisation.p_value == pytest.approx(2 / 32)
    assert any("p < 0.05 is impossible yet" in m and "2/2^5" in m for m in res.messages)
    assert res.nights_still_needed == 6  # 3 more pairs of single nights
    assert res.broken_pairs == ()  # pairs not reached yet are not broken
    assert math.isfinite(res.rate_ratio)  # the estimate is still shown, with its CI


def test_fewer_than_three_nights_per_condition_is_too_early_without_aggregate() -> None:
    plan = plan_trial(sigma_log=0.4, n_pairs=8, seed=5)
    res = analyze_trial(_nights(plan, 0.5)[:4], plan)
    assert res.verdict == "too early"
    assert math.isnan(res.rate_ratio)
    assert any("no aggregate below 3 nights" in m for m in res.messages)


def test_excluded_and_washout_nights_are_listed_with_reasons() -> None:
    plan = plan_trial(sigma_log=0.4, n_pairs=8, block_nights=3, drop_first_nights=1, seed=5)
    nights = _nights(plan, 0.5)
    nights[4] = Night(4, nights[4].technique, 0, 1.5, excluded=True, exclusion_reason="< 4 h")
    res = analyze_trial(nights, plan)
    reasons = {e.night_index: e.reason for e in res.excluded}
    assert reasons[4] == "< 4 h"
    washout = [i for i in range(plan.n_nights) if i % 3 == 0]
    assert all("washout" in reasons[i] for i in washout)
    assert len(reasons) == len(washout) + 1
    assert res.n_nights_technique + res.n_nights_control == plan.n_nights - len(reasons)
    assert "Excluded night 4: < 4 h." in res.summary()
    bad = [*nights[:4], Night(4, True, 3, 7.0, excluded=True)]
    with pytest.raises(ParameterError, match="exclusion_reason"):
        analyze_trial(bad, plan)


def test_broken_pair_and_deviation_from_allocation_are_reported() -> None:
    plan = plan_trial(sigma_log=0.4, n_pairs=8, seed=5)
    nights = _nights(plan, 0.5)
    first = nights[0]
    nights[0] = Night(0, not first.technique, first.count, first.exposure_h)
    res = analyze_trial(nights, plan)
    assert res.broken_pairs == (0,)
    assert res.randomisation is not None and res.randomisation.n_pairs == 7
    assert any("did not follow the allocation" in m for m in res.messages)


def test_nights_without_plan_need_pair_ids() -> None:
    with pytest.raises(ParameterError, match="pair_id"):
        analyze_trial([Night(0, True, 10, 7.0)])
    with pytest.raises(ParameterError, match="exposure_h"):
        analyze_trial([Night(0, True, 10, 0.0, pair_id=0)])


def test_naive_before_after_is_labelled_weak_and_estimates_the_ratio() -> None:
    hours = np.full(10, 7.0)
    res = naive_before_after(np.full(10, 140), hours, np.full(10, 70), hours)
    assert res.rate_ratio == pytest.approx(0.5, rel=1e-6)
    assert res.evidence.startswith("weak")
    assert res.ci95[0] < 0.5 < res.ci95[1] and res.p_value < 0.001
    with pytest.raises(ParameterError, match="before_counts"):
        naive_before_after([1, 2], [7, 7], [1, 2, 3], [7, 7, 7])
