"""Comparisons on a folder of synthetic legwatch.night/1 documents and a diary."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from legwatch import synth
from legwatch.errors import ParameterError
from legwatch.nights.analysis import analyze_night
from legwatch.nights.compare import (
    TRIAL_FILE,
    SavedNight,
    compare_nights,
    create_trial,
    load_trial,
    read_night,
    session_effects,
    trial_allocation,
    trial_comparison,
    trial_status,
)
from legwatch.nights.diary import Diary, DiaryError, EveningContext, SessionEntry
from legwatch.synth.config import TechniqueConfig, TechniqueSession

VERSION = "0.1.0"


def night_doc(
    start: datetime,
    rng: np.random.Generator,
    *,
    plm_per_h: float,
    hours: float = 7.5,
    side: str = "left",
    version: str = VERSION,
    drop: tuple[float, float, float] | None = None,
) -> dict[str, Any]:
    """A minimal legwatch.night/1 document: Poisson PLM onsets, series of five.

    ``drop`` = (session start s, rate factor, duration s) lowers the rate after a session.
    """
    end = hours * 3600.0
    t = np.sort(rng.uniform(0, end, rng.poisson(plm_per_h * hours * 2)))
    level = np.ones_like(t)
    if drop is not None:
        s0, factor, dur = drop
        level[(t >= s0) & (t < s0 + dur)] = factor
    t = t[rng.uniform(size=t.size) < 0.5 * level]
    lms = [{"onset_s": float(x), "duration_s": 1.0, "side": side, "peak_g": 0.05,
            "in_series": True, "is_clm": True} for x in t]  # fmt: skip
    series = [{"onset_s": float(t[i]), "end_s": float(t[min(i + 4, t.size - 1)]), "n": 5,
               "side": side} for i in range(0, t.size, 5)]  # fmt: skip
    rate = t.size / hours
    return {
        "schema": "legwatch.night/1",
        "legwatch_version": version,
        "rules": "wasm2016",
        "denominator": {
            "label": "analysable time in bed (the whole recording, band on)",
            "hours": hours,
        },
        "start_utc": start.isoformat(),
        "recording_s": end,
        "analysable_s": end,
        "bands": [{"band_id": "B1", "side": side}],
        "in_bed": [[0.0, end]],
        "analysable": [[0.0, end]],
        "leg_movements": lms,
        "spasms": [],
        "series": series,
        "indices": {
            "lm_per_h": rate,
            "plm_per_h": rate,
            "spasms_per_h": 0.0,
            "n_lm": t.size,
            "n_plm": t.size,
            "periodicity_index": 0.5,
        },
        "quality": {"off_body": [], "detection_off": [], "gaps": []},
    }


def _start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 22, 30, tzinfo=UTC)


def _write(folder: Path, doc: dict[str, Any]) -> None:
    name = doc["start_utc"][:10] + ".night.json"
    (folder / name).write_text(json.dumps(doc), encoding="utf-8")


RUNIN_FIRST = date(2025, 1, 1)
TRIAL_FIRST = date(2025, 1, 8)


def _runin(folder: Path, rng: np.random.Generator, n: int = 7) -> None:
    for k in range(n):
        rate = 20.0 * float(np.exp(rng.normal(0, 0.3)))
        _write(folder, night_doc(_start(RUNIN_FIRST + timedelta(days=k)), rng, plm_per_h=rate))


def _run_trial(folder: Path, rng: np.random.Generator, n_nights: int, rr: float) -> None:
    """Evening check-in (reveals the allocation, seals), then the night's recording."""
    diary = Diary(folder)
    for k in range(n_nights):
        day = TRIAL_FIRST + timedelta(days=k)
        alloc = trial_allocation(folder, day.isoformat())
        assert alloc is not None and alloc[0] == k
        tech = alloc[1] == "technique"
        diary.seal_evening(
            EveningContext(day.isoformat(), technique_tonight="percussive_spinal_massage"
                           if tech else "none", trial_allocation=alloc[1]),
            now=_start(day) - timedelta(hours=1),
        )  # fmt: skip
        if tech:
            diary.add_session(
                SessionEntry("percussive_spinal_massage", _start(day) + timedelta(hours=1), 180.0,
                             region="mid_back", count=150, performed_by="partner")
            )  # fmt: skip
        rate = 20.0 * float(np.exp(rng.normal(0, 0.3))) * (rr if tech else 1.0)
        _write(folder, night_doc(_start(day), rng, plm_per_h=rate))


def test_trial_plan_status_and_report_find_a_true_reduction(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    _runin(tmp_path, rng)
    setup, plan = create_trial(
        tmp_path, "percussive spinal massage", first_night=TRIAL_FIRST.isoformat(), seed=5
    )
    assert setup.runin_nights[0] == "2025-01-01" and len(setup.runin_nights) == 7
    assert 6 <= plan.n_pairs <= 12
    doc = json.loads((tmp_path / TRIAL_FILE).read_text())
    assert "schedule" not in doc and len(doc["schedule_sha256"]) == 64  # allocation not on disk
    with pytest.raises(DiaryError, match="never overwritten"):
        create_trial(tmp_path, "inversion", first_night=TRIAL_FIRST.isoformat())

    status = trial_status(tmp_path, today=TRIAL_FIRST.isoformat())
    assert status.tonight_index == 0 and "evening check-in" in status.tonight_allocation
    assert status.nights_still_needed == plan.n_nights

    _run_trial(tmp_path, rng, plan.n_nights, rr=0.35)
    end = (TRIAL_FIRST + timedelta(days=plan.n_nights)).isoformat()
    res = trial_comparison(tmp_path, today=end)
    assert res.kind == "trial" and res.trial is not None
    assert res.verdict == "likely fewer", res.summary()
    assert res.ci95[0] < 0.35 < res.ci95[1] or abs(np.log(res.rate_ratio / 0.35)) < 0.3
    assert res.n_technique == res.n_control == plan.n_pairs
    assert "likely between" in res.effect_text()
    # the within-night analysis of the trial's massage sessions is there too
    assert len(res.within) == plan.n_pairs
    st = trial_status(tmp_path, today=end)
    assert st.nights_done == plan.n_nights and st.nights_still_needed == 0


def test_edited_trial_file_is_refused(tmp_path: Path) -> None:
    _runin(tmp_path, np.random.default_rng(2))
    create_trial(tmp_path, "inversion", first_night=TRIAL_FIRST.isoformat(), seed=3)
    path = tmp_path / TRIAL_FILE
    doc = json.loads(path.read_text())
    doc["seed"] = 4
    path.write_text(json.dumps(doc))
    with pytest.raises(DiaryError, match="does not match the hash"):
        load_trial(tmp_path)


def test_few_pairs_say_too_early_and_exclusions_are_listed(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    _runin(tmp_path, rng)
    _, _plan = create_trial(tmp_path, "inversion", first_night=TRIAL_FIRST.isoformat(), seed=1)
    _run_trial(tmp_path, rng, 8, rr=0.5)  # four pairs only
    # night 3: a short night; night 4: another leg; night 5: another legwatch version
    for k, kw in ((2, {"hours": 3.0}), (3, {"side": "right"}), (4, {"version": "9.9"})):
        day = TRIAL_FIRST + timedelta(days=k)
        _write(tmp_path, night_doc(_start(day), rng, plm_per_h=20.0, **kw))  # type: ignore[arg-type]
    (tmp_path / "2025-01-14.night.json").unlink()  # night 7: no recording saved
    res = trial_comparison(tmp_path, today=(TRIAL_FIRST + timedelta(days=8)).isoformat())
    assert res.verdict == "too early"
    text = res.summary()
    assert "p < 0.05 is impossible yet" in text
    reasons = {p.night: p.reason for p in res.excluded}
    assert reasons["2025-01-10"].startswith("< 4 h analysable")
    assert reasons["2025-01-11"].startswith("leg switched")
    assert reasons["2025-01-12"].startswith("algorithm version changed")
    assert reasons["2025-01-14"] == "no recording saved"
    for night in reasons:
        assert night in text
    assert not np.isfinite(res.rate_ratio)  # no aggregate below 3 nights per condition


def test_observational_compare_is_labelled_weak(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    diary = Diary(tmp_path)
    for k in range(12):
        day = RUNIN_FIRST + timedelta(days=k)
        tech = k % 3 == 0
        if tech:
            diary.add_session(SessionEntry("skin rolling", _start(day) - timedelta(minutes=20),
                                           300.0, performed_by="partner"))  # fmt: skip
        _write(tmp_path, night_doc(_start(day), rng, plm_per_h=10.0 if tech else 25.0))
    res = compare_nights(tmp_path, "skin_rolling")
    assert res.kind == "observational" and (res.n_technique, res.n_control) == (4, 8)
    assert res.verdict == "likely fewer"
    assert "weak evidence: not randomised" in res.summary()
    assert "trial plan" in res.summary()
    few = compare_nights(tmp_path, "inversion")
    assert few.verdict == "too early" and few.n_technique == 0
    with pytest.raises(ParameterError, match="measure"):
        compare_nights(tmp_path, "skin_rolling", measure="kicks")


def test_too_few_runin_nights(tmp_path: Path) -> None:
    _runin(tmp_path, np.random.default_rng(1), n=3)
    with pytest.raises(ParameterError, match="at least 4 analysable nights"):
        create_trial(tmp_path, "inversion", first_night=TRIAL_FIRST.isoformat())


def test_within_night_recovers_a_simulated_drop_and_its_duration(tmp_path: Path) -> None:
    """The simulator's technique session: LM rate x0.1 for 2 h after a massage at 1.5 h."""
    cfg = synth.scenario("technique", 3, hours=5.0, rate_hz=25.0)
    cfg = dataclasses.replace(
        cfg,
        technique=TechniqueConfig(sessions=(TechniqueSession(start_s=5400.0),),
                                  effect_factor=0.1, effect_duration_s=7200.0),
    )  # fmt: skip
    sim = synth.simulate_night(cfg)
    night = analyze_night(list(sim.recordings.values()))
    path = tmp_path / "sim.night.json"
    path.write_text(night.to_json(), encoding="utf-8")
    saved: SavedNight = read_night(path)
    session = SessionEntry(
        "percussive_spinal_massage",
        night.start_utc + timedelta(seconds=5400.0),
        180.0,
        region="mid_back",
    )
    from legwatch.nights.compare import WithinNightParams

    (eff,) = session_effects([saved], [session], WithinNightParams(after_s=7200.0))
    lm = eff.results["lm"].comparison
    assert lm.rate_ratio < 0.4 and lm.ci95[1] < 0.7, lm
    # PLM series come back only after the simulated relief ends (2 h after the session)
    ttf = eff.time_to_first_series_s
    wide = session_effects([saved], [session])[0]
    assert ttf is None or ttf > 6000.0
    assert wide.time_to_first_series_s is not None
    assert 6000.0 < wide.time_to_first_series_s < 4 * 3600.0
