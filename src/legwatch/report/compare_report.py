"""The comparison report: does a technique change leg movements for this person?

One self-contained HTML page in the night report's style (same CSS, embedded PNGs): the verdict
first, then the effect with its range and night counts, a dot plot of the nights by condition,
the within-night before/after comparison of each session, and a CENT-style summary (CENT 2015,
BMJ 350:h1738) a doctor can read. Rules of comparisons.md: no aggregate below 3 nights per
condition, nights never joined by lines, y from zero, the personal noise band shaded.
"""

from __future__ import annotations

import html
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from legwatch.errors import ParameterError
from legwatch.nights.compare import MEASURES, Comparison, NightPoint
from legwatch.nights.stats import MIN_NIGHTS_PER_CONDITION
from legwatch.nights.trial_plan import min_pairs_for_alpha
from legwatch.report import figures
from legwatch.report.html import CSS, LIMITS_TEXT, _img

log = logging.getLogger(__name__)

EXTRA_CSS = """
.verdict{font-size:1.5em;font-weight:700;margin:0.3em 0} .weak{border-color:#D55E00;
 background:#fff3ee} .cent th{width:13em}
"""
#: Sessions drawn in the within-night figure (the table lists them all).
MAX_SESSIONS_DRAWN = 12
COLOUR = {"technique": figures.COLOUR["lm"], "none": figures.COLOUR["not_in_bed"]}


@dataclass(frozen=True)
class CompareReport:
    """A rendered comparison report: HTML text and the PNG figures it embeds."""

    html: str
    figures: dict[str, bytes]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _measure_short(measure: str) -> str:
    return MEASURES[measure].split(" (")[-1].rstrip(")") if "(" in MEASURES[measure] else measure


# -- figures ------------------------------------------------------------------------------------
def dot_plot(cmp: Comparison) -> Figure:
    """One dot per analysable night by condition; median per condition from 3 nights on; the
    personal noise band (median of the nights without +/- one night-to-night SD) shaded."""
    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    kept = [p for p in cmp.points if not p.excluded]
    groups = {0: [p for p in kept if not p.technique], 1: [p for p in kept if p.technique]}
    rng = np.random.default_rng(0)  # fixed jitter: the same data draws the same picture
    ymax = 1.0
    for x, pts in groups.items():
        y = np.array([p.rate_per_h for p in pts], dtype=float)
        if y.size:
            ymax = max(ymax, float(np.nanmax(y)))
            jitter = rng.uniform(-0.12, 0.12, y.size)
            colour = COLOUR["technique"] if x else COLOUR["none"]
            ax.plot(
                x + jitter,
                y,
                linestyle="none",
                marker="o" if x else "s",
                color=colour,
                markersize=7,
                alpha=0.85,
            )
        if y.size >= MIN_NIGHTS_PER_CONDITION:
            med = float(np.median(y))
            ax.plot([x - 0.3, x + 0.3], [med, med], color="#000000", linewidth=2.0)
    control = np.array([p.rate_per_h for p in groups[0]], dtype=float)
    if control.size >= MIN_NIGHTS_PER_CONDITION and math.isfinite(cmp.noise_sigma_log):
        med = float(np.median(control))
        lo, hi = med * math.exp(-cmp.noise_sigma_log), med * math.exp(cmp.noise_sigma_log)
        ax.axhspan(
            lo,
            hi,
            color=figures.COLOUR["session"],
            alpha=0.35,
            zorder=0,
            label="usual night-to-night spread (without the technique)",
        )
        ymax = max(ymax, hi)
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xticks([0, 1])
    ax.set_xticklabels(
        [f"without ({len(groups[0])} nights)", f"with {cmp.technique} ({len(groups[1])} nights)"]
    )
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylim(0.0, ymax * 1.15)
    ax.set_ylabel(f"{_measure_short(cmp.measure)} per hour")
    ax.set_title("Each dot is one night; black bar: median (from 3 nights)", fontsize=10)
    return fig


def within_plot(cmp: Comparison) -> Figure | None:
    """Rate in the window before each session and in the hours after it, per session."""
    effects = [e for e in cmp.within if cmp.measure in e.results][:MAX_SESSIONS_DRAWN]
    if not effects:
        return None
    fig = Figure(figsize=(max(5.0, 0.9 * len(effects) + 2.5), 4.0), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(effects))
    before = [e.results[cmp.measure].comparison for e in effects]
    rb = [c.count_before / c.exposure_before_h for c in before]
    ra = [c.count_after / c.exposure_after_h for c in before]
    ax.bar(x - 0.2, rb, width=0.38, color=COLOUR["none"], label="before the session")
    ax.bar(
        x + 0.2, ra, width=0.38, color=COLOUR["technique"], hatch="//", label="after the session"
    )
    ax.set_xticks(x)
    ax.set_xticklabels(
        [f"{e.session.start_utc:%d %b %H:%M}" for e in effects], rotation=30, ha="right", fontsize=8
    )
    ax.set_ylim(0.0, max([1.0, *rb, *ra]) * 1.2)
    ax.set_ylabel(f"{_measure_short(cmp.measure)} per hour")
    ax.set_xlabel("session (UTC)")
    ax.legend(loc="upper right", fontsize=8)
    return fig


# -- the page -----------------------------------------------------------------------------------
def _complete_pairs(cmp: Comparison) -> int:
    if cmp.plan is None:
        return 0
    by_pair: dict[int, set[bool]] = {}
    for p in cmp.points:
        if not p.excluded and p.trial_index is not None:
            by_pair.setdefault(cmp.plan.pair_of_night[p.trial_index], set()).add(p.technique)
    return sum(1 for v in by_pair.values() if len(v) == 2)


def _verdict_box(cmp: Comparison) -> str:
    weak = cmp.kind == "observational"
    parts = [
        f'<div class="box big{" weak" if weak else ""}">',
        f'<p class="verdict">{_e(cmp.verdict.capitalize())}</p>',
    ]
    if weak:
        parts.append(
            "<p><strong>Weak evidence: these nights were not randomised.</strong> Nights with and "
            "without the technique can differ in other ways; a drift over weeks alone can look "
            "like an effect.</p>"
        )
    few = min(cmp.n_technique, cmp.n_control) < MIN_NIGHTS_PER_CONDITION
    if few:
        parts.append(
            f"<p>{cmp.n_technique} nights with and {cmp.n_control} without the technique: no "
            f"verdict and no average below {MIN_NIGHTS_PER_CONDITION} nights per condition.</p>"
        )
    else:
        parts.append(f"<p>{_e(cmp.effect_text())}.</p>")
    if cmp.kind == "trial":
        k = _complete_pairs(cmp)
        alpha = cmp.plan.alpha if cmp.plan is not None else 0.05
        k_min = min_pairs_for_alpha(alpha)
        if k < k_min:
            parts.append(
                f"<p>With {k} complete randomised pair(s), p &lt; {alpha:g} is impossible yet: the "
                f"smallest possible p is 2/2<sup>{k}</sup> = {2 / 2**k:.3g}. At least {k_min} "
                "pairs are needed before the test can show anything.</p>"
            )
        t = cmp.trial
        if t is not None and math.isfinite(t.p_rr_below_08):
            parts.append(f"<p>Chance of at least 20% fewer: {t.p_rr_below_08:.0%}.</p>")
        if t is not None and t.nights_still_needed:
            parts.append(f"<p>About {t.nights_still_needed} more nights would settle it.</p>")
    parts.append(f"<p>Per hour of: {_e(cmp.denominator)}. This does not prove cause.</p></div>")
    return "".join(parts)


def _nights_table(points: tuple[NightPoint, ...]) -> str:
    rows = "".join(
        f"<tr><td>{_e(p.night)}</td><td>{'with' if p.technique else 'without'}</td>"
        f"<td class='num'>{p.count}</td><td class='num'>{p.exposure_h:.2f}</td>"
        f"<td class='num'>{p.rate_per_h:.1f}</td>"
        f"<td>{_e('excluded: ' + p.reason) if p.excluded else 'analysed'}</td></tr>"
        if p.exposure_h > 0
        else f"<tr><td>{_e(p.night)}</td><td>{'with' if p.technique else 'without'}</td>"
        f"<td></td><td></td><td></td><td>{_e('excluded: ' + p.reason)}</td></tr>"
        for p in points
    )
    return (
        "<table><tr><th>night (evening)</th><th>technique</th><th>count</th><th>hours</th>"
        f"<th>per hour</th><th>status</th></tr>{rows}</table>"
    )


def _within_html(cmp: Comparison) -> str:
    if not cmp.within:
        return "<p>No session lies inside a saved recording, so there is nothing to compare.</p>"
    rows = []
    for e in cmp.within:
        if cmp.measure not in e.results:
            rows.append(
                f"<tr><td>{e.session.start_utc:%Y-%m-%d %H:%M}</td>"
                f"<td>{_e(e.session.label)}</td><td colspan='4'>{_e(e.note)}</td></tr>"
            )
            continue
        c = e.results[cmp.measure].comparison
        ttf = e.time_to_first_series_s
        rows.append(
            f"<tr><td>{e.session.start_utc:%Y-%m-%d %H:%M}</td><td>{_e(e.session.label)}</td>"
            f"<td class='num'>{c.count_before / c.exposure_before_h:.1f}</td>"
            f"<td class='num'>{c.count_after / c.exposure_after_h:.1f}</td>"
            f"<td class='num'>{_rr(c.rate_ratio, c.ci95)}</td>"
            f"<td class='num'>{'none in the window' if ttf is None else f'{ttf / 60:.0f} min'}"
            "</td></tr>"
        )
    pooled = "".join(
        f"<li>{_e(label)}: after / before {_rr(c.rate_ratio, c.ci95)} ({_e(c.evidence)})</li>"
        for label, c in cmp.pooled.items()
    )
    return (
        "<table><tr><th>session (UTC)</th><th>technique</th><th>per hour before</th>"
        "<th>per hour after</th><th>after / before (95% CI)</th>"
        "<th>until the first PLM run</th></tr>"
        + "".join(rows)
        + "</table>"
        + (f"<p><strong>Pooled by technique:</strong></p><ul>{pooled}</ul>" if pooled else "")
    )


def _rr(rr: float, ci: tuple[float, float]) -> str:
    if not math.isfinite(rr):
        return "n/a"
    return f"{rr:.2f} ({ci[0]:.2f}-{ci[1]:.2f})"


def _cent(cmp: Comparison) -> str:
    pts = [p for p in cmp.points]
    dates = sorted(p.night for p in pts)
    period = f"{dates[0]} to {dates[-1]}" if dates else "none"
    excl = "; ".join(f"{p.night}: {p.reason}" for p in cmp.excluded) or "none"
    if cmp.kind == "trial" and cmp.plan is not None and cmp.setup is not None:
        plan, setup = cmp.plan, cmp.setup
        design = (
            f"Randomised N-of-1 trial, {plan.n_pairs} block pairs of {plan.block_nights} night(s) "
            f"planned; within each pair a seeded draw chose the technique night, revealed only at "
            f"that evening's check-in (allocation hash {setup.schedule_sha256[:12]}...). Run-in "
            f"of {len(setup.runin_nights)} nights without the technique ({setup.runin_nights[0]} "
            f"to {setup.runin_nights[-1]}); sized for a {setup.target_reduction:.0%} reduction, "
            f"stated power {plan.stated_power:.0%}, two-sided alpha {plan.alpha:g}."
        )
        blinding = "Participant not blinded (the technique cannot be); scoring automatic."
    else:
        design = "Observational: nights with vs without the technique as they happened."
        blinding = "Not randomised, not blinded; scoring automatic."
    t = cmp.trial
    result = _e(cmp.effect_text())
    if t is not None and t.randomisation is not None:
        result += f"; randomisation test p = {t.randomisation.p_value:.3f}"
    if t is not None and t.bootstrap_ci95 is not None:
        result += f"; BCa bootstrap over pairs {t.bootstrap_ci95[0]:.2f}-{t.bootstrap_ci95[1]:.2f}"
    rows = [
        ("Design", design),
        ("Participant", "One adult with restless legs, ankle accelerometer band (legwatch)."),
        (
            "Intervention",
            f"{cmp.technique}, as logged in the diary (time, duration, strokes or "
            "repetitions, performer).",
        ),
        ("Comparator", "Nights without the technique."),
        (
            "Primary outcome",
            f"{MEASURES[cmp.measure]} per hour of {cmp.denominator}, scored "
            "automatically (WASM 2016 rules) from the ankle band.",
        ),
        ("Blinding", blinding),
        ("Period", period),
        ("Nights analysed", f"{cmp.n_technique} with, {cmp.n_control} without the technique."),
        (
            "Exclusions (rules fixed in advance: < 4 h analysable, band off, leg switched, "
            "algorithm version changed)",
            excl,
        ),
        ("Analysis", cmp.method),
        ("Result", result + f". Verdict: {cmp.verdict}."),
        (
            "Limitations",
            "One person; an ankle band sees about 6 in 10 of the leg movements a "
            "sleep lab scores; the result does not prove cause.",
        ),
    ]
    body = "".join(
        f"<tr><th>{_e(k)}</th><td>{v if k == 'Result' else _e(v)}</td></tr>" for k, v in rows
    )
    return f'<table class="cent">{body}</table>'


def render_compare_report(cmp: Comparison) -> CompareReport:
    """Build the comparison report in memory; see :func:`write_compare_report`."""
    pngs = {"nights.png": figures.png_bytes(dot_plot(cmp))}
    wfig = within_plot(cmp)
    if wfig is not None:
        pngs["within.png"] = figures.png_bytes(wfig)
    title = (
        f"Does {cmp.technique} change {MEASURES[cmp.measure].split(' (')[0]}?"
        if cmp.technique
        else "Comparison"
    )
    kind = "randomised N-of-1 trial" if cmp.kind == "trial" else "nights with vs without"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>legwatch comparison: {_e(cmp.technique)}</title>",
        f"<style>{CSS}{EXTRA_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(kind)} &middot; {_e(MEASURES[cmp.measure])}</p>',
        _verdict_box(cmp),
        "<h2>Every night</h2>",
        '<p class="note">One dot per analysed night, by condition; dots are never joined because '
        "nights are separate measurements. The shaded band is your usual night-to-night spread "
        "without the technique: a technique night inside it is an ordinary night.</p>",
        _img(pngs["nights.png"], "Nights by condition, one dot per night"),
        _nights_table(cmp.points),
        "<h2>Within the night: before and after each session</h2>",
        '<p class="note">The rate in the window before a session against the hours after it, '
        "in the same night. One night compares two stretches of itself: it cannot show that the "
        "technique, rather than the hour of the night, made the difference.</p>",
    ]
    if "within.png" in pngs:
        parts.append(_img(pngs["within.png"], "Rates before and after each session"))
    parts += [
        _within_html(cmp),
        "<h2>Summary for a doctor (CENT 2015 style)</h2>",
        _cent(cmp),
    ]
    if cmp.messages:
        parts.append(
            "<h2>Notes</h2><ul class='warn'>"
            + "".join(f"<li>{_e(m)}</li>" for m in cmp.messages)
            + "</ul>"
        )
    parts += [
        f'<div class="box limits"><strong>What these numbers can and cannot say.</strong> '
        f"{LIMITS_TEXT}</div>",
        _footer(),
        "</body></html>",
    ]
    return CompareReport(html="\n".join(parts) + "\n", figures=pngs)


def _footer() -> str:
    from legwatch import __version__

    return f"<footer>legwatch {_e(__version__)}</footer>"


def write_compare_report(cmp: Comparison, out_dir: str | Path) -> Path:
    """Write ``compare.html`` (self-contained) and its figures as PNG files into ``out_dir``.

    Returns
    -------
    Path
        The HTML file written.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError("out_dir", "a folder (or a path to create one)", str(out))
    out.mkdir(parents=True, exist_ok=True)
    report = render_compare_report(cmp)
    for name, png in report.figures.items():
        (out / name).write_bytes(png)
    page = out / "compare.html"
    page.write_text(report.html, encoding="utf-8")
    log.info("wrote the comparison report to %s", page)
    return page
