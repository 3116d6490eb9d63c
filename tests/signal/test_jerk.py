"""The spasm rule's jerk channel reads the same jerk at every supported sampling rate.

The jerk of raw samples (largest sample-to-sample change times the rate) of a 0.1 s pulse reads
about half as much at 25 Hz as at 100 Hz and moves with where the samples fall; the channel is
taken from a 6 Hz low-pass instead (``FrontEndParams.jerk_lowpass_hz``).
"""

from __future__ import annotations

import numpy as np
import pytest

from legwatch.signal.frames import FrameStream

PHASES = np.linspace(0.0, 0.9, 10)  # where the first sample falls, as a fraction of a sample


def _peak_jerk(fs_hz: float, phase: float, pulse_s: float, amp_g: float = 0.5) -> float:
    """Largest frame jerk of a half-sine pulse of acceleration on a resting, upright band."""
    t = np.arange(0.0, 60.0, 1.0 / fs_hz) + phase / fs_hz
    a = np.zeros((t.size, 3))
    a[:, 2] = 1.0
    x = (t - 30.0) / pulse_s
    inside = (x >= 0.0) & (x <= 1.0)
    a[inside, 0] += amp_g * np.sin(np.pi * x[inside])
    stream = FrameStream(fs_hz)
    frames = [stream.push(t, a), stream.flush()]
    return float(np.concatenate([f.jerk for f in frames]).max())


@pytest.mark.parametrize("pulse_s", [0.1, 0.2, 0.4])
def test_jerk_reads_the_same_at_every_rate_and_phase(pulse_s: float) -> None:
    ref = np.median([_peak_jerk(100.0, ph, pulse_s) for ph in PHASES])
    assert ref > 3.0  # a sharp pulse of 0.5 g is well above the 4 g/s spasm bound
    for fs, tol in ((50.0, 0.15), (52.6, 0.15), (100.0, 0.05), (25.0, 0.35)):
        readings = np.array([_peak_jerk(fs, ph, pulse_s) for ph in PHASES])
        rel = np.abs(readings / ref - 1.0)
        assert rel.max() <= tol, (fs, pulse_s, readings.round(2), round(float(ref), 2))


def test_jerk_of_a_still_band_is_zero() -> None:
    t = np.arange(0.0, 30.0, 0.02)
    a = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    stream = FrameStream(50.0)
    frames = [stream.push(t, a), stream.flush()]
    assert np.concatenate([f.jerk for f in frames]).max() < 1e-9
