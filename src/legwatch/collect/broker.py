"""MQTT for the collector (publishing) and for ``legwatch listen`` (subscribing), on aiomqtt 2.x.

Nothing leaves the machine unless a broker is configured. Topics, per band::

    legwatch/<band>/status   retained, QoS 1: counters every tick; "offline" as last will
    legwatch/<band>/events   QoS 1: one JSON event (LM, spasm...) per message
    legwatch/<band>/accel    QoS 0, only with raw=True: {"rx_ns", "payload_hex"} per notification
    legwatch/<band>/night    retained, QoS 1: the band's night summary at the end

A broker outage never blocks or loses the recording: the collector only calls the synchronous,
non-blocking ``publish_*`` methods, which put messages in a bounded outbox that one task per band
sends from while connected.

- Raw notifications are dropped while disconnected or when their queue
  (``MqttConfig.raw_queue``) is full, counted in ``stats.raw_dropped``.
- Events are kept (``MqttConfig.event_outbox``, 10 000 by default: days of a restless night) and
  resent after a reconnect; when the outbox is full the OLDEST event is dropped and counted in
  ``stats.events_dropped`` (the journal still holds every event). An event is removed from the
  outbox only when the broker acknowledged it (QoS 1 PUBACK), so an event may arrive twice
  after a reconnect: listeners de-duplicate by ``(band_id, kind, onset_index)``.
- Status keeps only the newest snapshot (retained: the broker serves the latest).

Each band has its own MQTT connection so that each band's status topic carries its own last
will ("offline" when the collector dies). Reconnects are an explicit loop with capped backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

from legwatch.errors import ParameterError

logger = logging.getLogger(__name__)

TOPIC_ROOT = "legwatch"
DEFAULT_PORT = 1883


def parse_host_port(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``HOST[:PORT]`` -> (host, port); IPv6 as ``[::1]:1883``."""
    text = text.strip()
    host, port_text = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    if not host:
        raise ParameterError("--mqtt", "HOST or HOST:PORT, e.g. localhost:1883", text)
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ParameterError("--mqtt", "HOST:PORT with a numeric port", text) from None
    if not 0 < port < 65536:
        raise ParameterError("--mqtt", "a port in 1..65535", port)
    return host, port


@dataclass(frozen=True)
class MqttConfig:
    """Where and how to reach the broker.

    Attributes
    ----------
    host, port : str, int
        The broker. Default port 1883 (MQTT's registered port; 8883 with TLS by convention).
    username, password : str or None
        Credentials (the CLI reads the password from a file, never from the command line).
    tls : bool
        Use TLS; ``ca_file`` names the CA to trust (default: the system's).
    ca_file : Path or None
    client_prefix : str
        MQTT client identifier prefix; the band id is appended. Default "legwatch".
    keepalive_s : int
        MQTT keepalive, seconds. Default 30 (the broker notices a dead collector, and sends
        the last will, after 1.5 keepalives).
    event_outbox : int
        Events kept while the broker is away. Default 10000.
    raw_queue : int
        Raw notifications queued while connected. Default 256 (~1 min of one band).
    backoff_initial_s, backoff_max_s : float
        Reconnect delay, doubling up to the maximum. Defaults 0.5 s and 30 s (as the band link).
    publish_timeout_s : float
        Longest wait for one PUBACK, s. Default 10.
    """

    host: str = "localhost"
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: Path | None = None
    client_prefix: str = "legwatch"
    keepalive_s: int = 30
    event_outbox: int = 10_000
    raw_queue: int = 256
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    publish_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ParameterError("port", "1..65535", self.port)
        if self.event_outbox < 1 or self.raw_queue < 1:
            raise ParameterError("event_outbox/raw_queue", "sizes >= 1", self.event_outbox)
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ParameterError(
                "backoff_initial_s", "0 < initial <= backoff_max_s", self.backoff_initial_s
            )
        if self.ca_file is not None and not Path(self.ca_file).is_file():
            raise ParameterError("ca_file", "an existing CA certificate file", str(self.ca_file))

    def client(self, identifier: str, will: aiomqtt.Will | None = None) -> aiomqtt.Client:
        """A (not yet connected) aiomqtt client for this broker."""
        tls_context = None
        if self.tls:
            tls_context = ssl.create_default_context(
                cafile=None if self.ca_file is None else str(self.ca_file)
            )
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=identifier,
            will=will,
            keepalive=self.keepalive_s,
            tls_context=tls_context,
            timeout=self.publish_timeout_s,
        )


def topic(band_id: str, kind: str) -> str:
    return f"{TOPIC_ROOT}/{band_id}/{kind}"


def _json(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(obj), sort_keys=True, default=str).encode()


@dataclass
class PublisherStats:
    """Counters of one band's MQTT publisher."""

    connected: bool = False
    connections: int = 0
    connect_failures: int = 0
    events_sent: int = 0
    events_dropped: int = 0
    events_queued: int = 0
    raw_sent: int = 0
    raw_dropped: int = 0
    status_sent: int = 0


class BandPublisher:
    """One band's MQTT connection: a bounded outbox and a send loop with reconnects."""

    def __init__(self, config: MqttConfig, band_id: str) -> None:
        self.config = config
        self.band_id = band_id
        self.stats = PublisherStats()
        self._events: deque[bytes] = deque()
        self._raw: deque[bytes] = deque()
        self._status: bytes | None = None
        self._night: bytes | None = None
        self._wake = asyncio.Event()
        self._closing = False

    # -- non-blocking, for the collector ----------------------------------------------------
    def event(self, event: Mapping[str, Any]) -> None:
        if len(self._events) >= self.config.event_outbox:
            self._events.popleft()
            self.stats.events_dropped += 1
            if self.stats.events_dropped == 1 or self.stats.events_dropped % 1000 == 0:
                logger.warning(
                    "mqtt %s: event outbox full (%d); dropped the oldest (%d so far)",
                    self.band_id,
                    self.config.event_outbox,
                    self.stats.events_dropped,
                )
        self._events.append(_json(event))
        self.stats.events_queued = len(self._events)
        self._wake.set()

    def status(self, status: Mapping[str, Any]) -> None:
        self._status = _json(status)
        self._wake.set()

    def night(self, summary: Mapping[str, Any]) -> None:
        self._night = _json(summary)
        self._wake.set()

    def raw(self, rx_ns: int, payload: bytes) -> None:
        if not self.stats.connected or len(self._raw) >= self.config.raw_queue:
            self.stats.raw_dropped += 1
            return
        self._raw.append(_json({"rx_ns": rx_ns, "payload_hex": payload.hex()}))
        self._wake.set()

    @property
    def pending(self) -> int:
        """Messages not yet acknowledged (events) or sent (status, night, raw)."""
        return (
            len(self._events)
            + len(self._raw)
            + (self._status is not None)
            + (self._night is not None)
        )

    # -- the send loop ----------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, send, reconnect with capped backoff; until :meth:`close`."""
        delay_s = self.config.backoff_initial_s
        will = aiomqtt.Will(topic(self.band_id, "status"), b'{"state": "offline"}', 1, True)
        while not self._closing:
            client = self.config.client(f"{self.config.client_prefix}-{self.band_id}", will)
            try:
                async with client:
                    self.stats.connected = True
                    self.stats.connections += 1
                    delay_s = self.config.backoff_initial_s
                    logger.info("mqtt %s: connected to %s", self.band_id, self.config.host)
                    await self._send_all(client)
            except aiomqtt.MqttError as exc:
                self.stats.connect_failures += 1
                logger.info("mqtt %s: %s; retrying in %.1f s", self.band_id, exc, delay_s)
            finally:
                self.stats.connected = False
                self.stats.raw_dropped += len(self._raw)  # raw data is never kept for later
                self._raw.clear()
            if self._closing:
                return
            await asyncio.sleep(delay_s)
            delay_s = min(self.config.backoff_max_s, delay_s * 2)

    async def _send_all(self, client: aiomqtt.Client) -> None:
        band = self.band_id
        timeout = self.config.publish_timeout_s
        while True:
            self._wake.clear()
            while self._status is not None:
                payload = self._status
                await client.publish(topic(band, "status"), payload, 1, True, timeout=timeout)
                if self._status is payload:
                    self._status = None
                self.stats.status_sent += 1
            while self._events:
                await client.publish(topic(band, "events"), self._events[0], 1, timeout=timeout)
                self._events.popleft()  # only once acknowledged
                self.stats.events_sent += 1
                self.stats.events_queued = len(self._events)
            while self._raw:
                await client.publish(topic(band, "accel"), self._raw.popleft(), 0)
                self.stats.raw_sent += 1
            if self._night is not None:
                payload = self._night
                await client.publish(topic(band, "night"), payload, 1, True, timeout=timeout)
                if self._night is payload:
                    self._night = None
            if self._closing and self.pending == 0:
                return
            await self._wake.wait()

    async def close(self, timeout_s: float) -> None:
        """Ask the loop to send what is left and stop (within ``timeout_s``)."""
        self._closing = True
        self._wake.set()


class MqttPublisher:
    """The collector's :class:`~legwatch.collect.collector.Publisher` over MQTT, one
    :class:`BandPublisher` per band. Use ``async with`` to own its tasks."""

    def __init__(self, config: MqttConfig, band_ids: list[str]) -> None:
        self.config = config
        self.bands = {b: BandPublisher(config, b) for b in band_ids}
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> MqttPublisher:
        self._tasks = [
            asyncio.create_task(p.run(), name=f"mqtt {b}") for b, p in self.bands.items()
        ]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self, timeout_s: float = 5.0) -> None:
        """Send what is left (the night summary, the final status) for up to ``timeout_s``,
        then stop every task."""
        for publisher in self.bands.values():
            await publisher.close(timeout_s)
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if pending:
                logger.warning("mqtt: broker unreachable at shutdown; unsent messages dropped")
        self._tasks = []

    def _band(self, band_id: str) -> BandPublisher:
        publisher = self.bands.get(band_id)
        if publisher is None:
            publisher = self.bands[band_id] = BandPublisher(self.config, band_id)
            if self._tasks:
                self._tasks.append(asyncio.create_task(publisher.run()))
        return publisher

    def publish_event(self, band_id: str, event: Mapping[str, Any]) -> None:
        self._band(band_id).event(event)

    def publish_status(self, band_id: str, status: Mapping[str, Any]) -> None:
        self._band(band_id).status(status)

    def publish_raw(self, band_id: str, rx_ns: int, payload: bytes) -> None:
        self._band(band_id).raw(rx_ns, payload)

    def publish_night(self, band_id: str, summary: Mapping[str, Any]) -> None:
        self._band(band_id).night(summary)

    def stats(self) -> dict[str, PublisherStats]:
        return {b: p.stats for b, p in self.bands.items()}


# -- listening -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One message heard by :func:`listen`."""

    band_id: str
    kind: str  # status, events, accel, night (or whatever followed the band id)
    payload: Any  # decoded JSON, or the text when it is not JSON
    retained: bool

    def to_json(self) -> str:
        return json.dumps(
            {
                "band_id": self.band_id,
                "kind": self.kind,
                "retained": self.retained,
                "payload": self.payload,
            },
            sort_keys=True,
            default=str,
        )


def _decode(message: aiomqtt.Message) -> Received | None:
    parts = str(message.topic).split("/")
    if len(parts) < 3 or parts[0] != TOPIC_ROOT:
        return None
    raw = message.payload
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes | bytearray) else str(raw)
    try:
        payload: Any = json.loads(text)
    except ValueError:
        payload = text
    return Received(parts[1], "/".join(parts[2:]), payload, bool(message.retain))


async def listen(
    config: MqttConfig,
    on_message: Callable[[Received], None],
    stop: asyncio.Event,
    *,
    out: Path | None = None,
    include_raw: bool = False,
) -> int:
    """Subscribe to ``legwatch/+/#`` and hand every message to ``on_message`` until ``stop``.

    Events are de-duplicated by ``(band_id, kind, onset_index)`` (a publisher resends what the
    broker had not acknowledged). With ``out``, each message is also appended to that JSON-lines
    file. Raw ``accel`` messages are skipped unless ``include_raw``. Reconnects with capped
    backoff. Returns the number of messages handled.
    """
    seen: set[tuple[str, str, Any]] = set()
    seen_order: deque[tuple[str, str, Any]] = deque()
    handled = 0
    delay_s = config.backoff_initial_s
    sink = None if out is None else open(out, "a", encoding="utf-8")  # noqa: SIM115
    try:
        while not stop.is_set():
            try:
                async with config.client(f"{config.client_prefix}-listen-{id(stop):x}") as c:
                    delay_s = config.backoff_initial_s
                    await c.subscribe(f"{TOPIC_ROOT}/+/#", qos=1)
                    logger.info("listening on %s:%d", config.host, config.port)
                    messages = aiter(c.messages)
                    while not stop.is_set():
                        getter = asyncio.ensure_future(anext(messages))
                        stopper = asyncio.ensure_future(stop.wait())
                        done, _ = await asyncio.wait(
                            {getter, stopper}, return_when=asyncio.FIRST_COMPLETED
                        )
                        stopper.cancel()
                        if getter not in done:
                            getter.cancel()
                            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                                await getter
                            break
                        received = _decode(getter.result())
                        if received is None or (received.kind == "accel" and not include_raw):
                            continue
                        if received.kind == "events" and isinstance(received.payload, dict):
                            p = received.payload
                            key = (received.band_id, str(p.get("kind")), p.get("onset_index"))
                            if key in seen:
                                continue
                            seen.add(key)
                            seen_order.append(key)
                            if len(seen_order) > 100_000:  # bounded memory
                                seen.discard(seen_order.popleft())
                        handled += 1
                        if sink is not None:
                            sink.write(received.to_json() + "\n")
                            sink.flush()
                        on_message(received)
            except aiomqtt.MqttError as exc:
                logger.info("listen: %s; retrying in %.1f s", exc, delay_s)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay_s)
                delay_s = min(config.backoff_max_s, delay_s * 2)
    finally:
        if sink is not None:
            sink.close()
    return handled
