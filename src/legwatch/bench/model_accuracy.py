"""Rules alone vs rules + event model, on held-out simulated nights (issue 7).

Run ``python -m legwatch.bench.model_accuracy`` (10 held-out seeds per scenario, a few minutes on
two cores) or ``--seeds 1000-1002`` for a quick look. Seeds 1000 and up were never used to train
or choose the model (training 100-199, validation 200-249). For each night both analyses run the
whole ``analyze_night`` pipeline (``model=None`` vs the model); only the classification of
detected events differs.

Per night: LM F1 against the visible, analysable true LMs (one-to-one onset matching within 1 s,
legwatch.signal.agreement); PLM index error |estimated - true| in PLM/h (and relative to the true
index where it is > 0); false LMs (detections matched to no true LM). The table gives medians and
means over seeds; "worse" counts nights where the model lowered LM F1 or raised the PLM error.

Label stability: the same 2 h of samples timed by a clock off by a few ppm (:data:`CLOCK_PPM`),
so every sample and frame boundary moves by up to 0.07 s and nothing else changes. The count of
events whose class changes measures how much of a label is decided by where a frame boundary
fell rather than by the movement; at 50.3 Hz instead of 50 Hz such changes move the PLM index.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from legwatch import synth
from legwatch.bench import seed_range, write_results
from legwatch.model.classifier import (
    default_model,
    default_model_path,
    load_model,
)
from legwatch.nights.analysis import NightAnalysis, analyze_night
from legwatch.recording import Gap
from legwatch.signal.agreement import agreement

HELD_OUT = 1000
SCENARIOS = ("nominal", "heavy_vibration", "many_posture", "tremor_only")
#: Clock errors of the label-stability check, parts per million (smaller than a band crystal's
#: usual +/-20 ppm tolerance: nothing about the movements changes).
CLOCK_PPM = (-10, -5, -2, 2, 5, 10)


def _scores(night: synth.SimulatedNight, res: NightAnalysis) -> dict[str, float]:
    tm = night.truth.movements
    ok = tm.props["analysable"].astype(bool)
    lm = tm.subset((tm.kind == "lm") & ok)
    ag = agreement(lm.onset_s, lm.props["visible"].astype(bool), res.leg_movements.onset_s)
    t_plm = float(night.truth.scoring["wasm2016"].indices["plm_per_h"])
    e_plm = float(res.indices["plm_per_h"])
    return {
        "lm_f1": ag.f1 if np.isfinite(ag.f1) else (1.0 if ag.fp == 0 else 0.0),
        "lm_precision": ag.precision,
        "lm_sensitivity": ag.sensitivity,
        "false_lm": float(ag.fp),
        "plm_per_h_true": t_plm,
        "plm_abs_error_per_h": abs(e_plm - t_plm),
        "plm_rel_error": abs(e_plm - t_plm) / t_plm if t_plm > 0 else float("nan"),
    }


def night_scores(scenario: str, seed: int, model_path: str | None) -> dict[str, Any]:
    """Both analyses of one held-out night, and their timings."""
    model = load_model(model_path) if model_path else default_model()
    night = synth.simulate_night(synth.scenario(scenario, seed))
    recs = list(night.recordings.values())
    t0 = time.perf_counter()
    rules = analyze_night(recs, model=None)
    t1 = time.perf_counter()
    both = analyze_night(recs, model=model)
    t2 = time.perf_counter()
    return {
        "seed": seed,
        "rules": _scores(night, rules),
        "model": _scores(night, both),
        "analyze_rules_s": t1 - t0,
        "analyze_model_s": t2 - t1,
    }


def _job(args: tuple[str, int, str | None]) -> dict[str, Any]:
    return night_scores(*args)


def clock_stability(seed: int, model_path: str | None, hours: float = 2.0) -> dict[str, float]:
    """Class changes of one night's events when its samples are timed by a clock off by a few
    ppm (module docstring). Events are compared where the rules found the same number of
    events; a night where they did not counts in ``detection_changed``."""
    model = load_model(model_path) if model_path else default_model()
    rate = 104.0
    rec = synth.simulate_night(synth.scenario("nominal", seed, hours=hours, rate_hz=rate))
    band = rec.recordings["left"]

    def kinds(ppm: float) -> tuple[np.ndarray, np.ndarray]:
        k = 1.0 / (1.0 + ppm * 1e-6)  # every time, gaps included, stretched alike
        gaps = tuple(Gap(g.start_s * k, g.end_s * k) for g in band.gaps)
        timed = replace(band, t_s=band.t_s * k, gaps=gaps)
        ev = analyze_night(timed, model=model).bands[0].detection.events
        return ev.kind, ev.props["rule_kind"]

    base, base_rule = kinds(0.0)
    out = dict.fromkeys(("events", "class_changes", "lm_changes", "rule_changes"), 0.0)
    out["detection_changed"] = 0.0
    for ppm in CLOCK_PPM:
        k, rule = kinds(ppm)
        if k.size != base.size:
            out["detection_changed"] += 1
            continue
        out["events"] += k.size
        out["class_changes"] += float(np.count_nonzero(k != base))
        out["lm_changes"] += float(np.count_nonzero((k == "lm") != (base == "lm")))
        out["rule_changes"] += float(np.count_nonzero(rule != base_rule))
    return out


def _stability_job(args: tuple[int, str | None]) -> dict[str, float]:
    return clock_stability(*args)


def speed(model_path: str | None, repeats: int = 3) -> dict[str, float]:
    """Analysis time of an 8 h, 50 Hz nominal night, rules alone vs with the model (best of
    ``repeats``), and the one-off model load time."""
    t0 = time.perf_counter()
    model = load_model(model_path or default_model_path())
    load_s = time.perf_counter() - t0
    rec = list(synth.simulate_night(synth.scenario("nominal", HELD_OUT)).recordings.values())
    t_rules, t_model = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        analyze_night(rec, model=None)
        t_rules.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        analyze_night(rec, model=model)
        t_model.append(time.perf_counter() - t0)
    r, m = min(t_rules), min(t_model)
    return {"analyze_rules_s": r, "analyze_model_s": m, "added_frac": m / r - 1, "load_s": load_s}


def _summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for arm in ("rules", "model"):
        keys = rows[0][arm].keys()
        out[arm] = {
            k: {
                "median": float(np.nanmedian([r[arm][k] for r in rows])),
                "mean": float(np.nanmean([r[arm][k] for r in rows])),
            }
            for k in keys
            if not all(np.isnan(r[arm][k]) for r in rows)
        }
    out["nights_f1_worse"] = sum(r["model"]["lm_f1"] < r["rules"]["lm_f1"] - 1e-9 for r in rows)
    out["nights_plm_error_worse"] = sum(
        r["model"]["plm_abs_error_per_h"] > r["rules"]["plm_abs_error_per_h"] + 1e-9 for r in rows
    )
    out["n_nights"] = len(rows)
    return out


def _table(results: dict[str, Any]) -> str:
    head = (
        f"{'scenario':16s} {'LM F1 rules':>11s} {'LM F1 model':>11s} "
        f"{'PLM err/h rules':>15s} {'PLM err/h model':>15s} {'false LM r/m':>13s} "
        f"{'worse F1/PLM':>12s}"
    )
    lines = [head, "-" * len(head)]
    for scen, s in results["scenarios"].items():
        r, m = s["rules"], s["model"]
        lines.append(
            f"{scen:16s} {r['lm_f1']['mean']:11.3f} {m['lm_f1']['mean']:11.3f} "
            f"{r['plm_abs_error_per_h']['mean']:15.2f} {m['plm_abs_error_per_h']['mean']:15.2f} "
            f"{r['false_lm']['mean']:6.1f}/{m['false_lm']['mean']:<6.1f} "
            f"{s['nights_f1_worse']:>5d}/{s['nights_plm_error_worse']:<5d}"
        )
    lines.append("(means over seeds; worse = nights where the model lowered F1 / raised PLM error)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default=f"{HELD_OUT}-{HELD_OUT + 19}", help="FIRST-LAST (>= 1000)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--model", default=None, help="model file (default: the shipped one)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("bench-results/model_accuracy.json"))
    args = ap.parse_args(argv)
    seeds = seed_range(ap, args.seeds, HELD_OUT, "seeds below are training or validation")
    scenarios = [s for s in args.scenarios.split(",") if s]
    t_start = time.perf_counter()
    jobs = [(s, seed, args.model) for s in scenarios for seed in seeds]
    with ProcessPoolExecutor(args.workers) as ex:
        rows = list(ex.map(_job, jobs))
    results: dict[str, Any] = {"seeds": seeds, "scenarios": {}}
    for scen in scenarios:
        mine = [r for (s, _, _), r in zip(jobs, rows, strict=True) if s == scen]
        results["scenarios"][scen] = {**_summarise(mine), "per_seed": mine}
    with ProcessPoolExecutor(args.workers) as ex:
        stab = list(ex.map(_stability_job, [(seed, args.model) for seed in seeds]))
    results["clock_stability"] = {
        "ppm": list(CLOCK_PPM),
        **{k: float(sum(r[k] for r in stab)) for k in stab[0]},
        "per_seed": stab,
    }
    results["speed_8h_50hz"] = speed(args.model)
    results["seconds"] = time.perf_counter() - t_start
    print(_table(results))
    cs = results["clock_stability"]
    print(
        f"clock off by {min(CLOCK_PPM)}..{max(CLOCK_PPM)} ppm ({len(seeds)} nights of 2 h): "
        f"{cs['class_changes']:.0f} of {cs['events']:.0f} events change class, "
        f"{cs['lm_changes']:.0f} into or out of LM; rules' kinds changed {cs['rule_changes']:.0f}; "
        f"the rules found another number of events in {cs['detection_changed']:.0f} of "
        f"{len(seeds) * len(CLOCK_PPM)} timings"
    )
    sp = results["speed_8h_50hz"]
    print(
        f"8 h night: rules {sp['analyze_rules_s']:.2f} s, with model {sp['analyze_model_s']:.2f} s "
        f"(+{100 * sp['added_frac']:.0f}%); model load {sp['load_s']:.2f} s once per process"
    )
    write_results(args.out, results)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
