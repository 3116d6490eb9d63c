"""MQTT against real brokers on loopback: mosquitto (Debian package) and amqtt (pure Python)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from legwatch.collect.broker import (
    BandPublisher,
    MqttConfig,
    MqttPublisher,
    Received,
    listen,
    parse_host_port,
)

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise AssertionError(f"broker did not listen on {port}")


class Mosquitto:
    """A mosquitto on loopback that a test can kill and start again on the same port."""

    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert MOSQUITTO is not None
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_port(self.port)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; .ci/run does)")
    broker = Mosquitto(tmp_path)
    broker.start()
    yield broker
    broker.kill()


def _config(port: int) -> MqttConfig:
    return MqttConfig("127.0.0.1", port, backoff_initial_s=0.05, backoff_max_s=0.2)


def test_parse_host_port() -> None:
    assert parse_host_port("pi.local") == ("pi.local", 1883)
    assert parse_host_port("10.0.0.2:1884") == ("10.0.0.2", 1884)
    assert parse_host_port("[::1]:8883") == ("::1", 8883)
    with pytest.raises(ValueError, match="--mqtt"):
        parse_host_port("host:port")


def test_full_outbox_drops_the_oldest_event_and_counts() -> None:
    pub = BandPublisher(MqttConfig(event_outbox=3), "left")
    for k in range(5):
        pub.event({"kind": "lm", "onset_index": k})
    assert pub.stats.events_dropped == 2
    assert [b'"onset_index": 2' in m for m in pub._events] == [True, False, False]
    pub.raw(0, b"\x00")  # not connected: dropped, counted
    assert pub.stats.raw_dropped == 1


async def _roundtrip(port: int) -> list[Received]:
    config = _config(port)
    got: list[Received] = []
    stop = asyncio.Event()
    listener = asyncio.create_task(listen(config, got.append, stop))
    async with MqttPublisher(config, ["left", "right"]) as pub:
        pub.publish_status("left", {"state": "online", "samples": 10})
        # the retained status reaching the listener proves its subscription is live (a fixed
        # sleep raced it on a busy machine, and non-retained events could be missed)
        for _ in range(200):
            if any(r.kind == "status" for r in got):
                break
            await asyncio.sleep(0.05)
        for k in range(3):
            pub.publish_event("left", {"kind": "lm", "onset_index": k})
        pub.publish_event("right", {"kind": "spasm", "onset_index": 7})
        pub.publish_night("left", {"samples": 10})
        for _ in range(100):
            if sum(r.kind == "events" for r in got) == 4 and any(r.kind == "night" for r in got):
                break
            await asyncio.sleep(0.05)
    # A late subscriber still gets the retained status and night summary.
    late: list[Received] = []
    stop2 = asyncio.Event()
    late_task = asyncio.create_task(listen(config, late.append, stop2))
    for _ in range(200):
        if {r.kind for r in late if r.retained} >= {"status", "night"}:
            break
        await asyncio.sleep(0.05)
    stop.set()
    stop2.set()
    await asyncio.gather(listener, late_task)
    assert {(r.kind, r.retained) for r in late} >= {("status", True), ("night", True)}
    return got


def test_events_status_and_night_reach_a_listener_mosquitto(mosquitto: Mosquitto) -> None:
    got = asyncio.run(asyncio.wait_for(_roundtrip(mosquitto.port), 20))
    events = [r for r in got if r.kind == "events"]
    assert sorted((r.band_id, r.payload["onset_index"]) for r in events) == [
        ("left", 0),
        ("left", 1),
        ("left", 2),
        ("right", 7),
    ]


def test_events_reach_a_listener_amqtt() -> None:
    from amqtt.broker import Broker

    port = _free_port()

    async def main() -> list[Received]:
        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
                },
            }
        )
        await broker.start()
        try:
            return await _roundtrip(port)
        finally:
            await broker.shutdown()

    got = asyncio.run(asyncio.wait_for(main(), 30))
    assert sum(r.kind == "events" for r in got) == 4


def test_last_will_says_offline_when_the_publisher_dies(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    script = tmp_path / "pub.py"
    script.write_text(
        "import asyncio, sys\n"
        "from legwatch.collect.broker import MqttConfig, MqttPublisher\n"
        "async def main():\n"
        f"    async with MqttPublisher(MqttConfig('127.0.0.1', {mosquitto.port}, keepalive_s=1),"
        " ['left']) as p:\n"
        "        p.publish_status('left', {'state': 'online'})\n"
        "        await asyncio.sleep(0.5); print('up', flush=True); await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.Popen(["python", str(script)], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"up"
    proc.kill()
    proc.wait()
    proc.stdout.close()

    async def main() -> list[Received]:
        got: list[Received] = []
        stop = asyncio.Event()
        task = asyncio.create_task(listen(_config(mosquitto.port), got.append, stop))
        for _ in range(80):
            if any(r.kind == "status" and r.payload == {"state": "offline"} for r in got):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task
        return got

    got = asyncio.run(asyncio.wait_for(main(), 15))
    assert any(r.kind == "status" and r.payload == {"state": "offline"} for r in got)


def test_broker_outage_never_blocks_and_events_come_after_reconnect(
    mosquitto: Mosquitto,
) -> None:
    config = _config(mosquitto.port)

    async def main() -> tuple[list[Received], MqttPublisher, float]:
        got: list[Received] = []
        async with MqttPublisher(config, ["left"]) as pub:
            await asyncio.sleep(0.3)
            pub.publish_event("left", {"kind": "lm", "onset_index": 1})
            await asyncio.sleep(0.3)
            mosquitto.kill()
            await asyncio.sleep(0.3)
            t0 = time.perf_counter()
            for k in range(2, 50):  # while the broker is away: returns at once
                pub.publish_event("left", {"kind": "lm", "onset_index": k})
                pub.publish_raw("left", k, b"\x01\x02")
            blocked_s = time.perf_counter() - t0
            mosquitto.start()
            stop = asyncio.Event()
            listener = asyncio.create_task(listen(config, got.append, stop))
            for _ in range(100):
                if sum(r.kind == "events" for r in got) >= 48:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await listener
        return got, pub, blocked_s

    got, pub, blocked_s = asyncio.run(asyncio.wait_for(main(), 30))
    # publishing never waits for the broker: well under a second even on a busy machine
    assert blocked_s < 1.0
    onsets = sorted(r.payload["onset_index"] for r in got if r.kind == "events")
    assert onsets == list(range(2, 50))
    stats = pub.bands["left"].stats
    assert stats.connections >= 2
    # Raw data is not kept through an outage: whatever was not sent is counted as dropped.
    assert stats.raw_dropped > 0 and stats.raw_dropped + stats.raw_sent == 48
