"""analyze_night refuses what it cannot measure, with messages that say why."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from legwatch import synth
from legwatch.errors import AnalysisError, ParameterError
from legwatch.nights.analysis import SCHEMA, analyze_night
from legwatch.recording import BodySite, Recording

START = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)


def _quiet(minutes: float, value: tuple[float, float, float] = (0.0, 0.0, 1.0), **kw) -> Recording:  # type: ignore[no-untyped-def]
    fs = 25.0
    n = int(minutes * 60 * fs)
    rng = np.random.default_rng(0)
    t = np.arange(n) / fs
    breathing = 0.005 * np.sin(2 * np.pi * 0.25 * t)  # 5 mg at 15 breaths/min: worn, not on a table
    accel = np.tile(value, (n, 1)) + rng.normal(0, 0.001, (n, 3))
    accel[:, 1] += breathing
    return Recording(accel, np.arange(n) / fs, kw.pop("start", START), fs, **kw)


def test_too_short_night() -> None:
    with pytest.raises(AnalysisError, match=r"lasts 5\.0 min; legwatch needs at least 10 min"):
        analyze_night(_quiet(5))


def test_all_zeros() -> None:
    rec = Recording(np.zeros((20000, 3)), np.arange(20000) / 25.0, START, 25.0)
    with pytest.raises(AnalysisError, match="every sample is zero"):
        analyze_night(rec)


def test_constant_signal() -> None:
    rec = Recording(np.tile([0.0, 0.6, 0.8], (20000, 1)), np.arange(20000) / 25.0, START, 25.0)
    with pytest.raises(AnalysisError, match="never changes"):
        analyze_night(rec)


def test_wrong_units() -> None:
    with pytest.raises(AnalysisError, match=r"m/s\^2 would read ~9\.8"):
        analyze_night(_quiet(20, (0.0, 0.0, 9.81)))


def test_unknown_rule_set() -> None:
    with pytest.raises(ParameterError, match=r"'rules'.*wasm2016, aasm.*'rem'"):
        analyze_night(_quiet(20), rules="rem")


def test_two_bands_that_do_not_overlap() -> None:
    left = _quiet(20, site=BodySite.LEFT_ANKLE)
    right = _quiet(20, site=BodySite.RIGHT_ANKLE, start=START + timedelta(hours=2))
    with pytest.raises(AnalysisError, match="do not overlap"):
        analyze_night([left, right])


def test_two_bands_on_the_same_side() -> None:
    with pytest.raises(ParameterError, match="different sides"):
        analyze_night([_quiet(20), _quiet(20)])


def test_sensitivity_error_is_corrected_and_reported() -> None:
    rec = _quiet(20, (0.0, 0.0, 1.3))
    night = analyze_night(rec)
    assert night.bands[0].gain_correction == pytest.approx(1 / 1.3, rel=1e-3)
    assert any("rescaled" in w for w in night.warnings)


def test_clipping_is_warned_about() -> None:
    rec = _quiet(20)
    accel = rec.accel_g.copy()
    accel[1000:1200, 0] = 8.0  # stuck at +8 g full scale
    night = analyze_night(Recording(accel, rec.t_s, START, 25.0))
    assert any("full scale" in w and "200 samples" in w for w in night.warnings)
    accel = rec.accel_g.copy()
    accel[2000:2300, 2] = -4.0  # at -4 g, the other end of a +/-4 g range
    accel[3000:3010, 1] = 3.0  # a large movement that is not clipped
    night = analyze_night(Recording(accel, rec.t_s, START, 25.0))
    (w,) = [w for w in night.warnings if "full scale" in w]
    assert "300 samples sit at full scale (4.00 g), first at 80.0 s" in w
    assert not any("full scale" in w for w in analyze_night(rec).warnings)


def test_json_is_deterministic_and_complete() -> None:
    cfg = synth.scenario("nominal", 41, hours=1.0)
    rec = synth.simulate_night(cfg).recordings["left"]
    a, b = analyze_night(rec).to_json(), analyze_night(rec).to_json()
    assert a == b
    doc = json.loads(a)
    assert doc["schema"] == SCHEMA
    for key in (
        "rules", "denominator", "analysable_s", "in_bed", "leg_movements", "other_movements",
        "spasms", "series", "indices", "imi_histogram", "quality", "parameters",
    ):  # fmt: skip
        assert key in doc, key
    for key in ("lm_per_h", "clm_per_h", "plm_per_h", "periodicity_index", "short_imi_per_h"):
        assert key in doc["indices"]
    assert doc["indices"]["spasms_per_h"] >= 0
    assert set(doc["indices"]["first_half"]) >= {"lm_per_h", "plm_per_h"}
    assert doc["leg_movements"] and set(doc["leg_movements"][0]) >= {
        "onset_s", "duration_s", "side", "peak_g", "in_series",
    }  # fmt: skip
    assert doc["denominator"]["hours"] == pytest.approx(doc["analysable_s"] / 3600, abs=1e-4)


def test_sleep_window_sets_the_denominator() -> None:
    rec = synth.simulate_night(synth.scenario("nominal", 42, hours=1.0)).recordings["left"]
    start = rec.start_utc
    night = analyze_night(rec, sleep=(start + timedelta(minutes=10), start + timedelta(minutes=40)))
    assert night.analysable_s <= 30 * 60 + 1e-6
    assert "bed times given" in night.denominator
    assert all(10 * 60 <= t < 40 * 60 for t in night.scoring.movements.onset_s)


def test_off_body_skips_only_windows_that_cannot_be_still() -> None:
    """The off-body test computes the std only of windows whose range allows stillness; the
    stretches it finds are those of the std of every window, near the threshold too."""
    from types import SimpleNamespace

    from legwatch.nights.analysis import OFF_BODY_MIN_S, OFF_BODY_STD_MG, _off_body

    rng = np.random.default_rng(11)
    n_s = 3600
    t = np.arange(n_s * 10) / 10.0  # 0.1 s frames
    # one 1 s mean per second: stretches of random spread around the threshold, a few jumps
    spread_mg = np.repeat(rng.choice([0.1, 0.25, 0.29, 0.31, 0.35, 2.0], size=n_s // 300), 300)
    means = rng.normal(0.0, 1.0, (n_s, 3)) * spread_mg[:, None] / 1000.0 / np.sqrt(3) + [0, 0, 1]
    means[rng.integers(0, n_s, 5)] += 0.01
    # and a still stretch where the bound is tight: pairs of opposite steps 61 s apart, so a
    # window holds one pair at most, whose std is 0.98 of the threshold (range / sqrt(2 win))
    h = 0.98 * OFF_BODY_STD_MG * np.sqrt(2 * 60) / 1000.0
    means[1200:1800] = [0.0, 0.0, 1.0]
    for i in range(1210, 1790, 61):
        means[i : i + 2, 0] = [h / 2, -h / 2]
    lp = np.repeat(means, 10, axis=0)
    det = SimpleNamespace(envelope=SimpleNamespace(t_s=t, lp_g=lp))
    view = np.lib.stride_tricks.sliding_window_view(means, 60, axis=0)
    std = np.sqrt((view.std(axis=-1) ** 2).sum(axis=1)) * 1000.0
    still = np.zeros(n_s, dtype=bool)
    for i in np.flatnonzero(std < OFF_BODY_STD_MG):
        still[i : i + 60] = True
    edges = np.flatnonzero(np.diff(np.r_[0, still.astype(np.int8), 0]))
    want = [(float(a), float(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    want = [(a, b) for a, b in want if b - a >= OFF_BODY_MIN_S]
    assert np.sum(np.abs(std - OFF_BODY_STD_MG) < 0.02) > 50  # windows near the threshold
    assert want, "no still stretch: the test would not test"
    assert _off_body(det) == want  # type: ignore[arg-type]


def test_off_body_time_leaves_the_denominator() -> None:
    night_sim = synth.simulate_night(synth.scenario("nominal", 43, hours=2.0))
    off = night_sim.truth.movements.of_kind("off_body")
    night = analyze_night(night_sim.recordings["left"])
    if len(off):
        o0, o1 = off.onset_s[0], off.offset_s[0]
        found = night.to_dict()["quality"]["off_body"]
        assert found, "off-body stretch not found"
        assert abs(found[0]["start_s"] - o0) < 90 and abs(found[0]["end_s"] - o1) < 90
        covered = sum(max(0.0, min(b, o1) - max(a, o0)) for a, b in night.analysable)
        assert covered < 0.2 * (o1 - o0)
