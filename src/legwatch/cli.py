"""The ``legwatch`` command line.

Only this module configures logging and draws progress; the library underneath stays silent.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from legwatch import __version__
from legwatch.errors import LegwatchError, ParameterError

app = typer.Typer(
    name="legwatch",
    help=(
        "Measure restless legs objectively with an ankle-worn accelerometer band.\n\n"
        "legwatch counts leg movements (LM), periodic limb movements (PLM) and spasms through the "
        "night, so you can see whether a technique you try changes them.\n\n"
        "Start with:  legwatch simulate --out night.csv  and then  legwatch analyze night.csv"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
from legwatch.commands._console import console, out  # noqa: E402


def _version(value: bool) -> None:
    if value:
        out.print(f"legwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress display (for scripts).")
    ] = False,
) -> None:
    console.quiet = quiet
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        # the module name helps whoever debugs (--verbose); a user needs only the message
        format="%(levelname)s %(name)s: %(message)s" if verbose else "%(levelname)s: %(message)s",
    )


@app.command()
def simulate(
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="CSV file to write (a .truth.json goes beside it).")
    ] = Path("night.csv"),
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same night.")] = 1,
    hours: Annotated[float, typer.Option(help="Length of the night in hours.")] = 8.0,
    rate: Annotated[float, typer.Option(help="Sampling rate of the virtual band in Hz.")] = 50.0,
    scenario: Annotated[str, typer.Option(help="Preset night (see --list-scenarios).")] = "nominal",
    bilateral: Annotated[
        bool, typer.Option(help="Simulate a second band on the right ankle.")
    ] = False,
    list_scenarios: Annotated[
        bool, typer.Option("--list-scenarios", help="List the preset nights and exit.")
    ] = False,
) -> None:
    """Simulate a night of an ankle band, with its ground truth, for trying legwatch out."""
    from legwatch import synth

    if list_scenarios:
        for name, text in synth.SCENARIOS.items():
            out.print(f"[bold]{name}[/bold]: {text}")
        return
    with console.status(f"Simulating {hours:g} h at {rate:g} Hz (seed {seed})..."):
        cfg = synth.scenario(scenario, seed, hours=hours, rate_hz=rate, bilateral=bilateral)
        night = synth.simulate_night(cfg)
        paths = synth.write_night(night, out_path)
    for p in paths:
        out.print(f"wrote {p}")


def _parse_inputs(inputs: list[str]) -> list[tuple[str | None, Path]]:
    parsed: list[tuple[str | None, Path]] = []
    for item in inputs:
        side, sep, path = item.partition("=")
        if sep and side in ("left", "right"):
            parsed.append((side, Path(path)))
        elif sep and not Path(item).exists():
            raise ParameterError("INPUT", "PATH, or left=PATH and right=PATH", item)
        else:
            parsed.append((None, Path(item)))
    return parsed


def _parse_sleep(text: str, start: datetime) -> tuple[datetime, datetime]:
    try:
        a, b = (time.fromisoformat(x.strip()) for x in text.split("-"))
    except ValueError:
        raise ParameterError("--sleep", "HH:MM-HH:MM, e.g. 22:30-06:45", text) from None
    day = start.date()
    t0 = datetime.combine(day, a, tzinfo=start.tzinfo)
    if t0 > start + timedelta(hours=12):
        t0 -= timedelta(days=1)
    elif t0 < start - timedelta(hours=12):
        t0 += timedelta(days=1)
    t1 = datetime.combine(t0.date(), b, tzinfo=start.tzinfo)
    if t1 <= t0:
        t1 += timedelta(days=1)
    return t0, t1


InputsArg = Annotated[
    list[str],
    typer.Argument(
        help="A recording (CSV, EDF, a recorded night's folder or night.sqlite), or two as "
        "left=PATH right=PATH for both ankles.",
        show_default=False,
    ),
]
RulesOpt = Annotated[str, typer.Option(help="Scoring rules: wasm2016 (default) or aasm.")]
SleepOpt = Annotated[
    str | None,
    typer.Option(help="Time in bed HH:MM-HH:MM (UTC, as recorded); rates are per hour of it."),
]


ModelOpt = Annotated[
    bool,
    typer.Option(
        "--model/--no-model",
        help="Relabel the detected events with the shipped event classifier (default), or use "
        "the rules alone.",
    ),
]


def _load_and_analyze(  # type: ignore[no-untyped-def]
    inputs: list[str], rules: str, sleep: str | None, use_model: bool = True
):
    """Read the inputs and analyse the night; returns (recordings, NightAnalysis)."""
    from legwatch.io import read_recording
    from legwatch.nights.analysis import analyze_night
    from legwatch.recording import BodySite
    from legwatch.scoring import get_rules

    try:  # checked before any file is read, and named as the option the user typed
        get_rules(rules)
    except ParameterError as exc:
        raise ParameterError("--rules", exc.expected, rules) from None
    recs = []
    with console.status("Reading recordings..."):
        for side, path in _parse_inputs(inputs):
            night_store = path / "night.sqlite" if path.is_dir() else path
            if night_store.suffix == ".sqlite" and night_store.exists():
                recs += _night_bands(night_store, side)
                continue
            site = None if side is None else BodySite(f"{side}_ankle")
            recs.append(read_recording(path, site=site))
    sleep_window = _parse_sleep(sleep, recs[0].start_utc) if sleep else None
    with console.status("Analysing the night..."):
        night = analyze_night(
            recs, rules=rules, sleep=sleep_window, model="default" if use_model else None
        )
    return recs, night


def _night_bands(night_store: Path, side: str | None):  # type: ignore[no-untyped-def]
    """The ankle bands of a recorded night: all of them, or the one on ``side``."""
    from legwatch.collect import replay

    bands = [r for r in replay(night_store.parent).values() if r.site.is_ankle]
    if side is not None:
        bands = [r for r in bands if r.side == side]
    if not bands:
        where = f"a {side} ankle band" if side else "an ankle band"
        raise ParameterError("INPUT", f"a recorded night with {where}", str(night_store.parent))
    return bands


@app.command()
def analyze(
    inputs: InputsArg,
    rules: RulesOpt = "wasm2016",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the full result as JSON here.")
    ] = None,
    sleep: SleepOpt = None,
    model: ModelOpt = True,
) -> None:
    """Count leg movements, PLM series and spasms in a night and print a short summary."""
    _, night = _load_and_analyze(inputs, rules, sleep, model)
    out.print(night.summary())
    if json_out is not None:
        json_out.write_text(night.to_json())
        out.print(f"wrote {json_out}")


@app.command()
def report(
    inputs: InputsArg,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for index.html and the figures.")
    ] = Path("report"),
    rules: RulesOpt = "wasm2016",
    sleep: SleepOpt = None,
    diary: Annotated[
        Path | None,
        typer.Option(help="Folder holding diary.sqlite: its technique sessions are marked."),
    ] = None,
    model: ModelOpt = True,
) -> None:
    """Write a night's report: one page to open in any browser, with its figures."""
    from legwatch.report import write_night_report

    _, night = _load_and_analyze(inputs, rules, sleep, model)
    sessions = _diary_sessions(diary, night) if diary is not None else ()
    with console.status("Drawing the report..."):
        page = write_night_report(night, out_dir, sessions=sessions)
        (out_dir / "night.json").write_text(night.to_json())
    out.print(night.summary())
    out.print(f"report: {page}")


def _diary_sessions(folder: Path, night) -> tuple[tuple[float, float, str], ...]:  # type: ignore[no-untyped-def]
    """The diary's technique sessions that fall in this night, on its time axis."""
    from legwatch.nights.diary import Diary

    if not (folder / "diary.sqlite").exists():
        raise ParameterError("--diary", "a folder holding diary.sqlite", str(folder))
    out_ = []
    for entry in Diary(folder).sessions():
        start_s = (entry.start_utc - night.start_utc).total_seconds()
        if -3600.0 <= start_s <= night.duration_s:
            label = entry.custom_name or entry.technique.replace("_", " ")
            out_.append((start_s, entry.duration_s, label))
    return tuple(out_)


@app.command()
def nights(
    root: Annotated[
        Path, typer.Argument(help="Folder of saved nights (*.night.json from analyze --json).")
    ] = Path("recordings"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List recorded nights: hours, LM/h, PLM/h, spasms/h, and which nights count."""
    import json

    from legwatch.report import nights_table, render_nights_table

    rows = nights_table(root)
    if as_json:
        out.print_json(json.dumps(rows))
    else:
        out.print(render_nights_table(rows))


@app.command()
def export(
    inputs: InputsArg,
    edf: Annotated[
        Path | None, typer.Option("--edf", help="Write EDF+ (acceleration in mg + events).")
    ] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write the events as CSV.")] = None,
    rules: RulesOpt = "wasm2016",
    sleep: SleepOpt = None,
    model: ModelOpt = True,
) -> None:
    """Export a night for a sleep clinic (EDF+) or a spreadsheet (CSV of events)."""
    from legwatch.report import export_edf, export_events_csv

    if edf is None and csv is None:
        raise ParameterError("--edf/--csv", "at least one output file", None)
    recs, night = _load_and_analyze(inputs, rules, sleep, model)
    with console.status("Writing..."):
        if edf is not None:
            export_edf(night, recs, edf)
            out.print(f"wrote {edf}")
        if csv is not None:
            export_events_csv(night, csv)
            out.print(f"wrote {csv}")


def _register_command_groups() -> None:
    # command groups written beside the code they drive, in legwatch.commands
    from legwatch.commands.collect import demo, listen, record
    from legwatch.commands.model import model_app
    from legwatch.commands.trial import compare, log, trial_app

    app.command()(demo)
    app.command()(record)
    app.command()(listen)
    app.command()(log)
    app.command()(compare)
    app.add_typer(trial_app, name="trial")
    app.add_typer(model_app, name="model")


_register_command_groups()


def main() -> None:
    """Entry point: run the app and turn legwatch errors into one clear line and exit code 2.

    Everything the command writes (nights, reports, JSON, exports, diary) is health data: the
    umask makes it readable by the owner only (files 0600, folders 0700).
    """
    os.umask(0o077)
    try:
        app()
    except LegwatchError as exc:
        # one line however long: a log or a pipe must not cut a file name or a value in two
        console.print(
            "[bold red]error:[/bold red]", escape(str(exc)), highlight=False, soft_wrap=True
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
