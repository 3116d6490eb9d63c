"""CLI commands of the collector: ``legwatch record``, ``legwatch listen``, ``legwatch demo``.

Plain typer command functions, registered by ``legwatch.cli``. Only this layer draws (rich) and
handles signals; the library underneath stays silent.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from legwatch.errors import ParameterError

logger = logging.getLogger(__name__)
from legwatch.commands._console import console, out  # noqa: E402


def _status_table(snapshot: dict[str, Any]) -> Table:
    table = Table(title=f"night {snapshot['night_id']}  ({snapshot['night_dir']})")
    for col in (
        "band",
        "link",
        "hours",
        "samples",
        "gaps",
        "missing",
        "corrupt",
        "battery",
        "events",
    ):
        table.add_column(col)
    for band_id, b in snapshot["bands"].items():
        events = ", ".join(f"{k} {v}" for k, v in sorted(b["events"].items())) or "-"
        table.add_row(
            band_id,
            b["link_state"],
            "-" if b["hours"] is None else f"{b['hours']:.2f}",
            str(b["samples"]),
            str(b["gaps"]),
            str(b["missing_samples"]),
            str(b["corrupt"]),
            "-" if b["battery_pct"] is None else f"{b['battery_pct']} %",
            events,
        )
    return table


def _plain_line(snapshot: dict[str, Any]) -> str:
    parts = []
    for band_id, b in snapshot["bands"].items():
        parts.append(
            f"{band_id}: {b['link_state']} samples={b['samples']} gaps={b['gaps']} "
            f"missing={b['missing_samples']} battery={b['battery_pct']} "
            f"events={sum(b['events'].values())}"
        )
    return "; ".join(parts)


def _mqtt_config(
    mqtt: str | None, user: str | None, password_file: Path | None, tls: bool, ca: Path | None
) -> Any:
    if mqtt is None:
        return None
    from legwatch.collect.broker import MqttConfig, parse_host_port

    host, port = parse_host_port(mqtt, 8883 if tls else 1883)
    password = None
    if password_file is not None:
        try:
            password = password_file.read_text().strip()
        except OSError as exc:
            raise ParameterError("--mqtt-password-file", "a readable file", str(exc)) from None
    return MqttConfig(host, port, username=user, password=password, tls=tls, ca_file=ca)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def record(
    left: Annotated[
        str | None, typer.Option(help="BLE name of the left-ankle band (e.g. legwatch-1A2B).")
    ] = None,
    right: Annotated[str | None, typer.Option(help="BLE name of the right-ankle band.")] = None,
    wrist: Annotated[str | None, typer.Option(help="BLE name of an optional wrist band.")] = None,
    out_root: Annotated[
        Path, typer.Option("--out", "-o", help="Folder of the nights (one sub-folder each).")
    ] = Path("recordings"),
    night: Annotated[
        str, typer.Option(help="Night id; 'tonight' is the evening's date (resumes it).")
    ] = "tonight",
    mqtt: Annotated[
        str | None, typer.Option(help="Publish to this MQTT broker, HOST[:PORT].")
    ] = None,
    mqtt_user: Annotated[str | None, typer.Option(help="MQTT user name.")] = None,
    mqtt_password_file: Annotated[
        Path | None, typer.Option(help="File holding the MQTT password.")
    ] = None,
    mqtt_tls: Annotated[bool, typer.Option(help="Connect to the broker with TLS.")] = False,
    mqtt_ca: Annotated[Path | None, typer.Option(help="CA certificate for --mqtt-tls.")] = None,
    mqtt_raw: Annotated[
        bool, typer.Option(help="Also publish every raw packet (legwatch/<band>/accel).")
    ] = False,
    status_every: Annotated[
        float, typer.Option(help="Seconds between status lines when not on a terminal.")
    ] = 60.0,
) -> None:
    """Record a night from one or more bands until Ctrl-C; a restart continues the same night."""
    from legwatch.collect.collector import BandSpec, Collector
    from legwatch.collect.store import open_or_resume

    bands = [
        BandSpec(band_id, site, name=name)
        for band_id, site, name in (
            ("left", "left_ankle", left),
            ("right", "right_ankle", right),
            ("wrist", "left_wrist", wrist),
        )
        if name is not None
    ]
    if not bands:
        raise ParameterError("--left/--right/--wrist", "at least one band name", None)
    mqtt_config = _mqtt_config(mqtt, mqtt_user, mqtt_password_file, mqtt_tls, mqtt_ca)
    store = open_or_resume(out_root, night)

    async def main() -> dict[str, Any]:
        from legwatch.collect.broker import MqttPublisher

        stop = asyncio.Event()
        _stop_on_signals(stop)
        publisher = (
            None if mqtt_config is None else MqttPublisher(mqtt_config, [b.band_id for b in bands])
        )
        tty = console.is_terminal
        last_line = [0.0]
        live = Live(console=console, refresh_per_second=2) if tty else None

        def on_status(snapshot: dict[str, Any]) -> None:
            if live is not None:
                live.update(_status_table(snapshot))
                return
            loop_time = asyncio.get_running_loop().time()
            if loop_time - last_line[0] >= status_every:
                last_line[0] = loop_time
                logging.getLogger("legwatch.record").warning("%s", _plain_line(snapshot))

        collector = Collector(store, bands, publisher=publisher, on_status=on_status, raw=mqtt_raw)
        if live is not None:
            live.start()
        try:
            if publisher is not None:
                async with publisher:
                    return await collector.run(stop)
            return await collector.run(stop)
        finally:
            if live is not None:
                live.stop()

    summary = asyncio.run(main())
    out.print(f"night {summary['night_id']} saved in {store.night_dir}")
    out.print(_plain_line({"bands": summary["bands"]}))


def listen(
    broker: Annotated[str, typer.Argument(help="MQTT broker, HOST[:PORT].")],
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Append every message to this JSONL file.")
    ] = None,
    mqtt_user: Annotated[str | None, typer.Option(help="MQTT user name.")] = None,
    mqtt_password_file: Annotated[
        Path | None, typer.Option(help="File holding the MQTT password.")
    ] = None,
    mqtt_tls: Annotated[bool, typer.Option(help="Connect with TLS.")] = False,
    mqtt_ca: Annotated[Path | None, typer.Option(help="CA certificate for --mqtt-tls.")] = None,
    raw: Annotated[bool, typer.Option(help="Also show raw accel messages.")] = False,
) -> None:
    """Print (or store) the events and status of every collector publishing to a broker."""
    from legwatch.collect.broker import Received
    from legwatch.collect.broker import listen as listen_loop

    config = _mqtt_config(broker, mqtt_user, mqtt_password_file, mqtt_tls, mqtt_ca)

    def show(msg: Received) -> None:
        if msg.kind == "events" and isinstance(msg.payload, dict):
            p = msg.payload
            out.print(
                f"{msg.band_id}: {p.get('kind')} at {p.get('onset_utc', p.get('onset_s'))} "
                f"({p.get('duration_s', 0):.1f} s)",
                highlight=False,
            )
        elif msg.kind == "status" and isinstance(msg.payload, dict):
            out.print(f"{msg.band_id}: {msg.payload.get('state')}", highlight=False)
        else:
            out.print(f"{msg.band_id} {msg.kind}: {msg.payload}", highlight=False)

    async def main() -> int:
        stop = asyncio.Event()
        _stop_on_signals(stop)
        return await listen_loop(config, show, stop, out=out_path, include_raw=raw)

    n = asyncio.run(main())
    console.print(f"{n} messages" + (f", appended to {out_path}" if out_path else ""))


def demo(
    hours: Annotated[float, typer.Option(help="Length of the simulated night, hours.")] = 8.0,
    speed: Annotated[
        float, typer.Option(help="Times faster than real time (720: 8 h in ~40-50 s).")
    ] = 720.0,
    seed: Annotated[int, typer.Option(help="Seed of the simulated night.")] = 1,
    out_root: Annotated[Path, typer.Option("--out", "-o", help="Folder of the nights.")] = Path(
        "recordings"
    ),
) -> None:
    """Record a simulated night from a virtual band over the real BLE code path, then analyse it."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from legwatch.collect.demo import RATE_HZ, run_demo

    total = hours * 3600 * RATE_HZ
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal and not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("simulating", total=total)

        def on_stage(name: str) -> None:
            progress.update(task, description=name)

        def on_status(snapshot: dict[str, Any]) -> None:
            band = snapshot["bands"].get("left", {})
            progress.update(task, completed=band.get("samples", 0))

        result = run_demo(
            out_root, hours=hours, speed=speed, seed=seed, on_status=on_status, on_stage=on_stage
        )
    ix = result.indices
    out.print(result.summary_text)
    out.print(
        f"LM/h {ix['lm_per_h']:.1f}, PLM/h {ix['plm_per_h']:.1f}, spasms/h "
        f"{ix['spasms_per_h']:.1f}  ({hours:g} h recorded in {result.record_wall_s:.0f} s, "
        f"{result.notifications} notifications; {result.total_wall_s:.0f} s in all with the "
        f"analysis and the report)"
    )
    out.print(f"night:  {result.night_dir}")
    out.print(f"report: {result.report_html}")
    out.print(f"json:   {result.json_path}")
