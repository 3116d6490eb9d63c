"""The one control-point round trip both band links use: write a command, wait for its answer."""

from __future__ import annotations

import asyncio

from bleak import BleakClient
from bleak.exc import BleakError

from legwatch.errors import BandLinkError


async def write_and_wait(
    client: BleakClient,
    char_uuid: str,
    payload: bytes,
    responses: asyncio.Queue[bytes],
    timeout_s: float,
    what: str = "command",
) -> bytes:
    """Write ``payload`` to ``char_uuid`` with response and return the next answer notified.

    Answers left over from commands that timed out are dropped first, so an answer is never
    matched to the wrong command. A timeout or a BLE error becomes a :class:`BandLinkError`.
    """
    while not responses.empty():
        responses.get_nowait()
    try:
        await client.write_gatt_char(char_uuid, payload, response=True)
        return await asyncio.wait_for(responses.get(), timeout_s)
    except TimeoutError as exc:
        raise BandLinkError(f"no answer to {what} {payload.hex()} within {timeout_s} s") from exc
    except BleakError as exc:
        raise BandLinkError(f"{what} {payload.hex()} failed: {exc}") from exc
