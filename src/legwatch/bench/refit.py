"""Refit spread: how much the rate and noise figures depend on one fit of the event model.

Run ``python -m legwatch.bench.refit`` (4 fits, seeds 2000-2039: 7 min 48 s on two cores
once the training features are cached; computing them first takes 12-20 minutes more).

The rate figures of the accuracy benchmark are medians of nights whose index changed by a few
per cent or not at all, so a median sits at 0 or at 1-3% depending on whether fewer or more than
half of the nights changed. A detector change has to be retrained, and a retrained model moves a
few of those nights by itself. Judging the change by one fit against the shipped one then
decides by chance. This benchmark gives each design several fits:

- fit 0: the shipped recipe (the model family named in the shipped sidecar, its settings) on all
  training nights; with an unchanged detector that is the shipped model to the bit;
- fit k = 1, 2, ...: the same recipe on 80 of the 100 training nights, drawn with seed k (the same
  nights for any detector, so two designs are compared fit for fit).

Each fit is saved with skops into a temporary folder and loaded back through
``classifier.load_model`` in the worker processes. Every night (seeds 2000 and up, the same
rate and noise variants as the accuracy benchmark) is simulated and detected once
(``nights.analysis.detect_night``); each fit then classifies the same detections
(``analyze_detected``). Per fit it prints the nights changed per variant, their sum over
the four rates (R) and the two noise redraws (N), the median change at 100 Hz, and the median
error of the reference night's PLM index against the truth (E); then mean, min and max over the
fits. It writes JSON.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from legwatch import synth
from legwatch.bench import seed_range, write_results
from legwatch.bench.accuracy import nights_changed, variant_change, variant_configs
from legwatch.nights.analysis import analyze_detected, detect_night

#: Seeds 2000 and up are for decisions between designs: never used for tuning, training or the
#: held-out accuracy figures.
DECISION_SEEDS = 2000
#: Share of the training nights each fit k >= 1 sees.
SUBSET_FRAC = 0.8
RATES = ("50.3", "52.6", "100", "25")
REDRAWS = ("redraw1", "redraw2")


def training_nights(fit: int, nights: Sequence[int]) -> list[int]:
    """The training nights of fit ``fit``: all for fit 0, else ``SUBSET_FRAC`` of them drawn
    with seed ``fit`` (a function of the fit and the night list alone, not of the detector)."""
    if fit == 0:
        return sorted(nights)
    rng = np.random.default_rng(fit)
    n = round(SUBSET_FRAC * len(nights))
    return sorted(int(s) for s in rng.choice(np.asarray(sorted(nights)), n, replace=False))


def fit_models(
    fits: int, folder: Path, *, workers: int = 2, say: Callable[[str], None] = print
) -> list[Path]:
    """Fit ``fits`` event models by the shipped recipe (see the module docstring) and save each
    under ``folder/fit<k>/``; returns the model files."""
    from legwatch.model import classifier
    from legwatch.model import train as tr

    family = str(classifier.default_model().sidecar["training"]["model_family"])
    cache = tr.default_cache_dir()
    data = tr.simulated_dataset(
        tr.TRAIN_SEEDS, cache_dir=cache, workers=workers, clock_shifts=tr.TRAIN_CLOCK_SHIFTS
    )
    val = tr.simulated_dataset(tr.VALIDATION_SEEDS, cache_dir=cache, workers=workers)
    paths = []
    for k in range(fits):
        keep = np.isin(data.night, training_nights(k, list(tr.TRAIN_SEEDS)))
        part = replace(
            data, X=data.X[keep], y=data.y[keep], weight=data.weight[keep], night=data.night[keep]
        )
        estimator = tr.candidate_models(0)[family]
        tr.fit(estimator, part)
        metrics = tr.event_metrics(val.y, estimator.predict(val.X).astype(np.str_))
        say(f"fit {k}: {len(part)} training events, validation LM F1 {metrics['lm_f1']:.4f}")
        side = classifier.sidecar_for(
            estimator,
            training={"model_family": family, "refit": k, "n_events": len(part)},
            metrics={"validation_events": {family: metrics}},
            sampling_rate_hz=list(tr.TRAIN_RATES_HZ),
        )
        paths.append(
            classifier.save_model(classifier.EventModel(estimator, side), folder / f"fit{k}")
        )
    return paths


def night_rows(seed: int, models: Sequence[Any], hours: float = 8.0) -> list[dict[str, float]]:
    """For each model, the rate and noise variants' changes of one seed (as
    ``accuracy.variants``), ``plm_ref`` and ``plm_error`` (reference against truth). Each night
    is detected once (``detect_night``) and its event features computed once; every model then
    classifies the same detections."""
    ref_cfg, cfgs = variant_configs(seed, "rates", hours)
    cfgs.update(variant_configs(seed, "noise", hours)[1])
    rows: list[dict[str, float]] = [{} for _ in models]
    ref = synth.simulate_night(ref_cfg)
    truth = ref.truth.scoring["wasm2016"].indices["plm_per_h"]
    detected = detect_night(list(ref.recordings.values()))
    for row, model in zip(rows, models, strict=True):
        plm = analyze_detected(detected, model=model).indices["plm_per_h"]
        row["plm_ref"] = plm
        row["plm_error"] = abs(plm - truth) / truth if truth > 0 else float("nan")
    for label, cfg in cfgs.items():
        night = synth.simulate_night(cfg)
        detected = detect_night(list(night.recordings.values()))
        for row, model in zip(rows, models, strict=True):
            row.update(variant_change(label, ref, row["plm_ref"], night, model, detected=detected))
    return rows


def summary(rows: list[dict[str, float]]) -> dict[str, float]:
    """One fit's figures over its nights: nights changed per variant, R, N, median change at
    100 Hz (%) and median PLM error E (%)."""
    changed = nights_changed([{k: v for k, v in r.items() if k != "plm_error"} for r in rows])
    return {
        **{k: float(v) for k, v in changed.items()},
        "R": float(sum(changed[k] for k in RATES)),
        "N": float(sum(changed[k] for k in REDRAWS)),
        "median_100_pct": 100 * float(np.nanmedian([r["100"] for r in rows])),
        "E_pct": 100 * float(np.nanmedian([r["plm_error"] for r in rows])),
    }


_MODELS: list[Any] = []


def _load(paths: Sequence[str]) -> None:
    from legwatch.model.classifier import load_model

    _MODELS[:] = [load_model(p) for p in paths]


def _seed_job(args: tuple[int, float]) -> list[dict[str, float]]:
    return night_rows(args[0], _MODELS, args[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fits", type=int, default=4, help="fits: the full one and fits-1 subsets")
    ap.add_argument("--seeds", default="2000-2039", help="decision seeds, FIRST-LAST")
    ap.add_argument("--hours", type=float, default=8.0, help="length of each night, h")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("bench-results/refit.json"))
    args = ap.parse_args(argv)
    if args.fits < 1:
        ap.error("--fits: at least 1")
    seeds = seed_range(
        ap, args.seeds, DECISION_SEEDS, "lower seeds tune, train and give the held-out figures"
    )
    t0 = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - t0:6.0f} s] {text}", flush=True)

    with tempfile.TemporaryDirectory(prefix="legwatch-refit-") as tmp:
        say(f"fitting {args.fits} models (training features are cached after the first run)")
        paths = [str(p) for p in fit_models(args.fits, Path(tmp), workers=args.workers, say=say)]
        per_fit: list[list[dict[str, float]]] = [[] for _ in paths]
        with ProcessPoolExecutor(args.workers, initializer=_load, initargs=(paths,)) as ex:
            jobs = [(s, args.hours) for s in seeds]
            for i, rows in enumerate(ex.map(_seed_job, jobs), 1):
                for fit_rows, row in zip(per_fit, rows, strict=True):
                    fit_rows.append(row)
                if i % 5 == 0 or i == len(seeds):
                    say(f"{i} of {len(seeds)} nights")
    figures = [summary(rows) for rows in per_fit]
    keys = list(figures[0])
    print(f"nights changed of {len(seeds)} (R: the four rates, N: the two noise redraws)")
    width = {c: max(len(c), 6) for c in keys}
    print(f"{'fit':>6} " + " ".join(f"{c:>{width[c]}}" for c in keys))
    for k, fig in enumerate(figures):
        print(f"{k:>6} " + " ".join(f"{fig[c]:{width[c]}.2f}" for c in keys))
    stats = {
        s: {c: float(f([fig[c] for fig in figures])) for c in keys}
        for s, f in (("mean", np.mean), ("min", np.min), ("max", np.max))
    }
    for s, vals in stats.items():
        print(f"{s:>6} " + " ".join(f"{vals[c]:{width[c]}.2f}" for c in keys))
    write_results(
        args.out,
        {"seeds": seeds, "hours": args.hours, "fits": figures, **stats, "per_fit_seed": per_fit},
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
