"""Joining same-leg pieces, the 0.5 s minimum, CLM durations and bilateral combination."""

from __future__ import annotations

import pytest

from legwatch.errors import ParameterError
from legwatch.events import EventTable
from legwatch.scoring import score_leg_movements

NIGHT = [(0.0, 3600.0)]


def table(rows: list[tuple[float, float, str]]) -> EventTable:
    """Rows of (onset_s, offset_s, side)."""
    return EventTable.from_records(
        [{"onset_s": on, "duration_s": off - on, "kind": "lm", "side": s} for on, off, s in rows]
    )


def movements(rows: list[tuple[float, float, str]], rules: str = "wasm2016"):
    return score_leg_movements(table(rows), NIGHT, rules=rules).movements


@pytest.mark.parametrize(
    ("duration_s", "is_clm"), [(0.5, True), (10.0, True), (10.001, False), (14.0, False)]
)
def test_monolateral_clm_duration_is_inclusive(duration_s: float, is_clm: bool) -> None:
    m = movements([(25.559, 25.559 + duration_s, "left")])
    assert len(m) == 1
    assert m.props["is_clm"].tolist() == [is_clm]


def test_pieces_under_half_a_second_are_dropped() -> None:
    m = movements([(0.0, 0.499, "unknown"), (10.0, 10.5, "unknown")])
    assert m.onset_s.tolist() == [10.0]


def test_same_leg_pieces_are_joined_before_the_minimum_duration() -> None:
    # 0.3 s + gap 0.4 s + 0.3 s: joined into one 1.0 s LM, which passes the 0.5 s minimum
    joined = movements([(0.0, 0.3, "left"), (0.7, 1.0, "left")])
    assert joined.onset_s.tolist() == [0.0]
    assert joined.duration_s.tolist() == [1.0]
    assert joined.props["n_parts"].tolist() == [1]
    # gap of exactly 0.5 s: two pieces of 0.3 s, both too short
    apart = movements([(0.0, 0.3, "left"), (0.8, 1.1, "left")])
    assert len(apart) == 0


def test_joined_pieces_can_exceed_10_s_and_stop_being_a_clm() -> None:
    m = movements([(0.0, 6.0, "unknown"), (6.4, 10.5, "unknown")])
    assert m.duration_s.tolist() == [10.5]
    assert m.props["is_clm"].tolist() == [False]


def test_wasm_overlapping_legs_merge_into_one_bilateral_clm() -> None:
    m = movements([(0.0, 2.0, "left"), (1.0, 3.0, "right")])
    assert m.side.tolist() == ["bilateral"]
    assert m.props["n_parts"].tolist() == [2]
    assert m.props["is_clm"].tolist() == [True]
    assert m.duration_s.tolist() == [3.0]


@pytest.mark.parametrize(("next_onset_s", "n_movements"), [(2.499, 1), (2.5, 2), (2.0, 1)])
def test_wasm_offset_to_onset_under_half_a_second_merges(
    next_onset_s: float, n_movements: int
) -> None:
    m = movements([(0.0, 2.0, "left"), (next_onset_s, next_onset_s + 1.0, "right")])
    assert len(m) == n_movements


@pytest.mark.parametrize(("right_offset_s", "is_clm"), [(15.0, True), (15.001, False)])
def test_wasm_bilateral_clm_lasts_at_most_15_s(right_offset_s: float, is_clm: bool) -> None:
    m = movements([(0.0, 8.0, "left"), (7.0, right_offset_s, "right")])
    assert m.side.tolist() == ["bilateral"]
    assert m.props["is_clm"].tolist() == [is_clm]


def test_wasm_bilateral_with_a_part_over_10_s_is_not_a_clm() -> None:
    m = movements([(0.0, 10.001, "left"), (1.0, 3.0, "right")])
    assert m.duration_s.tolist() == [pytest.approx(10.001)]
    assert m.props["is_clm"].tolist() == [False]


FOUR_PARTS = [(0.0, 2.0, "left"), (1.8, 4.0, "right"), (3.8, 6.0, "left"), (5.8, 8.0, "right")]


def test_wasm_four_part_bilateral_is_a_clm() -> None:
    m = movements(FOUR_PARTS)
    assert m.props["n_parts"].tolist() == [4]
    assert m.props["is_clm"].tolist() == [True]


def test_wasm_five_part_bilateral_stays_one_lm_and_is_not_a_clm() -> None:
    m = movements([*FOUR_PARTS, (7.8, 10.0, "left")])
    assert len(m) == 1  # not split
    assert m.props["n_parts"].tolist() == [5]
    assert m.props["is_clm"].tolist() == [False]
    assert m.duration_s.tolist() == [10.0]


def test_joined_same_leg_pieces_count_as_one_part() -> None:
    rows = [(0.0, 1.0, "left"), (1.2, 2.0, "left"), *FOUR_PARTS[1:]]
    m = movements(rows)
    assert m.props["n_parts"].tolist() == [4]
    assert m.props["is_clm"].tolist() == [True]


def test_bilateral_series_counts_each_event_once_and_reports_sides() -> None:
    rows = [(t, t + 1.0, "left") for t in (0.0, 20.0, 40.0, 60.0)]
    rows += [(t + 0.2, t + 1.5, "right") for t in (0.0, 20.0, 40.0, 60.0)]
    rows += [(300.0, 301.0, "left"), (500.0, 501.0, "right")]
    s = score_leg_movements(table(rows), NIGHT)
    assert s.indices["n_lm"] == 6
    assert s.indices["n_plm"] == 4
    assert (s.indices["n_lm_left"], s.indices["n_lm_right"], s.indices["n_lm_bilateral"]) == (
        1,
        1,
        4,
    )
    assert s.indices["n_plm_bilateral"] == 4
    assert s.series.side.tolist() == ["bilateral"]


def test_one_band_has_no_side_counts() -> None:
    s = score_leg_movements(table([(0.0, 1.0, "unknown")]), NIGHT)
    assert "n_lm_left" not in s.indices


@pytest.mark.parametrize(("right_onset_s", "n_movements"), [(4.999, 1), (5.0, 2)])
def test_aasm_onsets_under_5_s_apart_count_as_one(right_onset_s: float, n_movements: int) -> None:
    rows = [(0.0, 1.0, "left"), (right_onset_s, right_onset_s + 1.0, "right")]
    assert len(movements(rows, rules="aasm")) == n_movements
    assert len(movements(rows)) == 2  # WASM: 3.999 s and more apart, two LMs


def test_aasm_same_leg_lms_are_not_combined_by_onset() -> None:
    m = movements([(0.0, 1.0, "left"), (3.0, 4.0, "left")], rules="aasm")
    assert len(m) == 2


def test_input_sides_are_checked() -> None:
    with pytest.raises(ParameterError, match="monolateral"):
        movements([(0.0, 1.0, "bilateral")])
    with pytest.raises(ParameterError, match="unknown"):
        movements([(0.0, 1.0, "unknown"), (5.0, 6.0, "left")])
