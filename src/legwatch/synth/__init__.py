"""A seeded, deterministic physiological night simulator: the ground truth detectors are judged on.

The leg is a rigid shank rotating about the knee or hip (minimum-jerk rise, a held angle that
wanders, minimum-jerk return); the band, strapped any way round, reads gravity re-projected by the
rotation plus tangential and centripetal acceleration, then the sensor's offsets, noise,
quantisation, clock drift and gaps. Distractors follow sensing.md's table. The event schedule
depends only on the seed and event parameters, never on the sampling rate.

>>> night = simulate_night(scenario("nominal", seed=1, hours=1.0))   # doctest: +SKIP
>>> write_night(night, "night.csv")                                   # doctest: +SKIP
"""

from legwatch.synth.config import (
    GainConfig,
    GapConfig,
    GrossBodyConfig,
    LMScheduleConfig,
    MovementConfig,
    NightConfig,
    OffBodyConfig,
    PostureConfig,
    RespirationConfig,
    SensorConfig,
    SpasmConfig,
    TechniqueConfig,
    TechniqueSession,
    TremorConfig,
    VibrationConfig,
)
from legwatch.synth.night import SimulatedNight, simulate_night, write_night
from legwatch.synth.scenarios import SCENARIOS, scenario
from legwatch.synth.truth import VISIBLE_THRESHOLD_G, Truth

__all__ = [
    "SCENARIOS",
    "VISIBLE_THRESHOLD_G",
    "GainConfig",
    "GapConfig",
    "GrossBodyConfig",
    "LMScheduleConfig",
    "MovementConfig",
    "NightConfig",
    "OffBodyConfig",
    "PostureConfig",
    "RespirationConfig",
    "SensorConfig",
    "SimulatedNight",
    "SpasmConfig",
    "TechniqueConfig",
    "TechniqueSession",
    "TremorConfig",
    "Truth",
    "VibrationConfig",
    "scenario",
    "simulate_night",
    "write_night",
]
