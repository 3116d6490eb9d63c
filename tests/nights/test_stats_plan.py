"""plan_trial: the sample-size formula, the exact-test floor, the schedule and its reveal."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from legwatch.errors import ParameterError
from legwatch.nights.trial_plan import (
    min_pairs_for_alpha,
    plan_trial,
    randomisation_power,
    runin_noise,
)


def test_min_pairs_for_alpha_is_where_two_over_two_to_the_k_drops_below_alpha() -> None:
    assert min_pairs_for_alpha(0.05) == 6  # 2/32 = 0.0625, 2/64 = 0.031
    assert min_pairs_for_alpha(0.01) == 8  # 2/128 = 0.0156, 2/256 = 0.0078
    with pytest.raises(ParameterError, match="alpha"):
        min_pairs_for_alpha(1.5)


@pytest.mark.parametrize(("reduction", "expected"), [(0.5, 5.23), (0.3, 19.74)])
def test_formula_matches_comparisons_md(reduction: float, expected: float) -> None:
    # comparisons.md: sigma 0.4 -> ~20 nights per arm for a 30% drop, 6-7 for a 50% drop.
    plan = plan_trial(sigma_log=0.4, target_reduction=reduction, seed=3)
    by_hand = 2 * (1.959964 + 0.841621) ** 2 * 0.16 / math.log(1 - reduction) ** 2
    assert plan.n_pairs_formula == pytest.approx(by_hand, rel=1e-4)
    assert plan.n_pairs_formula == pytest.approx(expected, abs=0.01)
    assert plan.n_pairs >= max(6, math.ceil(by_hand))
    assert plan.stated_power >= 0.8
    assert plan.n_nights == 2 * plan.n_pairs


def test_schedule_has_one_technique_block_per_pair_and_is_seeded() -> None:
    plan = plan_trial(sigma_log=0.4, block_nights=3, drop_first_nights=1, seed=11)
    sched = np.array(plan.schedule).reshape(plan.n_pairs, 2, 3)
    assert np.all(sched.all(axis=2) | ~sched.any(axis=2))  # blocks are uniform
    assert np.all(sched[:, :, 0].sum(axis=1) == 1)  # one technique block per pair
    assert plan.pair_of_night == tuple(np.repeat(np.arange(plan.n_pairs), 6))
    again = plan_trial(sigma_log=0.4, block_nights=3, drop_first_nights=1, seed=11)
    assert again.schedule == plan.schedule
    others = {plan_trial(sigma_log=0.4, seed=s).schedule[:12] for s in range(8)}
    assert len(others) > 1
    assert [plan.reveal(i) for i in range(plan.n_nights)] == list(plan.schedule)
    assert [plan.is_washout(i) for i in range(6)] == [True, False, False] * 2
    with pytest.raises(ParameterError, match="night_index"):
        plan.reveal(plan.n_nights)


def test_blocks_with_washout_need_fewer_pairs_than_single_nights() -> None:
    single = plan_trial(sigma_log=0.4, target_reduction=0.3, seed=1)
    blocks = plan_trial(sigma_log=0.4, target_reduction=0.3, block_nights=4, seed=1)
    assert blocks.n_pairs_formula == pytest.approx(single.n_pairs_formula / 4, rel=1e-9)
    assert blocks.n_pairs < single.n_pairs


def test_plan_states_that_fewer_than_six_pairs_cannot_reach_p_05() -> None:
    plan = plan_trial(sigma_log=0.3, target_reduction=0.8, seed=0)
    assert plan.n_pairs == 6  # the formula alone would ask for fewer
    assert any("Fewer than 6 randomised pairs can never give p < 0.05" in n for n in plan.notes)


def test_cap_limits_power_and_says_so() -> None:
    plan = plan_trial(sigma_log=0.8, target_reduction=0.2, max_pairs=28, seed=0)
    assert plan.n_pairs == 28
    assert plan.stated_power < 0.5
    assert any("cap of 28 pairs" in n for n in plan.notes)


def test_power_of_six_pairs_is_that_of_all_six_signs_agreeing() -> None:
    # With 6 pairs only the two all-same-sign allocations reach p < .05.
    delta, sd = math.log(0.5), 0.566
    q = sps.norm.cdf(-delta / sd)
    exact = q**6 + (1 - q) ** 6
    assert randomisation_power(6, delta, sd, 0.05, seed=4) == pytest.approx(exact, abs=0.03)
    assert randomisation_power(5, delta, sd, 0.05, seed=4) == 0.0


def test_runin_noise_drops_night_one_and_uses_mad() -> None:
    rates = [9.0, 0.0, 1.0, 2.0, 3.0, 4.0]  # night 1 (9.0) is an outlier and must not count
    sigma, _rho, n_used = runin_noise(rates)
    assert n_used == 5
    assert sigma == pytest.approx(1.4826 * 1.0)
    alternating = [0.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0]
    assert runin_noise(alternating)[1] < -0.5
    plan = plan_trial(rates, seed=0)
    assert plan.sigma_log == pytest.approx(1.4826)
    assert plan.sigma_source.startswith("run-in, 5 nights")
    assert plan.planning_autocorrelation == 0.0


def test_plan_refuses_bad_parameters() -> None:
    with pytest.raises(ParameterError, match="exactly one"):
        plan_trial([0.1, 0.2, 0.3, 0.4], sigma_log=0.4)
    with pytest.raises(ParameterError, match="exactly one"):
        plan_trial()
    with pytest.raises(ParameterError, match="target_reduction"):
        plan_trial(sigma_log=0.4, target_reduction=1.2)
    with pytest.raises(ParameterError, match="drop_first_nights"):
        plan_trial(sigma_log=0.4, block_nights=2, drop_first_nights=2)
    with pytest.raises(ParameterError, match="runin_log_rates"):
        plan_trial([0.1, 0.2, 0.3])
    with pytest.raises(ParameterError, match="n_pairs"):
        plan_trial(sigma_log=0.4, n_pairs=4)
