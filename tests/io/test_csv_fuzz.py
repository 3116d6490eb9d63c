"""Whatever bytes a .csv holds, read_csv returns a valid Recording or raises a LegwatchError."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from legwatch.errors import LegwatchError
from legwatch.io import read_csv
from legwatch.recording import Recording

HEADER = "t_s,x_g,y_g,z_g"

_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-3, 3).map(lambda v: f"{v:.5f}"),
    st.sampled_from(["", " ", "1_0", "0x10", "1e400", "-0", "abc", "+1.", ".5", "1,2", "#"]),
    st.text(max_size=6),
)
_valid_meta = st.sampled_from(
    [
        "# start_utc=2026-03-01T22:00:00Z",
        "# start_utc=2026-03-01T23:00:00.5+01:00",
        "# band_id=left band",
        "# site=right_ankle",
        "# fs_nominal_hz=50.0",
        "# written by a test",
    ]
)
_junk_meta = st.tuples(
    st.sampled_from(["start_utc", "band_id", "site", "fs_nominal_hz", "other", ""]),
    st.one_of(
        st.sampled_from(
            [
                "0001-01-01T00:00:00+01:00",
                "9999-12-31T23:59:59-01:00",
                "2026-03-01T22:00:00",
                "nan",
                "1e9",
                "",
            ]
        ),
        st.text(max_size=12),
    ),
).map(lambda kv: f"# {kv[0]}={kv[1]}")


_FLAWS = ("meta", "header", "rows", "ending", "rate", "scale", "length")


@st.composite
def _plausible_files(draw: st.DrawFn) -> tuple[bytes, frozenset[str]]:
    """A valid 50 Hz file with up to two kinds of flaw, so the deeper checks are reached too."""
    flaws = draw(st.sets(st.sampled_from(_FLAWS), max_size=2))
    lines = draw(st.lists(_valid_meta, unique_by=lambda m: m.split("=")[0], max_size=4))
    if "meta" in flaws:
        lines.insert(draw(st.integers(0, len(lines))), draw(_junk_meta))
    lines.append(
        draw(st.sampled_from([HEADER + " ", "t_s,x,y,z", ""])) if "header" in flaws else HEADER
    )
    fs_hz = draw(st.sampled_from([5.0, 1000.0])) if "rate" in flaws else 50.0
    n = draw(st.integers(0, 600)) if "length" in flaws else 600
    scale = draw(st.sampled_from([9.80665, 4096.0, 0.0])) if "scale" in flaws else 1.0
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t_s = (np.arange(n) + rng.uniform(0.0, 0.4, n)) / fs_hz
    accel = (rng.normal(0, 0.1, (n, 3)) + np.array([0.0, 0.0, 1.0])) * scale
    rows = [f"{t:.4f},{x:.5f},{y:.5f},{z:.5f}" for t, (x, y, z) in zip(t_s, accel, strict=True)]
    if "rows" in flaws and rows:
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(rows) - 1))
            rows[i] = ",".join(draw(st.lists(_values, min_size=1, max_size=6)))
    ending = draw(st.sampled_from(["\r\n", "\r", ""])) if "ending" in flaws else "\n"
    return ending.join(lines + rows).encode("utf-8", errors="surrogatepass"), frozenset(flaws)


def _read(content: bytes, *, must_read: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.csv"
        path.write_bytes(content)
        try:
            rec = read_csv(path)
        except LegwatchError:
            if must_read:
                raise
            return
    assert isinstance(rec, Recording)
    assert rec.n_samples >= 2 and np.all(np.diff(rec.t_s) > 0)
    assert np.all(np.isfinite(rec.accel_g))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode)))
@example(b"\xef\xbb\xbf" + HEADER.encode() + b"\n0,0,0,1\n")
@example(HEADER.encode() + b"\n" + b"1e308,0,0,1\n-1e308,0,0,1\n")
def test_arbitrary_bytes_read_or_raise_legwatch_error(content: bytes) -> None:
    _read(content)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_plausible_files())
def test_near_valid_files_read_or_raise_legwatch_error(
    file: tuple[bytes, frozenset[str]],
) -> None:
    content, flaws = file
    _read(content, must_read=not flaws)
