"""Class labels of detected events: from a simulated night's truth, or from a person.

Truth labels
------------
A detected event is labelled ``lm`` when a true leg movement's onset lies within ``tolerance_s``
(1 s, the tolerance of the LM agreement in legwatch.signal.agreement) of its onset: exactly the
detections the LM F1 counts as right. Otherwise it takes the kind of a true movement it overlaps
(its interval widened by ``tolerance_s``), by priority: posture change, gross body movement, leg
movement, spasm, tremor, vibration; a detection that overlaps no true movement is ``other``
(noise, breathing, a technique stroke).

Personal labels
---------------
A person confirms or corrects an event's kind by night file and clock time; the labels live in a
JSON file next to the night (``<night>.labels.json``, schema ``legwatch.labels/1``), one entry per
event keyed by its onset in seconds from the recording start.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from legwatch.errors import InputFileError, ParameterError
from legwatch.events import EventTable

log = logging.getLogger(__name__)

#: Classes of the event classifier. The detector's kinds (detect.KINDS) minus "short", plus
#: "other": a detection that is none of the movements legwatch knows.
CLASSES: tuple[str, ...] = (
    "lm",
    "spasm",
    "posture_change",
    "gross_body",
    "tremor",
    "vibration",
    "other",
)
#: True kinds that are movements a detection can be; everything else in the truth (gaps, off-body,
#: respiratory events, strap loosening) is a marker, not a movement.
_MOVEMENT_KINDS = ("lm", "spasm", "posture_change", "gross_body", "tremor", "vibration")
#: Which true kind a detection takes when it overlaps several (and no LM onset is within tolerance).
_OVERLAP_PRIORITY = ("posture_change", "gross_body", "lm", "spasm", "tremor", "vibration")
LABELS_SCHEMA = "legwatch.labels/1"
#: A label given by clock time picks the event whose span (widened by this, s) holds that time.
LABEL_TOLERANCE_S = 2.0


def truth_labels(
    events: EventTable, truth_movements: EventTable, tolerance_s: float = 1.0
) -> NDArray[np.str_]:
    """The true class (one of :data:`CLASSES`) of each detected event (see the module docstring).

    Parameters
    ----------
    events : EventTable
        Detected events (one band), times in s on the same axis as the truth.
    truth_movements : EventTable
        ``SimulatedNight.truth.movements`` (all sides; only this band's side is used when the
        events carry a side).
    tolerance_s : float
        Onset tolerance for a leg movement and widening of the overlap test, s.
    """
    tm = truth_movements
    sides = set(events.side.tolist())
    if sides <= {"left", "right"} and len(sides) == 1:
        tm = tm.subset(np.isin(tm.side, [*sides, "unknown", "bilateral"]))
    lm_on = np.sort(tm.onset_s[tm.kind == "lm"])
    mv = tm.subset(np.isin(tm.kind, _MOVEMENT_KINDS))
    out = np.full(len(events), "other", dtype=object)
    for i in range(len(events)):
        on = float(events.onset_s[i])
        j = int(np.searchsorted(lm_on, on))
        near = [abs(lm_on[k] - on) for k in (j - 1, j) if 0 <= k < lm_on.size]
        if near and min(near) <= tolerance_s:
            out[i] = "lm"
            continue
        a, b = on - tolerance_s, on + float(events.duration_s[i]) + tolerance_s
        ov = np.minimum(mv.offset_s, b) - np.maximum(mv.onset_s, a)
        hit = ov > 0
        if hit.any():
            # a turn-over is a gross movement and a posture change at once: the posture change
            # wins, as in the rules; otherwise the largest movement family overlapping
            rank = np.array([_OVERLAP_PRIORITY.index(str(k)) for k in mv.kind[hit]])
            out[i] = _OVERLAP_PRIORITY[int(rank.min())]
    return out.astype(np.str_)


# -- personal labels ---------------------------------------------------------------------------
@dataclass(frozen=True)
class UserLabel:
    """One person's verdict on one detected event.

    Attributes
    ----------
    onset_s : float
        Onset of the labelled event, s from the recording start.
    duration_s : float
        Its duration, s.
    kind : str
        The kind the person gave (one of :data:`CLASSES`).
    detected_kind : str
        The kind legwatch gave when the label was made (equal to ``kind`` for a confirmation).
    """

    onset_s: float
    duration_s: float
    kind: str
    detected_kind: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "onset_s": round(self.onset_s, 3),
            "duration_s": round(self.duration_s, 3),
            "kind": self.kind,
            "detected_kind": self.detected_kind,
        }


def labels_path(night: str | Path) -> Path:
    """Where the labels of a night file live: ``<night>.labels.json`` beside it."""
    night = Path(night)
    return night.with_name(night.name + ".labels.json")


def read_labels(night: str | Path) -> list[UserLabel]:
    """The labels stored with a night (an empty list when there are none)."""
    path = labels_path(night)
    if not path.exists():
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputFileError(f"not a readable labels file ({exc})", path=path) from exc
    if not isinstance(doc, dict) or doc.get("schema") != LABELS_SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise InputFileError(f"expected schema {LABELS_SCHEMA!r}, got {got!r}", path=path)
    out = []
    for k, row in enumerate(doc.get("labels", [])):
        try:
            out.append(
                UserLabel(
                    float(row["onset_s"]),
                    float(row["duration_s"]),
                    str(row["kind"]),
                    str(row.get("detected_kind", "")),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputFileError(f"label {k} is malformed ({exc!r})", path=path) from exc
        if out[-1].kind not in CLASSES:
            raise InputFileError(
                f"label {k} has kind {out[-1].kind!r}; expected one of {CLASSES}", path=path
            )
    return out


def write_labels(night: str | Path, labels: list[UserLabel]) -> Path:
    """Write a night's labels (sorted by onset, one per onset); returns the path written."""
    path = labels_path(night)
    by_onset = {round(lab.onset_s, 3): lab for lab in labels}
    doc = {
        "schema": LABELS_SCHEMA,
        "night": Path(night).name,
        "labels": [by_onset[k].to_dict() for k in sorted(by_onset)],
    }
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return path


def add_label(night: str | Path, label: UserLabel) -> Path:
    """Add or replace (same onset) one label of a night; returns the labels file."""
    keep = [lab for lab in read_labels(night) if abs(lab.onset_s - label.onset_s) > 1e-3]
    return write_labels(night, [*keep, label])


def clock_to_seconds(text: str, start_utc: datetime) -> float:
    """Seconds from ``start_utc`` to the clock time ``HH:MM:SS`` (the first such time after it).

    Raises
    ------
    ParameterError
        When the text is not a clock time.
    """
    try:
        clock = time.fromisoformat(text.strip())
    except ValueError:
        raise ParameterError("--at", "a clock time HH:MM:SS, e.g. 02:14:07", text) from None
    t = datetime.combine(start_utc.date(), clock, tzinfo=start_utc.tzinfo)
    while t < start_utc:
        t += timedelta(days=1)
    return (t - start_utc).total_seconds()


def event_at(events: EventTable, t_s: float, tolerance_s: float = LABEL_TOLERANCE_S) -> int:
    """Index of the event whose span (widened by ``tolerance_s``) holds ``t_s``; the nearest onset
    wins when several do.

    Raises
    ------
    ParameterError
        When no event is that close.
    """
    if len(events):
        inside = (events.onset_s - tolerance_s <= t_s) & (events.offset_s + tolerance_s >= t_s)
        if inside.any():
            idx = np.flatnonzero(inside)
            return int(idx[np.argmin(np.abs(events.onset_s[idx] - t_s))])
    near = ""
    if len(events):
        k = int(np.argmin(np.abs(events.onset_s - t_s)))
        near = f"; the nearest starts at {events.onset_s[k]:.1f} s ({events.kind[k]})"
    raise ParameterError(
        "--at", f"a time within {tolerance_s:g} s of a detected event", f"{t_s:.1f} s{near}"
    )


def match_labels(
    events: EventTable, labels: list[UserLabel], tolerance_s: float = 0.5
) -> tuple[NDArray[np.int64], NDArray[np.str_]]:
    """Indices of the events the labels refer to (onsets within ``tolerance_s``) and their kinds.

    Labels that match no event (the detector changed since) are skipped with a log message.
    """
    idx: list[int] = []
    kinds: list[str] = []
    for lab in labels:
        if not len(events):
            break
        k = int(np.argmin(np.abs(events.onset_s - lab.onset_s)))
        if abs(float(events.onset_s[k]) - lab.onset_s) <= tolerance_s:
            idx.append(k)
            kinds.append(lab.kind)
        else:
            log.info("label at %.1f s matches no detected event; skipped", lab.onset_s)
    return np.array(idx, dtype=np.int64), np.array(kinds, dtype=np.str_)
