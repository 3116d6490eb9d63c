"""A collector restarted mid-night finds the virtual band still streaming.

The first BandLink loses the band without sending STOP (as when the collector process dies: the
band only sees the connection drop). A second, new BandLink whose ``resume_index`` returns the
next sample index the consumer needs must not send START (which would reset the band's sample
index to 0 under samples already stored) but BACKFILL from that index; every sample of the night
then ends up received exactly once per index, with the band's own values.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from bumble.device import Connection
from bumble.link import LocalLink

from legwatch.band.bumble_backend import BumbleBleakBackend, BumbleCentral
from legwatch.band.legwatch_v1 import (
    Command,
    CommandResponse,
    PacketFlags,
    PacketReassembler,
    StartCommand,
    StopCommand,
)
from legwatch.band.link import BandLink, LinkConfig
from legwatch.band.virtual_band import VirtualBand, VirtualBandConfig
from legwatch.synth import NightConfig, simulate_night

RATE_HZ = 104.0


class RecordingBand(VirtualBand):
    """The virtual band, remembering every control-point command it executed, and answering
    each after ``ANSWER_DELAY_S`` as a real band does (an indication takes a few 30-50 ms
    connection intervals, ble-and-data.md): live packets flow meanwhile."""

    ANSWER_DELAY_S = 0.04

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.executed: list[Command] = []

    async def _answer(self, connection: Connection, value: bytes) -> None:
        await asyncio.sleep(self.ANSWER_DELAY_S)
        await super()._answer(connection, value)

    def _execute(self, command: Command) -> CommandResponse:
        self.executed.append(command)
        return super()._execute(command)


class Received:
    """Decoded samples by index, plus the packets each link session delivered."""

    def __init__(self) -> None:
        self.reassembler = PacketReassembler()
        self.samples: dict[int, np.ndarray] = {}
        self.packets: list[tuple[int, int, int, PacketFlags]] = []  # (session, first, n, flags)
        self.session = 1

    def feed(self, payload: bytes) -> None:
        packet = self.reassembler.feed(payload)
        if packet is None:
            return
        self.packets.append(
            (self.session, packet.first_sample_index, packet.n_samples, packet.flags)
        )
        for k in range(packet.n_samples):
            self.samples.setdefault(packet.first_sample_index + k, packet.samples[k].copy())

    def next_index(self) -> int | None:
        return max(self.samples) + 1 if self.samples else None


async def _until(predicate: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def night_2min_g() -> np.ndarray:
    """Two minutes of a seeded simulated night at 104 Hz, in g."""
    rec = simulate_night(NightConfig(hours=2 / 60, rate_hz=RATE_HZ, seed=1)).recordings["left"]
    assert rec.n_samples >= 120 * RATE_HZ
    return rec.accel_g


def test_restarted_link_resumes_a_streaming_band_without_start(
    night_2min_g: np.ndarray,
) -> None:
    n = night_2min_g.shape[0]
    # speed 60: the 2 min night plays in 2 s of host time; ring buffer holds all of it
    band_config = VirtualBandConfig(speed=60.0, ring_buffer_s=300.0)
    link_config = LinkConfig(backoff_initial_s=0.05, backoff_max_s=0.2)
    received = Received()
    facts: dict[str, Any] = {}

    async def main() -> RecordingBand:
        radio = LocalLink()
        band = RecordingBand(radio, night_2min_g, RATE_HZ, band_config)
        central = BumbleCentral(radio)
        await band.start()
        reachable = {"first": True}

        async def first_finder() -> Any:
            if not reachable["first"]:
                return None  # the first collector is gone: it never comes back
            return await central.find_device(name=band.name, timeout_s=2.0)

        async def finder() -> Any:
            return await central.find_device(name=band.name, timeout_s=2.0)

        async def consume(link: BandLink) -> None:
            async for _rx_ns, payload in link.notifications():
                received.feed(payload)

        try:
            # -- the first collector records the start of the night, then dies -------------
            first = BandLink(
                first_finder,
                backend=BumbleBleakBackend,
                config=link_config,
                resume_index=received.next_index,
            )
            async with first:
                consumer = asyncio.create_task(consume(first))
                await first.wait_connected(5.0)
                await _until(lambda: len(received.samples) >= 2000, 10.0)
                reachable["first"] = False
                await band.disconnect()  # what the band sees when its collector dies
                await _until(lambda: not first.is_connected, 5.0)
            await asyncio.wait_for(consumer, 5.0)
            facts["commands_first"] = list(band.executed)
            facts["stored_before"] = len(received.samples)
            # The band keeps sampling while nobody listens.
            produced = band.produced_samples
            await _until(lambda: band.produced_samples >= produced + 1500, 10.0)
            facts["produced_at_restart"] = band.produced_samples
            facts["resume_at"] = received.next_index()

            # -- the restarted collector: a new BandLink, same store position --------------
            received.session = 2
            second = BandLink(
                finder,
                backend=BumbleBleakBackend,
                config=link_config,
                resume_index=received.next_index,
            )
            async with second:
                consumer = asyncio.create_task(consume(second))
                await second.wait_connected(5.0)
                facts["commands_second_open"] = band.executed[len(facts["commands_first"]) :]
                await _until(lambda: band.finished, 10.0)
                await _until(lambda: len(received.samples) >= n, 5.0)
                facts["backfills"] = second.stats.backfills
            await asyncio.wait_for(consumer, 5.0)
        finally:
            await band.stop()
        return band

    band = asyncio.run(asyncio.wait_for(main(), 30.0))

    # The first collector started the band once and never stopped it (it died).
    first_kinds = [type(c) for c in facts["commands_first"]]
    assert first_kinds.count(StartCommand) == 1
    assert StopCommand not in first_kinds
    assert facts["produced_at_restart"] > facts["resume_at"] > 2000

    # The restarted link did not send START: the band's index was never reset ...
    second_kinds = [type(c) for c in facts["commands_second_open"]]
    assert StartCommand not in second_kinds
    assert [type(c) for c in band.executed].count(StartCommand) == 1
    assert band.produced_samples == n
    # ... and what it received starts where the store stopped, not at index 0.
    second = [(first, count, flags) for s, first, count, flags in received.packets if s == 2]
    assert min(first for first, _, _ in second) == facts["resume_at"]
    assert facts["backfills"] >= 1
    backfilled = {
        first + k
        for first, count, flags in second
        if flags & PacketFlags.BACKFILL
        for k in range(count)
    }
    # The samples produced while no collector listened came back through BACKFILL.
    assert set(range(facts["resume_at"], facts["produced_at_restart"])) <= backfilled

    # Every sample of the night, exactly, once per index.
    assert sorted(received.samples) == list(range(n))
    got = np.stack([received.samples[i] for i in range(n)])
    np.testing.assert_array_equal(got, band.sent_counts())
    # The clean close of the second link stopped the band.
    assert isinstance(band.executed[-1], StopCommand)
