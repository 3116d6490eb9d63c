"""The night report's figures, drawn with matplotlib's object API (no pyplot, no global state).

Every figure has units on its axes and y-axes that start at zero. Times are clock times of the
night; rates are per hour of counted (analysable) time, as in the indices.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import UTC, tzinfo

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from legwatch.intervals import complement, overlap_s
from legwatch.nights.analysis import NightAnalysis
from legwatch.report._night import (
    Interval,
    Session,
    band_stretches,
    clock,
    zone_name,
)

#: Colours (Okabe-Ito palette, readable with colour-blindness); shapes differ too.
COLOUR = {
    "counted": "#009E73",
    "off_body": "#E69F00",
    "gap": "#D55E00",
    "detection_off": "#CC79A7",
    "not_in_bed": "#999999",
    "lm": "#0072B2",
    "plm": "#D55E00",
    "spasm": "#000000",
    "session": "#F0E442",
    "activity": "#0072B2",
    "floor": "#666666",
}
#: Stretches shorter than this are drawn this wide so that they can be seen on an 8-hour axis, s.
MIN_DRAWN_S = 60.0
#: An hour of the night with less counted time than this gets no rate bar (too little data), s.
MIN_HOUR_COUNTED_S = 900.0
#: PNG resolution, dots per inch (sharp on a laptop screen, small enough to embed).
DPI = 100
_OF = {"left": "the left leg", "right": "the right leg", "bilateral": "both legs at once"}
SIDE_LABEL = {"left": "left leg", "right": "right leg", "bilateral": "both legs", "unknown": "leg"}


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _night_hours(night: NightAnalysis) -> float:
    return night.duration_s / 3600.0


def _clock_axis(ax: Axes, night: NightAnalysis, tz: tzinfo, label: bool = True) -> None:
    """x in hours from the night's start, ticks on the full clock hours."""
    dur_h = _night_hours(night)
    start = night.start_utc.astimezone(tz)
    first = (60 - start.minute - start.second / 60.0) / 60.0 % 1.0
    step = 1.0 if dur_h <= 14 else 2.0
    ticks = np.arange(first, dur_h + 1e-9, step)
    ax.set_xlim(0.0, dur_h)
    ax.xaxis.set_major_locator(FixedLocator(ticks.tolist()))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: clock(night, x * 3600.0, tz)))
    if label:
        ax.set_xlabel(f"clock time ({zone_name(night, tz)})")


def _spans(
    ax: Axes,
    intervals: Sequence[Interval],
    y: float,
    h: float,
    colour: str,
    min_width_s: float = MIN_DRAWN_S,
) -> None:
    bars = []
    for a, b in intervals:
        width = max(b - a, min_width_s)
        mid = 0.5 * (a + b)
        bars.append(((mid - width / 2) / 3600.0, width / 3600.0))
    if bars:
        ax.broken_barh(bars, (y, h), facecolors=colour, edgecolors="none")


def _per_minute(t_s: np.ndarray, values: np.ndarray, how: str, n_minutes: int) -> np.ndarray:
    """Per-minute max or median of frame values; NaN for minutes without frames."""
    out = np.full(n_minutes, np.nan)
    if t_s.size == 0:
        return out
    minute = np.clip(np.floor(t_s / 60.0).astype(np.int64), 0, n_minutes - 1)
    starts = np.flatnonzero(np.r_[True, np.diff(minute) != 0])
    vals = values.astype(np.float64)
    if how == "max":
        agg = np.maximum.reduceat(vals, starts)
    else:  # mean: cheap, and the floor changes slowly, so mean and median agree within a minute
        counts = np.diff(np.r_[starts, vals.size])
        agg = np.add.reduceat(vals, starts) / counts
    out[minute[starts]] = agg
    return out


def timeline_figure(
    night: NightAnalysis, sessions: Sequence[Session] = (), tz: tzinfo = UTC
) -> Figure:
    """The night at a glance: per band, movement activity per minute and what could be counted.

    For each band two panels: the strongest activity in each minute (mg) with the background
    level, and a strip showing counted time, band off the body, missing data (gaps) and
    stretches with too much motion to detect leg movements.
    """
    stretches = band_stretches(night)
    n_bands = len(night.bands)
    fig = Figure(figsize=(11.0, 1.0 + 3.0 * n_bands), layout="constrained")
    ratios = [3.0, 1.0] * n_bands
    axes = fig.subplots(2 * n_bands, 1, sharex=True, height_ratios=ratios)
    n_minutes = max(1, math.ceil(night.duration_s / 60.0))
    minutes_h = (np.arange(n_minutes) + 0.5) / 60.0
    # off-body time is taken out of the time in bed too; only what is left is "outside bed"
    outside = complement(
        [*night.in_bed, *(iv for b in night.bands for iv in b.off_body)], 0.0, night.duration_s
    )
    not_in_bed = sum(b - a for a, b in outside) > 1.0
    for k, (band, st) in enumerate(zip(night.bands, stretches, strict=True)):
        ax, strip = axes[2 * k], axes[2 * k + 1]
        env = band.detection.envelope
        t = env.t_s + band.offset_s
        peak = _per_minute(t, env.activity_mg, "max", n_minutes)
        floor = _per_minute(t, env.floor_mg, "mean", n_minutes)
        finite = peak[np.isfinite(peak)]
        top = max(50.0, float(np.percentile(finite, 99.5)) * 1.1) if finite.size else 50.0
        ax.fill_between(
            minutes_h,
            0.0,
            np.minimum(peak, top),
            step="mid",
            color=COLOUR["activity"],
            alpha=0.6,
            linewidth=0,
            label="strongest movement in the minute",
        )
        ax.plot(
            minutes_h,
            floor,
            color=COLOUR["floor"],
            linewidth=0.8,
            label="background level (breathing, sensor noise)",
        )
        clipped = np.flatnonzero(peak > top)
        if clipped.size:
            ax.plot(
                minutes_h[clipped],
                np.full(clipped.size, top),
                linestyle="none",
                marker="^",
                markersize=3,
                color=COLOUR["activity"],
                label="taller than the panel (cut off)",
            )
        for i, (s0, d, _) in enumerate(sessions):
            ax.axvspan(
                s0 / 3600.0,
                (s0 + max(d, MIN_DRAWN_S)) / 3600.0,
                color=COLOUR["session"],
                alpha=0.6,
                label="technique session" if i == 0 else None,
            )
        ax.set_ylim(0.0, top)
        ax.set_ylabel("activity (mg)")
        ax.set_title(
            f"{SIDE_LABEL.get(st.side, st.side)} band ({st.band_id})", loc="left", fontsize=10
        )
        ax.legend(loc="upper right", fontsize=8, frameon=False)
        ax.grid(axis="y", alpha=0.3)
        # status strip: grey underneath (not counted), counted time, then what went wrong
        _spans(strip, [(0.0, night.duration_s)], 0.0, 1.0, COLOUR["not_in_bed"], 0.0)
        _spans(strip, night.analysable, 0.0, 1.0, COLOUR["counted"], 0.0)
        _spans(strip, st.detection_off, 0.0, 1.0, COLOUR["detection_off"])
        _spans(strip, st.off_body, 0.0, 1.0, COLOUR["off_body"])
        long_gaps = [(a, b) for a, b in st.gaps if b - a >= MIN_DRAWN_S]
        short_gaps = [(a, b) for a, b in st.gaps if b - a < MIN_DRAWN_S]
        _spans(strip, long_gaps, 0.0, 1.0, COLOUR["gap"])
        if short_gaps:
            mid_h = [0.5 * (a + b) / 3600.0 for a, b in short_gaps]
            strip.vlines(mid_h, 0.0, 0.3, color=COLOUR["gap"], linewidth=0.8)
        strip.set_ylim(0.0, 1.0)
        strip.set_yticks([])
        strip.set_ylabel("status", rotation=0, ha="right", va="center")
        _clock_axis(strip, night, tz, label=(k == n_bands - 1))
    handles = [
        Patch(color=COLOUR["counted"], label="counted"),
        Patch(color=COLOUR["off_body"], label="band off the body"),
        Patch(color=COLOUR["gap"], label="no data from the band (short: low tick)"),
        Patch(color=COLOUR["detection_off"], label="too much motion to count"),
        Patch(
            color=COLOUR["not_in_bed"],
            label="not counted: "
            + ("the other band could not count, or " if n_bands == 2 else "")
            + ("outside the time in bed" if not_in_bed else "other reasons"),
        ),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return fig


def raster_figure(
    night: NightAnalysis, sessions: Sequence[Session] = (), tz: tzinfo = UTC
) -> Figure:
    """Every counted leg movement as a tick, one row per hour of the night.

    Movements in a periodic (PLM) series are drawn tall and in orange-red, others short and blue,
    spasms as black stars; time that was not counted is greyed, technique sessions shaded yellow.
    With two bands each row has three lanes: left leg, both legs, right leg.
    """
    n_rows = max(1, math.ceil(night.duration_s / 3600.0 - 1e-9))
    mv = night.leg_movements
    two_bands = len(night.bands) == 2
    lanes = {"left": -0.28, "bilateral": 0.0, "right": 0.28} if two_bands else {}
    fig = Figure(
        figsize=(11.0, 1.6 + 0.55 * n_rows * (1.6 if two_bands else 1.0)), layout="constrained"
    )
    ax = fig.subplots()

    def place(t_s: np.ndarray, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        row = np.floor(t_s / 3600.0)
        minute = (t_s - row * 3600.0) / 60.0
        y = row + np.array([lanes.get(str(s), 0.0) for s in side])
        return minute, y

    # time that was not counted, per row
    # time not counted, per row (stretches under 30 s are hairlines: left out of the drawing)
    uncounted = [
        (a, b) for a, b in complement(night.analysable, 0.0, night.duration_s) if b - a >= 30.0
    ]
    for rects, colour, alpha in (
        (uncounted, "#bbbbbb", 0.5),
        ([(s, s + d) for s, d, _ in sessions], COLOUR["session"], 0.6),
    ):
        for a, b in rects:
            for r in range(int(a // 3600), math.ceil(b / 3600.0)):
                lo, hi = max(a, r * 3600.0), min(b, (r + 1) * 3600.0)
                if hi > lo:
                    ax.add_patch(
                        _rect((lo - r * 3600) / 60, r - 0.45, (hi - lo) / 60, 0.9, colour, alpha)
                    )
    in_series = np.asarray(mv.props.get("in_series", np.zeros(len(mv), bool)), dtype=bool)
    for sel, colour, size, width, label in (
        (~in_series, COLOUR["lm"], 9, 1.2, "leg movement, not periodic"),
        (in_series, COLOUR["plm"], 16, 2.2, "leg movement in a periodic (PLM) series"),
    ):
        x, y = place(mv.onset_s[sel], mv.side[sel])
        ax.plot(
            x,
            y,
            linestyle="none",
            marker="|",
            markersize=size * (0.7 if two_bands else 1),
            markeredgewidth=width,
            color=colour,
            label=f"{label} ({int(sel.sum())})",
        )
    sp = night.spasms
    x, y = place(sp.onset_s, sp.side)
    ax.plot(
        x,
        y,
        linestyle="none",
        marker="*",
        markersize=9,
        color=COLOUR["spasm"],
        label=f"spasm ({len(sp)})",
    )
    ax.set_xlim(0.0, 60.0)
    ax.set_ylim(n_rows - 0.5, -0.5)  # first hour on top
    ax.set_xlabel("minutes into the hour (min)")
    ax.xaxis.set_major_locator(FixedLocator(list(range(0, 61, 5))))
    rows = list(range(n_rows))
    ax.set_yticks(rows)
    ax.set_yticklabels(
        [f"{clock(night, r * 3600.0, tz)}–{clock(night, (r + 1) * 3600.0, tz)}" for r in rows]
    )
    ax.set_ylabel(f"hour of the night ({zone_name(night, tz)})")
    if two_bands:
        ax.set_yticks([r + o for r in rows for o in lanes.values()], minor=True)
        sec = ax.secondary_yaxis("right")
        sec.set_yticks([r + o for r in rows for o in lanes.values()])
        sec.set_yticklabels(["left", "both", "right"] * n_rows, fontsize=7)
    for r in rows[1:]:
        ax.axhline(r - 0.5, color="#dddddd", linewidth=0.8)
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Patch(color="#bbbbbb", alpha=0.5, label="not counted (see the status strip)"))
    if sessions:
        handles.append(Patch(color=COLOUR["session"], alpha=0.6, label="technique session"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return fig


def _rect(x: float, y: float, w: float, h: float, colour: str, alpha: float) -> Patch:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=colour, alpha=alpha, edgecolor="none", zorder=0)


def hourly_rates(night: NightAnalysis) -> dict[str, np.ndarray]:
    """Per hour of the night: counted time (h) and LM, PLM and spasm rates (per counted hour).

    Hours with less than ``MIN_HOUR_COUNTED_S`` of counted time get NaN rates.
    """
    n_rows = max(1, math.ceil(night.duration_s / 3600.0 - 1e-9))
    edges = np.arange(n_rows + 1) * 3600.0
    counted_h = (
        np.array([overlap_s(night.analysable, edges[i], edges[i + 1]) for i in range(n_rows)])
        / 3600.0
    )
    mv = night.leg_movements
    is_lm = np.asarray(mv.props.get("is_lm", np.ones(len(mv), bool)), dtype=bool)
    in_series = np.asarray(mv.props.get("in_series", np.zeros(len(mv), bool)), dtype=bool)
    ok = counted_h * 3600.0 >= MIN_HOUR_COUNTED_S
    denom = np.where(ok, counted_h, np.nan)

    def rate(t_s: np.ndarray) -> np.ndarray:
        counts, _ = np.histogram(t_s, bins=edges)
        return counts / denom

    out = {
        "hour_start_s": edges[:-1],
        "counted_h": counted_h,
        "lm_per_h": rate(mv.onset_s[is_lm]),
        "plm_per_h": rate(mv.onset_s[in_series]),
        "spasms_per_h": rate(night.spasms.onset_s),
    }
    for side in ("left", "right", "bilateral"):
        out[f"lm_per_h_{side}"] = rate(mv.onset_s[is_lm & (mv.side == side)])
    return out


def hourly_figure(night: NightAnalysis, tz: tzinfo = UTC) -> Figure:
    """Bars of leg movements, periodic leg movements and spasms per hour, hour by hour.

    With two bands a second panel splits the leg movements by leg (left, right, both).
    """
    rates = hourly_rates(night)
    n = rates["hour_start_s"].size
    two_bands = len(night.bands) == 2
    fig = Figure(figsize=(11.0, 6.4 if two_bands else 3.6), layout="constrained")
    axes = fig.subplots(2 if two_bands else 1, 1, squeeze=False)[:, 0]
    x = np.arange(n)
    labels = [clock(night, s, tz) for s in rates["hour_start_s"]]
    ax = axes[0]
    w = 0.27
    for k, (key, colour, label) in enumerate(
        (
            ("lm_per_h", COLOUR["lm"], "leg movements (LM)"),
            ("plm_per_h", COLOUR["plm"], "periodic leg movements (PLM)"),
            ("spasms_per_h", COLOUR["spasm"], "spasms"),
        )
    ):
        ax.bar(x + (k - 1) * w, np.nan_to_num(rates[key]), width=w, color=colour, label=label)
    missing = np.flatnonzero(~np.isfinite(rates["lm_per_h"]))
    _finish_hourly(ax, x, labels, missing, tz, night)
    ax.set_title("per hour, hour by hour", loc="left", fontsize=10)
    if two_bands:
        ax = axes[1]
        bottom = np.zeros(n)
        for side, colour in (("left", "#56B4E9"), ("right", "#0072B2"), ("bilateral", "#009E73")):
            v = np.nan_to_num(rates[f"lm_per_h_{side}"])
            ax.bar(x, v, bottom=bottom, width=0.6, color=colour, label=f"LM of {_OF[side]}")
            bottom += v
        _finish_hourly(ax, x, labels, missing, tz, night)
        ax.set_title("leg movements per hour, by leg", loc="left", fontsize=10)
    return fig


def _finish_hourly(
    ax: Axes,
    x: np.ndarray,
    labels: list[str],
    missing: np.ndarray,
    tz: tzinfo,
    night: NightAnalysis,
) -> None:
    ax.set_xticks(x)
    ax.set_xticklabels([f"from {lab}" for lab in labels], fontsize=8)
    ax.set_xlabel(f"hour of the night (clock time, {zone_name(night, tz)})")
    ax.set_ylabel("per hour of counted time (1/h)")
    top = ax.get_ylim()[1]
    ax.set_ylim(0.0, 1.3 * top if np.isfinite(top) and top > 0 else 1.0)  # room for the legend
    for i in missing:
        ax.text(
            i,
            0.02 * ax.get_ylim()[1],
            "too little\ndata",
            ha="center",
            va="bottom",
            fontsize=7,
            color="#666666",
        )
    ax.yaxis.set_major_locator(MaxNLocator(integer=False, min_n_ticks=3))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8, frameon=False)


def imi_figure(night: NightAnalysis) -> Figure:
    """Histograms of the time between the starts of consecutive leg movements (IMI), on a linear
    scale (2 s bins) and on a log scale (bins of 0.1 in ln of the interval in s)."""
    h = night.scoring.imi_histogram
    fig = Figure(figsize=(11.0, 3.6), layout="constrained")
    ax_lin, ax_log = fig.subplots(1, 2)
    edges = np.asarray(h["linear_edges_s"], dtype=float)
    counts = np.asarray(h["linear_counts"], dtype=float)
    ax_lin.axvspan(10.0, 90.0, color=COLOUR["plm"], alpha=0.08, label="periodic range (10–90 s)")
    ax_lin.bar(
        edges[:-1],
        counts,
        width=np.diff(edges),
        align="edge",
        color=COLOUR["lm"],
        edgecolor="white",
        linewidth=0.5,
        label="intervals",
    )
    ax_lin.set_xlim(0.0, 90.0)
    ax_lin.set_xlabel("time from one movement's start to the next (s)")
    ax_lin.set_ylabel("number of intervals (count)")
    ax_lin.set_title("linear scale", loc="left", fontsize=10)
    log_edges = np.asarray(h["log_edges"], dtype=float)
    log_counts = np.asarray(h["log_counts"], dtype=float)
    ax_log.axvspan(
        math.log(10.0),
        math.log(90.0),
        color=COLOUR["plm"],
        alpha=0.08,
        label="periodic range (10–90 s)",
    )
    ax_log.bar(
        log_edges[:-1],
        log_counts,
        width=np.diff(log_edges),
        align="edge",
        color=COLOUR["lm"],
        edgecolor="white",
        linewidth=0.5,
        label="intervals",
    )
    ax_log.set_xlim(float(log_edges[0]), float(log_edges[-1]))
    ax_log.set_xlabel("ln(interval / 1 s)")
    ax_log.set_title("log scale", loc="left", fontsize=10)
    sec = ax_log.secondary_xaxis("top", functions=(np.exp, _safe_log))
    sec.set_xticks([1, 2, 5, 10, 20, 30, 60, 90])
    sec.set_xlabel("interval (s)", fontsize=8)
    for ax in (ax_lin, ax_log):
        top = ax.get_ylim()[1]
        ax.set_ylim(0.0, max(5.0, 1.3 * top))  # room for the legend
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper right", fontsize=8, frameon=False)
        if int(h["n"]) == 0:
            ax.text(
                0.5,
                0.5,
                "no intervals to show",
                transform=ax.transAxes,
                ha="center",
                color="#666666",
            )
    return fig


def _safe_log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.maximum(x, 1e-9))
