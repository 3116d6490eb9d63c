"""PolarLink end to end: a small virtual Polar Verity Sense (a Bumble GATT peripheral answering
the PMD control point as Polar's PMD specification describes) -> BleakClient(BumbleBleakBackend)
-> PolarLink. The frames it notifies are the byte-level vectors of
firmware_notes/test_vectors.json (raw and delta-compressed)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bumble import gatt
from bumble.core import AdvertisingData
from bumble.device import AdvertisingParameters, Connection
from bumble.link import LocalLink

from legwatch.band.bumble_backend import BumbleBleakBackend, BumbleCentral
from legwatch.band.polar_link import PolarConfig, PolarLink
from legwatch.band.polar_pmd import (
    PMD_CONTROL_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    PmdAccFrame,
)
from legwatch.band.virtual_band import make_controller_device
from legwatch.errors import BandLinkError

VECTORS = json.loads(
    (Path(__file__).parents[2] / "firmware_notes" / "test_vectors.json").read_text()
)["polar_pmd_acc"]
COMMANDS = {v["name"]: bytes.fromhex(v["hex"]) for v in VECTORS["commands"]}
RESPONSES = {v["name"]: bytes.fromhex(v["hex"]) for v in VECTORS["control_responses"]}
#: The vectors a Verity Sense at 16 bit can send: int16 raw and both delta-compressed types.
FRAMES = [v for v in VECTORS["valid"] if v["name"] != "raw_type2_int24"]
ADDRESS = "F0:F0:F0:F0:00:0A"


class VirtualVeritySense:
    """A Polar PMD peripheral: feature read, GET_SETTINGS, START and STOP for ACC; after START it
    notifies ``frames`` (plus ``junk``) on the data characteristic."""

    def __init__(
        self, link: LocalLink, frames: list[bytes], *, junk: tuple[bytes, ...] = ()
    ) -> None:
        self.frames = frames
        self.junk = junk
        self.writes: list[bytes] = []
        self.streaming = False
        self._tasks: set[asyncio.Task[None]] = set()
        _, self.device = make_controller_device(link, ADDRESS, "Polar Sense B36B1F2A")
        props = gatt.Characteristic.Properties
        perms = gatt.Characteristic.Permissions
        self.control: gatt.Characteristic[bytes] = gatt.Characteristic(
            PMD_CONTROL_UUID,
            props.READ | props.WRITE | props.INDICATE,
            perms.READABLE | perms.WRITEABLE,
            gatt.CharacteristicValue[bytes](
                # feature record: ACC (bit 2) and PPG (bit 1), as a Verity Sense
                read=lambda _c: bytes([0x0F, 0b0000_0110]),
                write=self._on_write,
            ),
        )
        self.data = gatt.Characteristic(PMD_DATA_UUID, props.NOTIFY, perms.READABLE, b"")
        self.device.add_service(gatt.Service(PMD_SERVICE_UUID, [self.control, self.data]))

    async def start(self) -> None:
        await self.device.power_on()
        adv = AdvertisingData([(AdvertisingData.FLAGS, bytes([0x06]))])
        await self.device.create_advertising_set(
            advertising_parameters=AdvertisingParameters(
                primary_advertising_interval_min=20.0, primary_advertising_interval_max=20.0
            ),
            advertising_data=bytes(adv),
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _on_write(self, connection: Connection, value: bytes) -> None:
        self.writes.append(bytes(value))
        task = asyncio.create_task(self._answer(connection, bytes(value)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, connection: Connection, value: bytes) -> None:
        if value == COMMANDS["get_acc_settings"]:
            answer = RESPONSES["get_settings_verity_like"]
        elif value[:2] == bytes([0x02, 0x02]):
            if self.streaming:
                answer = RESPONSES["start_already_in_state"]
            else:
                answer = RESPONSES["start_ok"]
                self.streaming = True
        elif value == COMMANDS["stop_acc"]:
            answer = bytes([0xF0, 0x03, 0x02, 0x00, 0x00])
            self.streaming = False
        else:
            answer = bytes([0xF0, value[0] if value else 0, 0x02, 0x01, 0x00])  # invalid op code
        await self.device.indicate_subscriber(connection, self.control, answer)
        if answer == RESPONSES["start_ok"]:
            for frame in [*self.junk, *self.frames]:
                await asyncio.sleep(0.005)
                if not self.streaming:
                    return
                await self.device.notify_subscriber(connection, self.data, frame)


async def _session(
    frames: list[bytes], junk: tuple[bytes, ...], n_frames: int
) -> tuple[list[tuple[int, PmdAccFrame]], PolarLink, VirtualVeritySense]:
    link = LocalLink()  # Bumble's controllers need the running loop: built in here
    sensor = VirtualVeritySense(link, frames, junk=junk)
    central = BumbleCentral(link, "F1:F1:F1:F1:00:0A")
    await sensor.start()
    got: list[tuple[int, PmdAccFrame]] = []
    device = central.ble_device(ADDRESS, "Polar Sense B36B1F2A")
    try:
        async with PolarLink(device, backend=BumbleBleakBackend) as polar:
            async for rx_ns, frame in polar.frames():
                got.append((rx_ns, frame))
                if len(got) == n_frames:
                    break
    finally:
        await sensor.stop()
    return got, polar, sensor


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 15.0))


def test_polar_link_streams_raw_and_delta_frames_and_stops() -> None:
    frames = [bytes.fromhex(v["hex"]) for v in FRAMES]
    junk = (b"\x00\x01", b"\x02" + b"\x00" * 8 + b"\x07")
    got, polar, sensor = _run(_session(frames, junk, len(frames)))

    # The conversation, byte for byte: settings, START 52 Hz / 8 g / 16 bit, and STOP on exit.
    assert sensor.writes == [
        COMMANDS["get_acc_settings"],
        COMMANDS["start_acc_52hz_8g_16bit"],
        COMMANDS["stop_acc"],
    ]
    assert not sensor.streaming
    assert polar.stats.stop_sent
    assert polar.stats.settings == {0: (52,), 1: (16,), 2: (2, 4, 8, 16)}
    # Every frame decoded to the vector's values, with a host receive time in order.
    assert len(got) == len(FRAMES)
    for (_rx_ns, frame), vector in zip(got, FRAMES, strict=True):
        assert frame.timestamp_ns == vector["timestamp_ns"]
        assert frame.compressed == vector["compressed"]
        np.testing.assert_array_equal(frame.samples_mg, np.array(vector["samples_mg"]))
        assert frame.range_g == 8
    rx = [rx_ns for rx_ns, _ in got]
    assert rx == sorted(rx) and rx[0] > 0
    # The two junk notifications were counted, not raised.
    assert polar.stats.corrupt == 2
    assert polar.stats.samples == sum(len(v["samples_mg"]) for v in FRAMES)
    assert not polar.is_connected


def test_polar_link_sends_stop_when_the_consumer_fails() -> None:
    sensors: list[VirtualVeritySense] = []

    async def main() -> None:
        link = LocalLink()
        sensor = VirtualVeritySense(link, [bytes.fromhex(FRAMES[0]["hex"])] * 3)
        sensors.append(sensor)
        central = BumbleCentral(link, "F1:F1:F1:F1:00:0B")
        await sensor.start()
        try:
            device = central.ble_device(ADDRESS)
            async with PolarLink(device, backend=BumbleBleakBackend) as polar:
                async for _rx_ns, _frame in polar.frames():
                    raise RuntimeError("consumer crashed")
        finally:
            await sensor.stop()

    with pytest.raises(RuntimeError, match="consumer crashed"):
        _run(main())
    (sensor,) = sensors
    assert sensor.writes[-1] == COMMANDS["stop_acc"]
    assert not sensor.streaming


def test_polar_link_refuses_a_rate_the_sensor_does_not_offer() -> None:
    sensors: list[VirtualVeritySense] = []

    async def main() -> None:
        link = LocalLink()
        sensor = VirtualVeritySense(link, [])
        sensors.append(sensor)
        central = BumbleCentral(link, "F1:F1:F1:F1:00:0C")
        await sensor.start()
        try:
            device = central.ble_device(ADDRESS)
            config = PolarConfig(sample_rate_hz=104)
            async with PolarLink(device, backend=BumbleBleakBackend, config=config):
                raise AssertionError("entered without a usable ACC setting")  # pragma: no cover
        finally:
            await sensor.stop()

    with pytest.raises(BandLinkError, match=r"sample rate \(Hz\) 104 not offered.*\[52\]"):
        _run(main())
    # Nothing was started, so nothing needed stopping.
    (sensor,) = sensors
    assert sensor.writes == [COMMANDS["get_acc_settings"]]
    assert not sensor.streaming
