"""A movement that a short dropout in the samples cuts is still judged as one movement."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from legwatch.events import EventTable
from legwatch.recording import BodySite, Recording
from legwatch.signal.detect import StreamingDetector, detect_movements
from legwatch.signal.params import DetectorParams

FS_HZ = 50.0


def _min_jerk(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return 10 * x**3 - 15 * x**4 + 6 * x**5


def _rot_x(angle_rad: np.ndarray, v: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.column_stack([v[:, 0], c * v[:, 1] - s * v[:, 2], s * v[:, 1] + c * v[:, 2]])


def _night(drop: tuple[float, float], *, turn: bool = False, hold_s: float = 1.0) -> Recording:
    """Rest; at 130 s either a 20 degree flex-hold-return leg movement (1 s out, ``hold_s``,
    1 s back) or a 60 degree turn-over (1.5 s); the samples inside ``drop`` are missing."""
    rng = np.random.default_rng(11)
    t = np.arange(0.0, 300.0, 1.0 / FS_HZ)
    if turn:
        angle = np.radians(60.0) * _min_jerk((t - 130.0) / 1.5)
    else:
        out_back = _min_jerk((t - 130.0) / 1.0) - _min_jerk((t - 131.0 - hold_s) / 1.0)
        angle = np.radians(20.0) * out_back
    a = _rot_x(angle, np.tile([0.0, 0.0, 1.0], (t.size, 1)))
    a += rng.normal(0.0, 0.0015, a.shape)
    keep = (t < drop[0]) | (t >= drop[1])
    start = datetime(2026, 3, 4, 22, tzinfo=UTC)
    return Recording(a[keep], t[keep], start, FS_HZ, site=BodySite.LEFT_ANKLE)


def _near_130(ev: EventTable) -> EventTable:
    return ev.subset((ev.onset_s > 125.0) & (ev.onset_s < 140.0))


def test_a_dropout_inside_a_leg_movement_does_not_cut_it() -> None:
    rec = _night((131.2, 132.0))  # 0.8 s lost in the hold
    assert len(rec.gaps) == 1
    ev = _near_130(detect_movements(rec).events)
    assert list(ev.kind) == ["lm"]
    assert abs(ev.onset_s[0] - 130.0) < 0.3
    assert ev.duration_s[0] > 2.5  # out, hold and back: 3 s
    assert not ev.props["at_gap"][0]
    # without the bridge the dropout ends it: the part seen before is judged alone
    p = DetectorParams()
    no_bridge = replace(p, events=replace(p.events, max_bridge_s=0.0))
    cut = _near_130(detect_movements(rec, no_bridge).events)
    assert cut.props["at_gap"][0]
    assert cut.onset_s[0] + cut.duration_s[0] < 131.3


def test_a_leg_movement_ending_in_a_dropout_is_read_from_after_it() -> None:
    rec = _night((131.0, 133.5), hold_s=0.0)  # the return happens unseen
    ev = _near_130(detect_movements(rec).events)
    assert len(ev) == 1
    assert ev.props["at_gap"][0]  # its end was not seen
    assert abs(ev.onset_s[0] + ev.duration_s[0] - 131.0) < 0.15  # the last sample seen moving
    assert ev.props["tilt_deg"][0] < 3.0  # the leg is back where it rested
    assert ev.kind[0] != "posture_change"


def test_a_turn_ending_in_a_dropout_is_still_a_turn() -> None:
    rec = _night((130.8, 132.5), turn=True)
    ev = _near_130(detect_movements(rec).events)
    assert list(ev.kind) == ["posture_change"]
    # the leg rests turned after the dropout: the turn runs on until it settles there
    assert ev.props["tilt_deg"][0] == pytest.approx(60.0, abs=3.0)


def test_a_long_gap_ends_the_event() -> None:
    rec = _night((131.2, 139.2))  # 8 s: longer than max_bridge_s
    ev = detect_movements(rec).events
    first = ev.subset(np.abs(ev.onset_s - 130.0) < 0.3)
    assert len(first) == 1
    assert first.props["at_gap"][0]
    assert first.onset_s[0] + first.duration_s[0] < 131.3
    assert first.props["tilt_deg"][0] == 0.0  # nothing seen after it to read


@pytest.mark.parametrize("drop", [(131.2, 132.0), (131.0, 133.5), (131.2, 139.2)])
@pytest.mark.parametrize("chunk", [1, 7, 50])
def test_streaming_across_a_dropout_matches_offline(drop: tuple[float, float], chunk: int) -> None:
    rec = _night(drop, hold_s=0.0 if drop[1] == 133.5 else 1.0)
    offline = detect_movements(rec).events
    det = StreamingDetector(rec.fs_effective_hz, rec.side)
    parts = [det.push(rec.t_s[i : i + chunk], rec.accel_g[i : i + chunk])
             for i in range(0, rec.n_samples, chunk)]  # fmt: skip
    streamed = EventTable.concat([*parts, det.flush()])
    assert len(offline) >= 1
    assert np.array_equal(streamed.onset_s, offline.onset_s)
    assert np.array_equal(streamed.duration_s, offline.duration_s)
    assert np.array_equal(streamed.kind, offline.kind)
    assert np.array_equal(streamed.props["tilt_deg"], offline.props["tilt_deg"])
