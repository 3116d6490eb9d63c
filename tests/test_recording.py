"""The core model: Recording and EventTable validate at the boundary and never change."""

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from legwatch.errors import LegwatchError, ParameterError, RecordingError
from legwatch.events import EventTable
from legwatch.recording import BodySite, Gap, Recording

START = datetime(2026, 1, 1, 23, 0, tzinfo=UTC)


def _rec(n: int = 500, fs: float = 50.0, **kw) -> Recording:  # type: ignore[no-untyped-def]
    t = kw.pop("t") if "t" in kw else np.arange(n) / fs
    accel = kw.pop("accel", np.tile([0.0, 0.0, 1.0], (len(t), 1)))
    return Recording(accel, t, kw.pop("start", START), fs, **kw)


def test_recording_is_immutable_and_normalised_to_utc() -> None:
    cet = timezone(timedelta(hours=1))
    rec = _rec(start=datetime(2026, 1, 2, 0, 0, tzinfo=cet), site="Right-Ankle")
    assert rec.start_utc == START and rec.start_utc.tzinfo == UTC
    assert rec.site is BodySite.RIGHT_ANKLE and rec.side == "right"
    with pytest.raises(ValueError, match="read-only"):
        rec.accel_g[0, 0] = 5.0


def test_gaps_are_found_and_effective_rate_measured() -> None:
    t = np.concatenate([np.arange(100) / 52.6, 10 + np.arange(100) / 52.6])
    rec = _rec(t=t, fs=50.0)
    assert rec.gaps == (Gap(float(t[99]), 10.0),)
    assert rec.fs_effective_hz == pytest.approx(52.6, rel=1e-9)
    assert rec.gap_s == pytest.approx(10.0 - t[99])


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"accel": np.zeros((500, 2))}, r"shape \(n, 3\); got shape \(500, 2\)"),
        ({"t": np.r_[0.0, 0.02, 0.02, *np.arange(3, 500) / 50]}, r"sample 2 at 0\.02 s follows"),
        ({"accel": np.r_[[[0, 0, 1.0]] * 7, [[np.nan, 0, 1]], [[0, 0, 1.0]] * 492]}, "sample 7"),
        ({"fs": 0.0, "t": np.arange(500) / 50.0}, "'fs_nominal_hz'"),
        ({"start": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"site": "knee"}, "left_ankle"),
    ],
)
def test_invalid_recordings_say_what_and_where(kw: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(LegwatchError, match=message):
        _rec(**kw)


def test_scaled_multiplies_samples_and_keeps_the_rest() -> None:
    t = np.concatenate([np.arange(100) / 50.0, 10 + np.arange(100) / 50.0])
    accel = np.random.default_rng(1).normal(0, 0.01, (200, 3)) + np.array([0.0, 0.0, 1.0])
    rec = _rec(t=t, accel=accel, site="right_ankle", band_id="b7")
    got = rec.scaled(1.25)
    want = Recording(accel * 1.25, t, START, 50.0, band_id="b7", site="right_ankle")
    assert got.accel_g.tobytes() == want.accel_g.tobytes()
    assert got.t_s is rec.t_s and got.gaps == want.gaps and got.side == "right"
    assert (got.band_id, got.start_utc, got.fs_nominal_hz) == ("b7", START, 50.0)
    assert rec.accel_g[0, 2] == accel[0, 2]  # the original is untouched
    with pytest.raises(ValueError, match="read-only"):
        got.accel_g[0, 0] = 5.0
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ParameterError, match="'factor'"):
            rec.scaled(bad)
    with pytest.raises(RecordingError, match="overflows"):
        rec.scaled(1.79e308)  # z = 1 g times this is finite; 1.01 g is not


def test_recording_errors_are_value_errors_too() -> None:
    assert issubclass(RecordingError, ValueError) and issubclass(ParameterError, ValueError)


def test_event_table_sorts_and_is_never_none() -> None:
    empty = EventTable.empty(["peak_g"])
    assert len(empty) == 0 and "peak_g" in empty.props
    ev = EventTable(
        [5.0, 1.0], [1.0, 2.0], ["lm", "spasm"], ["left", "left"], {"peak_g": [0.1, 0.9]}
    )
    assert ev.onset_s.tolist() == [1.0, 5.0] and ev.props["peak_g"].tolist() == [0.9, 0.1]
    assert ev.of_kind("lm").onset_s.tolist() == [5.0]
    assert next(iter(ev.records())) == {
        "onset_s": 1.0, "duration_s": 2.0, "kind": "spasm", "side": "left", "peak_g": 0.9,
    }  # fmt: skip
    extra = EventTable.from_records(
        [{"onset_s": 3.0, "duration_s": 1.0, "kind": "lm", "side": "right"}]
    )
    joined = EventTable.concat([ev, extra])
    assert joined.onset_s.tolist() == [1.0, 3.0, 5.0] and np.isnan(joined.props["peak_g"][1])


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"duration_s": [1.0]}, "'duration_s'"),
        ({"side": ["left", "middle"]}, "'side'"),
        ({"duration_s": [1.0, -1.0]}, "non-negative"),
    ],
)
def test_event_table_validates(kw: dict, message: str) -> None:  # type: ignore[type-arg]
    args = {"onset_s": [1.0, 2.0], "duration_s": [1.0, 1.0], "kind": ["lm", "lm"]}
    args["side"] = ["left", "left"]
    args.update(kw)
    with pytest.raises(ParameterError, match=message):
        EventTable(**args)
