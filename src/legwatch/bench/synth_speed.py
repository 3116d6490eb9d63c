"""Time simulating and writing an 8-hour night at 50 and 100 Hz.

Run ``python -m legwatch.bench.synth_speed``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from legwatch.synth import scenario, simulate_night, write_night


def main() -> int:
    for rate in (50.0, 100.0):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            night = simulate_night(scenario("nominal", seed=1, hours=8.0, rate_hz=rate))
            t1 = time.perf_counter()
            write_night(night, Path(tmp) / "night.csv")
            t2 = time.perf_counter()
        sys.stdout.write(
            f"8 h at {rate:g} Hz: simulate {t1 - t0:.2f} s, write {t2 - t1:.2f} s, "
            f"total {t2 - t0:.2f} s\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
