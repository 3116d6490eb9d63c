"""A bleak backend on a Bumble central, for hardware-free end-to-end tests of the band link.

bleak has no Bumble backend upstream (ble-and-data.md); this one is small and owned by legwatch.
:class:`BumbleBleakBackend` is a :class:`bleak.backends.client.BaseBleakClient`, so::

    central = BumbleCentral(link)          # a Bumble central on the band's LocalLink
    await central.power_on()
    device = await central.find_device(name="legwatch-0001")   # the scanner shim
    async with BleakClient(device, backend=BumbleBleakBackend) as client:
        await client.start_notify(DATA_CHAR_UUID, callback)

runs bleak's real front end (characteristic resolution, callback wrapping, disconnected
callback) and bleak-retry-connector's ``establish_connection`` unchanged. It does not exercise
BlueZ, D-Bus or radio timing.

Which peer to connect to travels in ``BLEDevice.details``: a :class:`BumbleTarget` naming the
central to use and the peer's address. :meth:`BumbleCentral.find_device` builds such a
``BLEDevice`` from a real Bumble scan (name from the scan response, service UUIDs from the
advertising data); :meth:`BumbleCentral.ble_device` builds one without scanning. A plain address
string is refused (bleak would scan with the platform scanner, which knows no Bumble link).

Backend-specific ``BleakClient`` keyword: ``bumble={"att_mtu": 23}`` sets the ATT MTU the
backend asks for at connection (default 247, like the OS stacks that negotiate it themselves).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import att, core, gatt
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection, Peer
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy
from bumble.hci import Address
from bumble.link import LocalLink

from legwatch.band.virtual_band import make_controller_device

logger = logging.getLogger(__name__)

#: ATT MTU asked for at connection: 247 fits a 36-sample packet (PROFILE.md §2).
DEFAULT_ATT_MTU: Final = 247

_PROPERTY_NAMES: Final[dict[int, CharacteristicPropertyName]] = {
    gatt.Characteristic.Properties.BROADCAST: "broadcast",
    gatt.Characteristic.Properties.READ: "read",
    gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    gatt.Characteristic.Properties.WRITE: "write",
    gatt.Characteristic.Properties.NOTIFY: "notify",
    gatt.Characteristic.Properties.INDICATE: "indicate",
    gatt.Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    gatt.Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}


def _uuid_str(uuid: UUID) -> str:
    """bleak's normal form: 128-bit, lower case, dashes."""
    return normalize_uuid_str(uuid.to_hex_str("-"))


class BumbleCentral:
    """A Bumble central (controller, host and device) on a LocalLink, shared by the backends.

    Parameters
    ----------
    link : bumble.link.LocalLink
        The link the virtual bands are on.
    address : str
        The central's static address. Default ``"F1:F1:F1:F1:00:01"``.
    """

    def __init__(self, link: LocalLink, address: str = "F1:F1:F1:F1:00:01") -> None:
        self.link = link
        self.address = address
        self._controller, self.device = make_controller_device(link, address, "legwatch-host")
        self._powered = False
        self._connect_lock = asyncio.Lock()

    async def power_on(self) -> None:
        if not self._powered:
            await self.device.power_on()
            self._powered = True

    def ble_device(self, address: str, name: str | None = None) -> BLEDevice:
        """A ``BLEDevice`` for a peer at ``address`` on this central's link (no scan)."""
        return BLEDevice(address, name, BumbleTarget(self, Address(address)))

    async def find_device(
        self,
        name: str | None = None,
        service_uuid: str | None = None,
        timeout_s: float = 5.0,
    ) -> BLEDevice | None:
        """Scan the link actively for a peer by name and/or advertised service UUID.

        Returns the first match as a ``BLEDevice`` (usable with :class:`BumbleBleakBackend`),
        or None after ``timeout_s`` seconds.
        """
        await self.power_on()
        want_uuid = None if service_uuid is None else normalize_uuid_str(service_uuid)
        found: asyncio.Future[BLEDevice] = asyncio.get_running_loop().create_future()
        names: dict[str, str] = {}
        uuids: dict[str, set[str]] = {}

        def on_advertisement(adv: Advertisement) -> None:
            key = str(adv.address)
            local = adv.data.get(AdvertisingData.COMPLETE_LOCAL_NAME)
            if isinstance(local, str):
                names[key] = local
            listed = adv.data.get(AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS)
            if isinstance(listed, list):
                uuids.setdefault(key, set()).update(_uuid_str(u) for u in listed)
            if name is not None and names.get(key) != name:
                return
            if want_uuid is not None and want_uuid not in uuids.get(key, set()):
                return
            if not found.done():
                found.set_result(BLEDevice(key, names.get(key), BumbleTarget(self, adv.address)))

        self.device.on(self.device.EVENT_ADVERTISEMENT, on_advertisement)
        try:
            await self.device.start_scanning(active=True, filter_duplicates=False)
            return await asyncio.wait_for(found, timeout_s)
        except TimeoutError:
            return None
        finally:
            self.device.remove_listener(self.device.EVENT_ADVERTISEMENT, on_advertisement)
            await self.device.stop_scanning()


@dataclass(frozen=True)
class BumbleTarget:
    """``BLEDevice.details`` for the Bumble backend: which central, which peer address."""

    central: BumbleCentral
    address: Address


class BumbleBleakBackend(BaseBleakClient):
    """bleak client backend on a :class:`BumbleCentral` (pass as ``BleakClient(backend=...)``).

    Connects with the central's Bumble device, negotiates the ATT MTU, discovers every service,
    characteristic and descriptor into bleak's ``BleakGATTServiceCollection`` (the Bumble
    proxies are the ``obj`` of each bleak object) and maps reads, writes and subscriptions onto
    Bumble's GATT client. Notification callbacks run synchronously in the Bumble receive path,
    as bleak's own backends call them from their event handlers.
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        services: set[str] | None = None,
        bumble: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        details = getattr(address_or_ble_device, "details", None)
        if not isinstance(details, BumbleTarget):
            raise BleakError(
                "BumbleBleakBackend needs a BLEDevice whose details are a BumbleTarget "
                "(from BumbleCentral.find_device or BumbleCentral.ble_device); got "
                f"{address_or_ble_device!r}"
            )
        self._target = details
        self._name = getattr(address_or_ble_device, "name", None) or self.address
        self._service_filter = services
        options = dict(bumble or {})
        self._att_mtu_request = int(options.pop("att_mtu", DEFAULT_ATT_MTU))
        if options:
            raise BleakError(f"unknown bumble options {sorted(options)}; known: ['att_mtu']")
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self._closing = False

    # -- connection ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the ATT MTU and discover the GATT database.

        ``timeout`` (s) may come in ``kwargs`` (bleak-retry-connector passes it); other
        keywords are accepted and ignored as bleak's backends do.
        """
        if pair:
            logger.info("%s: the Bumble backend does not pair; connecting without", self._name)
        timeout_s = float(kwargs.get("timeout", self._timeout))
        central = self._target.central
        await central.power_on()
        async with central._connect_lock:  # Bumble connects to one peer at a time
            try:
                connection = await central.device.connect(self._target.address, timeout=timeout_s)
            except core.TimeoutError as exc:
                raise TimeoutError(f"{self._name}: no connection within {timeout_s} s") from exc
            except core.BaseBumbleError as exc:
                raise BleakDeviceNotFoundError(self.address, f"{self._name}: {exc}") from exc
        self._connection = connection
        self._closing = False
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            self._peer = Peer(connection)
            if self._att_mtu_request > 23:
                await self._peer.request_mtu(self._att_mtu_request)
            self.services = await self._discover()
        except BaseException:
            await self.disconnect()
            raise
        logger.debug("%s: connected, ATT MTU %d", self._name, self.mtu_size)

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        self.services = None
        logger.debug("%s: disconnected (reason 0x%02X)", self._name, reason)
        if self._disconnected_callback is not None and not self._closing:
            # bleak schedules the callback on the loop rather than calling it in the event.
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        try:
            await connection.disconnect()
        except core.BaseBumbleError as exc:
            logger.debug("%s: disconnect: %s", self._name, exc)
        self._on_disconnection(0)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("the Bumble backend does not implement pairing")

    async def unpair(self) -> None:
        raise BleakError("the Bumble backend does not implement pairing")

    # -- discovery -----------------------------------------------------------------------------
    async def _discover(self) -> BleakGATTServiceCollection:
        peer = self._require_peer()
        collection = BleakGATTServiceCollection()
        for service in await peer.discover_services():
            uuid = _uuid_str(service.uuid)
            if self._service_filter and uuid not in self._service_filter:
                continue
            bleak_service = BleakGATTService(service, service.handle, uuid)
            collection.add_service(bleak_service)
            for char in await service.discover_characteristics():
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    _uuid_str(char.uuid),
                    [n for bit, n in _PROPERTY_NAMES.items() if char.properties & bit],
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for desc in await char.discover_descriptors():
                    collection.add_descriptor(
                        BleakGATTDescriptor(desc, desc.handle, _uuid_str(desc.type), bleak_char)
                    )
        return collection

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError(f"{self._name}: not connected")
        return self._peer

    # -- I/O -----------------------------------------------------------------------------------
    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require_peer()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        with _AttErrors():
            return bytearray(await proxy.read_value())

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require_peer()
        proxy: DescriptorProxy = descriptor.obj
        with _AttErrors():
            return bytearray(await proxy.read_value())

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        self._require_peer()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        with _AttErrors():
            await proxy.write_value(bytes(data), with_response=response)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        self._require_peer()
        proxy: DescriptorProxy = descriptor.obj
        with _AttErrors():
            await proxy.write_value(bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._require_peer()
        proxy: CharacteristicProxy[bytes] = characteristic.obj

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = subscriber
        with _AttErrors():
            # Notifications when the characteristic has both (bleak's documented preference).
            await proxy.subscribe(subscriber, prefer_notify=True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._require_peer()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        subscriber = self._subscribers.pop(characteristic.handle, None)
        with _AttErrors():
            await proxy.unsubscribe(subscriber)


class _AttErrors:
    """Context manager: Bumble's ATT error responses as bleak's BleakGATTProtocolError."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, att.ATT_Error):
            raise BleakGATTProtocolError(exc.error_code) from exc
        if isinstance(exc, core.TimeoutError):
            raise TimeoutError(str(exc)) from exc
