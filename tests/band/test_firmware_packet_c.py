"""The reference firmware's packet.c writes exactly the bytes of test_vectors.json.

Compiles firmware_notes/firmware/src/packet.c with the host C compiler (skipped when there is
none) and drives it through a small harness. This is the part of the firmware that must agree
with the host byte for byte; the Zephyr glue in main.c needs the real toolchain and HIL_TEST.md.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2] / "firmware_notes"
VECTORS: dict[str, Any] = json.loads((ROOT / "test_vectors.json").read_text())

HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include "packet.h"

static void hex(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
    printf("\n");
}

int main(int argc, char **argv) {
    (void)argc;
    if (argv[1][0] == 'c') {            /* crc */
        printf("%04x\n", lw_crc16((const uint8_t *)"123456789", 9));
    } else if (argv[1][0] == 's') {     /* status: pct mv maj min patch state last oldest ovf */
        struct lw_status s = {
            (uint8_t)strtoul(argv[2], 0, 0), (uint16_t)strtoul(argv[3], 0, 0),
            (uint8_t)strtoul(argv[4], 0, 0), (uint8_t)strtoul(argv[5], 0, 0),
            (uint8_t)strtoul(argv[6], 0, 0), (uint8_t)strtoul(argv[7], 0, 0),
            (uint32_t)strtoul(argv[8], 0, 0), (uint32_t)strtoul(argv[9], 0, 0),
            (uint16_t)strtoul(argv[10], 0, 0)};
        uint8_t out[LW_STATUS_SIZE];
        lw_build_status(out, &s);
        hex(out, sizeof(out));
    } else {                            /* packet: flags rate range batt seq first time n xyz.. */
        struct lw_header h = {
            (uint8_t)strtoul(argv[2], 0, 0), (uint8_t)strtoul(argv[3], 0, 0),
            (uint8_t)strtoul(argv[4], 0, 0), (uint8_t)strtoul(argv[5], 0, 0),
            (uint16_t)strtoul(argv[6], 0, 0), (uint32_t)strtoul(argv[7], 0, 0),
            (uint64_t)strtoull(argv[8], 0, 0)};
        int n = atoi(argv[9]);
        int16_t xyz[LW_MAX_SAMPLES][3];
        for (int i = 0; i < n; i++)
            for (int a = 0; a < 3; a++) xyz[i][a] = (int16_t)atoi(argv[10 + 3 * i + a]);
        uint8_t out[LW_MAX_PACKET];
        size_t len = lw_build_packet(out, &h, (const int16_t (*)[3])xyz, (uint8_t)n);
        hex(out, len);
    }
    return 0;
}
"""


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler on this machine")
    build = tmp_path_factory.mktemp("packet_c")
    (build / "harness.c").write_text(HARNESS)
    exe = build / "harness"
    src = ROOT / "firmware" / "src"
    subprocess.run(
        [cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-I", str(src), str(build / "harness.c"),
         str(src / "packet.c"), "-o", str(exe)],
        check=True,
    )  # fmt: skip
    return exe


def _run(exe: Path, *args: object) -> str:
    out = subprocess.run([str(exe), *map(str, args)], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def test_firmware_crc_check_value(harness: Path) -> None:
    assert _run(harness, "c") == "29b1"


def test_firmware_packets_match_every_valid_vector(harness: Path) -> None:
    for vector in VECTORS["band_v1"]["valid"]:
        f = vector["fields"]
        battery = 255 if f["battery_pct"] is None else f["battery_pct"]
        flat = [v for row in f["samples"] for v in row]
        got = _run(
            harness, "p", f["flags"], f["rate_code"], f["range_code"], battery, f["sequence"],
            f["first_sample_index"], f["device_time_us"], len(f["samples"]), *flat,
        )  # fmt: skip
        assert got == vector["hex"], vector["name"]


def test_firmware_status_matches_vector(harness: Path) -> None:
    v = next(s for s in VECTORS["control"]["status"] if s["name"] == "streaming_synced")
    f = v["fields"]
    got = _run(
        harness, "s", f["battery_pct"], f["battery_mv"], *f["firmware_version"], f["state"],
        f["last_sample_index"], f["ring_oldest_index"], f["fifo_overflows"],
    )  # fmt: skip
    assert got == v["hex"]
