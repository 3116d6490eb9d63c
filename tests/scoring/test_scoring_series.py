"""PLM series boundaries: IMI bounds, series breaks, analysable-time breaks, WASM vs AASM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from legwatch.events import EventTable
from legwatch.scoring import Scoring, score_leg_movements

NIGHT = [(0.0, 3600.0)]


def lms(onsets_s: list[float], duration_s: float | list[float] = 1.0, side: str = "unknown"):
    durations = duration_s if isinstance(duration_s, list) else [duration_s] * len(onsets_s)
    return EventTable.from_records(
        [
            {"onset_s": o, "duration_s": d, "kind": "lm", "side": side}
            for o, d in zip(onsets_s, durations, strict=True)
        ]
    )


def score(onsets_s, duration_s=1.0, analysable=NIGHT, rules="wasm2016") -> Scoring:
    return score_leg_movements(lms(onsets_s, duration_s), analysable, rules=rules)


def series_ids(s: Scoring) -> list[int]:
    return s.movements.props["series_id"].tolist()


@pytest.mark.parametrize(
    ("imi_s", "periodic"),
    [(10.0, True), (90.0, True), (9.999, False), (90.001, False), (45.0, True)],
)
def test_wasm_imi_bounds_are_inclusive(imi_s: float, periodic: bool) -> None:
    s = score([100.0 + k * imi_s for k in range(4)])
    assert s.indices["n_plm"] == (4 if periodic else 0)
    assert s.indices["n_series"] == (1 if periodic else 0)


def test_float_imi_just_under_10_s_is_still_periodic() -> None:
    onsets = [25.559, 35.559, 45.559, 55.559]
    assert 35.559 - 25.559 < 10.0  # the trap: naive float comparison would reject it
    s = score(onsets)
    assert series_ids(s) == [0, 0, 0, 0]
    np.testing.assert_array_equal(s.movements.props["imi_s"][1:], [10.0, 10.0, 10.0])
    assert not s.movements.props["short_imi"].any()


def test_series_of_three_is_not_a_series() -> None:
    s = score([0.0, 20.0, 40.0])
    assert s.indices["n_plm"] == 0
    assert s.indices["n_series"] == 0
    assert s.indices["isolated_lm_per_h"] == 3.0  # 3 LMs in 1 h, none in a series


def test_series_reaching_the_last_lm_keeps_it() -> None:
    s = score([0.0, 20.0, 40.0, 60.0])
    assert series_ids(s) == [0, 0, 0, 0]
    assert len(s.series) == 1
    assert s.series.onset_s[0] == 0.0
    assert s.series.duration_s[0] == pytest.approx(61.0)  # to the offset of the last LM
    assert s.series.props["n"][0] == 4


def test_short_imi_clm_ends_series_and_starts_the_next() -> None:
    # 0..60 every 20 s, then 65 (IMI 5 s), then 85..125 every 20 s
    s = score([0.0, 20.0, 40.0, 60.0, 65.0, 85.0, 105.0, 125.0])
    assert series_ids(s) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert s.movements.props["short_imi"].tolist() == [False] * 4 + [True] + [False] * 3
    assert s.indices["n_plm"] == 8
    assert s.indices["short_imi_per_h"] == 1.0


def test_long_imi_ends_series() -> None:
    s = score([0.0, 20.0, 40.0, 60.0, 200.0, 220.0, 240.0])
    assert series_ids(s) == [0, 0, 0, 0, -1, -1, -1]


def test_wasm_non_clm_breaks_series() -> None:
    onsets = [0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 120.0, 140.0]
    durations = [1.0, 1.0, 1.0, 10.001, 1.0, 1.0, 1.0, 1.0]
    s = score(onsets, durations)
    assert s.movements.props["is_clm"].tolist() == [True, True, True, False] + [True] * 4
    assert series_ids(s) == [-1, -1, -1, -1, 0, 0, 0, 0]
    assert (s.indices["n_lm"], s.indices["n_clm"], s.indices["n_plm"]) == (8, 7, 4)


def test_touching_analysable_intervals_split_a_series() -> None:
    onsets = [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    whole = score(onsets)
    assert whole.indices["n_plm"] == 6
    split = score(onsets, analysable=[(0.0, 50.0), (50.0, 3600.0)])
    assert split.indices["n_plm"] == 0  # 3 + 3 movements
    imi = split.movements.props["imi_s"]
    assert math.isnan(imi[0]) and math.isnan(imi[3])
    assert not split.movements.props["short_imi"][3]  # undefined IMI is not a short IMI


def test_gap_ignores_movements_and_restarts_series() -> None:
    onsets = [0.0, 20.0, 40.0, 50.0, 60.0, 80.0, 100.0, 120.0]
    s = score(onsets, analysable=[(0.0, 45.0), (55.0, 3600.0)])
    assert s.movements.onset_s.tolist() == [0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 120.0]
    assert series_ids(s) == [-1, -1, -1, 0, 0, 0, 0]
    # a series running across the gap with a 20 s IMI is still split
    assert math.isnan(s.movements.props["imi_s"][3])


def test_onset_at_interval_end_is_outside() -> None:
    s = score([0.0, 45.0, 55.0], analysable=[(0.0, 45.0), (55.0, 100.0)])
    assert s.movements.onset_s.tolist() == [0.0, 55.0]


# -- AASM against WASM ----------------------------------------------------------------------
def test_non_periodic_cluster_wasm_vs_aasm() -> None:
    # IMIs 2, 6, 6, 6, 1 s: a cluster, not periodic by WASM (all < 10 s)
    onsets = [0.0, 2.0, 8.0, 14.0, 20.0, 21.5]
    wasm = score(onsets)
    assert wasm.indices["n_plm"] == 0
    assert wasm.indices["short_imi_per_h"] == 5.0
    aasm = score(onsets, rules="aasm")
    # AASM (5-90 s): 2 starts a run after the 2 s IMI; 8, 14, 20 follow at 6 s; 21.5 breaks it
    assert series_ids(aasm) == [-1, 0, 0, 0, 0, -1]
    assert aasm.rules == "aasm"


@pytest.mark.parametrize(
    ("imi_s", "wasm_plm", "aasm_plm"),
    [(4.999, 0, 0), (5.0, 0, 4), (7.0, 0, 4), (9.0, 0, 4), (9.999, 0, 4), (10.0, 4, 4)],
)
def test_5_to_10_s_imis_wasm_vs_aasm(imi_s: float, wasm_plm: int, aasm_plm: int) -> None:
    onsets = [300.0 + k * imi_s for k in range(4)]
    assert score(onsets).indices["n_plm"] == wasm_plm
    assert score(onsets, rules="aasm").indices["n_plm"] == aasm_plm


def test_aasm_long_movement_is_not_an_lm_and_does_not_break_series() -> None:
    onsets = [0.0, 20.0, 25.0, 40.0, 60.0]
    durations = [1.0, 1.0, 12.0, 1.0, 1.0]
    aasm = score(onsets, durations, rules="aasm")
    assert aasm.movements.props["is_lm"].tolist() == [True, True, False, True, True]
    assert series_ids(aasm) == [0, 0, -1, 0, 0]
    assert aasm.movements.props["imi_s"][3] == 20.0  # measured from the LM at 20 s
    assert math.isnan(aasm.movements.props["imi_s"][2])
    assert aasm.indices["n_lm"] == 4
    wasm = score(onsets, durations)
    assert wasm.indices["n_plm"] == 0  # the long LM breaks 2 + 2
    assert wasm.indices["n_lm"] == 5


def test_aasm_ten_second_lm_counts_and_longer_does_not() -> None:
    aasm = score([0.0, 20.0], [10.0, 10.001], rules="aasm")
    assert aasm.movements.props["is_lm"].tolist() == [True, False]


def test_short_dropouts_are_bridged_only_when_asked() -> None:
    onsets = np.arange(0.0, 200.0, 20.0) + 5.0  # 10 LMs every 20 s
    lms = EventTable(onsets, np.full(10, 1.0), np.full(10, "lm"), np.full(10, "left"))
    # a 2 s dropout at 101-103 s and a 30 s one at 150-180 s
    analysable = [(0.0, 101.0), (103.0, 150.0), (180.0, 300.0)]
    literal = score_leg_movements(lms, analysable)
    bridged = score_leg_movements(lms, analysable, bridge_gap_s=5.0)
    # literal: 5 + 3 + 1 LMs in three segments -> one series of 5 (0-100 s)
    assert literal.indices["n_plm"] == 5
    # bridged: the 2 s dropout no longer breaks (5-145 s: 8 LMs); the 30 s one still does (the
    # LM at 165 s falls in it and 185 s stands alone)
    assert bridged.indices["n_plm"] == 8
    assert bridged.exposure_h == literal.exposure_h
