"""Every vector in firmware_notes/test_vectors.json decodes to its documented values.

The vectors are built by firmware_notes/tools/make_test_vectors.py without legwatch.band, so these
tests check the codec against an independent packing of the documented layout.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from legwatch.band import (
    BandPacket,
    CommandResponse,
    PacketFlags,
    PacketReassembler,
    build_get_settings,
    build_start_acc,
    build_stop,
    decode_command,
    decode_packet,
    decode_pmd_acc_frame,
    decode_pmd_control_response,
    decode_response,
    decode_status,
    encode_command,
    encode_packet,
    encode_response,
    encode_status,
    split_for_mtu,
)
from legwatch.errors import PacketDecodeError

VECTORS_PATH = Path(__file__).resolve().parents[2] / "firmware_notes" / "test_vectors.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text())
BAND = VECTORS["band_v1"]
CONTROL = VECTORS["control"]
PMD = VECTORS["polar_pmd_acc"]
BAND_BY_NAME = {v["name"]: v for v in BAND["valid"]}
STATUS_BY_NAME = {v["name"]: v for v in CONTROL["status"]}


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [v["name"] for v in vectors]


def _check_packet(packet: BandPacket, fields: dict[str, Any]) -> None:
    assert packet.version == fields["version"]
    assert int(packet.flags) == fields["flags"]
    assert sorted(f.name for f in PacketFlags if f and f in packet.flags) == sorted(
        fields["flag_names"]
    )
    assert packet.sequence == fields["sequence"]
    assert packet.first_sample_index == fields["first_sample_index"]
    assert packet.device_time_us == fields["device_time_us"]
    assert packet.rate_code == fields["rate_code"]
    assert packet.rate_hz == fields["rate_hz"]
    assert packet.range_code == fields["range_code"]
    assert packet.range_g == fields["range_g"]
    assert packet.battery_pct == fields["battery_pct"]
    assert packet.n_samples == fields["n_samples"]
    assert packet.samples.dtype == np.int16
    np.testing.assert_array_equal(packet.samples, np.array(fields["samples"]))
    np.testing.assert_allclose(packet.accel_g()[0], fields["first_sample_g"], rtol=0, atol=1e-9)


@pytest.mark.parametrize("vector", BAND["valid"], ids=_ids(BAND["valid"]))
def test_band_vector_decodes_and_encodes_back(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    assert len(data) == vector["size"] <= 244
    packet = decode_packet(data)
    _check_packet(packet, vector["fields"])
    assert encode_packet(packet) == data


@pytest.mark.parametrize("vector", BAND["invalid"], ids=_ids(BAND["invalid"]))
def test_band_invalid_vector_raises_with_reason(vector: dict[str, Any]) -> None:
    with pytest.raises(PacketDecodeError, match=re.escape(vector["reason"])):
        decode_packet(bytes.fromhex(vector["hex"]))


@pytest.mark.parametrize("vector", BAND["fragmented"], ids=_ids(BAND["fragmented"]))
def test_fragment_vectors_split_and_reassemble(vector: dict[str, Any]) -> None:
    whole = bytes.fromhex(BAND_BY_NAME[vector["packet"]]["hex"])
    notifications = [bytes.fromhex(h) for h in vector["notifications"]]
    assert all(len(n) <= vector["att_mtu"] - 3 for n in notifications)
    assert split_for_mtu(whole, vector["att_mtu"]) == notifications
    reassembler = PacketReassembler()
    results = [reassembler.feed(n) for n in notifications]
    assert results[:-1] == [None] * (len(notifications) - 1)
    assert results[-1] == decode_packet(whole)
    assert reassembler.packets == 1


@pytest.mark.parametrize("vector", BAND["invalid_fragments"], ids=_ids(BAND["invalid_fragments"]))
def test_invalid_fragment_sequences_raise(vector: dict[str, Any]) -> None:
    reassembler = PacketReassembler()
    *head, last = [bytes.fromhex(h) for h in vector["notifications"]]
    for notification in head:
        assert reassembler.feed(notification) is None
    with pytest.raises(PacketDecodeError, match=re.escape(vector["reason"])):
        reassembler.feed(last)


def test_reassembler_recovers_after_a_broken_fragment_run() -> None:
    vector = BAND["fragmented"][0]
    good = [bytes.fromhex(h) for h in vector["notifications"]]
    reassembler = PacketReassembler()
    assert reassembler.feed(good[0]) is None
    with pytest.raises(PacketDecodeError):
        reassembler.feed(good[2])
    assert reassembler.dropped_fragments == 2
    packets = [reassembler.feed(n) for n in good]
    assert packets[-1] == decode_packet(bytes.fromhex(BAND_BY_NAME[vector["packet"]]["hex"]))


@pytest.mark.parametrize("vector", CONTROL["commands"], ids=_ids(CONTROL["commands"]))
def test_command_vectors(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    command = decode_command(data)
    assert type(command).__name__.upper().startswith(vector["command"].replace("_", ""))
    for name, value in vector["fields"].items():
        assert getattr(command, name) == value
    assert encode_command(command) == data


@pytest.mark.parametrize(
    "vector", CONTROL["commands_invalid"], ids=_ids(CONTROL["commands_invalid"])
)
def test_invalid_command_vectors(vector: dict[str, Any]) -> None:
    with pytest.raises(PacketDecodeError, match=re.escape(vector["reason"])):
        decode_command(bytes.fromhex(vector["hex"]))


@pytest.mark.parametrize("vector", CONTROL["status"], ids=_ids(CONTROL["status"]))
def test_status_vectors(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    status = decode_status(data)
    fields = dict(vector["fields"])
    assert list(status.firmware_version) == fields.pop("firmware_version")
    assert int(status.state) == fields.pop("state")
    for name, value in fields.items():
        assert getattr(status, name) == value, name
    assert encode_status(status) == data


@pytest.mark.parametrize("vector", CONTROL["status_invalid"], ids=_ids(CONTROL["status_invalid"]))
def test_invalid_status_vectors(vector: dict[str, Any]) -> None:
    with pytest.raises(PacketDecodeError, match=re.escape(vector["reason"])):
        decode_status(bytes.fromhex(vector["hex"]))


@pytest.mark.parametrize("vector", CONTROL["responses"], ids=_ids(CONTROL["responses"]))
def test_response_vectors(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["hex"])
    assert len(data) <= 20  # fits an indication at ATT_MTU 23
    response = decode_response(data)
    fields = dict(vector["fields"])
    assert int(response.opcode) == fields.pop("opcode")
    assert int(response.result) == fields.pop("result")
    if "status" in fields:
        expected = decode_status(bytes.fromhex(STATUS_BY_NAME[fields.pop("status")]["hex"]))
        assert response.status == expected
    for name, value in fields.items():
        assert getattr(response, name) == value
    assert isinstance(response, CommandResponse)
    assert encode_response(response) == data


@pytest.mark.parametrize(
    "vector", CONTROL["responses_invalid"], ids=_ids(CONTROL["responses_invalid"])
)
def test_invalid_response_vectors(vector: dict[str, Any]) -> None:
    with pytest.raises(PacketDecodeError, match=re.escape(vector["reason"])):
        decode_response(bytes.fromhex(vector["hex"]))


@pytest.mark.parametrize("vector", PMD["valid"], ids=_ids(PMD["valid"]))
def test_pmd_vectors(vector: dict[str, Any]) -> None:
    frame = decode_pmd_acc_frame(bytes.fromhex(vector["hex"]), range_g=8)
    assert frame.timestamp_ns == vector["timestamp_ns"]
    assert frame.frame_type == vector["frame_type"]
    assert frame.compressed is vector["compressed"]
    np.testing.assert_array_equal(frame.samples_mg, np.array(vector["samples_mg"]))
    np.testing.assert_allclose(frame.accel_g(), np.array(vector["samples_mg"]) / 1000.0)


@pytest.mark.parametrize("vector", PMD["invalid"], ids=_ids(PMD["invalid"]))
def test_invalid_pmd_vectors(vector: dict[str, Any]) -> None:
    with pytest.raises(PacketDecodeError, match=re.escape(vector["reason"])):
        decode_pmd_acc_frame(bytes.fromhex(vector["hex"]))


@pytest.mark.parametrize("vector", PMD["commands"], ids=_ids(PMD["commands"]))
def test_pmd_command_vectors(vector: dict[str, Any]) -> None:
    builders = {
        "build_get_settings": build_get_settings,
        "build_start_acc": build_start_acc,
        "build_stop": build_stop,
    }
    assert builders[vector["builder"]](**vector["args"]).hex() == vector["hex"]


@pytest.mark.parametrize("vector", PMD["control_responses"], ids=_ids(PMD["control_responses"]))
def test_pmd_control_response_vectors(vector: dict[str, Any]) -> None:
    response = decode_pmd_control_response(bytes.fromhex(vector["hex"]))
    assert response.ok is vector["ok"]
    assert {str(k): list(v) for k, v in response.settings.items()} == vector["settings"]
    if "error" in vector:
        assert response.error == vector["error"]


def test_crc_parameters_documented_match_the_codec() -> None:
    from legwatch.band import crc16_ccitt_false

    assert crc16_ccitt_false(b"123456789") == int(VECTORS["crc"]["check_123456789"], 16)
