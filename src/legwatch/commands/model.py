"""``legwatch model``: train, evaluate and personalise the event classifier."""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from legwatch.errors import ParameterError

log = logging.getLogger(__name__)

model_app = typer.Typer(
    name="model",
    help=(
        "The event classifier that tells leg movements from posture changes, gross body "
        "movements, spasms, partner vibration and tremor: train it, measure it, and teach it "
        "your own nights."
    ),
    no_args_is_help=True,
)
from legwatch.commands._console import console, out  # noqa: E402


def _seeds(text: str, option: str) -> list[int]:
    """'100-199' or '1,2,5' -> seeds."""
    try:
        if "-" in text:
            a, b = (int(x) for x in text.split("-", 1))
            if b < a:
                raise ValueError
            return list(range(a, b + 1))
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ParameterError(
            option, "seeds as FIRST-LAST or a comma list, e.g. 100-199", text
        ) from None


def _default_out() -> Path:
    from legwatch.model.classifier import model_dirs

    return model_dirs()[-1]


@model_app.command()
def train(
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the .skops model and its .json sidecar."),
    ] = None,
    train_seeds: Annotated[str, typer.Option(help="Training night seeds.")] = "100-199",
    val_seeds: Annotated[
        str, typer.Option(help="Validation night seeds (model choice only).")
    ] = "200-249",
    hours: Annotated[float, typer.Option(help="Length of each simulated night, h.")] = 8.0,
    workers: Annotated[int, typer.Option(help="Processes simulating nights.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the model's own randomness.")] = 0,
    cache: Annotated[
        Path | None, typer.Option(help="Feature cache folder (default ~/.cache/legwatch).")
    ] = None,
    personal: Annotated[
        Path | None,
        typer.Option(
            help="Folder of your labelled nights: train a personal model (base data plus your "
            "labels, weighted) and write it to --out (default: PERSONAL/model)."
        ),
    ] = None,
) -> None:
    """Train the event classifier on simulated nights (reproducible: same seeds, same model)."""
    from legwatch.model import classifier
    from legwatch.model import train as tr

    cache_dir = cache or tr.default_cache_dir()
    t0 = time.perf_counter()
    with console.status("Simulating training nights (features are cached)..."):
        base = tr.simulated_dataset(
            _seeds(train_seeds, "--train-seeds"),
            hours=hours,
            cache_dir=cache_dir,
            workers=workers,
            clock_shifts=tr.TRAIN_CLOCK_SHIFTS,
        )
    training: dict[str, Any] = {
        "simulator": "legwatch.synth",
        "train_seeds": train_seeds,
        "validation_seeds": val_seeds,
        "held_out_seeds": f"{tr.HELD_OUT_SEED} and up (never used for a choice)",
        "scenarios_by_seed_mod_10": list(tr.TRAIN_SCENARIOS),
        "bilateral": "every fourth seed",
        "clock_shifts": list(tr.TRAIN_CLOCK_SHIFTS),
        "hours_per_night": hours,
        "random_state": seed,
    }
    if personal is not None:
        base_model = classifier.default_model()
        family = tr.PERSONAL_FAMILY
        with console.status("Reading your labelled nights..."):
            mine = tr.personal_dataset(personal)
        estimator, data = tr.train_personal(base, mine, family, seed=seed)
        training.update(
            model_family=family,
            personal_labels=len(mine),
            personal_label_counts=dict(Counter(mine.y.tolist())),
            personal_weight=tr.PERSONAL_WEIGHT,
            base_model=f"{base_model.sidecar['name']}-{base_model.version}",
        )
        metrics: dict[str, Any] = {
            "personal_labels_reproduced": float(
                (estimator.predict(mine.X).astype(str) == mine.y).mean()
            )
        }
        version = f"{classifier.MODEL_VERSION}-personal"
        dest = out_dir or personal / "model"
    else:
        with console.status("Simulating validation nights..."):
            val = tr.simulated_dataset(
                _seeds(val_seeds, "--val-seeds"), hours=hours, cache_dir=cache_dir, workers=workers
            )
        with console.status("Fitting and comparing models..."):
            result = tr.train_and_select(base, val, seed=seed)
        estimator, data = result.model, base
        training["model_family"] = result.name
        metrics = {"validation_events": result.comparison, "selected_on": "lm_f1"}
        version = classifier.MODEL_VERSION
        dest = out_dir or _default_out()
        _print_comparison(result.comparison)
    training.update(
        n_events=len(data),
        class_counts=dict(sorted(Counter(data.y.tolist()).items())),
        data_sha256=data.digest(),
        seconds=round(time.perf_counter() - t0, 1),
    )
    side = classifier.sidecar_for(
        estimator,
        training=training,
        metrics=metrics,
        sampling_rate_hz=list(tr.TRAIN_RATES_HZ),
        version=version,
    )
    path = classifier.save_model(classifier.EventModel(estimator, side), dest)
    out.print(f"wrote {path} and {classifier.sidecar_path(path).name} ({training['seconds']} s)")


def _print_comparison(comparison: dict[str, dict[str, float]]) -> None:
    table = Table(title="validation events (seeds never used for training)")
    keys = ["lm_precision", "lm_sensitivity", "lm_f1", "macro_f1", "accuracy"]
    table.add_column("model")
    for k in keys:
        table.add_column(k, justify="right")
    for name, m in comparison.items():
        table.add_row(name, *(f"{m[k]:.3f}" for k in keys))
    out.print(table)


@model_app.command()
def evaluate(
    model_path: Annotated[
        Path | None, typer.Option("--model", help="Model file (default: the shipped one).")
    ] = None,
    seeds: Annotated[str, typer.Option(help="Held-out night seeds.")] = "1000-1004",
    scenarios: Annotated[
        str, typer.Option(help="Comma list of scenarios.")
    ] = "nominal,heavy_vibration,many_posture,tremor_only",
    workers: Annotated[int, typer.Option(help="Processes simulating nights.")] = 2,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write results here.")] = None,
) -> None:
    """LM F1 and PLM index error, rules alone vs rules + model, on held-out simulated nights."""
    from legwatch.bench import model_accuracy

    argv = ["--seeds", seeds, "--scenarios", scenarios, "--workers", str(workers)]
    if model_path is not None:
        argv += ["--model", str(model_path)]
    if json_out is not None:
        argv += ["--out", str(json_out)]
    model_accuracy.main(argv)


@model_app.command()
def label(
    night: Annotated[Path, typer.Argument(help="The night's recording (CSV, EDF).")],
    at: Annotated[str, typer.Option("--at", help="Clock time of the event, HH:MM:SS (UTC).")],
    kind: Annotated[
        str,
        typer.Option(
            help="What the event really was: lm, spasm, posture_change, gross_body, tremor, "
            "vibration or other."
        ),
    ],
) -> None:
    """Confirm or correct the kind of one event; the label is stored beside the night."""
    from legwatch.io import read_recording
    from legwatch.model import classifier, labels
    from legwatch.signal.detect import detect_movements

    if kind not in labels.CLASSES:
        raise ParameterError("--kind", f"one of {', '.join(labels.CLASSES)}", kind)
    with console.status("Reading and detecting..."):
        rec = read_recording(night)
        det = detect_movements(rec)
        try:
            events = classifier.classify_events(det, rec, classifier.default_model())
        except Exception as exc:  # no usable model: label against the rules' kinds
            log.warning("no event model (%s); showing the rules' kinds", exc)
            events = det.events
    t_s = labels.clock_to_seconds(at, rec.start_utc)
    i = labels.event_at(events, t_s)
    was = str(events.kind[i])
    lab = labels.UserLabel(
        float(events.onset_s[i]), float(events.duration_s[i]), kind, detected_kind=was
    )
    path = labels.add_label(night, lab)
    verb = "confirmed as" if was == kind else f"was {was}, corrected to"
    out.print(
        f"event at {lab.onset_s:.1f} s ({lab.duration_s:.1f} s) {verb} {kind}; "
        f"{len(labels.read_labels(night))} labels in {path}"
    )
