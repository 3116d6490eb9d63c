"""Event tables: onset and duration in seconds, a kind, a side, and measured properties.

An :class:`EventTable` is immutable and column-oriented (numpy arrays). It is never ``None``: a
night without events gives an empty table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from legwatch.errors import ParameterError

#: The sides an event can come from. "bilateral" is a merged event from two bands.
SIDES = ("left", "right", "bilateral", "unknown")


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class EventTable:
    """A table of events, sorted by onset.

    Columns: ``onset_s`` and ``duration_s`` (float seconds from the recording start), ``kind`` and
    ``side`` (str), and any number of measured properties in ``props`` (one value per event, e.g.
    ``peak_g``).
    """

    onset_s: NDArray[np.float64]
    duration_s: NDArray[np.float64]
    kind: NDArray[np.str_]
    side: NDArray[np.str_]
    props: Mapping[str, NDArray[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        onset = np.asarray(self.onset_s, dtype=np.float64).reshape(-1)
        n = onset.size
        duration = np.asarray(self.duration_s, dtype=np.float64).reshape(-1)
        kind = np.asarray(self.kind, dtype=np.str_).reshape(-1)
        side = np.asarray(self.side, dtype=np.str_).reshape(-1)
        for name, col in (("duration_s", duration), ("kind", kind), ("side", side)):
            if col.size != n:
                raise ParameterError(name, f"{n} values (one per onset)", f"{col.size} values")
        if n and not np.all(np.isfinite(onset)):
            raise ParameterError("onset_s", "finite seconds", "NaN or inf")
        if n and (not np.all(np.isfinite(duration)) or np.any(duration < 0)):
            raise ParameterError("duration_s", "finite, non-negative seconds", duration.min())
        bad_side = set(side.tolist()) - set(SIDES)
        if bad_side:
            raise ParameterError("side", f"one of {SIDES}", sorted(bad_side)[0])
        props = {}
        for key, values in self.props.items():
            col = np.asarray(values).reshape(-1)
            if col.size != n:
                raise ParameterError(f"props[{key!r}]", f"{n} values", f"{col.size} values")
            props[key] = col
        order = np.argsort(onset, kind="stable")
        object.__setattr__(self, "onset_s", _readonly(onset[order]))
        object.__setattr__(self, "duration_s", _readonly(duration[order]))
        object.__setattr__(self, "kind", _readonly(kind[order]))
        object.__setattr__(self, "side", _readonly(side[order]))
        object.__setattr__(self, "props", {k: _readonly(v[order]) for k, v in props.items()})

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def empty(cls, prop_names: Sequence[str] = ()) -> EventTable:
        """A table with no rows (and, optionally, named but empty property columns)."""
        return cls(
            onset_s=np.empty(0),
            duration_s=np.empty(0),
            kind=np.empty(0, dtype=np.str_),
            side=np.empty(0, dtype=np.str_),
            props={name: np.empty(0) for name in prop_names},
        )

    @classmethod
    def from_records(
        cls, records: Sequence[Mapping[str, Any]], prop_names: Sequence[str] | None = None
    ) -> EventTable:
        """Build a table from dicts with keys onset_s, duration_s, kind, side and properties."""
        if not records:
            return cls.empty(prop_names or ())
        names = (
            list(prop_names)
            if prop_names is not None
            else [k for k in records[0] if k not in ("onset_s", "duration_s", "kind", "side")]
        )
        return cls(
            onset_s=np.array([r["onset_s"] for r in records], dtype=np.float64),
            duration_s=np.array([r["duration_s"] for r in records], dtype=np.float64),
            kind=np.array([r["kind"] for r in records], dtype=np.str_),
            side=np.array([r.get("side", "unknown") for r in records], dtype=np.str_),
            props={k: np.array([r[k] for r in records]) for k in names},
        )

    @staticmethod
    def concat(tables: Sequence[EventTable]) -> EventTable:
        """Join tables; property columns missing from a table are filled with NaN."""
        tables = [t for t in tables if len(t)]
        if not tables:
            return EventTable.empty()
        names: list[str] = []
        for t in tables:
            names += [k for k in t.props if k not in names]

        def column(t: EventTable, k: str) -> ArrayLike:
            return t.props[k] if k in t.props else np.full(len(t), np.nan)

        return EventTable(
            onset_s=np.concatenate([t.onset_s for t in tables]),
            duration_s=np.concatenate([t.duration_s for t in tables]),
            kind=np.concatenate([t.kind for t in tables]),
            side=np.concatenate([t.side for t in tables]),
            props={k: np.concatenate([np.asarray(column(t, k)) for t in tables]) for k in names},
        )

    # -- access -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.onset_s.size)

    @property
    def offset_s(self) -> NDArray[np.float64]:
        """End of each event in seconds (onset + duration)."""
        return self.onset_s + self.duration_s

    def subset(self, mask: ArrayLike) -> EventTable:
        """Rows where ``mask`` (boolean array or index array) selects."""
        idx = np.asarray(mask)
        return EventTable(
            onset_s=self.onset_s[idx],
            duration_s=self.duration_s[idx],
            kind=self.kind[idx],
            side=self.side[idx],
            props={k: v[idx] for k, v in self.props.items()},
        )

    def of_kind(self, *kinds: str) -> EventTable:
        """Rows whose kind is one of ``kinds``."""
        return self.subset(np.isin(self.kind, list(kinds)))

    def with_props(self, **columns: ArrayLike) -> EventTable:
        """A copy with property columns added or replaced."""
        props = dict(self.props)
        props.update({k: np.asarray(v) for k, v in columns.items()})
        return EventTable(self.onset_s, self.duration_s, self.kind, self.side, props)

    def records(self) -> Iterator[dict[str, Any]]:
        """Rows as plain dicts of Python scalars (JSON-ready)."""
        for i in range(len(self)):
            row: dict[str, Any] = {
                "onset_s": float(self.onset_s[i]),
                "duration_s": float(self.duration_s[i]),
                "kind": str(self.kind[i]),
                "side": str(self.side[i]),
            }
            for k, v in self.props.items():
                row[k] = v[i].item() if hasattr(v[i], "item") else v[i]
            yield row

    def __repr__(self) -> str:
        kinds = dict(zip(*np.unique(self.kind, return_counts=True), strict=True))
        return (
            f"EventTable({len(self)} events, kinds={ {str(k): int(c) for k, c in kinds.items()} })"
        )
