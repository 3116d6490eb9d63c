"""write_csv -> read_csv keeps the data within the format's precision and the metadata exactly."""

from __future__ import annotations

import logging
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from legwatch.io import read_csv, write_csv
from legwatch.recording import BodySite, Recording


def _night(seconds: float = 60.0, fs_hz: float = 50.0, seed: int = 1) -> Recording:
    rng = np.random.default_rng(seed)
    n = int(seconds * fs_hz)
    t_s = np.arange(n) / fs_hz + rng.uniform(0.0, 2e-3, n)
    t_s[n // 2 :] += 3.0  # a 3 s gap in the middle
    accel_g = rng.normal(0.0, 0.05, (n, 3)) + np.array([0.1, -0.3, 0.95])
    return Recording(
        accel_g=accel_g,
        t_s=t_s,
        start_utc=datetime(2026, 3, 1, 22, 15, 30, 250000, tzinfo=UTC),
        fs_nominal_hz=fs_hz,
        band_id="xiao-7F:3A",
        site=BodySite.RIGHT_ANKLE,
    )


def test_round_trip_keeps_arrays_within_precision_and_metadata_exactly(tmp_path: Path) -> None:
    original = _night()
    back = read_csv(write_csv(original, tmp_path / "night.csv"))
    np.testing.assert_allclose(back.t_s, original.t_s, rtol=0, atol=0.5e-4 + 1e-9)
    np.testing.assert_allclose(back.accel_g, original.accel_g, rtol=0, atol=0.5e-5 + 1e-9)
    assert back.start_utc == original.start_utc
    assert back.band_id == original.band_id
    assert back.site is BodySite.RIGHT_ANKLE
    assert back.fs_nominal_hz == original.fs_nominal_hz
    assert [(round(g.start_s, 3), round(g.end_s, 3)) for g in back.gaps] == [
        (round(g.start_s, 3), round(g.end_s, 3)) for g in original.gaps
    ]
    assert len(back.gaps) == 1


def test_same_recording_gives_byte_identical_files(tmp_path: Path) -> None:
    night = _night(seed=5)
    a = write_csv(night, tmp_path / "a.csv").read_bytes()
    b = write_csv(night, tmp_path / "b.csv").read_bytes()
    assert a == b
    assert b"\r" not in a


def test_written_layout_is_the_documented_format(tmp_path: Path) -> None:
    night = Recording(
        accel_g=np.tile([0.0, -0.000001, 1.0], (1000, 1)),
        t_s=np.arange(1000) / 100.0,
        start_utc=datetime(2026, 3, 1, 23, 0, tzinfo=timezone(timedelta(hours=1))),
        fs_nominal_hz=100.0,
        band_id="b1",
    )
    lines = write_csv(night, tmp_path / "n.csv").read_text().split("\n")
    assert lines[:6] == [
        "# start_utc=2026-03-01T22:00:00+00:00",
        "# band_id=b1",
        "# site=left_ankle",
        "# fs_nominal_hz=100.0",
        "t_s,x_g,y_g,z_g",
        "0.0000,0.00000,-0.00000,1.00000",
    ]
    assert lines[-2] == "9.9900,0.00000,-0.00000,1.00000"
    assert lines[-1] == ""  # the file ends with a newline


def test_file_is_private_to_its_owner_even_when_replacing(tmp_path: Path) -> None:
    target = tmp_path / "night.csv"
    target.write_text("old")
    target.chmod(0o644)
    write_csv(_night(), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["night.csv"]  # no temporary file left


def test_keywords_override_file_metadata(tmp_path: Path) -> None:
    path = write_csv(_night(), tmp_path / "night.csv")
    start = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    back = read_csv(path, start_utc=start, band_id="other", site="left-wrist", fs_nominal_hz=52)
    assert (back.start_utc, back.band_id, back.site, back.fs_nominal_hz) == (
        start,
        "other",
        BodySite.LEFT_WRIST,
        52.0,
    )


def test_defaults_without_metadata(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(3)
    t_s = np.arange(2000) / 104.0 * 1.004  # a band running 0.4 % slow of its 104 Hz
    rows = [
        f"{t:.4f},{x:.5f},{y:.5f},{z:.5f}"
        for t, (x, y, z) in zip(
            t_s, rng.normal(0, 0.01, (2000, 3)) + np.array([0, 0, 1]), strict=True
        )
    ]
    path = tmp_path / "ankle_band_7.csv"
    path.write_text("t_s,x_g,y_g,z_g\r\n" + "\r\n".join(rows) + "\r\n")
    with caplog.at_level(logging.WARNING, logger="legwatch.io"):
        rec = read_csv(path)
    assert rec.start_utc == datetime(1970, 1, 1, tzinfo=UTC)
    assert "start_utc" in caplog.text
    assert rec.band_id == "ankle_band_7"
    assert rec.site is BodySite.LEFT_ANKLE
    assert rec.fs_nominal_hz == 104.0
    assert rec.n_samples == 2000


def test_unrounded_rate_is_kept_to_a_tenth_of_a_hertz(tmp_path: Path) -> None:
    t_s = np.arange(3000) / 73.37
    rows = "".join(f"{t:.4f},0.00000,0.00000,1.00000\n" for t in t_s)
    path = tmp_path / "odd.csv"
    path.write_text("# start_utc=2026-03-01T22:00:00Z\nt_s,x_g,y_g,z_g\n" + rows)
    rec = read_csv(path)
    assert rec.fs_nominal_hz == 73.4
    assert rec.start_utc == datetime(2026, 3, 1, 22, 0, tzinfo=UTC)


def test_rate_from_bimodal_steps_is_still_a_number(tmp_path: Path) -> None:
    # Alternating 1 ms and 100 ms steps: no step lies near the median one.
    t_s = np.concatenate([[0.0], np.cumsum(np.tile([0.001, 0.1], 200))])
    rows = "".join(f"{t:.4f},0.00000,0.00000,1.00000\n" for t in t_s)
    path = tmp_path / "bimodal.csv"
    path.write_text("t_s,x_g,y_g,z_g\n" + rows)
    assert read_csv(path).fs_nominal_hz == 20.0  # 1 / median step (50.5 ms), snapped


@pytest.mark.parametrize("band_id", ["two\nlines", " padded", "tab\there"])
def test_writer_refuses_band_ids_that_cannot_be_stored(tmp_path: Path, band_id: str) -> None:
    from dataclasses import replace

    from legwatch.errors import ParameterError

    with pytest.raises(ParameterError, match="band_id"):
        write_csv(replace(_night(), band_id=band_id), tmp_path / "x.csv")
    assert not list(tmp_path.iterdir())


def test_writer_refuses_samples_closer_than_the_time_resolution(tmp_path: Path) -> None:
    from legwatch.errors import ParameterError

    night = _night()
    t_s = night.t_s.copy()
    t_s[10] = t_s[9] + 2e-5
    close = Recording(accel_g=night.accel_g, t_s=t_s, start_utc=night.start_utc, fs_nominal_hz=50)
    with pytest.raises(ParameterError, match="samples 9 and 10"):
        write_csv(close, tmp_path / "x.csv")
