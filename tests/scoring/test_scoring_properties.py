"""Properties that must hold for any set of leg movements (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from legwatch.events import EventTable
from legwatch.scoring import RULE_SETS, Scoring, get_rules, score_leg_movements

# Events on a 1 ms grid so that shifting them by whole milliseconds is exact: trains of
# near-periodic movements (IMIs 4-100 s, so series form and break) plus scattered ones.
side = st.sampled_from(["left", "right"])
event = st.tuples(st.integers(0, 1_200_000), st.integers(100, 16_000), side)


@st.composite
def train(draw: st.DrawFn) -> list[tuple[int, int, str]]:
    onset = draw(st.integers(0, 1_000_000))
    imi = draw(st.integers(4_000, 100_000))
    events = []
    for _ in range(draw(st.integers(2, 8))):
        events.append((onset, draw(st.integers(300, 12_000)), draw(side)))
        if draw(st.booleans()):  # the other leg moving at about the same time
            events.append(
                (onset + draw(st.integers(0, 3_000)), draw(st.integers(300, 6_000)), draw(side))
            )
        onset += imi + draw(st.integers(-1_000, 1_000))
    return events


nights = st.fixed_dictionaries(
    {
        "events": st.tuples(st.lists(train(), max_size=5), st.lists(event, max_size=20)).map(
            lambda t: [e for tr in t[0] for e in tr] + t[1]
        ),
        # analysable: one interval, or two split by a gap of 0-60 s somewhere in the night
        "cut_ms": st.one_of(st.none(), st.integers(1_000, 1_199_000)),
        "gap_ms": st.integers(0, 60_000),
        "rules": st.sampled_from(RULE_SETS),
    }
)
SETTINGS = settings(max_examples=80, deadline=None)


def build(night: dict, shift_ms: int = 0, swap: bool = False) -> Scoring:
    other = {"left": "right", "right": "left"}
    rows = [
        {
            "onset_s": (on + shift_ms) / 1000,
            "duration_s": dur / 1000,
            "kind": "lm",
            "side": other[side] if swap else side,
        }
        for on, dur, side in night["events"]
    ]
    end_ms = 2_000_000
    if night["cut_ms"] is None:
        intervals_ms = [(0, end_ms)]
    else:
        cut = night["cut_ms"]
        intervals_ms = [(0, cut), (cut + night["gap_ms"], end_ms)]
    analysable = [((a + shift_ms) / 1000, (b + shift_ms) / 1000) for a, b in intervals_ms]
    table = EventTable.from_records(rows) if rows else EventTable.empty()
    return score_leg_movements(table, analysable, rules=night["rules"])


@SETTINGS
@given(nights)
def test_counts_are_nested_and_series_obey_the_rules(night: dict) -> None:
    s = build(night)
    rules = get_rules(night["rules"])
    ix = s.indices
    assert 0 <= ix["n_plm"] <= ix["n_clm"] <= ix["n_lm"] <= len(s.movements)
    props = s.movements.props
    assert ix["n_series"] == len(s.series)
    onset_us = np.round(s.movements.onset_s * 1e6).astype(np.int64)
    for sid in range(len(s.series)):
        members = np.flatnonzero(props["series_id"] == sid)
        assert members.size >= rules.min_series_length
        assert props["is_clm"][members].all()
        assert np.unique(props["segment"][members]).size == 1
        imis = np.diff(onset_us[members])
        assert (imis >= round(rules.imi_min_s * 1e6)).all()
        assert (imis <= round(rules.imi_max_s * 1e6)).all()
        if rules.long_movement_breaks_series:  # WASM: members are consecutive movements
            assert np.all(np.diff(members) == 1)
    pi = ix["periodicity_index"]
    assert math.isnan(pi) or 0.0 <= pi <= 1.0
    assert ix["plm_per_h"] == ix["n_plm"] / s.exposure_h


@SETTINGS
@given(nights, st.integers(1, 40_000_000))
def test_shifting_every_event_changes_nothing(night: dict, shift_ms: int) -> None:
    a, b = build(night), build(night, shift_ms=shift_ms)
    assert a.indices.keys() == b.indices.keys()
    for key, value in a.indices.items():
        assert value == b.indices[key] or (math.isnan(value) and math.isnan(b.indices[key]))
    np.testing.assert_allclose(b.movements.onset_s - a.movements.onset_s, shift_ms / 1000)
    for name in ("series_id", "is_clm", "n_parts", "short_imi"):
        np.testing.assert_array_equal(a.movements.props[name], b.movements.props[name])
    assert a.imi_histogram == b.imi_histogram or a.imi_histogram["n"] == 0


@SETTINGS
@given(nights)
def test_swapping_legs_changes_no_total(night: dict) -> None:
    a, b = build(night), build(night, swap=True)
    for key in ("n_lm", "n_clm", "n_plm", "n_series", "periodicity_index", "short_imi_per_h"):
        va, vb = a.indices[key], b.indices[key]
        assert va == vb or (math.isnan(va) and math.isnan(vb))
    if "n_lm_left" in a.indices:
        assert a.indices["n_lm_left"] == b.indices["n_lm_right"]
        assert a.indices["n_plm_right"] == b.indices["n_plm_left"]
        assert a.indices["n_lm_bilateral"] == b.indices["n_lm_bilateral"]
