import numpy as np

from legwatch.signal.agreement import agreement, match_onsets


def test_matching_is_one_to_one_within_tolerance() -> None:
    pairs = match_onsets([10.0, 20.0, 30.0], [10.4, 10.6, 21.5, 29.1])
    assert pairs.tolist() == [[0, 0], [2, 3]]


def test_detection_prefers_the_closer_reference() -> None:
    # the detection at 10.9 s is closer to the reference at 11.0 s than to 10.0 s
    assert match_onsets([10.0, 11.0], [10.9]).tolist() == [[1, 0]]


def test_invisible_matches_are_neutral() -> None:
    ag = agreement([10.0, 50.0, 90.0], [True, False, True], [10.2, 50.1, 200.0])
    assert (ag.tp, ag.fp, ag.fn, ag.neutral) == (1, 1, 1, 1)
    assert ag.sensitivity == 0.5 and ag.precision == 0.5
    assert np.allclose(ag.onset_errors_s, [0.2])


def test_empty_inputs() -> None:
    ag = agreement([], [], [])
    assert (ag.tp, ag.fp, ag.fn) == (0, 0, 0)
    assert np.isnan(ag.f1)


def test_detector_and_rate_ratio_refuse_impossible_inputs() -> None:
    import pytest

    from legwatch.errors import ParameterError
    from legwatch.nights.stats import poisson_rate_ratio
    from legwatch.signal.detect import StreamingDetector

    with pytest.raises(ParameterError, match="'fs_hz'"):
        StreamingDetector(0.0)
    with pytest.raises(ParameterError, match="'side'"):
        StreamingDetector(50.0, side="middle")
    with pytest.raises(ParameterError, match="'exposure_before_h'"):
        poisson_rate_ratio(3, 0.0, 2, 1.0)
