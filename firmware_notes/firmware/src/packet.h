/* legwatch band profile v1: packet layout (firmware_notes/PROFILE.md). Little-endian. */
#ifndef LEGWATCH_PACKET_H
#define LEGWATCH_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define LW_MAGIC 0x4C
#define LW_VERSION 1
#define LW_HEADER_SIZE 21
#define LW_CRC_SIZE 2
#define LW_MAX_SAMPLES 36
#define LW_MAX_PACKET (LW_HEADER_SIZE + 6 * LW_MAX_SAMPLES + LW_CRC_SIZE) /* 239 */
#define LW_BATTERY_UNKNOWN 0xFF
#define LW_NO_INDEX 0xFFFFFFFFu

/* Packet flags (byte 2). */
#define LW_F_FIFO_OVERFLOW 0x01
#define LW_F_BACKFILL 0x02
#define LW_F_CLOCK_SYNCED 0x04
#define LW_F_LOW_BATTERY 0x08
#define LW_F_CHARGING 0x10
#define LW_F_BACKFILL_END 0x20

/* Control point. */
#define LW_OP_START 0x01
#define LW_OP_STOP 0x02
#define LW_OP_SYNC_TIME 0x03
#define LW_OP_BACKFILL 0x04
#define LW_OP_STATUS 0x05
#define LW_RESPONSE 0xA0
#define LW_RES_OK 0x00
#define LW_RES_UNKNOWN_OPCODE 0x01
#define LW_RES_INVALID_PARAMETER 0x02
#define LW_RES_INVALID_STATE 0x03
#define LW_RES_NOT_AVAILABLE 0x04
#define LW_RES_BUSY 0x05

/* Status record state bits. */
#define LW_S_STREAMING 0x01
#define LW_S_CLOCK_SYNCED 0x02
#define LW_S_CHARGING 0x04
#define LW_S_LOW_BATTERY 0x08
#define LW_S_BACKFILL_ACTIVE 0x10
#define LW_STATUS_SIZE 17

struct lw_header {
	uint8_t flags;
	uint8_t rate_code;
	uint8_t range_code;
	uint8_t battery_pct; /* 0..100 or LW_BATTERY_UNKNOWN */
	uint16_t sequence;
	uint32_t first_index;
	uint64_t device_time_us;
};

struct lw_status {
	uint8_t battery_pct;
	uint16_t battery_mv;
	uint8_t fw_major, fw_minor, fw_patch;
	uint8_t state;
	uint32_t last_index;  /* LW_NO_INDEX if none */
	uint32_t ring_oldest; /* LW_NO_INDEX if empty */
	uint16_t fifo_overflows;
};

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF; crc("123456789") == 0x29B1. */
uint16_t lw_crc16(const uint8_t *data, size_t len);

/* Writes header, n samples (x,y,z int16 each) and CRC into out (>= 23 + 6n bytes).
 * Returns the packet length, or 0 if n is not 1..36. */
size_t lw_build_packet(uint8_t *out, const struct lw_header *h, const int16_t (*xyz)[3], uint8_t n);

/* 17-byte status record. */
void lw_build_status(uint8_t out[LW_STATUS_SIZE], const struct lw_status *s);

#endif
