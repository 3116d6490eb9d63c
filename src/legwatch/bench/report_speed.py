"""Time the night report, the EDF+ export and the CSV export of an 8-hour night (one and two bands).

Run ``python -m legwatch.bench.report_speed``. Simulation and analysis are timed apart and not
counted in the report time (the target is under 5 s for the whole report of an 8-hour night).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from legwatch.nights.analysis import analyze_night
from legwatch.report import export_edf, export_events_csv, write_night_report
from legwatch.synth import scenario, simulate_night

SESSIONS = [(300.0, 180.0, "percussive spinal massage"), (4 * 3600.0, 180.0, "skin rolling")]


def main() -> int:
    for name in ("nominal", "bilateral"):
        t0 = time.perf_counter()
        sim = simulate_night(scenario(name, seed=5, hours=8.0, rate_hz=50.0))
        t1 = time.perf_counter()
        night = analyze_night(list(sim.recordings.values()))
        t2 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            index = write_night_report(night, Path(tmp) / "report", sessions=SESSIONS)
            t3 = time.perf_counter()
            export_edf(night, sim.recordings, Path(tmp) / "night.edf", sessions=SESSIONS)
            t4 = time.perf_counter()
            export_events_csv(night, Path(tmp) / "events.csv", sessions=SESSIONS)
            t5 = time.perf_counter()
            size_kb = index.stat().st_size / 1024
        sys.stdout.write(
            f"8 h {name} ({len(night.bands)} band(s), 50 Hz): simulate {t1 - t0:.2f} s, "
            f"analyse {t2 - t1:.2f} s | report {t3 - t2:.2f} s ({size_kb:.0f} KiB html), "
            f"EDF+ {t4 - t3:.2f} s, CSV {t5 - t4:.3f} s\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
