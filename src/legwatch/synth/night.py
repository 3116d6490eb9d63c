"""One readable orchestrator: config -> schedule -> bands -> truth -> files."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from legwatch.recording import BodySite, Recording
from legwatch.synth.config import NightConfig
from legwatch.synth.render import render_band
from legwatch.synth.schedule import Schedule, build_schedule
from legwatch.synth.truth import Truth, build_truth

logger = logging.getLogger(__name__)

_SITES = {"left": BodySite.LEFT_ANKLE, "right": BodySite.RIGHT_ANKLE}


@dataclass(frozen=True, eq=False)
class SimulatedNight:
    """A simulated night: the band recordings ("left", and "right" if bilateral), the truth, the
    rate-independent schedule they came from, and the config."""

    config: NightConfig
    recordings: dict[str, Recording]
    truth: Truth
    schedule: Schedule


def simulate_night(cfg: NightConfig) -> SimulatedNight:
    """Simulate one night of ankle accelerometry with its ground truth.

    Parameters
    ----------
    cfg : NightConfig
        The night; the same config always gives identical arrays and files.

    Returns
    -------
    SimulatedNight
    """
    sched = build_schedule(cfg)
    sides = ("left", "right") if cfg.bilateral else ("left",)
    recordings = {}
    for side in sides:
        t, accel = render_band(cfg, sched, side)
        recordings[side] = Recording(
            accel_g=accel,
            t_s=t,
            start_utc=cfg.start_utc,
            fs_nominal_hz=cfg.rate_hz,
            band_id=f"synth-{side}-seed{cfg.seed}",
            site=_SITES[side],
        )
    truth = build_truth(cfg, sched, sides)
    logger.debug("simulated %s with %d true events", cfg, len(truth.movements))
    return SimulatedNight(cfg, recordings, truth, sched)


def write_night(night: SimulatedNight, path: str | Path) -> list[Path]:
    """Write ``path`` (the left band, legwatch CSV), ``<stem>.right.csv`` if bilateral, and
    ``<stem>.truth.json``. Byte-identical for the same night. Returns the paths written."""
    from legwatch.io import write_csv

    path = Path(path)
    stem = path.with_suffix("")
    written = [write_csv(night.recordings["left"], path)]
    if "right" in night.recordings:
        written.append(
            write_csv(night.recordings["right"], stem.with_name(stem.name + ".right.csv"))
        )
    truth_path = stem.with_name(stem.name + ".truth.json")
    text = json.dumps(night.truth.to_dict(), indent=1, sort_keys=True, allow_nan=False)
    truth_path.write_text(text + "\n", encoding="utf-8")
    written.append(truth_path)
    return written
