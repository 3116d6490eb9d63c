"""Only detection-off time no detected movement covers leaves the hours and can cut a series."""

from __future__ import annotations

import numpy as np

from legwatch.events import EventTable
from legwatch.nights.analysis import _blind
from legwatch.scoring import BRIDGE_GAP_S
from legwatch.signal.detect import Detection, Envelope
from legwatch.signal.params import DetectorParams


def _detection(events: list[tuple[float, float, str]], off: list[tuple[float, float]]) -> Detection:
    table = EventTable.from_records(
        [{"onset_s": o, "duration_s": d, "kind": k, "side": "left"} for o, d, k in events]
    )
    z = np.empty(0, np.float32)
    env = Envelope(np.empty(0), z, z, np.empty((0, 3), np.float32))
    return Detection(table, tuple(off), DetectorParams(), 50.0, env)


def test_off_time_inside_a_detected_movement_is_not_blind() -> None:
    # A turn-over detected from 100 to 106 s; the floor switched detection off from 103 to 106 s
    # (inside the turn) and again from 200 to 204 s (nothing detected there).
    det = _detection([(100.0, 6.0, "posture_change")], [(103.0, 106.0), (200.0, 204.0)])
    assert _blind(det) == [(200.0, 204.0)]


def test_the_uncovered_tail_stays_blind() -> None:
    det = _detection([(100.0, 4.0, "posture_change")], [(103.0, 107.5)])
    assert _blind(det) == [(104.0, 107.5)]


def test_a_short_dropout_after_a_turn_no_longer_adds_up_to_a_series_break() -> None:
    # The case from the gap benchmark: 2.2 s of off time inside the turn, then a 2.9 s dropout.
    # Counted together they made a hole longer than the bridge; the dropout alone is not.
    det = _detection([(13619.35, 5.74, "posture_change")], [(13623.0, 13628.1)])
    gap = (13625.18, 13628.12)
    blind = _blind(det)
    hole = max(gap[1], max(b for _, b in blind)) - min(gap[0], min(a for a, _ in blind))
    assert hole < BRIDGE_GAP_S < 13628.12 - 13623.0
