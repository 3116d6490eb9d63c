/* Byte layouts of the legwatch band profile v1. Checked against firmware_notes/test_vectors.json
 * by hand: the vector "single_sample" is what lw_build_packet writes for
 * {flags 0, rate 4, range 2, battery 80, seq 0, index 0, time 1500000 us, sample (0, 0, 4098)}:
 * 4c 01 00 04 02 50 0000 00000000 60e3160000000000 01 0000 0000 0210 e4d3 */
#include "packet.h"

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

uint16_t lw_crc16(const uint8_t *data, size_t len)
{
	uint16_t crc = 0xFFFF;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)data[i] << 8;
		for (int b = 0; b < 8; b++) {
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
		}
	}
	return crc;
}

size_t lw_build_packet(uint8_t *out, const struct lw_header *h, const int16_t (*xyz)[3], uint8_t n)
{
	if (n < 1 || n > LW_MAX_SAMPLES) {
		return 0;
	}
	out[0] = LW_MAGIC;
	out[1] = LW_VERSION;
	out[2] = h->flags;
	out[3] = h->rate_code;
	out[4] = h->range_code;
	out[5] = h->battery_pct;
	put_le16(&out[6], h->sequence);
	put_le32(&out[8], h->first_index);
	put_le64(&out[12], h->device_time_us);
	out[20] = n;
	uint8_t *p = &out[LW_HEADER_SIZE];
	for (uint8_t i = 0; i < n; i++) {
		for (int axis = 0; axis < 3; axis++) {
			put_le16(p, (uint16_t)xyz[i][axis]);
			p += 2;
		}
	}
	size_t body = (size_t)(p - out);
	put_le16(p, lw_crc16(out, body));
	return body + LW_CRC_SIZE;
}

void lw_build_status(uint8_t out[LW_STATUS_SIZE], const struct lw_status *s)
{
	out[0] = s->battery_pct;
	put_le16(&out[1], s->battery_mv);
	out[3] = s->fw_major;
	out[4] = s->fw_minor;
	out[5] = s->fw_patch;
	out[6] = s->state;
	put_le32(&out[7], s->last_index);
	put_le32(&out[11], s->ring_oldest);
	put_le16(&out[15], s->fifo_overflows);
}
