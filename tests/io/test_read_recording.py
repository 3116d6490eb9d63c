"""read_recording picks the reader from the suffix and refuses unknown ones clearly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import edfio
import numpy as np
import pytest

from legwatch.errors import InputFileError
from legwatch.io import SUPPORTED_SUFFIXES, read_recording, write_csv
from legwatch.recording import BodySite, Recording


def _night() -> Recording:
    rng = np.random.default_rng(11)
    return Recording(
        accel_g=rng.normal(0, 0.01, (1500, 3)) + np.array([0.0, 0.0, 1.0]),
        t_s=np.arange(1500) / 50.0,
        start_utc=datetime(2026, 3, 1, 22, 0, tzinfo=UTC),
        fs_nominal_hz=50.0,
        band_id="n1",
    )


def test_csv_by_suffix_in_any_case_with_keywords(tmp_path: Path) -> None:
    path = write_csv(_night(), tmp_path / "night.CSV")
    rec = read_recording(path, site=BodySite.RIGHT_ANKLE)
    assert (rec.n_samples, rec.band_id, rec.site) == (1500, "n1", BodySite.RIGHT_ANKLE)


def test_edf_by_suffix(tmp_path: Path) -> None:
    night = _night()
    signals = [
        edfio.EdfSignal(night.accel_g[:, i], 50.0, label=f"accel_{a}", physical_dimension="g")
        for i, a in enumerate("xyz")
    ]
    path = tmp_path / "night.edf"
    edfio.Edf(signals, recording=edfio.Recording(startdate=datetime(2026, 3, 1).date())).write(path)
    rec = read_recording(str(path), band_id="from-edf")
    assert (rec.n_samples, rec.band_id) == (1500, "from-edf")


@pytest.mark.parametrize("name", ["night.parquet", "night", "night.csv.gz"])
def test_unknown_suffix_lists_what_is_supported(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("whatever")
    with pytest.raises(InputFileError) as info:
        read_recording(path)
    message = str(info.value)
    assert "unsupported file type" in message and name in message
    assert all(suffix in message for suffix in (".csv", ".edf", ".bdf", ".sqlite"))
    assert SUPPORTED_SUFFIXES == (".csv", ".edf", ".bdf", ".sqlite")


def test_a_recorded_night_reads_by_file_or_folder(tmp_path: Path) -> None:
    """The collector's store is one more input: read_recording accepts it like a CSV."""
    from legwatch.band.legwatch_v1 import BandPacket, encode_packet
    from legwatch.collect import open_or_resume

    rng = np.random.default_rng(5)
    counts = np.tile([0, 0, 4096], (26 * 200, 1)) + rng.integers(-8, 8, (26 * 200, 3))
    with open_or_resume(tmp_path, "2026-03-01") as store:
        store.register_band("b1", "left_ankle")
        for k in range(200):
            pkt = BandPacket(
                flags=0, sequence=k, first_sample_index=26 * k, device_time_us=k * 250_000,
                rate_code=4, range_code=2, battery_pct=90,
                samples=counts[26 * k : 26 * (k + 1)].astype(np.int16),
            )  # fmt: skip
            store.append_packet("b1", 1_000_000_000 + k * 250_000_000, encode_packet(pkt))
    night_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    by_folder = read_recording(night_dir)
    by_file = read_recording(night_dir / "night.sqlite")
    assert by_folder.n_samples == by_file.n_samples == 26 * 200
    assert np.allclose(by_folder.accel_g[:, 2], 1.0, atol=0.01)
