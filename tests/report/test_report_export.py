"""EDF+C and CSV exports: samples and every event survive a round trip through edfio."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import replace
from pathlib import Path

import edfio
import numpy as np
import pytest

from legwatch import synth
from legwatch.errors import ParameterError
from legwatch.nights.analysis import NightAnalysis, analyze_night
from legwatch.recording import Recording
from legwatch.report import export_edf, export_events_csv

FS_HZ = 25.0
SESSIONS = [(600.0, 180.0, "percussive massage")]
GAP = (2000, 2300)  # sample indices [i, j) removed: a 12 s gap


@pytest.fixture(scope="module")
def sim() -> synth.SimulatedNight:
    return synth.simulate_night(synth.scenario("nominal", 5, hours=1.0, rate_hz=FS_HZ))


@pytest.fixture(scope="module")
def on_grid(sim: synth.SimulatedNight) -> Recording:
    """The simulated band's samples placed exactly on the nominal grid, with one gap."""
    rec = sim.recordings["left"]
    keep = np.ones(rec.n_samples, dtype=bool)
    keep[GAP[0] : GAP[1]] = False
    t = np.arange(rec.n_samples) / FS_HZ
    return replace(rec, accel_g=rec.accel_g[keep], t_s=t[keep], gaps=())


@pytest.fixture(scope="module")
def night(on_grid: Recording) -> NightAnalysis:
    return analyze_night(on_grid)


def _read(path: Path) -> edfio.Edf:
    return edfio.read_edf(path)


def test_samples_round_trip_within_one_step(
    night: NightAnalysis, on_grid: Recording, tmp_path: Path
) -> None:
    out = export_edf(night, on_grid, tmp_path / "n.edf", sessions=SESSIONS)
    edf = _read(out.path)
    assert edf.labels == ("Accel X left", "Accel Y left", "Accel Z left")
    peak_mg = np.abs(on_grid.accel_g).max() * 1000.0
    assert out.range_mg == 4000.0 and 2000.0 < peak_mg <= 4000.0  # smallest standard range
    k = np.rint(on_grid.t_s * FS_HZ).astype(int)
    for axis, sig in enumerate(edf.signals):
        assert sig.physical_dimension == "mg"
        assert (sig.physical_min, sig.physical_max) == (-4000.0, 4000.0)
        assert sig.sampling_frequency == FS_HZ
        err = np.abs(sig.data[k] - on_grid.accel_g[:, axis] * 1000.0)
        assert err.max() <= out.step_mg
        # the gap is filled with zeros
        assert np.all(sig.data[GAP[0] : GAP[1]] == 0.0)
    assert edf.startdatetime == night.start_utc.replace(tzinfo=None)


def test_every_event_annotated_with_onset_and_duration(
    night: NightAnalysis, on_grid: Recording, tmp_path: Path
) -> None:
    out = export_edf(night, on_grid, tmp_path / "n.edf", sessions=SESSIONS)
    got = Counter(
        (a.text, round(a.onset, 3), round(a.duration or 0.0, 3))
        for a in _read(out.path).annotations
    )
    want: list[tuple[str, float, float]] = []
    mv = night.leg_movements
    assert len(mv) > 10 and len(night.scoring.series) > 0  # a night worth checking
    for i in range(len(mv)):
        text = f"LM left{' in PLM series' if mv.props['in_series'][i] else ''}"
        want.append((text, mv.onset_s[i], mv.duration_s[i]))
    se = night.scoring.series
    want += [
        (f"PLM series {se.side[i]} n={se.props['n'][i]}", se.onset_s[i], se.duration_s[i])
        for i in range(len(se))
    ]
    sp = night.spasms
    want += [(f"spasm {sp.side[i]}", sp.onset_s[i], sp.duration_s[i]) for i in range(len(sp))]
    want.append(("technique: percussive massage", 600.0, 180.0))
    # the gap: grid points strictly between the samples on either side of it
    want.append(("gap left", (GAP[0]) / FS_HZ, (GAP[1] - GAP[0]) / FS_HZ))
    for text, onset, duration in want:
        key = (text, round(float(onset), 3), round(float(duration), 3))
        assert got[key] >= 1, key
    assert sum(got.values()) == out.n_annotations


def test_jittered_band_is_resampled_linearly(sim: synth.SimulatedNight, tmp_path: Path) -> None:
    rec = sim.recordings["left"]  # drifting, jittered clock (effective rate != nominal)
    assert abs(rec.fs_effective_hz - FS_HZ) > 0.01
    night = analyze_night(rec)
    out = export_edf(night, rec, tmp_path / "j.edf")
    sig = _read(out.path).signals[2]
    grid = np.arange(sig.data.size) / FS_HZ
    inside = grid <= rec.t_s[-1]
    for g in rec.gaps:
        inside &= ~((grid > g.start_s) & (grid < g.end_s))
    want = np.interp(grid[inside], rec.t_s, rec.accel_g[:, 2]) * 1000.0
    assert np.abs(sig.data[inside] - want).max() <= out.step_mg
    assert np.all(sig.data[~inside] == 0.0)


def test_two_bands_give_six_channels(tmp_path: Path) -> None:
    sim = synth.simulate_night(synth.scenario("bilateral", 3, hours=1.0, rate_hz=FS_HZ))
    night = analyze_night(sim.recordings)
    edf = _read(export_edf(night, sim.recordings, tmp_path / "b.edf").path)
    assert [s.label for s in edf.signals] == [
        f"Accel {a} {side}" for side in ("left", "right") for a in "XYZ"
    ]
    sides = {a.text.split()[1] for a in edf.annotations if a.text.startswith("LM ")}
    assert sides <= {"left", "right", "bilateral"} and "bilateral" in sides


def test_range_and_band_checks(night: NightAnalysis, on_grid: Recording, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="range_mg"):
        export_edf(night, on_grid, tmp_path / "x.edf", range_mg=2000.0)
    other = replace(on_grid, band_id="someone-else")
    with pytest.raises(ParameterError, match="someone-else"):
        export_edf(night, other, tmp_path / "x.edf")
    out = export_edf(night, on_grid, tmp_path / "x.edf", range_mg=10000.0)
    assert _read(out.path).signals[0].physical_max == 10000.0


def test_events_csv(night: NightAnalysis, tmp_path: Path) -> None:
    path = export_events_csv(night, tmp_path / "events.csv", sessions=SESSIONS)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    kinds = Counter(r["kind"] for r in rows)
    assert kinds["lm"] == night.indices["n_lm"]
    assert kinds["plm_series"] == night.indices["n_series"]
    assert kinds["spasm"] == len(night.spasms)
    assert kinds["technique_session"] == 1
    assert sum(kinds.values()) == (
        len(night.leg_movements) + len(night.scoring.series) + len(night.spasms)
        + len(night.other_movements) + 1
    )  # fmt: skip
    onsets = [float(r["onset_s"]) for r in rows]
    assert onsets == sorted(onsets)
    lms = [r for r in rows if r["kind"] == "lm"]
    assert sum(int(r["in_plm_series"]) for r in lms) == night.indices["n_plm"]
    first = lms[0]
    assert float(first["end_s"]) == pytest.approx(
        float(first["onset_s"]) + float(first["duration_s"]), abs=2e-3
    )
