"""The nights list: one row per saved night, with whether it is complete enough to compare.

For now a saved night is a ``legwatch.night/1`` document (``legwatch analyze ... --json``) named
``*.night.json`` anywhere under the folder. A file that cannot be read is listed as excluded with
the reason, so one broken file never hides the others.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from legwatch.errors import ParameterError
from legwatch.nights.diary import NIGHT_PATTERN, night_date

log = logging.getLogger(__name__)

SCHEMA = "legwatch.night/1"
PATTERN = NIGHT_PATTERN

#: A night with less analysable time than this is excluded, h (below 4 h an hourly rate varies a
#: lot: the analysis warns at the same bound, legwatch.nights.analysis).
EXCLUDE_BELOW_H = 4.0
#: A night with less analysable time than this is partial, h (about a usual night's sleep minus
#: the time to fall asleep; clinical PSG asks for >= 6 h of recording).
PARTIAL_BELOW_H = 6.0
#: A band off the body for more than this share of the recording excludes the night.
EXCLUDE_OFF_BODY_SHARE = 0.5
#: Detection off for more than this share of the recording (any band) makes the night partial.
PARTIAL_DETECTION_OFF_SHARE = 0.10


def _sum(items: list[dict[str, Any]], band_id: str) -> float:
    return float(sum(x["end_s"] - x["start_s"] for x in items if x.get("band_id") == band_id))


def night_row(doc: dict[str, Any], source: str = "") -> dict[str, Any]:
    """One row of the nights table from a ``legwatch.night/1`` document.

    Returns
    -------
    dict
        ``file``, ``date`` (the evening the night began, UTC), ``start_utc``, ``bands`` (sides
        joined by "+"), ``rules``, ``hours_analysable`` (h), ``lm_per_h``, ``plm_per_h``,
        ``spasms_per_h`` (per analysable hour), ``periodicity`` (Ferri 2006 index, 0-1, None if
        undefined), ``status`` ("complete", "partial" or "excluded") and ``reason`` (plain words,
        empty when complete).
    """
    if doc.get("schema") != SCHEMA:
        raise ParameterError("doc", f"a {SCHEMA} document", doc.get("schema"))
    ix = doc["indices"]
    quality = doc.get("quality", {})
    recording_s = float(doc["recording_s"])
    hours = float(doc["analysable_s"]) / 3600.0
    excluded: list[str] = []
    partial: list[str] = []
    if hours < EXCLUDE_BELOW_H:
        excluded.append(f"only {hours:.1f} h analysable (needs {EXCLUDE_BELOW_H:g} h)")
    elif hours < PARTIAL_BELOW_H:
        partial.append(f"only {hours:.1f} h analysable (a full night has {PARTIAL_BELOW_H:g} h)")
    for band in doc["bands"]:
        bid, side = band["band_id"], band.get("side", "?")
        off = _sum(quality.get("off_body", []), bid)
        if recording_s > 0 and off / recording_s > EXCLUDE_OFF_BODY_SHARE:
            excluded.append(
                f"{side} band off the body for {off / 3600:.1f} h of {recording_s / 3600:.1f} h"
            )
        det_off = _sum(quality.get("detection_off", []), bid)
        if recording_s > 0 and det_off / recording_s > PARTIAL_DETECTION_OFF_SHARE:
            partial.append(
                f"{side} band: too much motion to count for {100 * det_off / recording_s:.0f}% "
                "of the night"
            )
    status = "excluded" if excluded else "partial" if partial else "complete"
    start = datetime.fromisoformat(doc["start_utc"])

    def rate(key: str) -> float | None:
        v = ix.get(key)
        return None if v is None or not math.isfinite(float(v)) else float(v)

    return {
        "file": source,
        "date": night_date(start),
        "start_utc": doc["start_utc"],
        "bands": "+".join(b.get("side", "?") for b in doc["bands"]),
        "rules": doc.get("rules", ""),
        "hours_analysable": round(hours, 2),
        "lm_per_h": rate("lm_per_h"),
        "plm_per_h": rate("plm_per_h"),
        "spasms_per_h": rate("spasms_per_h"),
        "periodicity": rate("periodicity_index"),
        "status": status,
        "reason": "; ".join(excluded + partial),
    }


def nights_table(root: str | Path) -> list[dict[str, Any]]:
    """The table of the saved nights under ``root``, oldest first.

    Parameters
    ----------
    root : str or Path
        A folder searched recursively for ``*.night.json`` (``legwatch.night/1`` documents), or
        one such file.

    Returns
    -------
    list of dict
        One row per file (see :func:`night_row`); a file that is not a readable
        ``legwatch.night/1`` document gives an excluded row saying why.
    """
    base = Path(root)
    if base.is_file():
        files = [base]
    elif base.is_dir():
        files = sorted(base.rglob(PATTERN))
    else:
        raise ParameterError("root", "an existing folder of saved nights", str(base))
    rows = []
    for path in files:
        rel = str(path.relative_to(base)) if base.is_dir() else path.name
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            rows.append(night_row(doc, rel))
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning("%s: not a readable %s document: %s", path, SCHEMA, err)
            rows.append(_unreadable(rel, f"not a readable {SCHEMA} file ({err})"))
    rows.sort(key=lambda r: (r["start_utc"] or "9999", r["file"]))
    return rows


def _unreadable(source: str, reason: str) -> dict[str, Any]:
    return {
        "file": source,
        "date": "",
        "start_utc": "",
        "bands": "",
        "rules": "",
        "hours_analysable": None,
        "lm_per_h": None,
        "plm_per_h": None,
        "spasms_per_h": None,
        "periodicity": None,
        "status": "excluded",
        "reason": reason,
    }


def render_nights_table(rows: list[dict[str, Any]], title: str | None = None) -> Table:
    """A rich table of :func:`nights_table` rows, for ``Console().print(...)``."""

    def f(v: Any, digits: int = 1) -> str:
        return "–" if v is None else f"{v:.{digits}f}"

    table = Table(
        title=title,
        caption="rates per hour of analysable time in bed; ankle counts are not on a sleep "
        "lab's scale",
    )
    for name, justify in (
        ("date", "left"),
        ("bands", "left"),
        ("rules", "left"),
        ("h analysable", "right"),
        ("LM/h", "right"),
        ("PLM/h", "right"),
        ("spasms/h", "right"),
        ("periodicity", "right"),
        ("status", "left"),
        ("reason", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    style = {"complete": "green", "partial": "yellow", "excluded": "red"}
    for r in rows:
        table.add_row(
            escape(r["date"] or r["file"]),
            r["bands"],
            r["rules"],
            f(r["hours_analysable"], 2),
            f(r["lm_per_h"]),
            f(r["plm_per_h"]),
            f(r["spasms_per_h"]),
            f(r["periodicity"], 2),
            f"[{style[r['status']]}]{r['status']}[/]",
            escape(r["reason"]),
        )
    return table
