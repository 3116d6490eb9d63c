"""Plan a randomised N-of-1 trial: how many pairs, which night gets the technique, stated power.

Design from comparisons.md (AHRQ N-of-1 User's Guide, Kravitz & Duan 2014; CENT 2015): a run-in
without the technique gives the person's own night-to-night noise; the trial is a series of
randomised pairs (of single nights, or of blocks of nights when carryover is expected); in each
pair a seeded draw decides which member gets the technique, revealed one night at a time.

The stated power is the power of the pre-specified analysis (the within-pair randomisation test of
:func:`legwatch.nights.stats.analyze_trial`), computed by a seeded Monte Carlo of Gaussian pair
differences with the planned noise. It is not the large-sample formula, because with few pairs the
exact randomisation test is much more discrete than a t-test: with 6 pairs it rejects only when
all six pairs point the same way.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

from legwatch.errors import ParameterError

log = logging.getLogger(__name__)

#: Consistency constant turning a median absolute deviation into a Gaussian SD (Rousseeuw &
#: Croux 1993); comparisons.md asks for 1.4826 * MAD of the run-in log rates.
MAD_TO_SD = 1.4826
#: Gaussian pair differences simulated for the stated power (Monte Carlo SE <= 0.011 at 2000).
POWER_SIMULATIONS = 2000
#: Above this many pairs the randomisation test is approximated by the paired t-test when the
#: plan computes power (the two agree closely there; exact enumeration would cost 2^k).
EXACT_POWER_MAX_PAIRS = 12


def min_pairs_for_alpha(alpha: float) -> int:
    """Smallest number of randomised pairs k whose smallest two-sided p, 2 / 2^k, is below alpha.

    Parameters
    ----------
    alpha : float
        Two-sided significance level (e.g. 0.05).

    Returns
    -------
    int
        k; 6 for alpha = 0.05 (2/32 = 0.0625 is not below it, 2/64 = 0.031 is).
    """
    if not 0.0 < alpha < 1.0:
        raise ParameterError("alpha", "a level strictly between 0 and 1", alpha)
    k = 1
    while 2.0 / 2.0**k >= alpha:
        k += 1
    return k


def runin_noise(runin_log_rates: ArrayLike, drop_first: int = 1) -> tuple[float, float, int]:
    """Robust night-to-night SD and lag-1 autocorrelation of run-in log rates.

    Parameters
    ----------
    runin_log_rates : array_like
        ln(movements per hour) of consecutive run-in nights, first night first; NaN marks a
        missing night (kept as a gap for the autocorrelation, ignored for the SD).
    drop_first : int
        Leading nights left out (the first-night effect on sleep; comparisons.md). Default 1.

    Returns
    -------
    sigma_log : float
        1.4826 * MAD of the kept log rates (natural-log units).
    lag1_autocorrelation : float
        Lag-1 autocorrelation of the kept nights (pairs with a missing member skipped); NaN when
        fewer than 3 adjacent pairs exist.
    n_used : int
        Number of nights that entered the SD.
    """
    x = np.asarray(runin_log_rates, dtype=float)
    if x.ndim != 1:
        raise ParameterError("runin_log_rates", "a 1-D sequence of log rates", x.shape)
    x = x[drop_first:]
    kept = x[np.isfinite(x)]
    if kept.size < 3:
        raise ParameterError(
            "runin_log_rates",
            f"at least 3 usable nights after dropping the first {drop_first}",
            f"{kept.size} usable nights",
        )
    median = float(np.median(kept))
    sigma = MAD_TO_SD * float(np.median(np.abs(kept - median)))
    centred = x - float(np.mean(kept))
    a, b = centred[:-1], centred[1:]
    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() >= 3:
        rho = float(np.sum(a[both] * b[both]) / np.sum(centred[np.isfinite(centred)] ** 2))
    else:
        rho = float("nan")
    return sigma, rho, int(kept.size)


@dataclass(frozen=True)
class TrialPlan:
    """A randomised block-pair N-of-1 trial, fixed before the first trial night.

    Attributes
    ----------
    sigma_log : float
        Night-to-night SD of ln(movements per hour) used for planning.
    sigma_source : str
        Where sigma_log came from ("run-in, n nights" or "given").
    runin_lag1_autocorrelation : float
        Lag-1 autocorrelation measured in the run-in (NaN if not measured); reported only.
    planning_autocorrelation : float
        Lag-1 autocorrelation assumed for the sample size (0 unless given explicitly).
    target_reduction : float
        Relative reduction in movements per hour the trial is sized to detect (0.5 = 50% fewer).
    alpha : float
        Two-sided level of the randomisation test.
    power_target : float
        Power asked for.
    n_pairs : int
        Pairs (of nights or blocks) in the schedule.
    n_pairs_formula : float
        (z_a + z_b)^2 var_d / ln(1 - r)^2 with var_d the variance of one pair difference; for
        independent single nights var_d = 2 sigma^2, which is comparisons.md's formula (before
        rounding, the exact-test floor and the margin added until the stated power is reached).
    stated_power : float
        Power of the planned randomisation test with n_pairs pairs (seeded Monte Carlo).
    block_nights : int
        Nights per block; 1 means pairs of single nights.
    drop_first_nights : int
        Leading nights of each block left out of the analysis as washout.
    schedule : tuple[bool, ...]
        Technique (True) or not for every trial night, in order.
    pair_of_night : tuple[int, ...]
        Pair id (0-based) of every trial night.
    seed : int
        Seed of the allocation draw and of the power simulation.
    notes : tuple[str, ...]
        Plain-language statements to show with the plan.
    """

    sigma_log: float
    sigma_source: str
    runin_lag1_autocorrelation: float
    planning_autocorrelation: float
    target_reduction: float
    alpha: float
    power_target: float
    n_pairs: int
    n_pairs_formula: float
    stated_power: float
    block_nights: int
    drop_first_nights: int
    schedule: tuple[bool, ...]
    pair_of_night: tuple[int, ...]
    seed: int
    notes: tuple[str, ...]

    @property
    def n_nights(self) -> int:
        """Number of trial nights in the schedule."""
        return len(self.schedule)

    @property
    def min_pairs_for_alpha(self) -> int:
        """Pairs needed before the randomisation test can reach p < alpha at all."""
        return min_pairs_for_alpha(self.alpha)

    def reveal(self, night_index: int) -> bool:
        """Whether trial night ``night_index`` (0-based) is a technique night.

        Meant to be called at the evening check-in of that night only, so nobody knows the
        allocation in advance.
        """
        if not 0 <= night_index < self.n_nights:
            raise ParameterError(
                "night_index", f"an integer in [0, {self.n_nights - 1}]", night_index
            )
        return self.schedule[night_index]

    def is_washout(self, night_index: int) -> bool:
        """Whether the night is one of the first ``drop_first_nights`` of its block."""
        return night_index % self.block_nights < self.drop_first_nights


def _pair_difference_variance(
    sigma_log: float, rho: float, block_nights: int, drop_first_nights: int
) -> float:
    """Variance of (mean log rate of kept nights in block B) - (same in block A), AR(1) nights."""
    m = 2 * block_nights
    idx = np.arange(m)
    cov = sigma_log**2 * rho ** np.abs(idx[:, None] - idx[None, :]).astype(float)
    kept = (idx % block_nights) >= drop_first_nights
    w = np.zeros(m)
    first = kept & (idx < block_nights)
    second = kept & (idx >= block_nights)
    w[first] = -1.0 / first.sum()
    w[second] = 1.0 / second.sum()
    return float(w @ cov @ w)


def _sign_flip_matrix(k: int) -> NDArray[np.float64]:
    codes = np.arange(2**k)[:, None] >> np.arange(k)[None, :]
    return np.where(codes & 1, -1.0, 1.0)


def randomisation_power(
    n_pairs: int, delta_log: float, sd_difference: float, alpha: float, seed: int
) -> float:
    """Power of the two-sided within-pair sign-flip test on Gaussian pair differences.

    Parameters
    ----------
    n_pairs : int
        Number of randomised pairs k.
    delta_log : float
        True mean pair difference, ln(rate ratio).
    sd_difference : float
        SD of one pair difference (log units).
    alpha : float
        Two-sided level.
    seed : int
        Seed of the Monte Carlo.

    Returns
    -------
    float
        Share of POWER_SIMULATIONS simulated trials with p < alpha. Exact sign-flip enumeration up
        to EXACT_POWER_MAX_PAIRS pairs, the paired t-test beyond.
    """
    rng = np.random.default_rng(seed)
    d = rng.normal(delta_log, sd_difference, size=(POWER_SIMULATIONS, n_pairs))
    if n_pairs < min_pairs_for_alpha(alpha):
        return 0.0
    if n_pairs <= EXACT_POWER_MAX_PAIRS:
        flips = _sign_flip_matrix(n_pairs)
        t_obs = np.abs(d.mean(axis=1))
        t_all = np.abs(d @ flips.T) / n_pairs
        p = np.mean(t_all >= t_obs[:, None] * (1 - 1e-12), axis=1)
    else:
        t = d.mean(axis=1) / (d.std(axis=1, ddof=1) / math.sqrt(n_pairs))
        p = 2 * sps.t.sf(np.abs(t), n_pairs - 1)
    return float(np.mean(p < alpha))


def plan_trial(
    runin_log_rates: Sequence[float] | NDArray[np.float64] | None = None,
    *,
    sigma_log: float | None = None,
    target_reduction: float = 0.5,
    alpha: float = 0.05,
    power: float = 0.8,
    max_pairs: int = 28,
    block_nights: int = 1,
    drop_first_nights: int = 0,
    lag1_autocorrelation: float | None = None,
    n_pairs: int | None = None,
    seed: int = 0,
) -> TrialPlan:
    """Size and randomise a block-pair N-of-1 trial.

    Parameters
    ----------
    runin_log_rates : sequence of float, optional
        ln(movements per hour) of consecutive run-in nights without the technique; night 1 is
        dropped (first-night effect). Give this or ``sigma_log``.
    sigma_log : float, optional
        Night-to-night SD of ln(movements per hour), when known (comparisons.md: ~0.4, 0.3-0.5).
    target_reduction : float
        Relative reduction to detect, 0 < r < 1. Default 0.5 (a 50% drop).
    alpha : float
        Two-sided level. Default 0.05.
    power : float
        Power asked for. Default 0.8 (comparisons.md).
    max_pairs : int
        Cap on pairs (comparisons.md: e.g. 28). The plan says so when the cap limits the power.
    block_nights : int
        Nights per block. 1 = single-night pairs (default); 3-4 when carryover is expected; 7-14
        for slow-building effects (comparisons.md).
    drop_first_nights : int
        Washout nights left out at the start of each block (comparisons.md: 2 for slow-building
        effects). Must be smaller than ``block_nights``.
    lag1_autocorrelation : float, optional
        Lag-1 autocorrelation of nights assumed for sizing. Default: 0, whatever the run-in shows,
        because ~6 run-in nights estimate it with an SE near 0.4 and a positive value would shrink
        the trial. Positive autocorrelation makes a pair of adjacent nights agree more, so 0 is the
        conservative choice.
    n_pairs : int, optional
        Fix the number of pairs instead of sizing the trial (the stated power is still computed).
    seed : int
        Seed of the allocation draw and of the power simulation.

    Returns
    -------
    TrialPlan
    """
    if (runin_log_rates is None) == (sigma_log is None):
        raise ParameterError(
            "runin_log_rates / sigma_log", "exactly one of the two", "both or neither"
        )
    if not 0.0 < target_reduction < 1.0:
        raise ParameterError("target_reduction", "a fraction in (0, 1)", target_reduction)
    if not 0.0 < power < 1.0:
        raise ParameterError("power", "a probability in (0, 1)", power)
    if block_nights < 1:
        raise ParameterError("block_nights", "an integer >= 1", block_nights)
    if not 0 <= drop_first_nights < block_nights:
        raise ParameterError(
            "drop_first_nights", f"an integer in [0, {block_nights - 1}]", drop_first_nights
        )
    k_min = min_pairs_for_alpha(alpha)
    if max_pairs < k_min:
        raise ParameterError(
            "max_pairs", f"at least {k_min} (fewer can never give p < {alpha:g})", max_pairs
        )
    runin_rho = float("nan")
    if sigma_log is not None:
        sigma = float(sigma_log)
        source = "given"
    else:
        sigma, runin_rho, n_used = runin_noise(np.asarray(runin_log_rates, dtype=float))
        source = f"run-in, {n_used} nights (night 1 dropped), 1.4826 * MAD"
    if not sigma > 0.0:
        raise ParameterError("sigma_log", "a positive SD of log rates", sigma)
    rho = 0.0 if lag1_autocorrelation is None else float(lag1_autocorrelation)
    if not -1.0 < rho < 1.0:
        raise ParameterError("lag1_autocorrelation", "a value in (-1, 1)", rho)

    var_d = _pair_difference_variance(sigma, rho, block_nights, drop_first_nights)
    delta = math.log(1.0 - target_reduction)
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)
    n_formula = z**2 * var_d / delta**2
    if n_pairs is not None:
        if not k_min <= n_pairs <= max_pairs:
            raise ParameterError("n_pairs", f"an integer in [{k_min}, {max_pairs}]", n_pairs)
        stated = randomisation_power(n_pairs, delta, math.sqrt(var_d), alpha, seed)
    else:
        n_pairs = min(max(k_min, math.ceil(n_formula)), max_pairs)
        stated = randomisation_power(n_pairs, delta, math.sqrt(var_d), alpha, seed)
        while stated < power and n_pairs < max_pairs:
            n_pairs += 1
            stated = randomisation_power(n_pairs, delta, math.sqrt(var_d), alpha, seed)

    rng = np.random.default_rng(seed)
    schedule: list[bool] = []
    pair_of_night: list[int] = []
    for pair in range(n_pairs):
        technique_first = bool(rng.integers(2))
        for first in (True, False):
            schedule.extend([first == technique_first] * block_nights)
            pair_of_night.extend([pair] * block_nights)

    notes = [
        f"{n_pairs} randomised pairs of {block_nights}-night blocks "
        f"({2 * n_pairs * block_nights} nights) give a {stated:.0%} chance of detecting a "
        f"{target_reduction:.0%} reduction at two-sided alpha {alpha:g} "
        f"(night-to-night SD of log rate {sigma:.2f}, {source}).",
        f"Fewer than {k_min} randomised pairs can never give p < {alpha:g}: the smallest "
        f"two-sided p of the randomisation test with k pairs is 2/2^k.",
    ]
    if stated < power:
        notes.append(
            f"The cap of {max_pairs} pairs limits the power to {stated:.0%} "
            f"(asked for {power:.0%}); a larger effect or less noisy nights would be needed."
        )
    if drop_first_nights:
        notes.append(
            f"The first {drop_first_nights} night(s) of each block are washout and are not "
            "analysed; they are listed as excluded."
        )
    if math.isfinite(runin_rho) and lag1_autocorrelation is None:
        notes.append(
            f"Run-in lag-1 autocorrelation {runin_rho:.2f} is reported, not used for sizing."
        )
    log.debug("trial plan: %d pairs, stated power %.3f", n_pairs, stated)
    return TrialPlan(
        sigma_log=sigma,
        sigma_source=source,
        runin_lag1_autocorrelation=runin_rho,
        planning_autocorrelation=rho,
        target_reduction=target_reduction,
        alpha=alpha,
        power_target=power,
        n_pairs=n_pairs,
        n_pairs_formula=n_formula,
        stated_power=stated,
        block_nights=block_nights,
        drop_first_nights=drop_first_nights,
        schedule=tuple(schedule),
        pair_of_night=tuple(pair_of_night),
        seed=seed,
        notes=tuple(notes),
    )
