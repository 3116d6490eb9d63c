"""Time detecting (and analysing) an 8-hour single-band 100 Hz night on one core.

Run ``python -m legwatch.bench.detect_speed [--runs N] [--hours H] [--json OUT]``.

The process is pinned to one CPU (where the system allows it) and the detector is timed ``N``
times on the same simulated night (held-out seed, nominal scenario), after one warm-up run. A
single run on a shared machine can be 30% off either way, so the median and the fastest run are
printed beside every run. Peak memory is measured on a separate run (tracing slows the run
down) and given as a multiple of the raw (n, 3) float64 array.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from legwatch.bench import write_results
from legwatch.bench.accuracy import HELD_OUT, simulated
from legwatch.nights.analysis import analyze_night
from legwatch.signal.detect import detect_movements


def pin_to_one_cpu() -> tuple[str, set[int] | None]:
    """Keep this process on one CPU; returns which (or why not) and the CPUs it had before."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this system)", None
    cpus = os.sched_getaffinity(0)
    one = max(cpus)
    os.sched_setaffinity(0, {one})
    return f"pinned to CPU {one} of {len(cpus)}", cpus


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m legwatch.bench.detect_speed", description=__doc__)
    ap.add_argument("--runs", type=int, default=5, help="timed runs of each step (default 5)")
    ap.add_argument("--hours", type=float, default=8.0, help="length of the night (default 8)")
    ap.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error(f"--runs: at least 1, got {args.runs}")
    if not 0.2 <= args.hours <= 24.0:
        ap.error(f"--hours: 0.2 to 24 (an analysis needs 10 minutes), got {args.hours:g}")
    pinned, before = pin_to_one_cpu()
    try:
        results = _measure(args.runs, args.hours, pinned)
    finally:
        if before is not None:
            os.sched_setaffinity(0, before)  # a caller (a test, a notebook) gets its CPUs back
    if args.json:
        write_results(args.json, results)
    return 0


def _measure(runs: int, hours_asked: float, pinned: str) -> dict[str, object]:
    night = simulated("nominal", HELD_OUT, hours=hours_asked, rate_hz=100.0)
    rec = night.recordings["left"]
    hours = rec.duration_s / 3600.0
    raw_mb = rec.accel_g.nbytes / 1e6
    sys.stdout.write(
        f"{hours:g} h at {rec.fs_nominal_hz:g} Hz ({rec.fs_effective_hz:.2f} Hz by its clock), "
        f"{rec.n_samples:,} samples "
        f"({raw_mb:.0f} MB raw); {pinned}\n"
    )
    detect_movements(rec)  # warm-up: imports, first allocations
    detect_s = []
    for i in range(runs):
        t0 = time.perf_counter()
        detect_movements(rec)
        detect_s.append(time.perf_counter() - t0)
        sys.stdout.write(f"  detect run {i + 1}: {detect_s[-1]:.3f} s\n")
    analyze_night(rec)  # warm-up: loads the event model
    analyze_s = []
    for _ in range(runs):
        t0 = time.perf_counter()
        analyze_night(rec)
        analyze_s.append(time.perf_counter() - t0)
    tracemalloc.start()
    analyze_night(rec)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    med = float(np.median(detect_s))
    results = {
        "hours": hours,
        "rate_hz": rec.fs_nominal_hz,
        "rate_hz_by_clock": rec.fs_effective_hz,
        "runs": runs,
        "cpu": pinned,
        "detect_s": detect_s,
        "detect_median_s": med,
        "detect_min_s": min(detect_s),
        "x_real_time": rec.duration_s / med,
        "analyze_median_s": float(np.median(analyze_s)),
        "peak_mb": peak / 1e6,
        "raw_mb": raw_mb,
        "peak_over_raw": peak / 1e6 / raw_mb,
    }
    sys.stdout.write(
        f"detect: median {med:.3f} s, fastest {min(detect_s):.3f} s "
        f"({results['x_real_time']:,.0f}x real time)\n"
        f"analyse (detect, classifier, scoring): median {results['analyze_median_s']:.3f} s\n"
        f"peak memory of an analysis: {results['peak_mb']:.0f} MB, "
        f"{results['peak_over_raw']:.2f}x the raw array\n"
    )
    return results


if __name__ == "__main__":
    raise SystemExit(main())
