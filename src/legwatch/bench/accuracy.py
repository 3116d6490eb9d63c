"""Accuracy benchmark of the detector on simulated nights (issue 3, item 7).

Run ``python -m legwatch.bench.accuracy`` (all checks, >= 20 held-out seeds; tens of minutes on
two cores) or ``--quick`` (a few seeds, a few minutes). It prints a table and writes JSON.

Seeds 1000 and up are held out: they were never used to choose the detector's parameters
(tuning used seeds 1-4 and 31-43; seeds 1000-1001 were looked at once to debug gap handling, a
bug, not a parameter). Every figure is a median over seeds unless named otherwise; the targets are
those of issue 3. Scenario scores are given for the rules alone and, prefixed ``model_``, for the
rules plus the shipped event classifier (what ``legwatch analyze`` uses by default); the variants,
the sweep and the speed figures use the default pipeline.

``variants_noise`` is a control, not a target: the same 50 Hz night with only the sensor noise
drawn again (twice). Each rate variant draws its noise anew as well, so the rate figures cannot
be expected to sit below what the noise alone does to the PLM index. Beside each variant's median
the benchmark counts the nights whose index changed at all (``nights_changed``).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from legwatch import synth
from legwatch.bench import write_results
from legwatch.nights.analysis import DetectedNight, analyze_detected, analyze_night, detect_night
from legwatch.signal.agreement import agreement
from legwatch.signal.detect import detect_movements
from legwatch.signal.params import DetectorParams

HELD_OUT = 1000


def simulated(name: str, seed: int, **kw: Any) -> synth.SimulatedNight:
    """One night of a preset scenario (``synth.scenario`` keywords pass through)."""
    return synth.simulate_night(synth.scenario(name, seed, **kw))


def _score(night: synth.SimulatedNight, params: DetectorParams | None = None) -> dict[str, float]:
    """Scores of the rules alone, then of the rules plus the shipped event classifier
    (keys prefixed ``model_``)."""
    rules = score_one(night, params, model=None)
    with_model = score_one(night, params, model="default")
    return {**rules, **{f"model_{k}": v for k, v in with_model.items()}}


def score_one(
    night: synth.SimulatedNight, params: DetectorParams | None, model: str | None
) -> dict[str, float]:
    """One night's scores against its truth: LM agreement with the visible movements, onset
    errors, PLM index and periodicity errors, spasm F1 (``model``: None for the rules alone,
    "default" for the shipped classifier)."""
    res = analyze_night(list(night.recordings.values()), params=params, model=model)
    tm = night.truth.movements
    ok = tm.props["analysable"].astype(bool)
    lm = tm.subset((tm.kind == "lm") & ok)
    det = res.leg_movements
    ag = agreement(lm.onset_s, lm.props["visible"].astype(bool), det.onset_s)
    sp_true = tm.subset((tm.kind == "spasm") & ok)
    sp = agreement(sp_true.onset_s, np.ones(len(sp_true), bool), res.spasms.onset_s)
    truth = night.truth.scoring["wasm2016"].indices
    t_plm, e_plm = truth["plm_per_h"], res.indices["plm_per_h"]
    return {
        "lm_sensitivity": ag.sensitivity,
        "lm_precision": ag.precision,
        "lm_f1": ag.f1,
        "onset_bias_s": float(np.mean(ag.onset_errors_s)) if ag.tp else float("nan"),
        "onset_sd_s": float(np.std(ag.onset_errors_s)) if ag.tp > 1 else float("nan"),
        "plm_per_h": e_plm,
        "plm_per_h_true": t_plm,
        "plm_rel_error": abs(e_plm - t_plm) / t_plm if t_plm > 0 else float("nan"),
        "periodicity_error": abs(res.indices["periodicity_index"] - truth["periodicity_index"]),
        "spasm_f1": sp.f1,
        "lm_per_h": res.indices["lm_per_h"],
        "emg_scale_ratio": len(det) / max(1, len(lm)),
        "n_lm": float(len(det)),
    }


def _lm_count(name: str, seed: int) -> dict[str, float]:
    night = simulated(name, seed)
    return {"n_lm": float(len(detect_movements(night.recordings["left"]).leg_movements))}


def variant_configs(
    seed: int, what: str, hours: float = 8.0
) -> tuple[synth.NightConfig, dict[str, synth.NightConfig]]:
    """The reference night of ``seed`` (50 Hz, a true clock) and its variants of kind ``what``
    ("rates", "noise", "gain" or "gaps"), by label: the same movements, only the band differs."""
    base_cfg = synth.scenario("nominal", seed, hours=hours)
    sensor0 = replace(base_cfg.sensor, rate_error_frac_range=(0.0, 0.0))
    sensor0 = replace(sensor0, rate_drift_frac_range=(0.0, 0.0))
    cfgs: dict[str, synth.NightConfig] = {}
    if what == "rates":
        for label, rate, err in (
            ("50.3", 50.0, 0.006),
            ("52.6", 50.0, 0.052),
            ("100", 100.0, 0.0),
            ("25", 25.0, 0.0),
        ):
            s = replace(sensor0, rate_error_frac_range=(err, err))
            cfgs[label] = replace(
                synth.scenario("nominal", seed, hours=hours, rate_hz=rate), sensor=s
            )
    elif what == "noise":
        # the control: the same night at the same rate with only the sensor noise drawn again.
        # Every rate variant draws other noise too, so this is what those figures are made of
        # before the rate has any effect.
        for draw in (1, 2):
            s = replace(sensor0, noise_draw=draw)
            cfgs[f"redraw{draw}"] = replace(base_cfg, sensor=s)
    elif what == "gain":
        for label, gain in (("x0.6", {"overall": 0.6}), ("x1.8", {"overall": 1.8}),
                            ("jump0.7", {"jump_factor": 0.7})):  # fmt: skip
            cfgs[label] = replace(base_cfg, sensor=sensor0, gain=replace(base_cfg.gain, **gain))
    elif what == "gaps":
        gaps = synth.scenario("gaps", seed, hours=hours)
        cfgs["gaps"] = replace(gaps, sensor=sensor0)
    else:
        raise ValueError(f"unknown variant kind {what!r}: rates, noise, gain or gaps")
    return replace(base_cfg, sensor=sensor0), cfgs


def variant_change(
    label: str,
    ref: synth.SimulatedNight,
    ref_plm: float,
    night: synth.SimulatedNight,
    model: Any = "default",
    *,
    with_truth: bool = False,
    detected: DetectedNight | None = None,
) -> dict[str, float]:
    """How far the estimated PLM index of the variant ``night`` moved from the reference's
    ``ref_plm`` (a fraction, key ``label``); ``with_truth`` (gain and gap variants) adds how far
    the TRUE index moved (``<label>_truth_change``) and the estimate beyond it
    (``<label>_beyond_truth``). ``detected``: ``detect_night`` of the variant's recordings, if
    already run (several models on one night)."""
    if detected is None:
        detected = detect_night(list(night.recordings.values()))
    est = analyze_detected(detected, model=model).indices["plm_per_h"]
    est_change = (est - ref_plm) / ref_plm if ref_plm > 0 else float("nan")
    out = {label: abs(est_change)}
    if with_truth:
        # The TRUE index (of the movements the sensor can see) moves too: a gap breaks series and
        # leaves the denominator; on a looser band the smallest movements sink under the 10 mg of
        # visibility. Report that, and how far the estimate's change is from it.
        t_ref = ref.truth.scoring["wasm2016"].indices["plm_per_h"]
        t_var = night.truth.scoring["wasm2016"].indices["plm_per_h"]
        truth_change = (t_var - t_ref) / t_ref if t_ref > 0 else float("nan")
        out[f"{label}_truth_change"] = abs(truth_change)
        out[f"{label}_beyond_truth"] = abs(est_change - truth_change)
    return out


def variants(
    seed: int, what: str, *, hours: float = 8.0, model: Any = "default"
) -> dict[str, float]:
    """Relative change of the estimated PLM index against the same night's reference variant
    (see :func:`variant_configs`); ``plm_ref`` is the reference's index."""
    ref_cfg, cfgs = variant_configs(seed, what, hours)
    ref_night = synth.simulate_night(ref_cfg)
    ref_plm = analyze_night(list(ref_night.recordings.values()), model=model).indices["plm_per_h"]
    out: dict[str, float] = {"plm_ref": ref_plm}
    with_truth = what in ("gain", "gaps")
    for label, cfg in cfgs.items():
        night = synth.simulate_night(cfg)
        out.update(variant_change(label, ref_night, ref_plm, night, model, with_truth=with_truth))
    return out


def _sweep(seed: int) -> dict[str, float]:
    night = simulated("nominal", seed)
    base = analyze_night(list(night.recordings.values())).indices["plm_per_h"]
    out: dict[str, float] = {}
    p = DetectorParams()
    for group, name in (
        ("thresholds", "high_min_mg"), ("thresholds", "low_min_mg"),
        ("thresholds", "high_factor"), ("thresholds", "low_factor"),
        ("thresholds", "baseline_window_s"), ("thresholds", "floor_window_s"),
        ("front_end", "lowpass_hz"), ("classify", "posture_deg"),
        ("spasm", "min_jerk_g_per_s"), ("spasm", "max_s"), ("gain", "ref_mg"),
    ):  # fmt: skip
        for f in (0.8, 1.2):
            est = analyze_night(
                list(night.recordings.values()), params=p.scaled(group, name, f)
            ).indices["plm_per_h"]
            out[f"{name} x{f}"] = abs(est - base) / base if base > 0 else float("nan")
    return out


def _speed() -> dict[str, float]:
    night = simulated("nominal", HELD_OUT, rate_hz=100.0)
    rec = night.recordings["left"]
    raw_mb = rec.accel_g.nbytes / 1e6
    t0 = time.perf_counter()
    detect_movements(rec)
    t_detect = time.perf_counter() - t0
    tracemalloc.start()
    t0 = time.perf_counter()
    analyze_night(rec)
    t_all = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "hours": rec.duration_s / 3600,
        "detect_s": t_detect,
        "analyze_s": t_all,
        "x_real_time": rec.duration_s / t_detect,
        "peak_mb": peak / 1e6,
        "raw_mb": raw_mb,
        "peak_over_raw": peak / 1e6 / raw_mb,
    }


def _median(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = rows[0].keys()
    return {k: float(np.nanmedian([r[k] for r in rows])) for k in keys}


#: A night "changes" in a variant when its PLM index moves by more than this fraction: one
#: movement more or less moves it by 2-5%, a new denominator alone by well under 0.1%.
CHANGED_FRAC = 0.001


def nights_changed(rows: list[dict[str, float]]) -> dict[str, int]:
    """Per variant, the number of nights whose PLM index changed (see ``CHANGED_FRAC``).

    The median of a variant is 0 or a few per cent depending on whether fewer or more than half
    of the nights change at all, so the count says more than the median about how steady the
    index is. The reference index and the truth's own changes are not variants and are left out.
    """
    keys = [k for k in rows[0] if k != "plm_ref" and "truth" not in k]
    return {k: sum(1 for r in rows if np.isfinite(r[k]) and r[k] > CHANGED_FRAC) for k in keys}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="held-out seeds per scenario")
    ap.add_argument("--quick", action="store_true", help="3 seeds, no parameter sweep")
    ap.add_argument("--out", type=Path, default=Path("bench-results/accuracy.json"))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    n = 3 if args.quick else args.seeds
    seeds = list(range(HELD_OUT, HELD_OUT + n))
    results: dict[str, Any] = {"seeds": seeds}
    t_start = time.perf_counter()

    def run(label: str, fn: Callable[..., dict[str, float]], *fixed: Any) -> dict[str, float]:
        with ProcessPoolExecutor(args.workers) as ex:
            rows = list(ex.map(fn, *([f] * len(seeds) for f in fixed), seeds))
        med = _median(rows)
        results[label] = {"median": med, "per_seed": rows}
        print(f"[{time.perf_counter() - t_start:6.0f} s] {label}: "
              + ", ".join(f"{k}={v:.3g}" for k, v in med.items()), flush=True)  # fmt: skip
        return med

    for scen in ("nominal", "low_plm", "spasm_heavy", "heavy_vibration", "many_posture"):
        run(scen, _night_score_adapter, scen)
    for scen in ("noise_only", "respiration_only", "vibration_only", "posture_only", "tremor_only"):
        med = run(scen, _lm_count, scen)
        results[scen]["max"] = max(r["n_lm"] for r in results[scen]["per_seed"])
        del med
    for what in ("rates", "noise", "gain", "gaps"):
        label = f"variants_{what}"
        run(label, _variants_adapter, what)
        changed = nights_changed(results[label]["per_seed"])
        results[label]["nights_changed"] = changed
        print(f"  nights changed (of {len(seeds)}): "
              + ", ".join(f"{k}={v}" for k, v in changed.items()), flush=True)  # fmt: skip
    if not args.quick:
        run("sweep_plus_minus_20pct", _sweep_adapter)
    results["speed_8h_100hz"] = _speed()
    print("speed:", ", ".join(f"{k}={v:.3g}" for k, v in results["speed_8h_100hz"].items()))
    write_results(args.out, results)
    print(f"wrote {args.out}")
    return 0


def _night_score_adapter(name: str, seed: int) -> dict[str, float]:
    return _score(simulated(name, seed))


def _variants_adapter(what: str, seed: int) -> dict[str, float]:
    return variants(seed, what)


def _sweep_adapter(seed: int) -> dict[str, float]:
    return _sweep(seed)


if __name__ == "__main__":
    sys.exit(main())
