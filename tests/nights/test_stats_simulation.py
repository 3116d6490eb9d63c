"""Operating characteristics by simulation (small versions; the >= 1000-trial runs are in
``python -m legwatch.bench.trial_power``).

Nights: negative-binomial counts, log-scale sigma 0.4, lag-1 autocorrelation 0.3 (comparisons.md).
Tolerances are stated with each test: the expected share plus about 3 binomial SEs of the number
of simulated trials, so a correct method fails with probability well below 1%.
"""

import math

from scipy import stats as sps

from legwatch.bench.trial_power import NightSimulation, run
from legwatch.nights.trial_plan import plan_trial

N_NULL = 300
N_EFFECT = 300


def test_no_effect_false_positives_at_most_alpha_and_naive_is_worse() -> None:
    plan = plan_trial(sigma_log=0.4, n_pairs=14, seed=1)  # 28 nights: 14 vs 14 for naive
    oc = run(plan, 1.0, NightSimulation(drift_per_night=0.01), N_NULL, seed=100, naive=True)
    # The randomisation test is exact: positives ~ Binomial(300, <= 0.05); 99.9% bound = 27.
    bound = sps.binom.ppf(0.999, N_NULL, 0.05) / N_NULL
    assert oc.positive_rate <= bound
    # Naive 14 vs 14 with a 1%/night drift: comparisons.md ~21%; we need clearly above 5%.
    assert oc.naive_positive_rate >= 0.12
    assert oc.naive_positive_rate > oc.positive_rate + 0.08


def test_power_matches_the_plan_and_ci_covers_the_true_ratio() -> None:
    plan = plan_trial(sigma_log=0.4, target_reduction=0.5, lag1_autocorrelation=0.3, seed=2)
    oc = run(plan, 0.5, NightSimulation(), N_EFFECT, seed=200)
    se = math.sqrt(0.25 / N_EFFECT)  # <= 0.029
    # Spec: power within 0.1 of the stated power; + 2 SE of 300 trials = 0.16.
    assert abs(oc.positive_rate - plan.stated_power) <= 0.1 + 2 * se
    # Nominal 95%; the bench asks 93-97% with 1000 trials; here 95% +/- 3 SE (0.038) + 0.01.
    assert 0.90 <= oc.ci_coverage <= 0.99
