"""Parameters of a simulated night, grouped by topic.

Every default cites where it comes from; "sensing.md" is /work/shared/domain/sensing.md (its
distractor table is numbered 1-12 and cited as "row N"). Rates are given per hour so a night of any
length gets proportional counts; ``count`` fields, when set, fix the number of events instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from legwatch.errors import ParameterError


def _check_range(name: str, lo_hi: tuple[float, float], low: float = 0.0) -> None:
    lo, hi = lo_hi
    if not (low <= lo <= hi):
        raise ParameterError(name, f"a range (lo, hi) with {low} <= lo <= hi", lo_hi)


@dataclass(frozen=True)
class SensorConfig:
    """The band's accelerometer: noise, quantisation, offsets and clock.

    Attributes
    ----------
    noise_density_ug_per_rthz : float
        White noise density in micro-g per sqrt(Hz). Default 200, sensing.md row 5 (150-300).
        The per-sample SD is this times sqrt(fs/2) (bandwidth = Nyquist of the output rate).
    quantise : bool
        Round to the LSB and clip to the int16 full scale (sensing.md row 5).
    full_scale_g : float
        Range +/- g. Default 8: LSB = 16 g / 65536 = 0.244 mg (sensing.md row 5).
    offset_mg_max : float
        Zero-g offset per axis, drawn uniformly in +/- this (mg). Default 10: a calibrated MEMS part
        (datasheets give +/-20-40 mg uncalibrated).
    sensitivity_error_frac : float
        Per-axis sensitivity error, drawn uniformly in +/- this. Default 0.02 (datasheet +/-1-3%).
    bias_drift_mg : float
        Amplitude of a slow thermal drift of the offsets over the night (mg). Default 2.
    rate_error_frac_range : (float, float)
        Real output rate = nominal * (1 + e), e drawn uniformly in this range. Default
        (-0.01, 0.06): sensing.md row 7 (nominal 50 Hz delivered as 50.3 or 52.6 Hz).
    rate_drift_frac_range : (float, float)
        Linear change of the real rate from the start to the end of the night, as a fraction of it
        (sensing.md row 7 "plus linear drift"; a crystal-less RC clock drifts ~0.1-0.5% with
        temperature).
    noise_draw : int
        Which draw of the white noise: 0 is the seed's own. Any other value draws the noise
        again and changes nothing else (same movements, offsets, clock and gaps), so that how much
        a night's figures owe to the noise alone can be measured (``legwatch.bench.accuracy``).
    """

    noise_density_ug_per_rthz: float = 200.0
    quantise: bool = True
    full_scale_g: float = 8.0
    offset_mg_max: float = 10.0
    sensitivity_error_frac: float = 0.02
    bias_drift_mg: float = 2.0
    rate_error_frac_range: tuple[float, float] = (-0.01, 0.06)
    rate_drift_frac_range: tuple[float, float] = (-0.002, 0.002)
    noise_draw: int = 0

    @property
    def lsb_g(self) -> float:
        """One count of a 16-bit sample (g)."""
        return 2.0 * self.full_scale_g / 65536.0

    def __post_init__(self) -> None:
        if self.noise_density_ug_per_rthz < 0:
            raise ParameterError(
                "noise_density_ug_per_rthz", ">= 0", self.noise_density_ug_per_rthz
            )
        if self.full_scale_g not in (2.0, 4.0, 8.0, 16.0):
            raise ParameterError("full_scale_g", "one of 2, 4, 8, 16 g", self.full_scale_g)
        if (
            isinstance(self.noise_draw, bool)
            or not isinstance(self.noise_draw, int)
            or self.noise_draw < 0
        ):
            raise ParameterError("noise_draw", "a whole number >= 0", self.noise_draw)


@dataclass(frozen=True)
class GainConfig:
    """How strongly movements reach the sensor.

    The gain scales every event's dynamic contribution (strap coupling, band sensitivity), never the
    static gravity of the posture (an accelerometer reads 1 g at rest however it is strapped).

    Attributes
    ----------
    overall : float
        Overall factor. Default 1; plausible 0.6-1.8 (strap tightness, soft tissue).
    jump_factor : float
        Strap loosening: the gain is multiplied by this from ``jump_at_frac`` of the night on.
        Default 1 (off); sensing.md row 12 uses 0.7.
    jump_at_frac : float
        When the strap loosens, as a fraction of the night. Default 0.5 (mid-night, row 12).
    """

    overall: float = 1.0
    jump_factor: float = 1.0
    jump_at_frac: float = 0.5

    def __post_init__(self) -> None:
        if not (0.05 <= self.overall <= 20):
            raise ParameterError("overall", "a gain between 0.05 and 20", self.overall)
        if not (0.05 <= self.jump_factor <= 20):
            raise ParameterError("jump_factor", "a factor between 0.05 and 20", self.jump_factor)
        if not (0 <= self.jump_at_frac <= 1):
            raise ParameterError("jump_at_frac", "a fraction 0-1", self.jump_at_frac)


@dataclass(frozen=True)
class MovementConfig:
    """Shape of one leg movement (LM): a rotation of the shank about the knee or hip.

    Attributes
    ----------
    ankle_only_share : float
        Share of LMs that are pure ankle/toe rotations the ankle band barely sees. Default 0.39
        (Terrill et al., EMBC 2013; plausible 0.25-0.55, sensing.md).
    ankle_only_tilt_deg : (float, float)
        Log-uniform range of the tiny shank tilt of an ankle-only LM (deg): 0.01-0.15 deg gives
        roughly 0.2-3 mg at the band.
    tilt_median_deg, tilt_sigma_ln : float
        Lognormal peak shank tilt of a visible-kind LM. Defaults 4 deg and 1.3: peaks of about
        30/180/1000 mg occur (sensing.md: small/medium/large minimum-jerk rotations) and roughly one
        in eight stays below 10 mg once projected on gravity.
    tilt_max_deg : float
        Largest tilt (deg). Default 75.
    duration_median_s, duration_sigma_ln, duration_range_s
        Lognormal duration (s), clipped to 0.5-10 s (the LM definition, scoring-rules.md); median
        2.2 s puts most LMs at 1-5 s.
    hip_share : float
        Share of LMs led by hip flexion (lever 0.7-0.9 m) rather than knee flexion (lever 0.3-0.42 m
        from the knee to a band just above the ankle).
    wander_frac_max : float
        The held angle trembles and wanders by up to this fraction of the peak (sum of sinusoids of
        0.15-3 Hz): a sustained, not frozen, hold (sensing.md).
    """

    ankle_only_share: float = 0.39
    ankle_only_tilt_deg: tuple[float, float] = (0.01, 0.15)
    tilt_median_deg: float = 4.0
    tilt_sigma_ln: float = 1.3
    tilt_max_deg: float = 75.0
    duration_median_s: float = 2.2
    duration_sigma_ln: float = 0.5
    duration_range_s: tuple[float, float] = (0.5, 10.0)
    hip_share: float = 0.3
    wander_frac_max: float = 0.08

    def __post_init__(self) -> None:
        if not (0 <= self.ankle_only_share <= 1):
            raise ParameterError("ankle_only_share", "a share 0-1", self.ankle_only_share)
        _check_range("duration_range_s", self.duration_range_s, 0.05)
        _check_range("ankle_only_tilt_deg", self.ankle_only_tilt_deg, 1e-6)


@dataclass(frozen=True)
class LMScheduleConfig:
    """When leg movements happen: PLM series, isolated LMs, clusters, respiratory LMs.

    Attributes
    ----------
    enabled : bool
        Switch all LMs off (negative-control scenarios).
    series_quiet_mean_s : float
        Mean quiet time between PLM series at the start of the night (s); exponential. Default
        1300 s: about 25-30 PLM/h early on (RLS nights, Trotti 2009 range 4-74/h).
    series_length_median, series_length_sigma_ln, series_length_range
        Lognormal number of LMs per series: some long, some short (3-150, below 4 is not a series).
    imi_median_s, imi_sigma_ln, imi_range_s
        Lognormal base inter-movement interval of each series (s): RLS IMIs peak at 15-30 s
        (scoring-rules.md); 15-40 s in practice.
    imi_jitter_ln : float
        Per-interval lognormal jitter around the (slowly wandering) base IMI.
    break_short_p, break_long_p : float
        Chance that an interval is broken by a short (2-9 s) or long (95-200 s) one.
    isolated_per_h : float
        Isolated LMs per hour at the start. Default 6.
    clusters_per_h : float
        Non-periodic clusters of 5-10 LMs 1-8 s apart per hour (sensing.md row 10). Default 0.6.
    respiratory_series_per_h : float
        Series of respiratory-related LMs at 25-45 s (sensing.md row 11) per hour. Default 0.25.
    end_of_night_factor : float
        LM rates fall linearly to this factor by the end of the night (PLM falls across the night,
        scoring-rules.md). Default 0.4.
    bilateral_share : float
        Share of LMs on both legs (onsets a fraction of a second apart); the rest are on one leg,
        left or right at even odds. Default 0.35.
    bilateral_lag_sd_s : float
        SD of the onset offset between the legs of a bilateral LM (s). Default 0.25.
    """

    enabled: bool = True
    series_quiet_mean_s: float = 1300.0
    series_length_median: float = 12.0
    series_length_sigma_ln: float = 0.8
    series_length_range: tuple[int, int] = (3, 150)
    imi_median_s: float = 24.0
    imi_sigma_ln: float = 0.22
    imi_range_s: tuple[float, float] = (14.0, 45.0)
    imi_jitter_ln: float = 0.12
    break_short_p: float = 0.04
    break_long_p: float = 0.03
    isolated_per_h: float = 6.0
    clusters_per_h: float = 0.6
    respiratory_series_per_h: float = 0.25
    end_of_night_factor: float = 0.4
    bilateral_share: float = 0.35
    bilateral_lag_sd_s: float = 0.25

    def __post_init__(self) -> None:
        if self.series_quiet_mean_s <= 0:
            raise ParameterError("series_quiet_mean_s", "> 0 s", self.series_quiet_mean_s)
        if not (0 <= self.bilateral_share <= 1):
            raise ParameterError("bilateral_share", "a share 0-1", self.bilateral_share)
        if self.end_of_night_factor < 0:
            raise ParameterError("end_of_night_factor", ">= 0", self.end_of_night_factor)


@dataclass(frozen=True)
class SpasmConfig:
    """Spasms: short sharp jerks, counted apart from LMs (sensing.md "Spasms").

    Defaults: 1.5 per hour; 0.1-0.5 s; lognormal peak tilt median 3 deg (peaks of ~0.3-5 g).
    """

    enabled: bool = True
    per_h: float = 1.5
    duration_range_s: tuple[float, float] = (0.1, 0.5)
    tilt_median_deg: float = 3.0
    tilt_sigma_ln: float = 0.6
    bilateral_share: float = 0.3


@dataclass(frozen=True)
class PostureConfig:
    """Posture changes (turning over): sensing.md row 1.

    Defaults: 3.4 per hour (27 a night of 8 h; range 15-40), gravity rotated 20-120 deg over
    0.5-3 s, transient (lift and set-down) peak log-uniform 0.05-1 g.
    """

    enabled: bool = True
    per_h: float = 3.4
    count: int | None = None
    angle_range_deg: tuple[float, float] = (20.0, 120.0)
    duration_range_s: tuple[float, float] = (0.5, 3.0)
    transient_range_g: tuple[float, float] = (0.05, 1.0)

    def __post_init__(self) -> None:
        _check_range("angle_range_deg", self.angle_range_deg)
        _check_range("duration_range_s", self.duration_range_s, 0.05)


@dataclass(frozen=True)
class GrossBodyConfig:
    """Gross body movements: sensing.md row 2 (20-60 a night, 2-20 s, 300-2500 mg).

    Defaults: 5 per hour; 2-20 s; translation peaks log-uniform 0.3-2.5 g plus a few rotations of
    5-35 deg; 40% carry a posture change.
    """

    enabled: bool = True
    per_h: float = 5.0
    duration_range_s: tuple[float, float] = (2.0, 20.0)
    peak_range_g: tuple[float, float] = (0.3, 2.5)
    posture_change_share: float = 0.4


@dataclass(frozen=True)
class RespirationConfig:
    """Breathing transmitted to the leg: sensing.md row 3 (0.20-0.33 Hz, 1-10 mg, modulated)."""

    enabled: bool = True
    freq_range_hz: tuple[float, float] = (0.20, 0.33)
    amplitude_range_mg: tuple[float, float] = (1.0, 10.0)


@dataclass(frozen=True)
class VibrationConfig:
    """Mattress vibration from a partner: sensing.md row 4.

    Defaults: 25 per hour (200 a night of 8 h; range 50-500), 0.05-0.4 s, 3-40 mg (log-uniform),
    damped 8-20 Hz ringing, tilt unchanged. Evaluated at the true sample times, so it aliases at low
    output rates, as on a real band without an anti-alias filter.
    """

    enabled: bool = True
    per_h: float = 25.0
    count: int | None = None
    duration_range_s: tuple[float, float] = (0.05, 0.4)
    peak_range_mg: tuple[float, float] = (3.0, 40.0)
    freq_range_hz: tuple[float, float] = (8.0, 20.0)


@dataclass(frozen=True)
class GapConfig:
    """Missing data (BLE/FIFO losses): sensing.md row 6 (20-60 gaps of 0.1-5 s, one of 30-120 s).

    Defaults: 5 short gaps per hour (40 a night of 8 h), log-uniform 0.1-5 s, plus ``long_count``
    long gaps of 30-120 s. ``short_fraction`` (share of the night), when set, overrides
    ``short_per_h``.
    """

    enabled: bool = True
    short_per_h: float = 5.0
    short_fraction: float | None = None
    short_range_s: tuple[float, float] = (0.1, 5.0)
    long_count: int = 1
    long_range_s: tuple[float, float] = (30.0, 120.0)


@dataclass(frozen=True)
class OffBodyConfig:
    """The band taken off and left on the bedside table: sensing.md row 8 (~10 min).

    Defaults: one stretch of 8-12 min with 2-6 s of handling at each end, placed in the middle
    80% of the night, on the left (first) band.
    """

    enabled: bool = True
    count: int = 1
    duration_range_s: tuple[float, float] = (480.0, 720.0)
    handling_range_s: tuple[float, float] = (2.0, 6.0)


@dataclass(frozen=True)
class TremorConfig:
    """Hypnagogic foot tremor / ALMA bursts: sensing.md row 9 (0.3-4 Hz, 10-15 s, 2-8 a night).

    Defaults: 0.6 per hour; shank tilt oscillation 0.3-3 deg (log-uniform), capped so the peak
    acceleration stays within 5-60 mg (small foot movements seen from above the ankle); ALMA
    alternates between the legs (the other leg in antiphase) in ``alternating_share`` of bursts.
    """

    enabled: bool = True
    per_h: float = 0.6
    count: int | None = None
    freq_range_hz: tuple[float, float] = (0.3, 4.0)
    duration_range_s: tuple[float, float] = (10.0, 15.0)
    tilt_range_deg: tuple[float, float] = (0.3, 3.0)
    peak_range_mg: tuple[float, float] = (5.0, 60.0)
    alternating_share: float = 0.5


@dataclass(frozen=True)
class TechniqueSession:
    """One scheduled technique session (techniques.md "What follows for the software").

    ``start_s`` is from the start of the night. Percussive spinal massage defaults: 2-3 strokes a
    second on the mid-back for 3 min (about 100-200 strokes in total, techniques.md), lying prone.
    """

    start_s: float
    duration_s: float = 180.0
    technique: str = "percussive_spinal_massage"
    region: str = "mid_back"
    performed_by: str = "partner"
    strokes_per_s: float = 2.0


@dataclass(frozen=True)
class TechniqueConfig:
    """Technique sessions and their effect on the LM rate.

    After each session the LM rate is multiplied by ``effect_factor`` for ``effect_duration_s``.
    Default: no sessions, factor 1 (no effect). The claim to test (techniques.md): symptoms end for
    5 or more hours after percussive massage.
    """

    sessions: tuple[TechniqueSession, ...] = ()
    effect_factor: float = 1.0
    effect_duration_s: float = 3.0 * 3600.0
    stroke_peak_range_mg: tuple[float, float] = (4.0, 30.0)

    def __post_init__(self) -> None:
        if self.effect_factor < 0:
            raise ParameterError("effect_factor", ">= 0", self.effect_factor)


@dataclass(frozen=True)
class NightConfig:
    """Everything that defines a simulated night.

    The defaults are the ``nominal`` night: every distractor family of sensing.md except the
    strap-loosening gain jump (the ``gain_jump`` scenario isolates it).

    Attributes
    ----------
    seed : int
        Seeds every random stream (numpy SeedSequence, one spawned stream per topic).
    hours : float
        Length of the night (h).
    rate_hz : float
        Nominal output rate of the band(s) (Hz). The event schedule does not depend on it.
    bilateral : bool
        Also simulate a band on the right ankle.
    start_utc : datetime
        Wall-clock start of the recording.
    """

    seed: int = 0
    hours: float = 8.0
    rate_hz: float = 50.0
    bilateral: bool = False
    start_utc: datetime = datetime(2025, 1, 6, 22, 30, tzinfo=UTC)
    sensor: SensorConfig = field(default_factory=SensorConfig)
    gain: GainConfig = field(default_factory=GainConfig)
    movement: MovementConfig = field(default_factory=MovementConfig)
    lms: LMScheduleConfig = field(default_factory=LMScheduleConfig)
    spasms: SpasmConfig = field(default_factory=SpasmConfig)
    posture: PostureConfig = field(default_factory=PostureConfig)
    gross_body: GrossBodyConfig = field(default_factory=GrossBodyConfig)
    respiration: RespirationConfig = field(default_factory=RespirationConfig)
    vibration: VibrationConfig = field(default_factory=VibrationConfig)
    gaps: GapConfig = field(default_factory=GapConfig)
    off_body: OffBodyConfig = field(default_factory=OffBodyConfig)
    tremor: TremorConfig = field(default_factory=TremorConfig)
    technique: TechniqueConfig = field(default_factory=TechniqueConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ParameterError("seed", "a non-negative integer", self.seed)
        if not (0.01 <= self.hours <= 24):
            raise ParameterError("hours", "a night of 0.01-24 h", self.hours)
        if not (5.0 <= self.rate_hz <= 1000.0):
            raise ParameterError("rate_hz", "a nominal rate of 5-1000 Hz", self.rate_hz)
        if self.start_utc.tzinfo is None:
            raise ParameterError("start_utc", "a timezone-aware datetime", self.start_utc)

    @property
    def duration_s(self) -> float:
        return float(self.hours) * 3600.0
