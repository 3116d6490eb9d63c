"""Nightly indices: rates, half nights, periodicity index, IMI histogram, respiratory events."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from legwatch.errors import ParameterError
from legwatch.events import EventTable
from legwatch.scoring import RULE_SETS, RuleSet, get_rules, rate_per_h, score_leg_movements
from legwatch.scoring.indices import imi_histogram, periodicity_index

NIGHT = [(0.0, 3600.0)]
S = 1_000_000  # microseconds per second


def lms(onsets_s, duration_s=1.0, side="unknown") -> EventTable:
    durations = duration_s if isinstance(duration_s, list) else [duration_s] * len(onsets_s)
    return EventTable.from_records(
        [
            {"onset_s": o, "duration_s": d, "kind": "lm", "side": side}
            for o, d in zip(onsets_s, durations, strict=True)
        ]
    )


def resp(*events: tuple[float, float]) -> EventTable:
    return EventTable.from_records(
        [{"onset_s": a, "duration_s": b - a, "kind": "apnea", "side": "unknown"} for a, b in events]
    )


# -- rule sets and errors -------------------------------------------------------------------
def test_rule_sets_and_unknown_name() -> None:
    assert RULE_SETS == ("wasm2016", "aasm")
    assert get_rules("WASM2016").imi_min_s == 10.0
    assert get_rules("aasm").imi_min_s == 5.0
    custom = RuleSet(name="custom", imi_max_s=60.0)
    assert get_rules(custom) is custom
    with pytest.raises(ParameterError, match="wasm2016, aasm"):
        get_rules("ics3")


def test_rate_needs_positive_exposure() -> None:
    assert rate_per_h(6, 2.0) == 3.0
    with pytest.raises(ParameterError, match="exposure_h"):
        rate_per_h(1, 0.0)


@pytest.mark.parametrize(
    "analysable",
    [[], [(10.0, 10.0)], [(0.0, 100.0), (50.0, 200.0)], [(100.0, 200.0), (0.0, 50.0)]],
)
def test_bad_or_empty_analysable_time_is_a_parameter_error(analysable) -> None:
    with pytest.raises(ParameterError, match="analysable"):
        score_leg_movements(lms([1.0]), analysable)


def test_empty_night_gives_zero_rates_not_errors() -> None:
    s = score_leg_movements(EventTable.empty(), [(0.0, 7200.0)])
    assert s.exposure_h == 2.0
    assert s.indices["n_lm"] == 0 and s.indices["plm_per_h"] == 0.0
    assert math.isnan(s.indices["periodicity_index"])
    assert math.isnan(s.indices["plm_over_clm"])
    assert len(s.series) == 0


# -- half nights ----------------------------------------------------------------------------
def test_half_night_indices_use_each_half_s_own_analysable_hours() -> None:
    # 0.5 h + 1.5 h analysable = 2 h; half (1 h) is reached at 5400 s, inside the 2nd interval
    analysable = [(0.0, 1800.0), (3600.0, 9000.0)]
    isolated = [100.0, 300.0, 500.0, 700.0, 900.0, 1100.0]  # 200 s apart: isolated
    series = [3600.0, 3620.0, 3640.0, 3660.0]
    late = [6000.0, 7000.0]
    s = score_leg_movements(lms(isolated + series + late), analysable)
    assert s.half_split_s == 5400.0
    assert s.exposure_h == 2.0
    assert s.indices["lm_per_h"] == 6.0
    assert s.indices["lm_per_h_first_half"] == 10.0  # 10 LMs in 1 h
    assert s.indices["lm_per_h_second_half"] == 2.0
    assert s.indices["plm_per_h_first_half"] == 4.0
    assert s.indices["plm_per_h_second_half"] == 0.0
    assert s.indices["isolated_lm_per_h"] == 4.0  # 8 isolated LMs / 2 h


# -- periodicity index ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("imis_s", "expected"),
    [
        # one run of three 10-90 s IMIs: all 3 of 3 count
        ([20, 20, 20], 1.0),
        # a run of two is too short: 0 of 2
        ([20, 20], 0.0),
        # run of 3, a 5 s IMI, then a lone 20 s: 3 of 5
        ([20, 20, 20, 5, 20], 0.6),
        # inclusive bounds 10 and 90 make a run of 3; 90.001 breaks; 20, 20 is too short: 3 of 6
        ([10, 90, 10, 90.001, 20, 20], 0.5),
        # a break in analysable time (None) splits 4 into 2 + 2 and is not counted: 0 of 4
        ([20, 20, None, 20, 20], 0.0),
        ([], math.nan),
    ],
)
def test_periodicity_index_worked_examples(imis_s, expected: float) -> None:
    imis_us = [None if v is None else round(v * S) for v in imis_s]
    result = periodicity_index(imis_us)
    if math.isnan(expected):
        assert math.isnan(result)
    else:
        assert result == pytest.approx(expected)


def test_ferri_pi_and_somas_ratio_differ() -> None:
    # IMIs 20, 20, 20, 5, 20, 20, 20. Ferri PI: 6 of 7 IMIs in runs of >= 3.
    # Both halves are series (the short-IMI CLM starts the second), so PLM/CLM = 8/8.
    s = score_leg_movements(lms([0.0, 20.0, 40.0, 60.0, 65.0, 85.0, 105.0, 125.0]), NIGHT)
    assert s.indices["periodicity_index"] == pytest.approx(6 / 7)
    assert s.indices["plm_over_clm"] == 1.0


# -- IMI histogram --------------------------------------------------------------------------
def test_imi_histogram_somas_convention() -> None:
    # CLMs at 0, 1.5, 11.5, 101.5, 121.5; a non-CLM (10.5 s) at 125; a CLM at 140.
    # IMIs: 1.5, 10, 90 (not < 90: out), 20, then 3.5 and 15 touch the non-CLM: skipped.
    onsets = [0.0, 1.5, 11.5, 101.5, 121.5, 125.0, 140.0]
    durations = [1.0, 1.0, 1.0, 1.0, 1.0, 10.5, 1.0]
    h = score_leg_movements(lms(onsets, durations), NIGHT).imi_histogram
    assert h["n"] == 3
    assert len(h["linear_edges_s"]) == 46 and h["linear_edges_s"][-1] == 90.0
    counts = np.array(h["linear_counts"])
    assert counts.sum() == 3
    assert counts[0] == 1 and counts[5] == 1 and counts[10] == 1  # [0,2) [10,12) [20,22)
    log_counts = np.array(h["log_counts"])
    assert len(h["log_edges"]) == 46 and h["log_edges"][-1] == 4.5
    # ln 1.5 = 0.405 -> bin 4; ln 10 = 2.303 -> bin 23; ln 20 = 2.996 -> bin 29
    assert np.flatnonzero(log_counts).tolist() == [4, 23, 29]
    assert h["ln_imi_mean"] == pytest.approx((math.log(10) + math.log(20)) / 2)
    assert h["ln_imi_sd"] == pytest.approx(math.log(2) / math.sqrt(2))  # sample SD of 2 values


def test_imi_histogram_drops_90_s_and_keeps_89_999() -> None:
    h = imi_histogram([90 * S, 89_999_000])
    assert h["n"] == 1 and h["linear_counts"][-1] == 1


# -- respiratory events ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("onset_s", "duration_s", "flagged"),
    [
        (117.0, 0.999, False),  # ends 1 ms before the window (118 s)
        (117.0, 1.0, True),  # ends exactly at end - 2.0 s
        (130.25, 1.0, True),  # starts exactly at end + 10.25 s
        (130.251, 1.0, False),
        (110.0, 1.0, False),  # during the event but before the window: WASM looks at the end
    ],
)
def test_wasm_clmr_window(onset_s: float, duration_s: float, flagged: bool) -> None:
    s = score_leg_movements(lms([onset_s], duration_s), NIGHT, respiratory=resp((100.0, 120.0)))
    assert s.movements.props["respiratory"].tolist() == [flagged]
    assert s.indices["n_clm_r"] == int(flagged)
    assert s.indices["n_clm"] == 1  # a CLMr is still a CLM


def test_wasm_plm_index_keeps_clmr_and_plm_nr_is_beside_it() -> None:
    onsets = [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    # apnea ending at 19 s: window 17-29.25 s catches the CLM at 20 s
    s = score_leg_movements(lms(onsets), NIGHT, respiratory=resp((5.0, 19.0)))
    assert s.movements.props["respiratory"].tolist() == [False, True] + [False] * 4
    assert s.indices["plm_per_h"] == 6.0
    assert s.indices["plm_nr_per_h"] == 4.0  # 0 alone, then 40..100 (the CLMr breaks)


def test_no_respiratory_information_gives_nan_plm_nr() -> None:
    s = score_leg_movements(lms([0.0, 20.0, 40.0, 60.0]), NIGHT)
    assert math.isnan(s.indices["plm_nr_per_h"])
    empty = score_leg_movements(lms([0.0, 20.0, 40.0, 60.0]), NIGHT, respiratory=resp())
    assert empty.indices["plm_nr_per_h"] == 4.0


@pytest.mark.parametrize(
    ("onset_s", "duration_s", "excluded"),
    [
        (97.0, 2.499, False),  # ends 1 ms before 99.5 s
        (97.0, 2.5, True),  # ends at onset - 0.5 s
        (110.0, 1.0, True),  # during the event
        (120.5, 1.0, True),  # starts at end + 0.5 s
        (120.501, 1.0, False),
    ],
)
def test_aasm_respiratory_exclusion_window(onset_s, duration_s, excluded: bool) -> None:
    s = score_leg_movements(
        lms([onset_s], duration_s), NIGHT, rules="aasm", respiratory=resp((100.0, 120.0))
    )
    assert s.movements.props["is_lm"].tolist() == [not excluded]
    assert s.indices["n_lm"] == int(not excluded)


def test_aasm_excluded_lm_is_skipped_by_the_series() -> None:
    # the LM at 30 s lies in an apnea (28-32 s); AASM does not score it
    s = score_leg_movements(
        lms([0.0, 20.0, 30.0, 40.0, 60.0]), NIGHT, rules="aasm", respiratory=resp((28.0, 32.0))
    )
    assert s.movements.props["series_id"].tolist() == [0, 0, -1, 0, 0]
    assert s.indices["n_lm"] == 4
    assert s.indices["plm_nr_per_h"] == s.indices["plm_per_h"] == 4.0


# -- output ---------------------------------------------------------------------------------
def test_to_dict_is_json_ready_and_states_denominator() -> None:
    s = score_leg_movements(lms([0.0, 20.0, 40.0, 60.0]), NIGHT, denominator="diary sleep time")
    d = s.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert list(d)[:6] == [
        "legwatch_version",
        "rules",
        "rule_parameters",
        "denominator",
        "exposure_h",
        "half_split_s",
    ]
    assert d["denominator"] == "diary sleep time"
    assert d["indices"]["plm_nr_per_h"] is None  # NaN -> None
    assert d["movements"][0]["imi_s"] is None
    assert d["movements"][1]["imi_s"] == 20.0
    assert d["rule_parameters"]["imi_max_s"] == 90.0
    assert json.loads(text)["series"][0]["n"] == 4
