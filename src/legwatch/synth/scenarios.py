"""Named scenario presets: the nights other tests and the accuracy benchmark are run on.

Each preset is a function of the base config (seed, hours, rate, bilateral already set), so every
scenario takes a rate, a length and a second band like any other night.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from legwatch.errors import ParameterError
from legwatch.synth.config import NightConfig, TechniqueSession


def _only(cfg: NightConfig, *keep: str) -> NightConfig:
    """Every event family off except ``keep`` (sensor noise, offsets and clock stay)."""
    groups = ("lms", "spasms", "posture", "gross_body", "respiration", "vibration", "gaps",
              "off_body", "tremor")  # fmt: skip
    changes = {g: replace(getattr(cfg, g), enabled=False) for g in groups if g not in keep}
    return replace(cfg, **changes)


def _technique(cfg: NightConfig) -> NightConfig:
    big_t = cfg.duration_s
    sessions = (
        TechniqueSession(start_s=min(300.0, 0.05 * big_t), duration_s=min(180.0, 0.05 * big_t)),
        TechniqueSession(start_s=0.5 * big_t, duration_s=min(180.0, 0.05 * big_t)),
    )
    tech = replace(
        cfg.technique, sessions=sessions, effect_factor=0.2, effect_duration_s=3 * 3600.0
    )
    return replace(cfg, technique=tech)


_Preset = tuple[str, Callable[[NightConfig], NightConfig], dict[str, Any]]
_PRESETS: dict[str, _Preset] = {
    "nominal": (
        "realistic RLS night with every distractor family but strap loosening",
        lambda c: c,
        {},
    ),
    "noise_only": (
        "30 min of sensor noise alone (still band, one posture)",
        lambda c: _only(c),
        {"hours": 0.5},
    ),
    "respiration_only": (
        "breathing (0.20-0.33 Hz, 1-10 mg) and noise",
        lambda c: _only(c, "respiration"),
        {},
    ),
    "vibration_only": (
        "300 mattress-vibration transients and noise",
        lambda c: replace(_only(c, "vibration"), vibration=replace(c.vibration, count=300)),
        {},
    ),
    "posture_only": (
        "40 posture changes and noise",
        lambda c: replace(_only(c, "posture"), posture=replace(c.posture, count=40)),
        {},
    ),
    "tremor_only": (
        "8 hypnagogic foot tremor / ALMA bursts and noise",
        lambda c: replace(_only(c, "tremor"), tremor=replace(c.tremor, count=8)),
        {},
    ),
    "low_plm": (
        "nominal distractors, few LMs: true PLM index about 2/h",
        lambda c: replace(c, lms=replace(c.lms, series_quiet_mean_s=4500.0, isolated_per_h=3.0)),
        {},
    ),
    "gaps": (
        "nominal with 2% of the night in scattered gaps plus one 90 s gap",
        lambda c: replace(c, gaps=replace(c.gaps, short_fraction=0.02, long_range_s=(90.0, 90.0))),
        {},
    ),
    "gain_low": (
        "nominal with the movement gain x0.6",
        lambda c: replace(c, gain=replace(c.gain, overall=0.6)),
        {},
    ),
    "gain_high": (
        "nominal with the movement gain x1.8",
        lambda c: replace(c, gain=replace(c.gain, overall=1.8)),
        {},
    ),
    "gain_jump": (
        "nominal with the strap loosening mid-night (gain x0.7)",
        lambda c: replace(c, gain=replace(c.gain, jump_factor=0.7, jump_at_frac=0.5)),
        {},
    ),
    "spasm_heavy": (
        "nominal with 20 spasms an hour",
        lambda c: replace(c, spasms=replace(c.spasms, per_h=20.0)),
        {},
    ),
    "heavy_vibration": (
        "nominal with 500 vibration transients a night (per 8 h) up to 60 mg",
        lambda c: replace(c, vibration=replace(c.vibration, per_h=62.5, peak_range_mg=(3.0, 60.0))),
        {},
    ),
    "many_posture": (
        "nominal with 40 posture changes and 60 gross body movements a night (per 8 h)",
        lambda c: replace(
            c, posture=replace(c.posture, per_h=5.0), gross_body=replace(c.gross_body, per_h=7.5)
        ),
        {},
    ),
    "bilateral": (
        "nominal with a second band on the right ankle",
        lambda c: replace(c, bilateral=True),
        {},
    ),
    "technique": (
        "nominal with massage sessions at bedtime and mid-night, LM rate x0.2 for 3 h after each",
        _technique,
        {},
    ),
}

#: Scenario names with one-line descriptions.
SCENARIOS: dict[str, str] = {name: p[0] for name, p in _PRESETS.items()}


def scenario(name: str, seed: int, **overrides: Any) -> NightConfig:
    """The config of a named scenario.

    Parameters
    ----------
    name : str
        One of :data:`SCENARIOS`.
    seed : int
        Seed of the night.
    **overrides
        Any :class:`NightConfig` field (hours, rate_hz, bilateral, start_utc, or a whole group
        such as ``gain=GainConfig(...)``). Top-level fields are set before the preset is applied
        (so ``hours`` places the preset's sessions), group objects after it (they win). A value of
        None means "not given" (convenient for a CLI).
    """
    if name not in _PRESETS:
        raise ParameterError("name", f"one of {', '.join(_PRESETS)}", name)
    known = {f.name for f in fields(NightConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ParameterError(
            "overrides", f"NightConfig fields ({', '.join(sorted(known))})", unknown[0]
        )
    given = {k: v for k, v in overrides.items() if v is not None}
    _, preset, defaults = _PRESETS[name]
    top = {k: v for k, v in given.items() if k in ("hours", "rate_hz", "bilateral", "start_utc")}
    base = NightConfig(seed=seed, **{**defaults, **top})
    cfg = preset(base)
    groups = {k: v for k, v in given.items() if k not in top and k != "seed"}
    return replace(cfg, **groups) if groups else cfg
