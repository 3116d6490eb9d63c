"""How far from its own simulator legwatch can be trusted: nights the simulator was never set to.

Run ``python -m legwatch.bench.robustness`` (10 seeds per variant, 3.5 minutes on two cores)
or ``--seeds 3000-3001`` for a quick look. It prints a table and writes JSON.

The detector was tuned, and the event classifier trained, on nights from ``legwatch.synth`` with
its default distributions. Real legs and bands vary in ways those defaults do not cover, so each
variant here moves one part of the simulator outside what tuning and training saw (a noisier
sensor, shorter or longer movements, smaller or larger ones, slower or faster series, a restless
sleeper, deeper breathing, a harder mattress) and scores the nominal night against its truth, for
the rules alone and with the shipped classifier. "none" is the unchanged nominal night on the same
seeds, for reference.

Seeds 3000 and up are used only here: nothing was tuned or chosen on them. The figures are
medians over seeds: LM F1 against the visible, analysable true LMs (``bench.accuracy.score_one``),
the PLM index's relative error, and how many nights the classifier made worse than the rules
(lower F1; larger PLM error). This is a measurement, not a target: it says where the classifier's
advantage holds and where a user should fall back on ``--no-model``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from legwatch import synth
from legwatch.bench import seed_range, write_results
from legwatch.bench.accuracy import score_one
from legwatch.synth.config import NightConfig

FIRST_SEED = 3000


def _movement(**kw: Any) -> Callable[[NightConfig], NightConfig]:
    return lambda c: replace(c, movement=replace(c.movement, **kw))


def _lms(**kw: Any) -> Callable[[NightConfig], NightConfig]:
    return lambda c: replace(c, lms=replace(c.lms, **kw))


def _restless(c: NightConfig) -> NightConfig:
    return replace(
        c,
        gross_body=replace(c.gross_body, per_h=3 * c.gross_body.per_h),
        posture=replace(c.posture, per_h=3 * c.posture.per_h),
    )


#: The variants: name -> (what it stands for, the change to the nominal night's config). Each
#: moves one part of the simulator beyond its defaults (synth.config documents those).
VARIANTS: dict[str, tuple[str, Callable[[NightConfig], NightConfig]]] = {
    "none": ("the nominal night, unchanged", lambda c: c),
    "noisy_sensor": (
        "sensor noise 500 instead of 200 ug/sqrt(Hz) (a cheaper accelerometer)",
        lambda c: replace(c, sensor=replace(c.sensor, noise_density_ug_per_rthz=500.0)),
    ),
    "brief_lms": ("leg movements of median 1.0 s, not 2.2 s", _movement(duration_median_s=1.0)),
    "long_lms": ("leg movements of median 5 s, not 2.2 s", _movement(duration_median_s=5.0)),
    "small_lms": ("leg movements of median tilt 2 deg, not 4", _movement(tilt_median_deg=2.0)),
    "large_lms": ("leg movements of median tilt 10 deg, not 4", _movement(tilt_median_deg=10.0)),
    "slow_series": (
        "PLM intervals of median 45 s (20-85 s) instead of 24 s (14-45 s)",
        _lms(imi_median_s=45.0, imi_range_s=(20.0, 85.0)),
    ),
    "fast_series": (
        "PLM intervals of median 13 s (11-18 s) instead of 24 s (14-45 s)",
        _lms(imi_median_s=13.0, imi_range_s=(11.0, 18.0)),
    ),
    "restless_sleeper": ("three times the gross body movements and posture changes", _restless),
    "deep_breathing": (
        "breathing rocks the ankle by 5-20 mg instead of 1-10 mg",
        lambda c: replace(c, respiration=replace(c.respiration, amplitude_range_mg=(5.0, 20.0))),
    ),
    "hard_mattress": (
        "partner vibration 60/h of 10-120 mg instead of 25/h of 3-40 mg",
        lambda c: replace(
            c, vibration=replace(c.vibration, per_h=60.0, peak_range_mg=(10.0, 120.0))
        ),
    ),
}  # fmt: skip

_KEYS = ("lm_f1", "lm_sensitivity", "lm_precision", "plm_rel_error", "plm_per_h", "plm_per_h_true")


def night_config(variant: str, seed: int, hours: float = 8.0) -> NightConfig:
    """The nominal night of ``seed`` with ``variant``'s change."""
    return VARIANTS[variant][1](synth.scenario("nominal", seed, hours=hours))


def _job(args: tuple[str, int, float]) -> dict[str, float]:
    import warnings

    warnings.simplefilter("ignore")  # per-night quality warnings; the scores are what counts
    variant, seed, hours = args
    night = synth.simulate_night(night_config(variant, seed, hours))
    rules = score_one(night, None, model=None)
    model = score_one(night, None, model="default")
    out = {"seed": float(seed)}
    for k in _KEYS:
        out[f"rules_{k}"] = rules[k]
        out[f"model_{k}"] = model[k]
    return out


def summarise(rows: list[dict[str, float]]) -> dict[str, float]:
    """Medians over seeds, and the nights the classifier made worse than the rules."""

    def med(key: str) -> float:
        v = np.array([r[key] for r in rows], dtype=float)
        v = v[np.isfinite(v)]
        return float(np.median(v)) if v.size else float("nan")

    out = {f"{who}_{k}": med(f"{who}_{k}") for who in ("rules", "model") for k in _KEYS}
    out["model_worse_f1"] = float(sum(r["model_lm_f1"] < r["rules_lm_f1"] for r in rows))
    out["model_worse_plm"] = float(
        sum(r["model_plm_rel_error"] > r["rules_plm_rel_error"] for r in rows)
    )
    out["nights"] = float(len(rows))
    return out


def _table(results: dict[str, Any]) -> str:
    head = (
        f"{'variant':18} {'LM F1 rules':>11} {'model':>6} {'PLM err rules':>13} {'model':>6} "
        f"{'model worse F1/PLM':>19}"
    )
    lines = [head, "-" * len(head)]
    for name, s in results["variants"].items():
        lines.append(
            f"{name:18} {s['rules_lm_f1']:11.3f} {s['model_lm_f1']:6.3f} "
            f"{100 * s['rules_plm_rel_error']:12.1f}% {100 * s['model_plm_rel_error']:5.1f}% "
            f"{s['model_worse_f1']:>12.0f} / {s['model_worse_plm']:.0f} of {s['nights']:.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default=f"{FIRST_SEED}-{FIRST_SEED + 9}", help="FIRST-LAST")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("bench-results/robustness.json"))
    args = ap.parse_args(argv)
    seeds = seed_range(ap, args.seeds, FIRST_SEED, "lower seeds tuned, trained or chose")
    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant {unknown[0]!r}; expected some of {', '.join(VARIANTS)}")
    t0 = time.perf_counter()
    jobs = [(v, seed, 8.0) for v in variants for seed in seeds]
    rows: list[dict[str, float]] = []
    with ProcessPoolExecutor(args.workers) as ex:
        for i, row in enumerate(ex.map(_job, jobs), 1):
            rows.append(row)
            print(f"\r{i}/{len(jobs)} nights", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    results: dict[str, Any] = {"seeds": seeds, "variants": {}}
    for v in variants:
        mine = [r for (name, _, _), r in zip(jobs, rows, strict=True) if name == v]
        results["variants"][v] = {
            "description": VARIANTS[v][0],
            **summarise(mine),
            "per_seed": mine,
        }
    results["seconds"] = time.perf_counter() - t0
    print(_table(results))
    write_results(args.out, results)
    print(f"wrote {args.out} ({results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
