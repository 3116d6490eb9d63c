"""Collecting a night: the crash-safe per-night store of raw band packets and its replay.

``open_or_resume(root, "tonight")`` gives a :class:`NightStore` to append notifications to;
``replay(night_dir)`` turns a night back into one validated Recording per band, and
``replay_night`` adds a :class:`ReplayReport` per band. ``read_night`` is the io reader.
"""

from legwatch.collect.replay import (
    NightReplay,
    ReplayParams,
    ReplayReport,
    read_night,
    replay,
    replay_night,
)
from legwatch.collect.store import (
    DB_NAME,
    DEFAULT_ROOT,
    NightStore,
    StoreParams,
    open_or_resume,
    tonight_id,
)

__all__ = [
    "DB_NAME",
    "DEFAULT_ROOT",
    "NightReplay",
    "NightStore",
    "ReplayParams",
    "ReplayReport",
    "StoreParams",
    "open_or_resume",
    "read_night",
    "replay",
    "replay_night",
    "tonight_id",
]
