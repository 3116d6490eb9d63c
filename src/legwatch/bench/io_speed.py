"""Rows per second for write_csv and read_csv on an 8-hour 50 Hz night (1.44 M rows).

Run with ``python -m legwatch.bench.io_speed``. The target is well under 3 s each way; this is a
measurement, not a test, because timings on shared machines are too noisy to fail a build on.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from legwatch.io import read_csv, write_csv
from legwatch.recording import Recording

#: One night as the brief defines it: 8 h at 50 Hz.
NIGHT_S = 8 * 3600
FS_HZ = 50.0


def synthetic_night(seed: int = 20260301) -> Recording:
    """Gravity on z plus 3 mg of noise and a little timing jitter (seeded)."""
    rng = np.random.default_rng(seed)
    n = int(NIGHT_S * FS_HZ)
    t_s = np.arange(n) / FS_HZ + rng.uniform(0, 1e-3, n)
    accel_g = rng.normal(0.0, 0.003, (n, 3)) + np.array([0.0, 0.0, 1.0])
    return Recording(
        accel_g=accel_g,
        t_s=t_s,
        start_utc=datetime(2026, 3, 1, 22, 0, tzinfo=UTC),
        fs_nominal_hz=FS_HZ,
        band_id="bench",
    )


def main() -> None:
    recording = synthetic_night()
    rows = recording.n_samples
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "night.csv"
        t0 = time.perf_counter()
        write_csv(recording, path)
        write_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        back = read_csv(path)
        read_s = time.perf_counter() - t0
    if back.n_samples != rows:
        raise SystemExit(f"read back {back.n_samples} rows, wrote {rows}")
    print(f"8 h at {FS_HZ:g} Hz: {rows} rows, {size_mb:.1f} MB")
    print(f"write_csv: {write_s:.2f} s, {rows / write_s:,.0f} rows/s")
    print(f"read_csv:  {read_s:.2f} s, {rows / read_s:,.0f} rows/s")


if __name__ == "__main__":
    main()
