"""The MQTT broker dies and comes back while the collector records a virtual band at high speed.

A real mosquitto on loopback (skipped when it is not installed) is killed with SIGKILL in the
middle of the night and started again on the same port. The recording must not notice (every
sample journaled and replayed exactly, the night finished), and the live events published while
the broker was away must reach a subscriber after the reconnect. The subscriber keeps a
persistent session (clean_session=False) that the broker saved to disk (SIGUSR1) before it was
killed, so it does not matter whether the collector or the subscriber reconnects first.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aiomqtt
import numpy as np
import pytest

from legwatch.band.legwatch_v1 import SENSITIVITY_MG_PER_LSB
from legwatch.band.virtual_band import quantise_counts
from legwatch.collect import open_or_resume, replay_night
from legwatch.collect.broker import MqttConfig, MqttPublisher
from legwatch.collect.demo import record_virtual_night
from legwatch.synth import scenario, simulate_night

RATE_HZ = 104.0
SPEED = 150.0  # 20 min of night in 8 s
MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PersistentMosquitto:
    """mosquitto on loopback with on-disk persistence, killable and restartable."""

    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.dir = tmp
        self.db = tmp / "mosquitto.db"
        conf = tmp / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {tmp}/\nautosave_interval 0\n"
            # run as root (a container), mosquitto would drop to the "mosquitto" user, which
            # cannot write the database into this test's folder; ignored when not root
            f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
        )
        self.conf = conf
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert MOSQUITTO is not None
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise AssertionError(f"mosquitto did not listen on {self.port}")

    async def save(self) -> None:
        """Write the persistence database now (mosquitto's SIGUSR1)."""
        assert self.proc is not None
        before = self.db.stat().st_mtime_ns if self.db.exists() else None
        self.proc.send_signal(signal.SIGUSR1)
        for _ in range(100):
            if self.db.exists() and self.db.stat().st_mtime_ns != before:
                await asyncio.sleep(0.05)  # let the write finish
                return
            await asyncio.sleep(0.02)
        raise AssertionError("mosquitto did not write its persistence database")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[PersistentMosquitto]:
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; .ci/run does)")
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    broker = PersistentMosquitto(broker_dir)
    broker.start()
    yield broker
    broker.kill()


@pytest.fixture(scope="module")
def night_20min_g() -> np.ndarray:
    """The first 20 minutes of a seeded "nominal" simulated night (about ten LMs), in g."""
    night = simulate_night(scenario("nominal", 3, hours=1.0, rate_hz=RATE_HZ))
    return night.recordings["left"].accel_g[: int(20 * 60 * RATE_HZ)]


class WatchedPublisher(MqttPublisher):
    """MqttPublisher that remembers whether the broker was up when each event was handed over."""

    def __init__(self, config: MqttConfig, band_ids: list[str], broker_up: dict[str, bool]):
        super().__init__(config, band_ids)
        self.broker_up = broker_up
        self.handed: list[tuple[int, bool]] = []  # (onset_index, broker up)

    def publish_event(self, band_id: str, event: Mapping[str, Any]) -> None:
        self.handed.append((int(event["onset_index"]), self.broker_up["up"]))
        super().publish_event(band_id, event)


async def _subscribe(port: int, got: list[dict[str, Any]], subscribed: asyncio.Event) -> None:
    """A persistent-session subscriber that reconnects until cancelled."""
    while True:
        try:
            async with aiomqtt.Client(
                "127.0.0.1", port, identifier="legwatch-outage-test", clean_session=False
            ) as client:
                await client.subscribe("legwatch/+/events", qos=1)
                subscribed.set()
                async for message in client.messages:
                    assert isinstance(message.payload, bytes | bytearray)
                    got.append(json.loads(message.payload))
        except aiomqtt.MqttError:
            await asyncio.sleep(0.05)


def test_broker_killed_and_restarted_mid_night(
    tmp_path: Path, mosquitto: PersistentMosquitto, night_20min_g: np.ndarray
) -> None:
    n = night_20min_g.shape[0]
    config = MqttConfig("127.0.0.1", mosquitto.port, backoff_initial_s=0.05, backoff_max_s=0.2)
    store = open_or_resume(tmp_path / "recordings", "night")
    night_dir = store.night_dir
    got: list[dict[str, Any]] = []
    broker_up = {"up": True}
    times: dict[str, float] = {}

    async def outage(subscribed: asyncio.Event) -> None:
        await subscribed.wait()
        await mosquitto.save()  # the subscriber's session survives the kill
        await asyncio.sleep(1.0)
        mosquitto.kill()
        broker_up["up"] = False
        times["killed"] = time.monotonic()
        await asyncio.sleep(3.0)  # 450 s of band time without a broker
        mosquitto.start()
        broker_up["up"] = True
        times["restarted"] = time.monotonic()

    async def main() -> tuple[Any, WatchedPublisher]:
        subscribed = asyncio.Event()
        subscriber = asyncio.create_task(_subscribe(mosquitto.port, got, subscribed))
        await asyncio.wait_for(subscribed.wait(), 5.0)
        async with WatchedPublisher(config, ["left"], broker_up) as publisher:
            breaker = asyncio.create_task(outage(subscribed))
            run = await record_virtual_night(
                night_20min_g, store, speed=SPEED, publisher=publisher, timeout_s=20.0
            )
            await breaker
        # every event the collector handed over, once, at the subscriber
        want = sorted({onset for onset, _ in publisher.handed})
        deadline = time.monotonic() + 5.0
        while sorted({e["onset_index"] for e in got}) != want and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        subscriber.cancel()
        await asyncio.gather(subscriber, return_exceptions=True)
        return run, publisher

    run, publisher = asyncio.run(asyncio.wait_for(main(), 40.0))

    # The recording did not notice the outage.
    assert run.finished
    assert times["killed"] < times["restarted"]
    replayed = replay_night(night_dir)
    report = replayed.reports["left"]
    assert report.samples == n and report.missing_samples == 0
    assert report.conflicting_samples == 0
    rec = replayed.recordings["left"]
    np.testing.assert_array_equal(
        rec.accel_g, quantise_counts(night_20min_g, 2) * (SENSITIVITY_MG_PER_LSB[2] / 1000.0)
    )
    stats = run.summary["bands"]["left"]
    assert stats["samples"] == n and stats["missing_samples"] == 0

    # Events: some were handed over while the broker was dead; all reached the subscriber.
    during_outage = [onset for onset, up in publisher.handed if not up]
    assert during_outage, "no live event fell in the outage: move or lengthen it"
    assert sum(stats["events"].values()) == len(publisher.handed)
    received = {e["onset_index"] for e in got}
    assert set(during_outage) <= received
    assert received == {onset for onset, _ in publisher.handed}
    mqtt = publisher.bands["left"].stats
    assert mqtt.connections >= 2
    assert mqtt.events_dropped == 0
