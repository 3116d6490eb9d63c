"""Leg movements cut in two by a short dropout are joined again before scoring."""

from __future__ import annotations

import numpy as np

from legwatch.events import EventTable
from legwatch.nights.analysis import join_across_dropouts


def _events(rows: list[tuple[float, float, str, bool]]) -> EventTable:
    return EventTable.from_records(
        [
            {"onset_s": o, "duration_s": d, "kind": k, "side": "left", "at_gap": g}
            for o, d, k, g in rows
        ],
        prop_names=["at_gap"],
    )


def test_a_movement_cut_by_a_short_gap_becomes_one() -> None:
    ev = _events(
        [(100.0, 1.2, "lm", True), (103.1, 0.4, "short", False), (150.0, 2.0, "lm", False)]
    )
    out = join_across_dropouts(ev, [(101.2, 103.0)])
    assert list(out.kind) == ["lm", "lm"]
    assert np.allclose(out.onset_s, [100.0, 150.0])
    assert np.isclose(out.duration_s[0], 103.5 - 100.0)


def test_a_long_gap_or_a_late_restart_or_another_kind_is_left_alone() -> None:
    ev = _events([(100.0, 1.2, "lm", True), (109.1, 1.0, "lm", False)])
    assert len(join_across_dropouts(ev, [(101.2, 109.0)])) == 2  # 7.8 s gap: too long to bridge
    ev = _events([(100.0, 1.2, "lm", True), (104.5, 1.0, "lm", False)])
    assert len(join_across_dropouts(ev, [(101.2, 103.0)])) == 2  # restarts 1.5 s after the gap
    ev = _events([(100.0, 1.2, "lm", True), (103.1, 4.0, "posture_change", False)])
    assert list(join_across_dropouts(ev, [(101.2, 103.0)]).kind) == ["lm", "posture_change"]
    ev = _events([(100.0, 1.2, "short", True), (103.1, 0.3, "short", False)])
    assert list(join_across_dropouts(ev, [(101.2, 103.0)]).kind) == ["short", "short"]
    ev = _events([(100.0, 1.2, "lm", False), (103.1, 1.0, "lm", False)])
    assert len(join_across_dropouts(ev, [(101.2, 103.0)])) == 2  # the first did not end at the gap
