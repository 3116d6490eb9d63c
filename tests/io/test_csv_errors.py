"""Every way a CSV file can be wrong gives a LegwatchError naming what was wrong and where."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from legwatch.errors import InputFileError, LegwatchError, ParameterError, UnitsError
from legwatch.io import read_csv

META = "# start_utc=2026-03-01T22:00:00Z\n# band_id=b\n# site=left_ankle\n# fs_nominal_hz=50.0\n"
HEADER = "t_s,x_g,y_g,z_g\n"
FIRST_DATA_LINE = 6  # four metadata lines and the header come first


def _rows(seconds: float = 20.0, fs_hz: float = 50.0, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    n = int(seconds * fs_hz)
    accel = rng.normal(0.0, 0.01, (n, 3)) + np.array([0.0, 0.6, 0.8])
    return [f"{i / fs_hz:.4f},{x:.5f},{y:.5f},{z:.5f}" for i, (x, y, z) in enumerate(accel)]


def _write(tmp_path: Path, rows: list[str], preamble: str = META + HEADER) -> Path:
    path = tmp_path / "night.csv"
    path.write_text(preamble + "\n".join(rows) + "\n")
    return path


def _read_error(path: Path) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        read_csv(path)
    return info.value


def test_a_valid_file_reads(tmp_path: Path) -> None:
    assert read_csv(_write(tmp_path, _rows())).n_samples == 1000


def test_missing_header(tmp_path: Path) -> None:
    err = _read_error(_write(tmp_path, _rows(), preamble=META))
    assert err.line == 5
    assert "t_s,x_g,y_g,z_g" in str(err) and "header is missing" in str(err)


def test_wrong_header(tmp_path: Path) -> None:
    err = _read_error(_write(tmp_path, _rows(), preamble="time,x,y,z\n"))
    assert err.line == 1
    assert "'time,x,y,z'" in str(err) and "expected the header line" in str(err)
    assert "night.csv, line 1" in str(err)


def test_non_numeric_value_names_line_and_column(tmp_path: Path) -> None:
    rows = _rows()
    rows[100] = rows[100].split(",")[0] + ",0.1,abc,0.9"
    err = _read_error(_write(tmp_path, rows))
    assert (err.line, err.sample) == (FIRST_DATA_LINE + 100, 100)
    assert "'abc'" in str(err) and "y_g" in str(err) and f"line {FIRST_DATA_LINE + 100}" in str(err)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_nan_or_inf_names_line(tmp_path: Path, bad: str) -> None:
    rows = _rows()
    rows[42] = rows[42].rsplit(",", 1)[0] + "," + bad
    err = _read_error(_write(tmp_path, rows))
    assert (err.line, err.sample) == (FIRST_DATA_LINE + 42, 42)
    assert "z_g" in str(err) and "finite" in str(err)


def test_duplicated_time(tmp_path: Path) -> None:
    rows = _rows()
    rows[300] = rows[299].split(",")[0] + "," + rows[300].split(",", 1)[1]
    err = _read_error(_write(tmp_path, rows))
    assert (err.line, err.sample) == (FIRST_DATA_LINE + 300, 300)
    assert "duplicated time" in str(err) and f"line {FIRST_DATA_LINE + 299}" in str(err)


def test_time_going_backwards(tmp_path: Path) -> None:
    rows = _rows()
    rows[500] = "1.0000," + rows[500].split(",", 1)[1]
    err = _read_error(_write(tmp_path, rows))
    assert (err.line, err.sample) == (FIRST_DATA_LINE + 500, 500)
    assert "backwards" in str(err) and "t_s=1.0 s" in str(err)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content)
    assert "empty" in str(_read_error(path))


def test_header_without_samples(tmp_path: Path) -> None:
    err = _read_error(_write(tmp_path, [], preamble=META + HEADER))
    assert "no samples" in str(err) and err.line == FIRST_DATA_LINE


def test_less_than_ten_seconds(tmp_path: Path) -> None:
    err = _read_error(_write(tmp_path, _rows(seconds=9.0)))
    assert "9 s of data (450 samples)" in str(err) and "at least 10 s" in str(err)


def test_single_sample_is_too_short(tmp_path: Path) -> None:
    err = _read_error(_write(tmp_path, _rows()[:1]))
    assert "1 samples" in str(err)


def test_three_hour_clock_jump_names_line_and_size(tmp_path: Path) -> None:
    rows = _rows()
    shifted = [f"{float(r.split(',')[0]) + 10800:.4f},{r.split(',', 1)[1]}" for r in rows[600:]]
    err = _read_error(_write(tmp_path, rows[:600] + shifted))
    assert (err.line, err.sample) == (FIRST_DATA_LINE + 600, 600)
    assert "clock jump of 3.00 h" in str(err)


def test_long_gap_below_an_hour_is_accepted(tmp_path: Path) -> None:
    rows = _rows()
    shifted = [f"{float(r.split(',')[0]) + 120:.4f},{r.split(',', 1)[1]}" for r in rows[600:]]
    rec = read_csv(_write(tmp_path, rows[:600] + shifted))
    assert len(rec.gaps) == 1 and rec.gaps[0].duration_s == pytest.approx(120.02)


@pytest.mark.parametrize(("fs_hz", "hint"), [(5.0, ""), (500.0, ""), (0.05, "milliseconds")])
def test_rate_outside_10_to_400_hz(tmp_path: Path, fs_hz: float, hint: str) -> None:
    n = max(100, int(20 * fs_hz))
    rows = [f"{i / fs_hz:.4f},0.00000,0.00000,1.00000" for i in range(n)]
    err = _read_error(_write(tmp_path, rows))
    assert f"{fs_hz:.4g} Hz" in str(err) and "10-400 Hz" in str(err)
    assert hint in str(err)


def test_declared_rate_outside_range_in_metadata(tmp_path: Path) -> None:
    err = _read_error(_write(tmp_path, _rows(), preamble="# fs_nominal_hz=1000\n" + HEADER))
    assert err.line == 1 and "fs_nominal_hz='1000'" in str(err) and "10 and 400 Hz" in str(err)


def test_declared_rate_outside_range_as_keyword(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="fs_nominal_hz"):
        read_csv(_write(tmp_path, _rows()), fs_nominal_hz=4.0)


def _scaled(rows: list[str], factor: float, fmt: str = "{:.5f}") -> list[str]:
    out = []
    for row in rows:
        t, *xyz = row.split(",")
        out.append(",".join([t, *(fmt.format(float(v) * factor) for v in xyz)]))
    return out


def test_values_in_m_per_s2(tmp_path: Path) -> None:
    with pytest.raises(UnitsError) as info:
        read_csv(_write(tmp_path, _scaled(_rows(), 9.80665)))
    assert "m/s^2" in str(info.value) and "divide by 9.80665" in str(info.value)


def test_values_in_raw_counts(tmp_path: Path) -> None:
    with pytest.raises(UnitsError) as info:
        read_csv(_write(tmp_path, _scaled(_rows(), 4096, "{:.0f}")))
    assert "raw sensor counts" in str(info.value) and "counts per g" in str(info.value)


def test_values_in_milli_g(tmp_path: Path) -> None:
    with pytest.raises(UnitsError) as info:
        read_csv(_write(tmp_path, _scaled(_rows(), 1000.0, "{:.3f}")))
    assert "milli-g" in str(info.value) and "divide by 1000" in str(info.value)


def test_gravity_removed(tmp_path: Path) -> None:
    rows = [f"{i / 50:.4f},0.01000,-0.00500,0.00300" for i in range(1000)]
    with pytest.raises(UnitsError) as info:
        read_csv(_write(tmp_path, rows))
    assert "far below the 1 g of gravity" in str(info.value)


@pytest.mark.parametrize("tilt_g", [0.55, 1.9])
def test_gravity_check_accepts_half_to_two_g(tmp_path: Path, tilt_g: float) -> None:
    rows = [f"{i / 50:.4f},0.00000,0.00000,{tilt_g:.5f}" for i in range(1000)]
    assert read_csv(_write(tmp_path, rows)).n_samples == 1000


@pytest.mark.parametrize(("line", "count"), [("0.1,0.2,0.9", 3), ("1,2,3,4,5", 5), ("", 1)])
def test_wrong_column_count(tmp_path: Path, line: str, count: int) -> None:
    rows = _rows()
    rows[7] = line
    err = _read_error(_write(tmp_path, rows))
    assert (err.line, err.sample) == (FIRST_DATA_LINE + 7, 7)
    assert f"expected 4 comma-separated values (t_s,x_g,y_g,z_g), got {count}" in str(err)


def test_every_row_with_five_columns(tmp_path: Path) -> None:
    rows = [r + ",0.0" for r in _rows()]
    err = _read_error(_write(tmp_path, rows))
    assert err.line == FIRST_DATA_LINE and "got 5" in str(err)


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ("# start_utc=2026-03-01T22:00:00", "offset or Z"),
        ("# start_utc=yesterday", "ISO 8601"),
        ("# site=knee", "left_ankle"),
        ("# band_id=", "non-empty"),
    ],
)
def test_invalid_metadata_names_its_line(tmp_path: Path, meta: str, expected: str) -> None:
    err = _read_error(_write(tmp_path, _rows(), preamble="# comment only\n" + meta + "\n" + HEADER))
    assert err.line == 2 and expected in str(err)


def test_duplicated_metadata_key(tmp_path: Path) -> None:
    err = _read_error(
        _write(tmp_path, _rows(), preamble="# site=left_ankle\n# site=right_ankle\n" + HEADER)
    )
    assert err.line == 2 and "appears twice" in str(err) and "line 1" in str(err)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(HEADER.encode() + b"0.0,\xff\xfe,0,1\n")
    err = _read_error(path)
    assert err.line == 2 and "not UTF-8" in str(err)


def test_missing_file(tmp_path: Path) -> None:
    err = _read_error(tmp_path / "nope.csv")
    assert "not found" in str(err) and err.path == tmp_path / "nope.csv"


def test_all_errors_share_the_root() -> None:
    assert issubclass(UnitsError, InputFileError) and issubclass(InputFileError, LegwatchError)
