"""The night report: one self-contained HTML page (figures embedded, inline CSS, works offline)
that a person without an engineering background can read, plus the figures as PNG files."""

from __future__ import annotations

import base64
import html
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta, tzinfo
from pathlib import Path
from typing import Any

import numpy as np

from legwatch.errors import ParameterError
from legwatch.intervals import total
from legwatch.nights.analysis import NightAnalysis
from legwatch.report import figures
from legwatch.report._night import (
    Session,
    band_stretches,
    check_sessions,
    clock,
    rule_name,
    zone_name,
)

log = logging.getLogger(__name__)

#: The ankle-sensor limits, stated once on every report (README "Honest limits"; Terrill 2013 for
#: the 39% of EMG-scored movements the ankle cannot see; ~40% night-to-night PLM variation).
LIMITS_TEXT = (
    "legwatch is not a medical device and gives no diagnosis. An ankle band feels fewer "
    "movements than the muscle sensors (EMG) of a sleep lab: about 4 in 10 leg movements a lab "
    "would score move the foot too little for the band to notice. So these counts are "
    "<strong>not on a sleep lab's scale</strong>: compare legwatch nights with legwatch nights, "
    "not with clinical thresholds. One night says little on its own: the same person's numbers "
    "vary by about 40% from one night to the next."
)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#222;
 max-width:1140px;margin:0 auto;padding:16px 24px;line-height:1.45;background:#fff}
h1{font-size:1.6em;margin:0.2em 0} h2{font-size:1.25em;margin-top:1.6em;
 border-bottom:1px solid #ddd;padding-bottom:0.2em}
.sub{color:#555;margin-top:0} .box{border:1px solid #ccc;border-radius:6px;padding:10px 16px;
 margin:12px 0;background:#fafafa} .limits{border-color:#E69F00;background:#fff8ec}
.big{font-size:1.15em} .num{font-variant-numeric:tabular-nums;text-align:right}
table{border-collapse:collapse;margin:8px 0} th,td{border-bottom:1px solid #e3e3e3;
 padding:4px 10px;vertical-align:top} th{text-align:left;background:#f3f3f3}
img{max-width:100%;height:auto;display:block;margin:8px 0} .note{color:#555;font-size:0.92em}
.rules{font-weight:600} ul.warn li{margin-bottom:4px} footer{margin-top:2em;color:#777;
 font-size:0.85em} details pre{white-space:pre-wrap;font-size:0.8em}
"""


@dataclass(frozen=True)
class NightReport:
    """A rendered report: the HTML text and the PNG figures it embeds (file name -> bytes)."""

    html: str
    figures: dict[str, bytes]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(x: Any, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{float(x):.{digits}f}"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _minutes(s: float) -> str:
    return f"{s / 60:.0f} min" if s >= 60 else f"{s:.0f} s"


def render_night_report(
    night: NightAnalysis, *, sessions: Sequence[Session] = (), tz: tzinfo = UTC
) -> NightReport:
    """Build the report in memory (HTML text and PNG figures); see :func:`write_night_report`."""
    sess = check_sessions(sessions)
    pngs = {
        "timeline.png": figures.png_bytes(figures.timeline_figure(night, sess, tz)),
        "raster.png": figures.png_bytes(figures.raster_figure(night, sess, tz)),
        "hourly.png": figures.png_bytes(figures.hourly_figure(night, tz)),
        "imi.png": figures.png_bytes(figures.imi_figure(night)),
    }
    hours = night.analysable_s / 3600.0
    zone = zone_name(night, tz)
    start = night.start_utc.astimezone(tz)
    # to the nearest minute: a night that stops at 06:29:59.98 reads "06:30"
    end = (night.start_utc + timedelta(minutes=round(night.duration_s / 60))).astimezone(tz)
    bands = ", ".join(
        f"{_e(b.recording.site.value.replace('_', ' '))} band {_e(b.recording.band_id)}"
        for b in night.bands
    )
    rules = rule_name(night.rules)
    denom = f"{night.denominator}: {hours:.2f} h"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>legwatch night report {start:%Y-%m-%d}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Leg movements overnight</h1>",
        f'<p class="sub">Night of {start:%A} {start.day} {start:%B %Y}, {start:%H:%M} to '
        f"{end:%H:%M} ({_e(zone)}) &middot; {bands}</p>",
        _brief(night, hours, rules, denom),
        f'<div class="box limits"><strong>What these numbers can and cannot say.</strong> '
        f"{LIMITS_TEXT}</div>",
    ]
    if sess:
        parts.append(_sessions_html(night, sess, tz))
    parts += [
        "<h2>The night at a glance</h2>",
        '<p class="note">For each band: the upper panel shows the strongest movement in each '
        "minute, in mg (thousandths of the pull of gravity); tall spikes are movements, the thin "
        "grey line is the background level (breathing and sensor noise). The strip below shows "
        "when movements could be counted (green) and why not elsewhere. Very short drop-outs are "
        "drawn as low ticks; other short stretches are drawn at least one minute wide so they can "
        "be seen.</p>",
        _img(pngs["timeline.png"], "Activity per minute and counted time across the night"),
        "<h2>Every leg movement</h2>",
        '<p class="note">One row per hour of the night; each tick is one counted leg movement at '
        "its minute within that hour. Tall orange-red ticks belong to a periodic run (PLM series); "
        "short blue ticks are other leg movements; black stars are spasms. Grey boxes: time that "
        "was not counted, so no ticks can be there."
        + (
            " Each row has three lanes: left leg, both legs at once, right leg."
            if len(night.bands) == 2
            else ""
        )
        + "</p>",
        _img(pngs["raster.png"], "Raster of leg movements, one row per hour"),
        "<h2>Hour by hour</h2>",
        '<p class="note">Movements per hour of counted time in each hour of the night. An hour '
        f"with less than {figures.MIN_HOUR_COUNTED_S / 60:.0f} minutes of counted time gets no "
        "bar.</p>",
        _img(pngs["hourly.png"], "Leg movements, periodic leg movements and spasms per hour"),
        "<h2>The numbers</h2>",
        _indices_html(night, rules, denom),
        "<h2>Time between movements</h2>",
        _imi_html(night),
        _img(pngs["imi.png"], "Histograms of the intervals between movements"),
        "<h2>Data quality</h2>",
        _quality_html(night, tz),
        _footer(night),
        "</body></html>",
    ]
    return NightReport(html="\n".join(parts) + "\n", figures=pngs)


def write_night_report(
    night: NightAnalysis,
    out_dir: str | Path,
    *,
    sessions: Sequence[Session] = (),
    tz: tzinfo = UTC,
) -> Path:
    """Write the night report: ``index.html`` (self-contained) and its figures as PNG files.

    Parameters
    ----------
    night : NightAnalysis
        The analysed night (:func:`legwatch.nights.analysis.analyze_night`).
    out_dir : str or Path
        Folder to write into; created if missing. Existing report files are replaced.
    sessions : sequence of (start_s, duration_s, label)
        Technique sessions to mark: start in s from the night's start, duration in s, a label.
    tz : tzinfo
        Time zone for clock times (default UTC; the page names the zone).

    Returns
    -------
    Path
        The ``index.html`` written.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError("out_dir", "a folder (or a path to create one)", str(out))
    out.mkdir(parents=True, exist_ok=True)
    report = render_night_report(night, sessions=sessions, tz=tz)
    for name, png in report.figures.items():
        (out / name).write_bytes(png)
    index = out / "index.html"
    index.write_text(report.html, encoding="utf-8")
    log.info("wrote the night report to %s", index)
    return index


# -- sections ------------------------------------------------------------------------------
def _brief(night: NightAnalysis, hours: float, rules: str, denom: str) -> str:
    ix = night.indices
    pi = ix.get("periodicity_index")
    rows = [
        f"<li>Counted time: <strong>{hours:.1f} h</strong> of {night.duration_s / 3600:.1f} h "
        "recorded (band on the leg and data readable).</li>",
        f"<li>Leg movements (LM): <strong>{ix['n_lm']}</strong>, that is "
        f"<strong>{_num(ix['lm_per_h'])} per hour</strong>.</li>",
        f"<li>Periodic leg movements (PLM): movements that come in runs of 4 or more, 10 to 90 s "
        f"apart: <strong>{ix['n_plm']}</strong> in {ix['n_series']} runs, that is "
        f"<strong>{_num(ix['plm_per_h'])} per hour</strong>.</li>",
        f"<li>Spasms (short, sharp jerks, counted apart from leg movements): "
        f"<strong>{ix['n_spasms']}</strong>, that is "
        f"<strong>{_num(ix['spasms_per_h'])} per hour</strong>.</li>",
        f"<li>Periodicity: <strong>{_num(pi, 2)}</strong> (0 = no regular runs at all, 1 = every "
        "interval in a regular run).</li>",
    ]
    return (
        '<div class="box big"><strong>The night in brief</strong><ul>'
        + "".join(rows)
        + f'</ul><p class="rules">Scored with the {_e(rules)} rules. Every rate is per hour of '
        f"{_e(denom)}.</p></div>"
    )


def _sessions_html(night: NightAnalysis, sessions: Sequence[Session], tz: tzinfo) -> str:
    rows = "".join(
        f"<tr><td>{_e(label)}</td><td>{clock(night, s, tz)}</td>"
        f'<td class="num">{d / 60:.0f} min</td></tr>'
        for s, d, label in sessions
    )
    return (
        "<h2>Technique sessions</h2>"
        '<p class="note">Marked in yellow on the figures below.</p>'
        f"<table><tr><th>session</th><th>started ({_e(zone_name(night, tz))})</th>"
        f"<th>lasted</th></tr>{rows}</table>"
    )


def _indices_html(night: NightAnalysis, rules: str, denom: str) -> str:
    ix = night.indices
    fh, sh = ix.get("first_half", {}), ix.get("second_half", {})
    rows: list[tuple[str, Any, Any, Any, Any, str]] = [
        ("Leg movements (LM)", ix["n_lm"], ix["lm_per_h"], fh.get("lm_per_h"),
         sh.get("lm_per_h"), "every counted leg movement"),
        ("Candidate leg movements (CLM)", ix["n_clm"], ix["clm_per_h"], None, None,
         "leg movements short enough (at most 10 s, 15 s on both legs) to be part of a run"),
        ("Periodic leg movements (PLM)", ix["n_plm"], ix["plm_per_h"], fh.get("plm_per_h"),
         sh.get("plm_per_h"), "candidate movements (CLM) in runs of 4 or more, 10 to 90 s apart"),
        ("Periodic runs (PLM series)", ix["n_series"], None, None, None,
         "how many such runs there were"),
        ("Movements soon after another", None, ix["short_imi_per_h"], None, None,
         "candidate movements (CLM) that start less than 10 s after the previous one"),
        ("Isolated leg movements", None, ix["isolated_lm_per_h"], None, None,
         "leg movements that are not part of a run"),
        ("Spasms", ix["n_spasms"], ix["spasms_per_h"], fh.get("spasms_per_h"),
         sh.get("spasms_per_h"), "short sharp jerks (over in about a second), never counted as LM"),
    ]  # fmt: skip
    body = "".join(
        f"<tr><td>{_e(name)}</td><td class='num'>{'' if n is None else int(n)}</td>"
        f"<td class='num'>{'' if r is None else _num(r)}</td>"
        f"<td class='num'>{'' if a is None else _num(a)}</td>"
        f"<td class='num'>{'' if b is None else _num(b)}</td><td>{_e(what)}</td></tr>"
        for name, n, r, a, b, what in rows
    )
    pi = ix.get("periodicity_index")
    ratio = ix.get("plm_over_clm")
    body += (
        f"<tr><td>Periodicity index</td><td></td><td class='num'>{_num(pi, 2)}</td><td></td>"
        f"<td></td><td>0 to 1. {_e(ix.get('periodicity_definition', ''))}</td></tr>"
        f"<tr><td>PLM / CLM</td><td></td><td class='num'>{_num(ratio, 2)}</td><td></td><td></td>"
        "<td>0 to 1: the share of candidate movements that were periodic (the simpler ratio "
        "some programs call periodicity; shown for comparison)</td></tr>"
    )
    table = (
        f'<p class="rules">Rules: {_e(rules)}. Per hour of: {_e(denom)}.</p>'
        "<table><tr><th>measure</th><th>count</th><th>per hour</th>"
        "<th>first half of the night, per hour</th><th>second half, per hour</th>"
        f"<th>what it means</th></tr>{body}</table>"
    )
    if len(night.bands) == 2:
        table += _sides_html(night)
    return table


def _sides_html(night: NightAnalysis) -> str:
    ix = night.indices
    n_spasm = {s: int((night.spasms.side == s).sum()) for s in ("left", "right", "bilateral")}
    cells = []
    for side, label in (("left", "left leg"), ("right", "right leg"),
                        ("bilateral", "both legs at once")):  # fmt: skip
        cells.append(
            f"<tr><td>{label}</td><td class='num'>{ix.get(f'n_lm_{side}', '')}</td>"
            f"<td class='num'>{ix.get(f'n_plm_{side}', '')}</td>"
            f"<td class='num'>{n_spasm[side]}</td></tr>"
        )
    return (
        "<h3>Left, right and both legs</h3>"
        '<p class="note">With a band on each ankle, movements of the two legs that overlap (or '
        "follow within half a second) count once, as a movement of both legs.</p>"
        "<table><tr><th>leg</th><th>leg movements</th><th>periodic (PLM)</th><th>spasms</th></tr>"
        + "".join(cells)
        + "</table>"
    )


def _imi_html(night: NightAnalysis) -> str:
    h = night.scoring.imi_histogram
    mean, sd = h.get("ln_imi_mean"), h.get("ln_imi_sd")
    typical = ""
    if mean is not None and math.isfinite(mean):
        typical = (
            f" For intervals of 10 to 90 s the typical (geometric mean) interval was "
            f"<strong>{math.exp(mean):.0f} s</strong> (mean of ln(interval) {mean:.2f}"
            + (f", SD {sd:.2f}" if sd is not None and math.isfinite(sd) else "")
            + ")."
        )
    return (
        '<p class="note">How long from the start of one leg movement to the start of the next '
        f"(only between candidate movements, under 90 s; {int(h['n'])} intervals). Periodic "
        "movements give a hump between 10 and 90 s; the log scale spreads out the short "
        f"intervals.{typical}</p>"
    )


def _quality_html(night: NightAnalysis, tz: tzinfo) -> str:
    rows = []
    for b, st in zip(night.bands, band_stretches(night), strict=True):
        fl = b.detection.envelope.floor_mg
        floor = (
            f"{np.median(fl):.1f} mg (95% of the time below {np.percentile(fl, 95):.1f} mg)"
            if fl.size
            else "n/a"
        )
        rows.append(
            f"<tr><td>{_e(st.side)} ({_e(st.band_id)})</td>"
            f"<td class='num'>{(st.span[1] - st.span[0]) / 3600:.2f} h</td>"
            f"<td class='num'>{total(b.analysable) / 3600:.2f} h</td>"
            f"<td class='num'>{len(st.gaps)} ({_minutes(total(st.gaps))})</td>"
            f"<td class='num'>{_minutes(total(st.off_body))}</td>"
            f"<td class='num'>{_minutes(total(st.detection_off))}</td>"
            f"<td>{floor}</td><td class='num'>{b.gain_correction:.3f}</td>"
            f"<td class='num'>{b.detection.movement_gain:.2f}</td></tr>"
        )
    table = (
        "<table><tr><th>band</th><th>recorded</th><th>could be counted</th>"
        "<th>drop-outs (total)</th><th>off the body</th><th>too much motion to count</th>"
        "<th>background level</th><th>gain correction</th><th>movement pick-up</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    if night.warnings:
        warn = (
            "<p><strong>Things to know about this recording:</strong></p><ul class='warn'>"
            + "".join(f"<li>{_e(w)}</li>" for w in night.warnings)
            + "</ul>"
        )
    else:
        warn = "<p>No warnings: the recording looked sound.</p>"
    return (
        '<p class="note">Drop-outs are moments the band sent no data. Off the body: the band lay '
        "completely still, without the tiny motion of breathing. Too much motion: the background "
        "was so restless that single leg movements could not be picked out. None of that time "
        "counts, neither in the movements nor in the hours. A gain correction other than 1.000 "
        "means the band's readings were rescaled so that gravity reads 1 g. Movement pick-up "
        "compares how strongly the band caught this night's leg movements with a typical night "
        "(1.00); well under 1, such as 0.6, can mean a loose strap. The smallest movement that "
        f"counts was scaled with it, so a loose strap does not by itself lower the count.</p>"
        f"{table}{warn}"
    )


def _footer(night: NightAnalysis) -> str:
    from legwatch import __version__

    params = night.to_dict()["parameters"]
    return (
        f"<footer>legwatch {_e(__version__)} &middot; rule set id {_e(night.rules)} &middot; "
        "every parameter used:<details><summary>show parameters</summary><pre>"
        f"{_e(json.dumps(params, indent=1))}</pre></details></footer>"
    )
