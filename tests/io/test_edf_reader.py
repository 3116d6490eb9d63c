"""read_edf on small EDF, EDF+C, EDF+D and BDF files written here with edfio itself."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import edfio
import numpy as np
import pytest

from legwatch.errors import InputFileError, UnitsError
from legwatch.io import read_edf
from legwatch.recording import BodySite

FS_HZ = 52.0
SECONDS = 20


def _accel_g(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(FS_HZ * SECONDS)
    return rng.normal(0.0, 0.02, (n, 3)) + np.array([0.2, -0.5, 0.84])


def _signal(
    data: np.ndarray, label: str, unit: str, fs_hz: float = FS_HZ, bdf: bool = False
) -> edfio.EdfSignal:
    cls = edfio.BdfSignal if bdf else edfio.EdfSignal
    limit = float(np.ceil(np.abs(data).max() * 1.1)) or 1.0
    return cls(data, fs_hz, label=label, physical_dimension=unit, physical_range=(-limit, limit))


def _write(
    path: Path,
    signals: list[edfio.EdfSignal],
    *,
    start: dt.datetime = dt.datetime(2026, 3, 1, 22, 30, 15),
    annotations: bool = True,
) -> Path:
    cls = edfio.Bdf if path.suffix == ".bdf" else edfio.Edf
    edf = cls(
        signals,
        recording=edfio.Recording(startdate=start.date()),
        starttime=start.time(),
        annotations=[edfio.EdfAnnotation(1.0, None, "lights off")] if annotations else None,
    )
    edf.write(path)
    return path


def test_edf_plus_c_with_labelled_axes_in_g(tmp_path: Path) -> None:
    accel = _accel_g()
    temp = _signal(np.full(accel.shape[0], 33.0), "Temp", "degC")
    signals = [temp] + [
        _signal(accel[:, i], label, "g")
        for i, label in enumerate(["ACC X", "acc_y", "Accel Z (g)"])
    ]
    path = _write(tmp_path / "ankle.edf", signals)
    rec = read_edf(path)
    np.testing.assert_allclose(rec.accel_g, accel, atol=1e-3)
    assert rec.fs_nominal_hz == FS_HZ
    assert rec.t_s[1] == pytest.approx(1 / FS_HZ) and rec.n_samples == FS_HZ * SECONDS
    assert rec.start_utc == dt.datetime(2026, 3, 1, 22, 30, 15, tzinfo=dt.UTC)
    assert (rec.band_id, rec.site) == ("ankle", BodySite.LEFT_ANKLE)


def test_plain_edf_axes_found_by_unit_and_m_per_s2_converted(tmp_path: Path) -> None:
    accel = _accel_g(1)
    signals = [_signal(accel[:, i] * 9.80665, f"chan{i}", "m/s^2") for i in range(3)]
    path = _write(tmp_path / "plain.edf", signals, annotations=False)
    rec = read_edf(path, band_id="b7", site="right_ankle")
    np.testing.assert_allclose(rec.accel_g, accel, atol=1e-3)
    assert (rec.band_id, rec.site) == ("b7", BodySite.RIGHT_ANKLE)


def test_mg_signals_are_converted(tmp_path: Path) -> None:
    accel = _accel_g(2)
    signals = [_signal(accel[:, i] * 1000, axis, "mg") for i, axis in enumerate("xyz")]
    rec = read_edf(_write(tmp_path / "mg.edf", signals))
    np.testing.assert_allclose(rec.accel_g, accel, atol=1e-3)


def test_bdf_is_read(tmp_path: Path) -> None:
    accel = _accel_g(3)
    signals = [_signal(accel[:, i], f"accel_{a}", "g", bdf=True) for i, a in enumerate("xyz")]
    rec = read_edf(_write(tmp_path / "night.bdf", signals))
    np.testing.assert_allclose(rec.accel_g, accel, atol=1e-5)


def test_keywords_override_header(tmp_path: Path) -> None:
    accel = _accel_g()
    path = _write(tmp_path / "a.edf", [_signal(accel[:, i], a, "g") for i, a in enumerate("xyz")])
    start = dt.datetime(2026, 3, 1, 23, 30, 15, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    rec = read_edf(path, start_utc=start, fs_nominal_hz=50)
    assert rec.start_utc == dt.datetime(2026, 3, 1, 22, 30, 15, tzinfo=dt.UTC)
    assert rec.fs_nominal_hz == 50.0


def test_values_in_m_per_s2_labelled_g_fail_the_units_check(tmp_path: Path) -> None:
    accel = _accel_g() * 9.80665
    path = _write(tmp_path / "a.edf", [_signal(accel[:, i], a, "g") for i, a in enumerate("xyz")])
    with pytest.raises(UnitsError, match="m/s\\^2"):
        read_edf(path)


def test_no_recognisable_acceleration_signals(tmp_path: Path) -> None:
    accel = _accel_g()
    signals = [_signal(accel[:, i], f"EEG {i}", "uV") for i in range(3)]
    with pytest.raises(InputFileError) as info:
        read_edf(_write(tmp_path / "eeg.edf", signals))
    message = str(info.value)
    assert "cannot tell which signals are the acceleration" in message
    assert "'EEG 0' [uV]" in message and "eeg.edf" in message


def test_ambiguous_axis_labels(tmp_path: Path) -> None:
    accel = _accel_g()
    signals = [_signal(accel[:, i % 3], label, "") for i, label in enumerate("xyzx")]
    with pytest.raises(InputFileError, match="several signals are labelled as axis x"):
        read_edf(_write(tmp_path / "amb.edf", signals))


def test_different_rates(tmp_path: Path) -> None:
    accel = _accel_g()
    signals = [_signal(accel[:, 0], "x", "g"), _signal(accel[:, 1], "y", "g")]
    signals.append(_signal(accel[::2, 2], "z", "g", fs_hz=FS_HZ / 2))
    with pytest.raises(InputFileError, match="different sampling frequencies"):
        read_edf(_write(tmp_path / "rates.edf", signals))


def test_rate_outside_range(tmp_path: Path) -> None:
    accel = _accel_g()[: 8 * SECONDS]
    signals = [_signal(accel[:, i], a, "g", fs_hz=8.0) for i, a in enumerate("xyz")]
    with pytest.raises(InputFileError, match="8 Hz; legwatch reads 10-400 Hz"):
        read_edf(_write(tmp_path / "slow.edf", signals))


def test_too_short(tmp_path: Path) -> None:
    accel = _accel_g()[: int(FS_HZ * 5)]
    signals = [_signal(accel[:, i], a, "g") for i, a in enumerate("xyz")]
    with pytest.raises(InputFileError, match="only 5 s of data"):
        read_edf(_write(tmp_path / "short.edf", signals))


def test_not_an_edf_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.edf"
    path.write_bytes(b"t_s,x_g,y_g,z_g\n0,0,0,1\n")
    with pytest.raises(InputFileError, match="cannot be read as EDF"):
        read_edf(path)


def _as_edf_plus_d(path: Path, *, move_record_onset: bool) -> Path:
    """Mark an edfio EDF+C file as EDF+D, optionally moving record 3 to start 9 s late."""
    raw = bytearray(path.read_bytes())
    assert raw[192:197] == b"EDF+C"
    raw[192:197] = b"EDF+D"
    if move_record_onset:
        at = raw.index(b"+3\x14\x14", int(raw[184:192]))
        raw[at : at + 4] = b"+9\x14\x14"
    path.write_bytes(bytes(raw))
    return path


def test_discontinuous_edf_plus_d_is_refused_with_advice(tmp_path: Path) -> None:
    accel = _accel_g()
    path = _write(tmp_path / "d.edf", [_signal(accel[:, i], a, "g") for i, a in enumerate("xyz")])
    with pytest.raises(InputFileError) as info:
        read_edf(_as_edf_plus_d(path, move_record_onset=True))
    assert "discontinuous EDF+D" in str(info.value) and "EDF+C" in str(info.value)


def test_contiguous_edf_plus_d_is_read(tmp_path: Path) -> None:
    accel = _accel_g()
    path = _write(tmp_path / "d.edf", [_signal(accel[:, i], a, "g") for i, a in enumerate("xyz")])
    rec = read_edf(_as_edf_plus_d(path, move_record_onset=False))
    assert rec.n_samples == accel.shape[0]


def test_anonymised_start_date_falls_back_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    accel = _accel_g()
    edf = edfio.Edf([_signal(accel[:, i], a, "g") for i, a in enumerate("xyz")])
    path = tmp_path / "anon.edf"
    edf.write(path)
    rec = read_edf(path)
    assert rec.start_utc == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert "no start time" in caplog.text
