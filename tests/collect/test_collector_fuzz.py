"""Fuzz of the collector's ingest path, ``BandIngest.feed(rx_ns, payload)`` (hypothesis).

Arbitrary bytes and mutated copies of valid packets, interleaved with valid packets delivered
out of order and repeated: ``feed`` never raises; refused notifications are counted in
``stats.corrupt`` and logged; every valid sample is placed at its own index, once, and the
journal replays to exactly the band's values.
"""

from __future__ import annotations

import logging
import tempfile

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from legwatch.band.legwatch_v1 import (
    FRAGMENT_MARK,
    MAX_SAMPLES,
    SENSITIVITY_MG_PER_LSB,
    BandPacket,
    PacketFlags,
    decode_packet,
    encode_packet,
)
from legwatch.collect import StoreParams, open_or_resume, replay_night
from legwatch.collect.collector import BandIngest, BandSpec, CollectorParams
from legwatch.errors import PacketDecodeError

RATE_HZ = 104.0
START_UNIX_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
LATENCY_NS = 20_000_000


class _Messages(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _packets(sizes: list[int], seed: int) -> tuple[list[bytes], np.ndarray]:
    """Contiguous valid packets of ``sizes`` samples from a seeded int16 array."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(-32768, 32768, size=(sum(sizes), 3), dtype=np.int16)
    out: list[bytes] = []
    first = 0
    for seq, size in enumerate(sizes):
        packet = BandPacket(
            flags=PacketFlags.NONE,
            sequence=seq,
            first_sample_index=first,
            device_time_us=first * 9615,
            rate_code=4,
            range_code=2,
            battery_pct=70,
            samples=counts[first : first + size],
        )
        out.append(encode_packet(packet))
        first += size
    return out, counts


def _decodes(payload: bytes) -> bool:
    try:
        decode_packet(payload)
    except PacketDecodeError:
        return False
    return True


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("grow"), st.integers(1, 40), st.integers(0, 255)),
)


def _mutate(packet: bytes, how: tuple[str, int, int]) -> bytes:
    kind, a, b = how
    if kind == "flip":  # one byte changed: CRC-16 catches every burst up to 16 bits
        damaged = bytearray(packet)
        damaged[a % len(packet)] ^= b
        return bytes(damaged)
    if kind == "cut":
        return packet[: a % len(packet)]
    return packet + bytes([b]) * a


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    sizes=st.lists(st.integers(1, MAX_SAMPLES), min_size=2, max_size=8),  # replay needs 2+
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_feed_never_raises_counts_corrupt_and_places_valid_samples_exactly(
    sizes: list[int], seed: int, data: st.DataObject
) -> None:
    valid, counts = _packets(sizes, seed)
    n = counts.shape[0]
    # Valid packets out of order, some twice (a BACKFILL or retransmit repeat).
    order = data.draw(st.permutations(range(len(valid))), label="order")
    repeats = data.draw(st.lists(st.sampled_from(range(len(valid))), max_size=3), label="repeats")
    stream: list[tuple[bool, bytes, int]] = [(True, valid[i], i) for i in [*order, *repeats]]
    junk = data.draw(
        st.lists(
            st.one_of(
                st.binary(max_size=300),
                st.tuples(st.sampled_from(range(len(valid))), mutation).map(
                    lambda t: _mutate(valid[t[0]], t[1])
                ),
            ),
            max_size=12,
        ),
        label="junk",
    )
    for payload in junk:
        assume(not _decodes(payload))  # 2**-16 odds: a valid packet is not junk
        at = data.draw(st.integers(0, len(stream)), label="position")
        stream.insert(at, (False, payload, -1))

    # Junk that cannot even start a fragmented packet must be refused; junk that looks like a
    # first fragment may wait for its continuation (dropped by the next whole packet).
    certainly_corrupt = sum(
        1 for ok, p, _ in stream if not ok and (not p or p[0] & 0xC0 != FRAGMENT_MARK)
    )
    repeated_samples = sum(sizes[i] for i in repeats)

    handler = _Messages()
    collector_logger = logging.getLogger("legwatch.collect.collector")
    collector_logger.addHandler(handler)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_or_resume(tmp, "night", StoreParams(rx_clock="unix"))
        night_dir = store.night_dir
        spec = BandSpec("left", "left_ankle")
        store.register_band(spec.band_id, spec.body_site)
        ingest = BandIngest(spec, store, CollectorParams())
        ends = np.cumsum(sizes)
        rx_ns = START_UNIX_NS
        try:
            for ok, payload, i in stream:
                if ok:  # received a little after its last sample was sampled
                    due_ns = START_UNIX_NS + int((ends[i] - 1) / RATE_HZ * 1e9) + LATENCY_NS
                    rx_ns = max(rx_ns + 1000, due_ns)
                ingest.feed(rx_ns, payload)
            ingest.finish()
        finally:
            collector_logger.removeHandler(handler)
            store.close()
        stats = ingest.stats
        junk_count = len(junk)
        assert certainly_corrupt <= stats.corrupt <= junk_count
        assert stats.notifications == len(stream)
        warned = [m for m in handler.messages if "undecodable notification" in m]
        assert len(warned) == min(stats.corrupt, 10)
        # Every valid sample placed once at its index; repeats counted, nothing missing.
        assert stats.samples == n
        assert stats.last_index == n - 1
        assert stats.missing_samples == 0
        assert stats.duplicate_samples == repeated_samples
        assert ingest.open_holes == []

        replayed = replay_night(night_dir)
    report = replayed.reports["left"]
    assert report.corrupt_packets == stats.corrupt
    assert report.samples == n and report.missing_samples == 0
    assert report.conflicting_samples == 0
    rec = replayed.recordings["left"]
    np.testing.assert_array_equal(
        rec.accel_g, counts.astype(np.float64) * (SENSITIVITY_MG_PER_LSB[2] / 1000.0)
    )
