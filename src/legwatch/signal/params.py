"""Detector parameters, grouped by topic. Every default states its unit and where it comes from.

The detector's parameters are written next to every output together with the legwatch version, so a
number can always be traced back to the settings that produced it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from legwatch.errors import ParameterError


@dataclass(frozen=True)
class FrontEndParams:
    """Samples -> 0.1 s frames."""

    #: Low-pass cut-off of the movement channel, Hz. Leg movements (0.5-10 s rotations) live below
    #: ~3 Hz; partner vibration rings at 8-20 Hz (sensing.md) and must fall outside.
    lowpass_hz: float = 4.0
    #: Butterworth order of that low-pass (-24 dB at 8 Hz for order 4).
    lowpass_order: int = 4
    #: Frame length, s. Onsets are interpolated inside a frame, so this bounds cost, not precision.
    frame_s: float = 0.1
    #: Block length for the slow statistics (baseline orientation, noise floor), s.
    block_s: float = 1.0


@dataclass(frozen=True)
class ThresholdParams:
    """Baseline, adaptive noise floor and the two hysteresis thresholds (all in mg)."""

    #: Window of the causal running median that gives the resting orientation, s. Longer than
    #: twice the longest CLM (10 s, WASM 2016) so a movement never pulls the baseline.
    baseline_window_s: float = 24.0
    #: Window of the causal running median of activity that gives the noise floor, s
    #: (S-PLMAD uses a 20 s moving RMS; 60 s keeps dense PLM series from raising the floor).
    floor_window_s: float = 60.0
    #: A second, short window for the floor, s: the floor is the larger of the two medians, so it
    #: follows breathing that swells within a few breaths but never drops faster than the long
    #: window allows. 15 s: a leg movement (mostly <= 5 s) fills at most a third of it.
    floor_fast_window_s: float = 15.0
    #: The floor is known, and onsets are allowed, once this much of a segment (after a long gap,
    #: or after a re-acquisition) has passed, s: three breaths' worth of 1 s blocks
    #: give a median the first breath alone cannot.
    floor_min_s: float = 3.0
    #: Absolute minimum of the high (onset) threshold, mg. MEMS noise after the 4 Hz low-pass and
    #: 0.1 s framing is ~0.5 mg per frame; the sensor-visible definition is 10 mg (issue 2), so the
    #: onset must sit below 10 mg and well above noise.
    high_min_mg: float = 6.0
    #: Absolute minimum of the low (offset) threshold, mg (RestEaze's ratio of dual thresholds,
    #: 0.048/0.08, is ~0.6; EMG rules use 2/8 uV).
    low_min_mg: float = 3.0
    #: High threshold as a multiple of the noise floor. The floor is the running median of
    #: per-second maximum activity, ~0.9 A for breathing of amplitude A; breathing is amplitude
    #: modulated (sensing.md), and its peaks reach 1.6 x the floor over a night, so the onset
    #: threshold sits at twice the floor.
    high_factor: float = 2.0
    #: Low threshold as a multiple of the noise floor (~0.9 A: breathing dips below it for most of
    #: every half breath, so a movement's offset is still found).
    low_factor: float = 1.0
    #: Breathing rocks the ankle along one direction; deviation along it counts only beyond this
    #: many times the recent breathing amplitude (median of per-second maxima over a minute).
    #: Breaths after an apnoea can be several times deeper than the minute before.
    breath_margin: float = 3.0
    #: Share of the minute's direction votes the main direction must hold to be taken as
    #: breathing (one-dimensional breathing gives > 0.9; noise alone ~0.35-0.45; a minute holding
    #: a 15 s tremor burst ~0.5).
    breath_share: float = 0.6
    #: A gap in the samples shorter than this keeps the baseline, floor and breathing estimates
    #: (the leg rarely turns during a BLE dropout of 0.1-5 s, sensing.md); a longer one restarts
    #: them, s. Every gap restarts the low-pass filter; one longer than ``EventParams.max_bridge_s``
    #: also ends any open event.
    keep_state_gap_s: float = 10.0
    #: A leg that rests this long (s) in an orientation turned by more than ``reacquire_deg``
    #: from the baseline has changed posture: the baseline, floor and breathing estimates restart
    #: from the still blocks instead of waiting half the baseline window (12 s) for the median to
    #: turn. Longer than the hold of nearly all leg movements; a movement is sustained muscle
    #: contraction, and a hold that is still this long is a new resting position.
    reacquire_still_s: float = 5.0
    #: Turn from the baseline that makes a still leg a new posture, degrees (the posture-change
    #: angle of ``ClassifyParams.posture_deg``).
    reacquire_deg: float = 12.0
    #: A 1 s block is still when its low-passed acceleration stays within this range, and the
    #: still blocks' means must agree within it, mg. Breathing of up to 10 mg amplitude
    #: (sensing.md) moves the low-passed vector by up to ~17 mg within a second at 0.33 Hz.
    still_mg: float = 25.0
    #: Until then, a provisional reference: once a turned leg's low-passed orientation stays
    #: within ``settle_mg`` for ``settle_s``, activity is measured from that orientation, so a
    #: leg movement made a second after a turn-over is seen at once (``frames.FrameStream``).
    settle_s: float = 0.3
    #: See ``settle_s``, mg. Breathing moves the low-passed vector by at most ~6 mg in 0.3 s;
    #: the last 0.15 s of a leg movement's or a turn's approach (minimum-jerk) moves it more.
    settle_mg: float = 10.0
    #: Detection is switched off where the floor exceeds this, mg (the band is loose, flapping or
    #: moving all the time; MATPLM and S-PLMAD also switch off above a noise ceiling).
    max_floor_mg: float = 40.0


@dataclass(frozen=True)
class GainParams:
    """Movement-gain calibration: how strongly this band, on this leg, tonight, picks up movement.

    Gravity is calibrated before detection (a band's sensitivity), but a strap worn loose, a band
    seated on soft tissue or another mounting passes less of the leg's movement and none of that
    shows in gravity. The absolute minima of the two thresholds (``high_min_mg``,
    ``low_min_mg``) are therefore multiplied by the night's movement gain: the lower quartile
    of the peaks of the last ``window_lms`` leg movements, over ``ref_mg``, clamped to
    ``min_gain``-``max_gain`` and rounded to ``step``. Until ``min_lms`` leg movements have been
    seen the gain is 1. It is causal (it uses only movements already final), so the offline and
    streaming paths agree, and a strap that loosens mid-night is followed within
    ``window_lms`` movements.
    """

    #: Lower quartile of the leg movements' peak activity on a typical night, mg. On the
    #: simulator's tuning nights (seeds 1-4, 31-43) it lies between 37 and 70 mg (median 47); the
    #: small/medium/large movements of sensing.md peak near 30, 180 and 1000 mg.
    ref_mg: float = 50.0
    #: Quantile of the peaks that measures the gain. The lower quartile (37-70 mg on the tuning
    #: nights) lies well above the 3.6-9.6 mg the onset minimum can take, so the smallest
    #: movements, which a lower threshold adds or a higher one drops, fall below it either way.
    quantile: float = 0.25
    #: Leg movements needed before the gain is estimated at all.
    min_lms: int = 10
    #: Leg movements the estimate is taken over (the most recent; bounds memory when streaming).
    #: Long, so that one movement more or less (a dropout, another sampling rate) hardly moves
    #: it; a strap that loosens mid-night is still followed within a night's movements.
    window_lms: int = 200
    #: Bounds of the gain: the thresholds' minima move by at most this factor either way (6 mg
    #: onset minimum: 3.6-9.6 mg).
    min_gain: float = 0.6
    max_gain: float = 1.6
    #: The gain is rounded to this step (fine: coarse steps make the thresholds jump, and a jump
    #: decided by one movement moves every small movement after it).
    step: float = 0.01

    def __post_init__(self) -> None:
        if not (np.isfinite(self.ref_mg) and self.ref_mg > 0):
            raise ParameterError("gain.ref_mg", "a peak activity > 0 mg", self.ref_mg)
        if not 0.0 < self.quantile < 1.0:
            raise ParameterError("gain.quantile", "a quantile between 0 and 1", self.quantile)
        if not 1 <= self.min_lms <= self.window_lms:
            raise ParameterError(
                "gain.min_lms", f"between 1 and window_lms ({self.window_lms})", self.min_lms
            )
        if not 0.0 < self.min_gain <= 1.0 <= self.max_gain:
            raise ParameterError(
                "gain.min_gain/max_gain",
                "0 < min_gain <= 1 <= max_gain",
                (self.min_gain, self.max_gain),
            )
        if not self.step > 0:
            raise ParameterError("gain.step", "a step > 0", self.step)


@dataclass(frozen=True)
class EventParams:
    """Onset/offset and duration rules (WASM 2016 / AASM, adapted from EMG to acceleration)."""

    #: An event ends at the start of this much time at or below the low threshold, s (WASM 2016:
    #: "start of a period lasting at least 0.5 s" at or below the low threshold).
    min_quiet_s: float = 0.5
    #: Morphology criterion (WASM 2016, Skeba/JHU): an LM must contain a window of this length whose
    #: median activity is at or above the low threshold, s.
    morphology_window_s: float = 0.5
    #: Events still running after this long are closed and classified, s (no leg movement lasts that
    #: long; keeps streaming memory bounded).
    max_event_s: float = 60.0
    #: Time after the offset used to read the new resting orientation, s.
    after_s: float = 0.5
    #: An event runs on across a dropout in the samples no longer than this, s. Without the
    #: bridge a link dropout (0.1-5 s, sensing.md) cuts the movement it falls in, which is then
    #: judged on the half seen (too short, or turned, since the resting orientation after it was
    #: never read); on the simulator's 2%-dropout nights a dropout of 5 s or less overlaps one
    #: visible leg movement in 18 (121 of 2,176 on 17 tuning nights). Longer gaps end the
    #: event. The same 5 s as scoring's ``BRIDGE_GAP_S``; the gap is counted in whole 0.1 s
    #: frames lost, so a dropout inside one frame is always bridged.
    max_bridge_s: float = 5.0


@dataclass(frozen=True)
class ClassifyParams:
    """Which detected events are leg movements, and which are something else."""

    #: A resting orientation that differs by more than this after an event makes it a posture
    #: change, degrees. Leg movements return to where they started (sensing.md); turning over
    #: rotates gravity by 20-120 degrees.
    posture_deg: float = 12.0
    #: Longer than this and large: a gross body movement, s (sensing.md: 2-20 s, 300-2500 mg).
    gross_min_s: float = 10.0
    #: Peak activity of a gross body movement at least, mg.
    gross_peak_mg: float = 300.0
    #: Fraction of event energy above the movement band (raw minus low-passed) that marks partner
    #: vibration: a mattress transient rings at 8-20 Hz and leaves the tilt unchanged.
    vibration_hf_ratio: float = 1.0
    #: Tremor / ALMA bursts: at least this many oscillation cycles ...
    tremor_min_cycles: float = 3.0
    #: ... in an event at least this long, s (sensing.md: 0.3-4 Hz bursts of 10-15 s).
    tremor_min_s: float = 3.0


@dataclass(frozen=True)
class SpasmParams:
    """Spasms: short, sharp, involuntary jerks (sensing.md "Spasms"); legwatch's own rule.

    A spasm is a burst of jerk (rate of change of acceleration) that reaches at least
    ``min_jerk_g_per_s`` and ``min_peak_mg`` of movement, and is over, movement channel included,
    within ``max_s``. An event that lasts longer is never a spasm, and a
    spasm is never also counted as a leg movement.
    """

    #: Longest spasm as the movement channel sees it, s. A 0.1-0.5 s jerk (sensing.md) is spread by
    #: the 4 Hz low-pass and the 0.5 s offset rule to 0.6-1.2 s; leg movements last >= 0.5 s and
    #: show as >= 1.2 s in all but a few per cent of cases.
    max_s: float = 1.2
    #: Smallest peak jerk, g/s. A 0.1-0.5 s jerk of >= 100 mg reaches >= 5 g/s; a smooth
    #: (minimum-jerk) leg movement of the same length stays near 1 g/s.
    min_jerk_g_per_s: float = 5.0
    #: Smallest peak of raw acceleration change from rest, mg.
    min_peak_mg: float = 60.0


@dataclass(frozen=True)
class DetectorParams:
    """All detector parameters."""

    front_end: FrontEndParams = field(default_factory=FrontEndParams)
    thresholds: ThresholdParams = field(default_factory=ThresholdParams)
    gain: GainParams = field(default_factory=GainParams)
    events: EventParams = field(default_factory=EventParams)
    classify: ClassifyParams = field(default_factory=ClassifyParams)
    spasm: SpasmParams = field(default_factory=SpasmParams)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def scaled(self, group: str, name: str, factor: float) -> DetectorParams:
        """A copy with one parameter multiplied by ``factor`` (for sensitivity sweeps)."""
        groups = {f.name for f in fields(self)}
        if group not in groups:
            raise ParameterError("group", f"one of {sorted(groups)}", group)
        sub = getattr(self, group)
        names = {f.name for f in fields(sub)}
        if name not in names:
            raise ParameterError("name", f"one of {sorted(names)}", name)
        value = getattr(sub, name)
        new = type(value)(value * factor) if isinstance(value, int) else value * factor
        return replace(self, **{group: replace(sub, **{name: new})})
