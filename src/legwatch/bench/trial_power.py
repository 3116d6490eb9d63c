"""Operating characteristics of the N-of-1 trial analysis, by simulation.

Run ``python -m legwatch.bench.trial_power [--trials N]`` (default 1000 per scenario). Prints the
false-positive rate of the trial verdict and of the naive before/after comparison on the same
nights, the power at the planned number of pairs against the plan's stated power, and the 95% CI
coverage of the true rate ratio.

Nights are simulated with numpy/scipy only (no signal simulator): counts are negative binomial,
Poisson given a gamma frailty whose log has SD ``sigma_log`` (0.4, comparisons.md), made lag-1
autocorrelated through a Gaussian copula (latent AR(1), rho 0.3), times an optional drift
exp(drift * night) and the true rate ratio on technique nights.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special
from scipy import stats as sps

from legwatch.nights.stats import Night, analyze_trial, naive_before_after
from legwatch.nights.trial_plan import TrialPlan, plan_trial


@dataclass(frozen=True)
class NightSimulation:
    """Parameters of simulated nights; defaults from comparisons.md."""

    #: SD of ln(rate) between nights from the frailty (comparisons.md: ~0.4).
    sigma_log: float = 0.4
    #: Lag-1 autocorrelation of the latent Gaussian AR(1) (comparisons.md: 0.3).
    rho: float = 0.3
    #: Log-rate change per night (0.01 = the 1%/night drift of comparisons.md).
    drift_per_night: float = 0.0
    #: Movements per hour on a typical night (moderate PLMD: 15/h).
    base_rate_per_h: float = 15.0
    #: Analysable hours, uniform between these bounds, h.
    exposure_h: tuple[float, float] = (5.5, 8.0)


def _gamma_shape(sigma_log: float) -> float:
    """Gamma shape k whose log has SD sigma_log: trigamma(k) = sigma_log^2."""
    return float(optimize.brentq(lambda k: special.polygamma(1, k) - sigma_log**2, 1e-3, 1e6))


def simulate_counts(
    technique: NDArray[np.bool_],
    true_rr: float,
    sim: NightSimulation,
    rng: np.random.Generator,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Counts and analysable hours for consecutive nights.

    Parameters
    ----------
    technique : ndarray of bool
        Technique on each night.
    true_rr : float
        True rate ratio on technique nights.
    sim : NightSimulation
        Noise, autocorrelation, drift and level.
    rng : numpy.random.Generator
        Seeded generator.

    Returns
    -------
    counts, exposure_h
    """
    n = technique.size
    u = np.empty(n)
    u[0] = rng.normal()
    innov = rng.normal(size=n) * math.sqrt(1 - sim.rho**2)
    for i in range(1, n):
        u[i] = sim.rho * u[i - 1] + innov[i]
    k = _gamma_shape(sim.sigma_log)
    frailty = special.gammaincinv(k, special.ndtr(u)) / k
    hours = rng.uniform(*sim.exposure_h, size=n)
    mu = (
        sim.base_rate_per_h
        * hours
        * frailty
        * np.exp(sim.drift_per_night * np.arange(n))
        * np.where(technique, true_rr, 1.0)
    )
    return rng.poisson(mu), hours


def simulate_trial(
    plan: TrialPlan, true_rr: float, sim: NightSimulation, rng: np.random.Generator
) -> list[Night]:
    """Nights of one simulated trial that follows ``plan``."""
    technique = np.array(plan.schedule, dtype=bool)
    counts, hours = simulate_counts(technique, true_rr, sim, rng)
    return [
        Night(night_index=i, technique=bool(technique[i]), count=int(c), exposure_h=float(h))
        for i, (c, h) in enumerate(zip(counts, hours, strict=True))
    ]


@dataclass(frozen=True)
class OperatingCharacteristics:
    """Shares over simulated trials."""

    n_trials: int
    positive_rate: float
    ci_coverage: float
    bootstrap_coverage: float
    naive_positive_rate: float


def run(
    plan: TrialPlan,
    true_rr: float,
    sim: NightSimulation,
    n_trials: int,
    seed: int,
    *,
    naive: bool = False,
) -> OperatingCharacteristics:
    """Simulate ``n_trials`` trials following ``plan`` and analyse each.

    The trial "positive" is a verdict of "likely fewer" or "likely more"; the naive positive is
    p < 0.05 for the first half of the nights (before) against the second half (after).
    """
    rng = np.random.default_rng(seed)
    positive = covered = boot_covered = boot_n = naive_pos = 0
    half = plan.n_nights // 2
    for i in range(n_trials):
        nights = simulate_trial(plan, true_rr, sim, rng)
        res = analyze_trial(nights, plan, n_bootstrap=999, seed=seed + i)
        positive += res.verdict in ("likely fewer", "likely more")
        covered += res.ci95[0] <= true_rr <= res.ci95[1]
        if res.bootstrap_ci95 is not None:
            boot_n += 1
            boot_covered += res.bootstrap_ci95[0] <= true_rr <= res.bootstrap_ci95[1]
        if naive:
            c = np.array([n.count for n in nights])
            h = np.array([n.exposure_h for n in nights])
            nv = naive_before_after(c[:half], h[:half], c[half:], h[half:])
            naive_pos += nv.p_value < 0.05
    return OperatingCharacteristics(
        n_trials=n_trials,
        positive_rate=positive / n_trials,
        ci_coverage=covered / n_trials,
        bootstrap_coverage=boot_covered / boot_n if boot_n else float("nan"),
        naive_positive_rate=naive_pos / n_trials if naive else float("nan"),
    )


def _binomial_interval(x: float, n: int) -> str:
    ci = sps.binomtest(round(x * n), n).proportion_ci(method="exact")
    return f"{x:.3f} (95% CI {ci.low:.3f}-{ci.high:.3f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000, help="trials per scenario")
    args = parser.parse_args(argv)
    n = args.trials
    out = sys.stdout.write
    t0 = time.perf_counter()

    null_plan = plan_trial(sigma_log=0.4, n_pairs=14, seed=1)  # 28 nights: 14 vs 14 naive
    for label, drift in (("no drift", 0.0), ("1%/night drift", 0.01)):
        sim = NightSimulation(drift_per_night=drift)
        oc = run(null_plan, 1.0, sim, n, seed=10, naive=True)
        out(
            f"No effect, {null_plan.n_pairs} pairs ({null_plan.n_nights} nights), sigma 0.4, "
            f"rho 0.3, {label}:\n"
            f"  trial false-positive rate {_binomial_interval(oc.positive_rate, n)}\n"
            f"  naive before/after ({null_plan.n_nights // 2} vs {null_plan.n_nights // 2}) "
            f"false-positive rate {_binomial_interval(oc.naive_positive_rate, n)}\n"
            f"  95% CI coverage of RR 1: count model {oc.ci_coverage:.3f}, "
            f"BCa {oc.bootstrap_coverage:.3f}\n"
        )
    for rho_plan in (0.3, None):
        plan = plan_trial(
            sigma_log=0.4, target_reduction=0.5, lag1_autocorrelation=rho_plan, seed=2
        )
        oc = run(plan, 0.5, NightSimulation(), n, seed=20)
        out(
            f"True 50% reduction, sigma 0.4, rho 0.3, plan assuming rho {rho_plan or 0}: "
            f"{plan.n_pairs} pairs, stated power {plan.stated_power:.3f}\n"
            f"  simulated power {_binomial_interval(oc.positive_rate, n)}\n"
            f"  95% CI coverage of RR 0.5: count model "
            f"{_binomial_interval(oc.ci_coverage, n)}, BCa {oc.bootstrap_coverage:.3f}\n"
        )
    out(f"{time.perf_counter() - t0:.1f} s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
