"""Statistics for comparing nights: randomised N-of-1 trials, before/after, within-night.

Pure functions, no I/O. The methods and the verdict rule are those of comparisons.md, fixed before
any trial starts:

* Count model (primary estimate): negative-binomial GLM, log E[count] = b0 + b1*technique +
  b2*t/T + log(hours), with Newey-West (HAC, maxlags 1, small-sample corrected) standard errors.
  The NB alpha is the moment estimate of Cameron & Trivedi (1990) from a Poisson fit of the same
  model: alpha = sum((y - mu)^2 - y) / sum(mu^2), scaled by n/(n - p); it is fast, never fails to
  converge on 12 nights, and the HAC sandwich keeps the SE valid if alpha is off.
  The 95% CI is b1 +/- t(0.975, n - 3) * SE with n the analysed nights (the residual degrees of
  freedom): with 6-10 pairs the HAC sandwich is too small and normal quantiles under-cover (90%
  at 7 pairs in legwatch.bench.trial_power; 94-96% with the t quantile).
* Randomisation test matched to the allocation: the technique member of each pair was drawn at
  random, so under "the technique changes nothing" every within-pair swap was equally likely.
  Statistic: mean over pairs of (mean ln rate of technique nights - mean ln rate of control
  nights), ln rate = ln((count + 0.5) / hours) (0.5 keeps zero-count nights finite). All 2^k swaps
  are enumerated when k <= EXACT_MAX_PAIRS (p = share of swaps at least as extreme, the observed
  one included), else a seeded Monte Carlo with p = (1 + #) / (1 + M). This is what
  scipy.stats.permutation_test(permutation_type='samples') does, vectorised here for speed.
* BCa bootstrap over pairs (scipy.stats.bootstrap, method='BCa') of the same mean pair difference:
  a second interval that does not rely on the count model. It is secondary: with 7-14 pairs it
  under-covers (86-91% in legwatch.bench.trial_power), as bootstraps of a handful of units do.
* P(RR < r0) ~ F_t((ln r0 - b1) / SE) with the same n - 3 degrees of freedom.
* Verdict (fixed in advance): "too early" while any condition has fewer than 3 analysable nights
  or the pairs analysed cannot yet give p < alpha (k < 6 at alpha 0.05); otherwise "likely fewer"
  (or "likely more") when the randomisation p < alpha AND the count-model 95% CI lies wholly below
  (above) 1; otherwise "no clear difference". Requiring the randomisation test keeps the
  false-positive rate at most alpha whatever the drift or autocorrelation of the nights.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

from legwatch.errors import ParameterError
from legwatch.intervals import inside, overlap_s
from legwatch.nights.trial_plan import TrialPlan, min_pairs_for_alpha

log = logging.getLogger(__name__)

Interval = tuple[float, float]

#: Fewest analysable nights per condition before any aggregate is shown (comparisons.md;
#: Pendulum shows none below 3).
MIN_NIGHTS_PER_CONDITION = 3
#: Up to this many pairs the randomisation distribution is enumerated exactly (2^16 = 65536).
EXACT_MAX_PAIRS = 16
#: Newey-West lags for nightly counts (comparisons.md: maxlags 1-2; run-in lag-1 ~0.3).
HAC_MAXLAGS = 1
#: Added to counts before taking logs for the pair statistic, so a zero night stays finite.
LOG_COUNT_OFFSET = 0.5
#: Rate ratio below which a change is called a worthwhile benefit (comparisons.md: ">= 20%").
BENEFIT_RR = 0.8

Verdict = str  # "too early" | "no clear difference" | "likely fewer" | "likely more"


@dataclass(frozen=True)
class Night:
    """One night of an N-of-1 comparison.

    Attributes
    ----------
    night_index : int
        0-based index of the night in the trial (its position in the plan's schedule).
    technique : bool
        Whether the technique was done that evening (from the sealed evening log).
    count : int
        Leg movements (PLM or LM, one kind throughout) in the analysable time.
    exposure_h : float
        Analysable time in bed, h. Must come from wear and sleep periods, never from the same
        band's movements (that would tie the denominator to the numerator).
    pair_id : int or None
        Randomised pair (or block pair) the night belongs to; None takes it from the plan.
    night_date : datetime.date or None
        Calendar date of the evening, for display only.
    excluded : bool
        Excluded by a rule fixed in advance.
    exclusion_reason : str
        Why (e.g. "< 4 h analysable", "band off", "leg switched"); required when excluded.
    """

    night_index: int
    technique: bool
    count: int
    exposure_h: float
    pair_id: int | None = None
    night_date: date | None = None
    excluded: bool = False
    exclusion_reason: str = ""


@dataclass(frozen=True)
class Exclusion:
    """A night left out of the analysis and the reason, shown with every result."""

    night_index: int
    reason: str


@dataclass(frozen=True)
class RandomisationTest:
    """Within-pair randomisation test of the mean pair difference of log rates."""

    statistic_log: float
    p_value: float
    n_pairs: int
    exact: bool
    n_permutations: int
    smallest_possible_p: float


@dataclass(frozen=True)
class TrialResult:
    """Result of :func:`analyze_trial`. Rate ratios are technique / no technique, per hour."""

    verdict: Verdict
    verdict_rule: str
    rate_ratio: float
    ci95: tuple[float, float]
    se_log: float
    df: int
    p_rr_below_1: float
    p_rr_below_08: float
    nb_alpha: float
    randomisation: RandomisationTest | None
    bootstrap_ci95: tuple[float, float] | None
    n_nights_technique: int
    n_nights_control: int
    rate_per_h_technique: float
    rate_per_h_control: float
    nights_still_needed: int
    excluded: tuple[Exclusion, ...]
    broken_pairs: tuple[int, ...]
    messages: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """Verdict first, then the effect with its CI and night counts, then the caveats."""
        lines = [f"Verdict: {self.verdict}."]
        if math.isfinite(self.rate_ratio):
            change = 1.0 - self.rate_ratio
            word = "fewer" if change >= 0 else "more"
            lo, hi = 1.0 - self.ci95[1], 1.0 - self.ci95[0]
            lines.append(
                f"{abs(change):.0%} {word} per hour with the technique (95% CI rate ratio "
                f"{self.ci95[0]:.2f}-{self.ci95[1]:.2f}, i.e. {lo:+.0%} to {hi:+.0%} change "
                f"counted as fewer), {self.n_nights_technique} vs {self.n_nights_control} nights."
            )
        lines.extend(self.evidence_lines())
        lines.extend(self.messages)
        for ex in self.excluded:
            lines.append(f"Excluded night {ex.night_index}: {ex.reason}.")
        lines.append("This does not prove cause.")
        return "\n".join(lines)

    def evidence_lines(self) -> list[str]:
        """The chance of a worthwhile drop, the randomisation test and the nights still needed,
        in plain lines (the trial summary and the comparison summary share them)."""
        lines = []
        if math.isfinite(self.p_rr_below_08):
            lines.append(f"Chance of at least 20% fewer: {self.p_rr_below_08:.0%}.")
        if self.randomisation is not None:
            lines.append(
                f"Randomisation test p = {self.randomisation.p_value:.3f} "
                f"({self.randomisation.n_pairs} pairs)."
            )
        if self.nights_still_needed:
            lines.append(f"About {self.nights_still_needed} more nights would settle it.")
        return lines


@dataclass(frozen=True)
class RateComparison:
    """A rate ratio (after / before, or technique / none) with its 95% CI and p-value."""

    rate_ratio: float
    ci95: tuple[float, float]
    p_value: float
    count_before: int
    exposure_before_h: float
    count_after: int
    exposure_after_h: float
    method: str
    evidence: str


@dataclass(frozen=True)
class WithinNightResult:
    """Movement rate before vs after one session within a night."""

    comparison: RateComparison
    session_start_s: float
    session_end_s: float
    time_to_first_series_s: float | None
    followed_until_s: float


# -- helpers ------------------------------------------------------------------------------------
def _log_rate(count: NDArray[np.float64], exposure_h: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.log((count + LOG_COUNT_OFFSET) / exposure_h)


def moment_nb_alpha(counts: NDArray[np.float64], mu: NDArray[np.float64], n_params: int) -> float:
    """Cameron-Trivedi moment estimate of the NB2 alpha from fitted Poisson means.

    Parameters
    ----------
    counts : ndarray
        Observed counts.
    mu : ndarray
        Fitted means of a Poisson model of the same counts.
    n_params : int
        Parameters of that model (degrees-of-freedom correction n / (n - p)).

    Returns
    -------
    float
        alpha >= 1e-8 (statsmodels needs a positive alpha; 1e-8 is Poisson for any count).
    """
    n = counts.size
    raw = float(np.sum((counts - mu) ** 2 - counts) / np.sum(mu**2))
    return max(raw * n / max(n - n_params, 1), 1e-8)


def _fit_nb_glm(
    counts: NDArray[np.float64],
    exposure_h: NDArray[np.float64],
    design: NDArray[np.float64],
    hac: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64], float, list[str]]:
    """NB GLM with log(exposure) offset; returns params, SEs, alpha and any warnings raised."""
    import statsmodels.api as sm  # heavy import kept local: the rest of the module is light

    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        poisson = sm.GLM(counts, design, family=sm.families.Poisson(), exposure=exposure_h).fit()
        alpha = moment_nb_alpha(counts, np.asarray(poisson.mu), design.shape[1])
        model = sm.GLM(
            counts,
            design,
            family=sm.families.NegativeBinomial(alpha=alpha),
            exposure=exposure_h,
        )
        if hac:
            fit = model.fit(
                cov_type="HAC", cov_kwds={"maxlags": HAC_MAXLAGS, "use_correction": True}
            )
        else:
            fit = model.fit()
    for w in caught:
        messages.append(f"model fit warning: {w.message}")
        log.info("NB GLM warning: %s", w.message)
    return np.asarray(fit.params), np.asarray(fit.bse), alpha, messages


def _sign_flip_p(
    d: NDArray[np.float64], rng: np.random.Generator, n_random: int
) -> tuple[float, bool, int]:
    k = d.size
    t_obs = abs(float(d.mean()))
    tol = 1e-12 * max(t_obs, 1e-300)
    if k <= EXACT_MAX_PAIRS:
        codes = np.arange(2**k)[:, None] >> np.arange(k)[None, :]
        flips = np.where(codes & 1, -1.0, 1.0)
        t_all = np.abs(flips @ d) / k
        return float(np.mean(t_all >= t_obs - tol)), True, 2**k
    flips = rng.choice(np.array([-1.0, 1.0]), size=(n_random, k))
    t_all = np.abs(flips @ d) / k
    return float((1 + np.sum(t_all >= t_obs - tol)) / (1 + n_random)), False, n_random


def randomisation_test(
    pair_differences_log: ArrayLike, *, alpha: float = 0.05, n_random: int = 9999, seed: int = 0
) -> RandomisationTest:
    """Two-sided within-pair randomisation (sign-flip) test of the mean pair difference.

    Parameters
    ----------
    pair_differences_log : array_like
        Per pair: mean ln rate of technique nights minus mean ln rate of control nights.
    alpha : float
        Level, used only to report whether p < alpha is reachable.
    n_random : int
        Monte Carlo allocations when there are more than EXACT_MAX_PAIRS pairs.
    seed : int
        Seed of the Monte Carlo.

    Returns
    -------
    RandomisationTest
    """
    d = np.asarray(pair_differences_log, dtype=float)
    if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)):
        raise ParameterError(
            "pair_differences_log", "a non-empty 1-D array of finite values", d.tolist()
        )
    p, exact, m = _sign_flip_p(d, np.random.default_rng(seed), n_random)
    return RandomisationTest(
        statistic_log=float(d.mean()),
        p_value=p,
        n_pairs=int(d.size),
        exact=exact,
        n_permutations=m,
        smallest_possible_p=2.0 / 2.0**d.size if exact else 1.0 / (1 + m),
    )


def _bca_ci(d: NDArray[np.float64], seed: int, n_resamples: int) -> tuple[float, float] | None:
    if d.size < 3 or np.ptp(d) == 0.0:
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sps.bootstrap(
            (d,),
            np.mean,
            method="BCa",
            n_resamples=n_resamples,
            confidence_level=0.95,
            rng=np.random.default_rng(seed),
        )
    for w in caught:
        log.info("BCa bootstrap warning: %s", w.message)
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return math.exp(lo), math.exp(hi)


# -- the trial ----------------------------------------------------------------------------------
def analyze_trial(
    nights: Sequence[Night],
    plan: TrialPlan | None = None,
    *,
    alpha: float = 0.05,
    n_random: int = 9999,
    n_bootstrap: int = 1999,
    seed: int = 0,
) -> TrialResult:
    """Analyse a randomised block-pair N-of-1 trial by the rule fixed in advance.

    Parameters
    ----------
    nights : sequence of Night
        Every trial night, excluded ones included (they are listed, never dropped silently).
    plan : TrialPlan, optional
        The plan the nights followed. Gives pair ids, washout nights, the level, the planned
        number of pairs and the target for "nights still needed". Without a plan every night must
        carry its pair_id.
    alpha : float
        Two-sided level when there is no plan (the plan's level wins otherwise). Default 0.05.
    n_random : int
        Monte Carlo allocations for the randomisation test beyond EXACT_MAX_PAIRS pairs.
    n_bootstrap : int
        BCa bootstrap resamples over pairs.
    seed : int
        Seed of the Monte Carlo parts.

    Returns
    -------
    TrialResult
        See the module docstring for the methods and the verdict rule.
    """
    if plan is not None:
        alpha = plan.alpha
    k_min = min_pairs_for_alpha(alpha)
    excluded: list[Exclusion] = []
    messages: list[str] = []
    kept: list[tuple[Night, int]] = []
    seen: set[int] = set()
    for night in sorted(nights, key=lambda n: n.night_index):
        where = f"night {night.night_index}"
        if night.night_index in seen:
            raise ParameterError("nights", "one entry per night_index", f"{where} twice")
        seen.add(night.night_index)
        if night.excluded:
            if not night.exclusion_reason:
                raise ParameterError(
                    "nights", "an exclusion_reason for every excluded night", f"none for {where}"
                )
            excluded.append(Exclusion(night.night_index, night.exclusion_reason))
            continue
        if night.count < 0 or int(night.count) != night.count:
            raise ParameterError(f"count of {where}", "a whole number >= 0", night.count)
        if not (math.isfinite(night.exposure_h) and night.exposure_h > 0):
            raise ParameterError(f"exposure_h of {where}", "hours > 0", night.exposure_h)
        pair = night.pair_id
        if plan is not None:
            if not 0 <= night.night_index < plan.n_nights:
                raise ParameterError(
                    "nights", f"night_index in [0, {plan.n_nights - 1}] (the plan)", where
                )
            if plan.is_washout(night.night_index):
                excluded.append(
                    Exclusion(night.night_index, "washout (first nights of a block, planned)")
                )
                continue
            if pair is None:
                pair = plan.pair_of_night[night.night_index]
            if night.technique != plan.schedule[night.night_index]:
                messages.append(
                    f"Night {night.night_index} did not follow the allocation "
                    f"(planned {'technique' if plan.schedule[night.night_index] else 'none'}); "
                    "it is analysed as done."
                )
        if pair is None:
            raise ParameterError(f"pair_id of {where}", "a pair id (or a plan)", None)
        kept.append((night, pair))

    tech = np.array([n.technique for n, _ in kept], dtype=bool)
    counts = np.array([n.count for n, _ in kept], dtype=float)
    hours = np.array([n.exposure_h for n, _ in kept], dtype=float)
    index = np.array([n.night_index for n, _ in kept], dtype=float)
    pairs = np.array([p for _, p in kept], dtype=int)
    n_t, n_c = int(tech.sum()), int((~tech).sum())

    # Pair differences of mean log rates; a pair without both conditions cannot enter the test.
    lr = _log_rate(counts, hours)
    diffs: list[float] = []
    broken: list[int] = []
    for pair in np.unique(pairs):
        sel = pairs == pair
        if tech[sel].any() and (~tech[sel]).any():
            diffs.append(float(lr[sel & tech].mean() - lr[sel & ~tech].mean()))
        else:
            broken.append(int(pair))
    if plan is not None:
        # A pair whose given nights were all excluded is broken too; pairs not yet reached are not.
        given = {plan.pair_of_night[n.night_index] for n in nights if n.night_index < plan.n_nights}
        broken.extend(p for p in given if p not in set(pairs.tolist()))
    broken = sorted(set(broken))
    d = np.array(diffs)
    k = int(d.size)

    planned_pairs = plan.n_pairs if plan is not None else k_min
    nights_per_pair = 2 * (plan.block_nights if plan is not None else 1)
    still_needed = max(0, planned_pairs - k) * nights_per_pair

    rule = (
        f"'too early' below {MIN_NIGHTS_PER_CONDITION} nights per condition or below {k_min} "
        f"complete pairs; 'likely fewer'/'likely more' when randomisation p < {alpha:g} and the "
        "95% CI of the rate ratio excludes 1 on that side; else 'no clear difference'"
    )
    nan2 = (float("nan"), float("nan"))
    rate_t = float(counts[tech].sum() / hours[tech].sum()) if n_t else float("nan")
    rate_c = float(counts[~tech].sum() / hours[~tech].sum()) if n_c else float("nan")

    if k < k_min:
        messages.append(
            f"With {k} complete randomised pair(s) p < {alpha:g} is impossible yet: the smallest "
            f"possible p is 2/2^{k} = {2 / 2**k:.3g}; at least {k_min} pairs are needed."
        )
    if min(n_t, n_c) < MIN_NIGHTS_PER_CONDITION or k < 2:
        messages.append(
            f"{n_t} technique and {n_c} other analysable nights: no aggregate below "
            f"{MIN_NIGHTS_PER_CONDITION} nights per condition."
        )
        return TrialResult(
            verdict="too early",
            verdict_rule=rule,
            rate_ratio=float("nan"),
            ci95=nan2,
            se_log=float("nan"),
            df=0,
            p_rr_below_1=float("nan"),
            p_rr_below_08=float("nan"),
            nb_alpha=float("nan"),
            randomisation=None,
            bootstrap_ci95=None,
            n_nights_technique=n_t,
            n_nights_control=n_c,
            rate_per_h_technique=rate_t,
            rate_per_h_control=rate_c,
            nights_still_needed=max(
                still_needed, nights_per_pair * max(0, MIN_NIGHTS_PER_CONDITION - min(n_t, n_c))
            ),
            excluded=tuple(excluded),
            broken_pairs=tuple(broken),
            messages=tuple(messages),
        )

    span = (plan.n_nights if plan is not None else index.max() + 1) or 1.0
    design = np.column_stack([np.ones_like(counts), tech.astype(float), index / span])
    params, bse, nb_alpha, fit_msgs = _fit_nb_glm(counts, hours, design, hac=True)
    messages.extend(fit_msgs)
    b1, se1 = float(params[1]), float(bse[1])
    df = max(counts.size - design.shape[1], 1)
    q = float(sps.t.ppf(0.975, df))
    ci = (math.exp(b1 - q * se1), math.exp(b1 + q * se1))
    p_below_1 = float(sps.t.cdf((0.0 - b1) / se1, df)) if se1 > 0 else float(b1 < 0)
    p_below_08 = (
        float(sps.t.cdf((math.log(BENEFIT_RR) - b1) / se1, df))
        if se1 > 0
        else float(b1 < math.log(BENEFIT_RR))
    )
    rtest = randomisation_test(d, alpha=alpha, n_random=n_random, seed=seed)
    boot = _bca_ci(d, seed, n_bootstrap)

    if min(n_t, n_c) < MIN_NIGHTS_PER_CONDITION or k < k_min:
        verdict = "too early"
    elif rtest.p_value < alpha and ci[1] < 1.0:
        verdict = "likely fewer"
    elif rtest.p_value < alpha and ci[0] > 1.0:
        verdict = "likely more"
    else:
        verdict = "no clear difference"
        if plan is not None and k >= plan.n_pairs and se1 > 0:
            # More nights to make the CI half-width reach the target effect, at the observed SE.
            target = abs(math.log(1.0 - plan.target_reduction))
            factor = (q * se1 / target) ** 2
            still_needed = max(still_needed, math.ceil((factor - 1.0) * k) * nights_per_pair)
    if broken:
        messages.append(
            f"Pairs {broken} lack a night of one condition and are left out of the "
            "randomisation test (their analysable nights stay in the count model)."
        )
    return TrialResult(
        verdict=verdict,
        verdict_rule=rule,
        rate_ratio=math.exp(b1),
        ci95=ci,
        se_log=se1,
        df=df,
        p_rr_below_1=p_below_1,
        p_rr_below_08=p_below_08,
        nb_alpha=nb_alpha,
        randomisation=rtest,
        bootstrap_ci95=boot,
        n_nights_technique=n_t,
        n_nights_control=n_c,
        rate_per_h_technique=rate_t,
        rate_per_h_control=rate_c,
        nights_still_needed=still_needed if verdict != "likely fewer" else 0,
        excluded=tuple(excluded),
        broken_pairs=tuple(broken),
        messages=tuple(messages),
    )


# -- the weak comparison ------------------------------------------------------------------------
def naive_before_after(
    before_counts: ArrayLike,
    before_exposure_h: ArrayLike,
    after_counts: ArrayLike,
    after_exposure_h: ArrayLike,
) -> RateComparison:
    """Rate ratio after / before from an NB GLM that treats nights as independent: WEAK evidence.

    Shown to make the point that it misleads: drift, night-to-night autocorrelation and
    regression to the mean move it with no real effect (comparisons.md: ~13.5% false positives
    at lag-1 autocorrelation 0.3, ~21% with a 1%/night drift). Use a randomised trial instead.

    Parameters
    ----------
    before_counts, after_counts : array_like
        Movement counts per night.
    before_exposure_h, after_exposure_h : array_like
        Analysable hours per night, > 0.

    Returns
    -------
    RateComparison
        Wald 95% CI and p from the model-based SE; evidence is "weak".
    """
    parts = []
    for name, value in (
        ("before_counts", before_counts),
        ("before_exposure_h", before_exposure_h),
        ("after_counts", after_counts),
        ("after_exposure_h", after_exposure_h),
    ):
        a = np.asarray(value, dtype=float)
        if a.ndim != 1 or a.size < MIN_NIGHTS_PER_CONDITION or not np.all(np.isfinite(a)):
            raise ParameterError(
                name, f"a 1-D array of >= {MIN_NIGHTS_PER_CONDITION} finite values", a.tolist()
            )
        parts.append(a)
    cb, eb, ca, ea = parts
    if cb.size != eb.size or ca.size != ea.size:
        raise ParameterError("exposures", "one exposure per night", (eb.size, ea.size))
    if np.any(np.concatenate([eb, ea]) <= 0) or np.any(np.concatenate([cb, ca]) < 0):
        raise ParameterError("counts/exposures", "counts >= 0 and hours > 0", "other values")
    counts = np.concatenate([cb, ca])
    hours = np.concatenate([eb, ea])
    after = np.r_[np.zeros(cb.size), np.ones(ca.size)]
    design = np.column_stack([np.ones_like(counts), after])
    params, bse, _, _ = _fit_nb_glm(counts, hours, design, hac=False)
    b, se = float(params[1]), float(bse[1])
    z = float(sps.norm.ppf(0.975))
    return RateComparison(
        rate_ratio=math.exp(b),
        ci95=(math.exp(b - z * se), math.exp(b + z * se)),
        p_value=float(2 * sps.norm.sf(abs(b) / se)),
        count_before=int(cb.sum()),
        exposure_before_h=float(eb.sum()),
        count_after=int(ca.sum()),
        exposure_after_h=float(ea.sum()),
        method="NB GLM, after vs before, nights treated as independent (Wald)",
        evidence=(
            "weak: not randomised; drift, autocorrelation and regression to the mean can "
            "create or hide a difference"
        ),
    )


# -- within a night -----------------------------------------------------------------------------
def poisson_rate_ratio(
    count_before: int, exposure_before_h: float, count_after: int, exposure_after_h: float
) -> tuple[float, tuple[float, float], float]:
    """Exact conditional (binomial) rate ratio after / before for Poisson counts.

    Given the total n, count_after ~ Binomial(n, p) with p = RR*e_a / (RR*e_a + e_b); the
    Clopper-Pearson interval for p maps to RR = p / (1 - p) * e_b / e_a.

    Returns
    -------
    rate_ratio, (low, high), p_value
        p_value is the exact two-sided binomial test of RR = 1.
    """
    for name, c in (("count_before", count_before), ("count_after", count_after)):
        if not (np.isfinite(c) and c >= 0):
            raise ParameterError(name, "a count >= 0", c)
    for name, e in (
        ("exposure_before_h", exposure_before_h),
        ("exposure_after_h", exposure_after_h),
    ):
        if not (np.isfinite(e) and e > 0):
            raise ParameterError(name, "hours > 0 (no rate without exposure)", e)
    n = count_before + count_after
    ratio_e = exposure_before_h / exposure_after_h
    if n == 0:
        return float("nan"), (0.0, float("inf")), 1.0
    res = sps.binomtest(count_after, n, exposure_after_h / (exposure_after_h + exposure_before_h))
    ci = res.proportion_ci(confidence_level=0.95, method="exact")

    def to_rr(p: float) -> float:
        return float("inf") if p >= 1.0 else p / (1.0 - p) * ratio_e

    rr = (
        (count_after / exposure_after_h) / (count_before / exposure_before_h)
        if (count_before)
        else float("inf")
    )
    return rr, (to_rr(float(ci.low)), to_rr(float(ci.high))), float(res.pvalue)


def within_night(
    event_onsets_s: ArrayLike,
    analysable_intervals_s: Sequence[Interval],
    session_start_s: float,
    *,
    session_duration_s: float = 0.0,
    before_s: float = 3600.0,
    after_s: float = 5 * 3600.0,
    series_onsets_s: ArrayLike | None = None,
) -> WithinNightResult:
    """Movement rate in the hour before a session vs the hours after it, one night.

    Parameters
    ----------
    event_onsets_s : array_like
        Onsets of the counted movements (PLM or LM), s from recording start.
    analysable_intervals_s : sequence of (start_s, end_s)
        Analysable time (band worn, in bed), s. Only movements and time inside count.
    session_start_s : float
        Start of the technique session, s.
    session_duration_s : float
        Length of the session, s; movements during it are not counted. Default 0.
    before_s : float
        Window before the session, s. Default 3600 (one hour).
    after_s : float
        Window after the session ends, s. Default 18000: the claimed relief lasts "5 or more
        hours" (techniques.md).
    series_onsets_s : array_like, optional
        Onsets of PLM series; gives the time from the session's end to the first series after it.

    Returns
    -------
    WithinNightResult
        Exact conditional-binomial rate ratio (after / before) with 95% CI; one night is a
        Poisson comparison of two windows, so it says nothing about other nights.
    """
    if before_s <= 0 or after_s <= 0 or session_duration_s < 0:
        raise ParameterError(
            "before_s/after_s/session_duration_s",
            "positive windows and a duration >= 0",
            (before_s, after_s, session_duration_s),
        )
    onsets = np.asarray(event_onsets_s, dtype=float)
    intervals = [(float(a), float(b)) for a, b in analysable_intervals_s]
    end_s = session_start_s + session_duration_s
    w_before = (session_start_s - before_s, session_start_s)
    w_after = (end_s, end_s + after_s)
    e_b = overlap_s(intervals, w_before[0], w_before[1]) / 3600.0
    e_a = overlap_s(intervals, w_after[0], w_after[1]) / 3600.0
    if e_b <= 0 or e_a <= 0:
        raise ParameterError(
            "analysable_intervals_s",
            "analysable time both before and after the session",
            f"{e_b:.2f} h before, {e_a:.2f} h after",
        )
    ok = inside(onsets, intervals)
    c_b = int(np.sum(ok & (onsets >= w_before[0]) & (onsets < w_before[1])))
    c_a = int(np.sum(ok & (onsets >= w_after[0]) & (onsets < w_after[1])))
    rr, ci, p = poisson_rate_ratio(c_b, e_b, c_a, e_a)
    followed = min(w_after[1], max((b for _, b in intervals), default=end_s))
    first: float | None = None
    if series_onsets_s is not None:
        s = np.asarray(series_onsets_s, dtype=float)
        s = s[(s >= end_s) & (s < followed) & inside(s, intervals)]
        first = float(s.min() - end_s) if s.size else None
    return WithinNightResult(
        comparison=RateComparison(
            rate_ratio=rr,
            ci95=ci,
            p_value=p,
            count_before=c_b,
            exposure_before_h=e_b,
            count_after=c_a,
            exposure_after_h=e_a,
            method="exact conditional binomial (Poisson), after / before",
            evidence="one night, not randomised: describes this night only",
        ),
        session_start_s=float(session_start_s),
        session_end_s=end_s,
        time_to_first_series_s=first,
        followed_until_s=followed,
    )


def pool_within_night(results: Sequence[WithinNightResult]) -> RateComparison:
    """Pool sessions: summed counts and exposures, plus an across-session check of spread.

    The pooled Poisson interval ignores night-to-night overdispersion, so with 3 or more sessions
    the CI is the wider of the exact pooled interval and a t-interval of the per-session
    ln(rate ratio) (0.5 added to each count), which reflects the spread between sessions.
    """
    if not results:
        raise ParameterError("results", "at least one within-night result", 0)
    cb = sum(r.comparison.count_before for r in results)
    ca = sum(r.comparison.count_after for r in results)
    eb = sum(r.comparison.exposure_before_h for r in results)
    ea = sum(r.comparison.exposure_after_h for r in results)
    rr, ci, p = poisson_rate_ratio(cb, eb, ca, ea)
    method = "summed counts and exposures, exact conditional binomial"
    if len(results) >= MIN_NIGHTS_PER_CONDITION:
        lrr = np.array(
            [
                math.log(
                    (r.comparison.count_after + LOG_COUNT_OFFSET) / r.comparison.exposure_after_h
                )
                - math.log(
                    (r.comparison.count_before + LOG_COUNT_OFFSET) / r.comparison.exposure_before_h
                )
                for r in results
            ]
        )
        n = lrr.size
        half = float(sps.t.ppf(0.975, n - 1) * lrr.std(ddof=1) / math.sqrt(n))
        centre = math.log(rr) if 0 < rr < float("inf") else float(lrr.mean())
        t_ci = (math.exp(centre - half), math.exp(centre + half))
        ci = (min(ci[0], t_ci[0]), max(ci[1], t_ci[1]))
        t_p = float(2 * sps.t.sf(abs(lrr.mean()) / (lrr.std(ddof=1) / math.sqrt(n)), n - 1))
        p = max(p, t_p) if np.isfinite(t_p) else p
        method += "; CI widened by the spread of per-session ratios (t, n-1 df)"
    return RateComparison(
        rate_ratio=rr,
        ci95=ci,
        p_value=p,
        count_before=cb,
        exposure_before_h=eb,
        count_after=ca,
        exposure_after_h=ea,
        method=method,
        evidence=f"{len(results)} sessions, not randomised: before/after within nights",
    )
