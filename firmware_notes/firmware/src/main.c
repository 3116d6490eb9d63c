/*
 * legwatch band reference firmware, profile v1 (firmware_notes/PROFILE.md).
 *
 * Target: Seeed XIAO nRF52840 Sense, Zephyr 4.x (`west build -b xiao_ble/nrf52840/sense`).
 * Not compiled in the legwatch repository (no toolchain there): packet.c is compiled and checked
 * against test_vectors.json by tests/band (host gcc); this file is reviewed by hand. Flash it,
 * then run HIL_TEST.md before trusting a night to it.
 *
 * Data flow:
 *   LSM6DS3TR-C FIFO (104 Hz, +/-8 g, watermark 26 samples) --INT1--> sensor thread
 *   -> RAM ring buffer (16384 samples = 157 s at 104 Hz, serves BACKFILL)
 *   -> one 179-byte packet per watermark -> notification (fragments if ATT_MTU is small).
 */
#include <string.h>

#include <zephyr/bluetooth/bluetooth.h>
#include <zephyr/bluetooth/conn.h>
#include <zephyr/bluetooth/gatt.h>
#include <zephyr/bluetooth/services/bas.h>
#include <zephyr/bluetooth/uuid.h>
#include <zephyr/drivers/adc.h>
#include <zephyr/drivers/gpio.h>
#include <zephyr/drivers/i2c.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/byteorder.h>

#include "packet.h"

LOG_MODULE_REGISTER(legwatch, LOG_LEVEL_INF);

#define FW_MAJOR 1
#define FW_MINOR 0
#define FW_PATCH 0

/* ---- LSM6DS3TR-C registers (datasheet DocID 030071; same map as LSM6DSL) ---------------- */
#define IMU_ADDR 0x6A
#define REG_FIFO_CTRL1 0x06 /* FTH[7:0], threshold in 16-bit words */
#define REG_FIFO_CTRL2 0x07 /* FTH[10:8] */
#define REG_FIFO_CTRL3 0x08 /* DEC_FIFO_GYRO[5:3], DEC_FIFO_XL[2:0] */
#define REG_FIFO_CTRL5 0x0A /* ODR_FIFO[6:3], FIFO_MODE[2:0] */
#define REG_INT1_CTRL 0x0D  /* bit3 INT1_FTH */
#define REG_WHO_AM_I 0x0F   /* 0x6A */
#define REG_CTRL1_XL 0x10   /* ODR_XL[7:4], FS_XL[3:2] */
#define REG_CTRL2_G 0x11
#define REG_CTRL3_C 0x12 /* bit6 BDU, bit2 IF_INC, bit0 SW_RESET */
#define REG_FIFO_STATUS1 0x3A
#define REG_FIFO_STATUS2 0x3B /* bit7 WaterM, bit6 OVER_RUN, bit4 EMPTY, [2:0] DIFF_FIFO[10:8] */
#define REG_FIFO_STATUS3 0x3C /* FIFO_PATTERN[7:0]: 0 = next word is X of a sample */
#define REG_FIFO_DATA_OUT_L 0x3E

#define FIFO_MODE_BYPASS 0x00
#define FIFO_MODE_CONTINUOUS 0x06
#define WATERMARK_SAMPLES 26

/* Protocol range code -> FS_XL field (note the sensor's own order: 00=2g 10=4g 11=8g 01=16g). */
static const uint8_t FS_XL_BITS[4] = {0x0, 0x2, 0x3, 0x1};
/* Protocol rate code -> sample period in microseconds (index 1..6). */
static const uint32_t PERIOD_US[7] = {0, 80000, 38462, 19231, 9615, 4808, 2404};

/* ---- Board pins (XIAO nRF52840 Sense schematic) ---------------------------------------- */
#define IMU_POWER_PIN 8 /* P1.08 powers the IMU */
#define IMU_INT1_PIN 11 /* P0.11 */
#define VBAT_ENABLE_PIN 14 /* P0.14: LOW connects the 1M/510k divider to P0.31 (AIN7) */
#define CHARGE_STATUS_PIN 17 /* P0.17: BQ25101 CHG, LOW while charging */

static const struct device *const i2c = DEVICE_DT_GET(DT_NODELABEL(i2c0));
static const struct device *const gpio0 = DEVICE_DT_GET(DT_NODELABEL(gpio0));
static const struct device *const gpio1 = DEVICE_DT_GET(DT_NODELABEL(gpio1));
static const struct device *const adc = DEVICE_DT_GET(DT_NODELABEL(adc));

/* ---- State, guarded by state_lock ------------------------------------------------------ */
#define RING_SAMPLES 16384 /* power of two; 98 KiB of the 256 KiB RAM */
#define RING_MASK (RING_SAMPLES - 1)
#define ANCHORS 1024       /* one per FIFO batch: > RING_SAMPLES / WATERMARK_SAMPLES */

struct anchor {
	uint32_t first_index;
	uint64_t time_us;
	bool synced;
};

static K_MUTEX_DEFINE(state_lock);
/* Serialises sensor access: START/STOP (BT RX thread) against FIFO reads (sensor thread). */
static K_MUTEX_DEFINE(imu_lock);
static int16_t ring[RING_SAMPLES][3];
static uint8_t ring_valid[RING_SAMPLES / 8]; /* 0 where a FIFO overrun lost the sample */
static struct anchor anchors[ANCHORS];
static uint32_t anchor_count;
static uint32_t next_index;     /* index of the next sample the sensor will give */
static bool have_samples;
static bool streaming;
static uint8_t rate_code = 4;  /* 104 Hz */
static uint8_t range_code = 2; /* +/-8 g */
static uint16_t sequence;
static uint16_t fifo_overflows;
static bool pending_overflow;
static int64_t clock_offset_us; /* device time = uptime + offset */
static bool clock_synced;
static uint8_t battery_pct = LW_BATTERY_UNKNOWN;
static uint16_t battery_mv;
static bool charging;

/* Backfill job, run by the sensor thread between live packets. */
static bool backfill_active;
static uint32_t backfill_next;
static uint32_t backfill_end; /* exclusive */

static struct bt_conn *current_conn; /* guarded by state_lock */
static volatile uint16_t data_ccc_value; /* written by the BT RX thread */
static bool data_notify_enabled;         /* sensor thread's copy, see sensor_thread() */
static bool ctrl_indicate_enabled;
static bool status_notify_enabled;

static K_SEM_DEFINE(fifo_sem, 0, 1);

static uint64_t device_time_us(void)
{
	return (uint64_t)(k_ticks_to_us_floor64(k_uptime_ticks()) + clock_offset_us);
}

/* ---- IMU ------------------------------------------------------------------------------ */
static int imu_write(uint8_t reg, uint8_t value)
{
	return i2c_reg_write_byte(i2c, IMU_ADDR, reg, value);
}

static int imu_init(void)
{
	uint8_t who = 0;

	gpio_pin_configure(gpio1, IMU_POWER_PIN, GPIO_OUTPUT_ACTIVE);
	k_msleep(20); /* turn-on time after power-up */
	if (i2c_reg_read_byte(i2c, IMU_ADDR, REG_WHO_AM_I, &who) || who != 0x6A) {
		LOG_ERR("LSM6DS3TR-C not found (WHO_AM_I 0x%02x)", who);
		return -ENODEV;
	}
	imu_write(REG_CTRL3_C, 0x01); /* software reset */
	k_msleep(1);
	imu_write(REG_CTRL3_C, 0x44); /* BDU + IF_INC */
	imu_write(REG_CTRL2_G, 0x00); /* gyroscope off: saves current, keeps the FIFO pattern XYZ */
	return 0;
}

static void imu_start(uint8_t rate, uint8_t range)
{
	uint16_t fth_words = WATERMARK_SAMPLES * 3;

	imu_write(REG_FIFO_CTRL5, FIFO_MODE_BYPASS); /* empties the FIFO */
	imu_write(REG_CTRL1_XL, (uint8_t)((rate << 4) | (FS_XL_BITS[range] << 2)));
	imu_write(REG_FIFO_CTRL1, (uint8_t)(fth_words & 0xFF));
	imu_write(REG_FIFO_CTRL2, (uint8_t)((fth_words >> 8) & 0x07));
	imu_write(REG_FIFO_CTRL3, 0x01);     /* accelerometer in FIFO, no decimation; gyro not */
	imu_write(REG_INT1_CTRL, 0x08);      /* watermark on INT1 */
	imu_write(REG_FIFO_CTRL5, (uint8_t)((rate << 3) | FIFO_MODE_CONTINUOUS)); /* ODR_FIFO = ODR_XL */
}

static void imu_stop(void)
{
	imu_write(REG_FIFO_CTRL5, FIFO_MODE_BYPASS);
	imu_write(REG_INT1_CTRL, 0x00);
	imu_write(REG_CTRL1_XL, 0x00); /* power down */
}

static void int1_handler(const struct device *dev, struct gpio_callback *cb, uint32_t pins)
{
	k_sem_give(&fifo_sem);
}

static struct gpio_callback int1_cb;

/* ---- Battery -------------------------------------------------------------------------- */
static int16_t adc_sample;
static const struct adc_channel_cfg vbat_channel = {
	.gain = ADC_GAIN_1_6,
	.reference = ADC_REF_INTERNAL, /* 0.6 V / (1/6) = 3.6 V full scale */
	/* The divider is 1 MOhm / 510 kOhm: a long acquisition time lets the S/H cap settle. */
	.acquisition_time = ADC_ACQ_TIME(ADC_ACQ_TIME_MICROSECONDS, 40),
	.channel_id = 0,
	/* AIN7 = P0.31. The constant name moved between Zephyr releases (NRF_SAADC_INPUT_AIN7,
	 * NRF_SAADC_AIN7): PSELP value 8 selects AnalogInput7 on the nRF52840. */
	.input_positive = 8,
};

static void battery_update(void)
{
	struct adc_sequence seq = {
		.channels = BIT(0),
		.buffer = &adc_sample,
		.buffer_size = sizeof(adc_sample),
		.resolution = 12,
	};

	charging = gpio_pin_get_raw(gpio0, CHARGE_STATUS_PIN) == 0;
	if (adc_read(adc, &seq) != 0) {
		battery_pct = LW_BATTERY_UNKNOWN;
		return;
	}
	int32_t pin_mv = (int32_t)adc_sample * 3600 / 4096;
	int32_t mv = pin_mv * 1510 / 510;
	/* Coarse LiPo curve under light load: 3.30 V = 0 %, 4.15 V = 100 %, linear between. */
	int32_t pct = (mv - 3300) * 100 / (4150 - 3300);

	battery_mv = (uint16_t)CLAMP(mv, 0, 65535);
	battery_pct = (uint8_t)CLAMP(pct, 0, 100);
	bt_bas_set_battery_level(battery_pct);
}

/* ---- GATT ----------------------------------------------------------------------------- */
#define LW_UUID(n) BT_UUID_128_ENCODE(0x1ebd0000 | (n), 0x68b0, 0x4015, 0x8525, 0x74571f8d0910)
static const struct bt_uuid_128 svc_uuid = BT_UUID_INIT_128(LW_UUID(1));
static const struct bt_uuid_128 data_uuid = BT_UUID_INIT_128(LW_UUID(2));
static const struct bt_uuid_128 ctrl_uuid = BT_UUID_INIT_128(LW_UUID(3));
static const struct bt_uuid_128 status_uuid = BT_UUID_INIT_128(LW_UUID(4));

static uint8_t status_value[LW_STATUS_SIZE];

static void data_ccc_changed(const struct bt_gatt_attr *attr, uint16_t value)
{
	/* Runs in the (cooperative) BT RX thread while the CCCD write is processed. The sensor
	 * thread (preemptible, lower priority) only picks the new value up at its next pass, after
	 * the RX thread has queued the ATT Write Response: the central always sees its CCCD write
	 * answered before the first notification (BlueZ AcquireNotify depends on that). */
	data_ccc_value = value;
}

static void ctrl_ccc_changed(const struct bt_gatt_attr *attr, uint16_t value)
{
	ctrl_indicate_enabled = (value == BT_GATT_CCC_INDICATE);
}

static void status_ccc_changed(const struct bt_gatt_attr *attr, uint16_t value)
{
	status_notify_enabled = (value == BT_GATT_CCC_NOTIFY);
}

static void status_refresh_locked(void)
{
	struct lw_status s = {
		.battery_pct = battery_pct,
		.battery_mv = battery_mv,
		.fw_major = FW_MAJOR,
		.fw_minor = FW_MINOR,
		.fw_patch = FW_PATCH,
		.state = (streaming ? LW_S_STREAMING : 0) | (clock_synced ? LW_S_CLOCK_SYNCED : 0) |
			 (charging ? LW_S_CHARGING : 0) |
			 (battery_pct != LW_BATTERY_UNKNOWN && battery_pct < 15 ? LW_S_LOW_BATTERY : 0) |
			 (backfill_active ? LW_S_BACKFILL_ACTIVE : 0),
		.last_index = have_samples ? next_index - 1 : LW_NO_INDEX,
		.ring_oldest = !have_samples          ? LW_NO_INDEX
			       : next_index > RING_SAMPLES ? next_index - RING_SAMPLES
							   : 0,
		.fifo_overflows = fifo_overflows,
	};
	lw_build_status(status_value, &s);
}

static ssize_t status_read(struct bt_conn *conn, const struct bt_gatt_attr *attr, void *buf,
			   uint16_t len, uint16_t offset)
{
	uint8_t copy[LW_STATUS_SIZE];

	k_mutex_lock(&state_lock, K_FOREVER);
	status_refresh_locked();
	memcpy(copy, status_value, sizeof(copy));
	k_mutex_unlock(&state_lock);
	return bt_gatt_attr_read(conn, attr, buf, len, offset, copy, sizeof(copy));
}

static ssize_t ctrl_write(struct bt_conn *conn, const struct bt_gatt_attr *attr, const void *buf,
			  uint16_t len, uint16_t offset, uint8_t flags);

BT_GATT_SERVICE_DEFINE(lw_svc,
	BT_GATT_PRIMARY_SERVICE(&svc_uuid),
	BT_GATT_CHARACTERISTIC(&data_uuid.uuid, BT_GATT_CHRC_NOTIFY, BT_GATT_PERM_NONE,
			       NULL, NULL, NULL),
	BT_GATT_CCC(data_ccc_changed, BT_GATT_PERM_READ | BT_GATT_PERM_WRITE),
	BT_GATT_CHARACTERISTIC(&ctrl_uuid.uuid, BT_GATT_CHRC_WRITE | BT_GATT_CHRC_INDICATE,
			       BT_GATT_PERM_WRITE, NULL, ctrl_write, NULL),
	BT_GATT_CCC(ctrl_ccc_changed, BT_GATT_PERM_READ | BT_GATT_PERM_WRITE),
	BT_GATT_CHARACTERISTIC(&status_uuid.uuid, BT_GATT_CHRC_READ | BT_GATT_CHRC_NOTIFY,
			       BT_GATT_PERM_READ, status_read, NULL, NULL),
	BT_GATT_CCC(status_ccc_changed, BT_GATT_PERM_READ | BT_GATT_PERM_WRITE),
);
/* Attribute indices in lw_svc.attrs: 2 data value, 5 control value, 8 status value. */
#define ATTR_DATA (&lw_svc.attrs[2])
#define ATTR_CTRL (&lw_svc.attrs[5])
#define ATTR_STATUS (&lw_svc.attrs[8])

/* Sends one packet: whole if it fits ATT_MTU - 3, else as fragments (PROFILE.md section 2). */
static int send_fragments(struct bt_conn *conn, const uint8_t *pkt, size_t len);

static int send_packet(const uint8_t *pkt, size_t len)
{
	struct bt_conn *conn = NULL;

	k_mutex_lock(&state_lock, K_FOREVER);
	if (current_conn != NULL && data_notify_enabled) {
		conn = bt_conn_ref(current_conn); /* survives a disconnect while we send */
	}
	k_mutex_unlock(&state_lock);
	if (conn == NULL) {
		return -ENOTCONN;
	}
	int err = send_fragments(conn, pkt, len);
	bt_conn_unref(conn);
	return err;
}

static int send_fragments(struct bt_conn *conn, const uint8_t *pkt, size_t len)
{
	size_t room = bt_gatt_get_mtu(conn) - 3;
	if (len <= room) {
		return bt_gatt_notify(conn, ATTR_DATA, pkt, len);
	}
	uint8_t frag[LW_MAX_PACKET + 1];
	size_t chunk = room - 1;
	uint8_t n_frag = (uint8_t)((len + chunk - 1) / chunk);
	for (uint8_t i = 0; i < n_frag; i++) {
		size_t start = i * chunk;
		size_t part = MIN(chunk, len - start);
		frag[0] = 0xC0 | i | (i == n_frag - 1 ? 0x20 : 0);
		memcpy(&frag[1], &pkt[start], part);
		int err = bt_gatt_notify(conn, ATTR_DATA, frag, part + 1);
		if (err) {
			return err; /* the host drops the partial packet and backfills it */
		}
	}
	return 0;
}

/* Builds a packet of n contiguous valid ring samples from index first. Caller holds the lock. */
static size_t build_from_ring_locked(uint8_t *out, uint32_t first, uint8_t n, uint8_t extra_flags)
{
	int16_t xyz[LW_MAX_SAMPLES][3];
	/* Find the batch anchor at or before `first` (anchors are in index order). */
	const struct anchor *a = NULL;
	for (uint32_t k = 0; k < MIN(anchor_count, ANCHORS); k++) {
		const struct anchor *c = &anchors[(anchor_count - 1 - k) % ANCHORS];
		if (c->first_index <= first) {
			a = c;
			break;
		}
	}
	if (a == NULL) {
		return 0;
	}
	for (uint8_t i = 0; i < n; i++) {
		memcpy(xyz[i], ring[(first + i) & RING_MASK], sizeof(xyz[i]));
	}
	struct lw_header h = {
		.flags = extra_flags | (a->synced ? LW_F_CLOCK_SYNCED : 0) |
			 (charging ? LW_F_CHARGING : 0) |
			 (battery_pct != LW_BATTERY_UNKNOWN && battery_pct < 15 ? LW_F_LOW_BATTERY
									     : 0),
		.rate_code = rate_code,
		.range_code = range_code,
		.battery_pct = battery_pct,
		.sequence = sequence++,
		.first_index = first,
		.device_time_us = a->time_us + (uint64_t)(first - a->first_index) * PERIOD_US[rate_code],
	};
	return lw_build_packet(out, &h, (const int16_t(*)[3])xyz, n);
}

static bool ring_valid_at(uint32_t index)
{
	return ring_valid[(index & RING_MASK) >> 3] & BIT(index & 7);
}

static void ring_set_valid(uint32_t index, bool valid)
{
	if (valid) {
		ring_valid[(index & RING_MASK) >> 3] |= BIT(index & 7);
	} else {
		ring_valid[(index & RING_MASK) >> 3] &= ~BIT(index & 7);
	}
}

/* Sends up to two backfill packets per call so live data keeps flowing in between. */
static void backfill_step(void)
{
	uint8_t pkt[LW_MAX_PACKET];

	for (int k = 0; k < 2; k++) {
		k_mutex_lock(&state_lock, K_FOREVER);
		uint32_t oldest = next_index > RING_SAMPLES ? next_index - RING_SAMPLES : 0;
		if (backfill_next < oldest) {
			backfill_next = oldest; /* overwritten while we were sending */
		}
		while (backfill_next < backfill_end && !ring_valid_at(backfill_next)) {
			backfill_next++;
		}
		if (backfill_next >= backfill_end) {
			backfill_active = false;
			k_mutex_unlock(&state_lock);
			return;
		}
		uint8_t n = 0;
		while (n < LW_MAX_SAMPLES && backfill_next + n < backfill_end &&
		       ring_valid_at(backfill_next + n)) {
			n++;
		}
		/* Last packet if nothing valid follows in the range. */
		uint32_t after = backfill_next + n;
		while (after < backfill_end && !ring_valid_at(after)) {
			after++;
		}
		bool last = after >= backfill_end;
		size_t len = build_from_ring_locked(pkt, backfill_next, n,
						    LW_F_BACKFILL | (last ? LW_F_BACKFILL_END : 0));
		backfill_next = after;
		backfill_active = !last;
		k_mutex_unlock(&state_lock);
		if (len) {
			send_packet(pkt, len);
		}
		if (last) {
			return;
		}
	}
}

/* ---- Sensor thread -------------------------------------------------------------------- */
/* The FIFO holds at most 4 KB = 682 accelerometer samples; only the sensor thread uses this. */
#define FIFO_MAX_SAMPLES 682
static int16_t fifo_buf[FIFO_MAX_SAMPLES][3];

static void read_fifo(void)
{
	uint8_t st[2];
	uint8_t pattern = 0;
	uint8_t pkt[LW_MAX_PACKET];

	/* 1. Drain the sensor under imu_lock (START/STOP cannot reconfigure it mid-read). */
	k_mutex_lock(&imu_lock, K_FOREVER);
	if (!streaming || i2c_burst_read(i2c, IMU_ADDR, REG_FIFO_STATUS1, st, 2)) {
		k_mutex_unlock(&imu_lock);
		return;
	}
	uint64_t t_irq_us = device_time_us();
	uint16_t words = (uint16_t)(st[0] | ((st[1] & 0x07) << 8));
	bool overrun = st[1] & 0x40;

	/* Align to the start of a sample: pattern 0 means the next word is X. */
	i2c_reg_read_byte(i2c, IMU_ADDR, REG_FIFO_STATUS3, &pattern);
	while (pattern != 0 && words > 0) {
		uint8_t skip[2];
		i2c_burst_read(i2c, IMU_ADDR, REG_FIFO_DATA_OUT_L, skip, 2);
		words--;
		pattern = (uint8_t)((pattern + 1) % 3);
	}
	uint16_t n_samples = MIN(words / 3, FIFO_MAX_SAMPLES);
	for (uint16_t i = 0; i < n_samples; i++) {
		for (int axis = 0; axis < 3; axis++) {
			uint8_t w[2];
			/* One word per transaction: simple and safe; see HARDWARE.md for burst reads. */
			i2c_burst_read(i2c, IMU_ADDR, REG_FIFO_DATA_OUT_L, w, 2);
			fifo_buf[i][axis] = (int16_t)sys_get_le16(w);
		}
	}
	k_mutex_unlock(&imu_lock);
	if (n_samples == 0) {
		return;
	}

	/* 2. Account for lost samples and anchor the batch in time. */
	k_mutex_lock(&state_lock, K_FOREVER);
	uint32_t period_us = PERIOD_US[rate_code];
	/* The newest sample in the FIFO was taken about at the interrupt. */
	uint64_t t_first = t_irq_us - (uint64_t)(n_samples - 1) * period_us;
	if (overrun || pending_overflow) {
		/* Samples were lost: advance the index by what the clock says is missing. */
		const struct anchor *prev = anchor_count ? &anchors[(anchor_count - 1) % ANCHORS] : NULL;
		if (prev != NULL && prev->synced == clock_synced && t_first > prev->time_us) {
			uint32_t expected = prev->first_index +
				(uint32_t)((t_first - prev->time_us + period_us / 2) / period_us);
			for (uint32_t i = next_index; i < expected; i++) {
				ring_set_valid(i, false);
			}
			next_index = MAX(next_index, expected);
		}
		fifo_overflows = fifo_overflows < UINT16_MAX ? fifo_overflows + 1 : UINT16_MAX;
		pending_overflow = true;
	}
	struct anchor *a = &anchors[anchor_count % ANCHORS];
	a->first_index = next_index;
	a->time_us = t_first;
	a->synced = clock_synced;
	anchor_count++;
	k_mutex_unlock(&state_lock);

	/* 3. Store in the ring and publish, at most 36 samples per packet, no sensor lock held
	 * (bt_gatt_notify may wait for a TX buffer). */
	uint16_t done = 0;
	while (done < n_samples) {
		uint8_t n = (uint8_t)MIN(n_samples - done, LW_MAX_SAMPLES);
		k_mutex_lock(&state_lock, K_FOREVER);
		uint32_t first = next_index;
		for (uint8_t i = 0; i < n; i++) {
			memcpy(ring[(first + i) & RING_MASK], fifo_buf[done + i], sizeof(fifo_buf[0]));
			ring_set_valid(first + i, true);
		}
		next_index += n;
		have_samples = true;
		uint8_t flags = pending_overflow ? LW_F_FIFO_OVERFLOW : 0;
		pending_overflow = false;
		size_t len = build_from_ring_locked(pkt, first, n, flags);
		k_mutex_unlock(&state_lock);
		if (len) {
			send_packet(pkt, len); /* on failure the host backfills from the ring */
		}
		done += n;
	}
}

static void sensor_thread(void *a, void *b, void *c)
{
	int64_t last_battery_ms = -60000;

	while (true) {
		/* Wake on the watermark, or every 100 ms to run backfill while idle. */
		k_sem_take(&fifo_sem, K_MSEC(100));
		data_notify_enabled = (data_ccc_value == BT_GATT_CCC_NOTIFY);
		if (streaming) {
			read_fifo();
		}
		if (backfill_active) {
			backfill_step();
		}
		if (k_uptime_get() - last_battery_ms >= 60000) {
			last_battery_ms = k_uptime_get();
			uint8_t copy[LW_STATUS_SIZE];
			struct bt_conn *conn = NULL;

			k_mutex_lock(&state_lock, K_FOREVER);
			battery_update();
			status_refresh_locked();
			memcpy(copy, status_value, sizeof(copy));
			if (current_conn != NULL && status_notify_enabled) {
				conn = bt_conn_ref(current_conn);
			}
			k_mutex_unlock(&state_lock);
			if (conn != NULL) {
				bt_gatt_notify(conn, ATTR_STATUS, copy, sizeof(copy));
				bt_conn_unref(conn);
			}
		}
	}
}

K_THREAD_DEFINE(sensor_tid, 3072, sensor_thread, NULL, NULL, NULL, 5, 0, 0);

/* ---- Control point -------------------------------------------------------------------- */
static struct bt_gatt_indicate_params ind_params;
static uint8_t ind_buf[20];

static void send_response(struct bt_conn *conn, uint8_t op, uint8_t result, const uint8_t *body,
			  size_t body_len)
{
	if (!ctrl_indicate_enabled) {
		return;
	}
	ind_buf[0] = LW_RESPONSE;
	ind_buf[1] = op;
	ind_buf[2] = result;
	memcpy(&ind_buf[3], body, body_len);
	ind_params.attr = ATTR_CTRL;
	ind_params.func = NULL;
	ind_params.destroy = NULL;
	ind_params.data = ind_buf;
	ind_params.len = (uint16_t)(3 + body_len);
	bt_gatt_indicate(conn, &ind_params);
}

static ssize_t ctrl_write(struct bt_conn *conn, const struct bt_gatt_attr *attr, const void *buf,
			  uint16_t len, uint16_t offset, uint8_t flags)
{
	const uint8_t *in = buf;
	uint8_t body[17];
	size_t body_len = 0;
	uint8_t result = LW_RES_OK;

	if (offset != 0 || len == 0) {
		return BT_GATT_ERR(BT_ATT_ERR_INVALID_OFFSET);
	}
	uint8_t op = in[0];
	/* Lock order everywhere: imu_lock before state_lock. */
	k_mutex_lock(&imu_lock, K_FOREVER);
	k_mutex_lock(&state_lock, K_FOREVER);
	switch (op) {
	case LW_OP_START:
		if (len != 3 || in[1] < 1 || in[1] > 6 || in[2] > 3) {
			result = LW_RES_INVALID_PARAMETER;
			break;
		}
		rate_code = in[1];
		range_code = in[2];
		next_index = 0;
		sequence = 0;
		anchor_count = 0;
		have_samples = false;
		fifo_overflows = 0;
		pending_overflow = false;
		backfill_active = false;
		memset(ring_valid, 0, sizeof(ring_valid));
		imu_start(rate_code, range_code);
		streaming = true;
		break;
	case LW_OP_STOP:
		if (len != 1) {
			result = LW_RES_INVALID_PARAMETER;
			break;
		}
		imu_stop();
		streaming = false;
		break;
	case LW_OP_SYNC_TIME:
		if (len != 9) {
			result = LW_RES_INVALID_PARAMETER;
			break;
		}
		sys_put_le64(device_time_us(), body);
		body_len = 8;
		clock_offset_us = (int64_t)sys_get_le64(&in[1]) -
				  (int64_t)k_ticks_to_us_floor64(k_uptime_ticks());
		clock_synced = true;
		break;
	case LW_OP_BACKFILL: {
		if (len != 7 || sys_get_le16(&in[5]) == 0) {
			result = LW_RES_INVALID_PARAMETER;
			break;
		}
		if (!have_samples) {
			result = LW_RES_INVALID_STATE;
			break;
		}
		if (backfill_active) {
			result = LW_RES_BUSY;
			break;
		}
		uint32_t from = sys_get_le32(&in[1]);
		uint64_t end = (uint64_t)from + sys_get_le16(&in[5]);
		uint32_t oldest = next_index > RING_SAMPLES ? next_index - RING_SAMPLES : 0;
		uint32_t first = MAX(from, oldest);
		uint64_t last_end = MIN(end, (uint64_t)next_index);
		if (first >= last_end) {
			result = LW_RES_NOT_AVAILABLE;
			break;
		}
		backfill_next = first;
		backfill_end = (uint32_t)last_end;
		backfill_active = true;
		sys_put_le32(first, body);
		sys_put_le16((uint16_t)(last_end - first), &body[4]);
		body_len = 6;
		k_sem_give(&fifo_sem); /* start sending soon */
		break;
	}
	case LW_OP_STATUS:
		if (len != 1) {
			result = LW_RES_INVALID_PARAMETER;
			break;
		}
		status_refresh_locked();
		memcpy(body, status_value, LW_STATUS_SIZE);
		body_len = LW_STATUS_SIZE;
		break;
	default:
		result = LW_RES_UNKNOWN_OPCODE;
	}
	k_mutex_unlock(&state_lock);
	k_mutex_unlock(&imu_lock);
	send_response(conn, op, result, body, result == LW_RES_OK ? body_len : 0);
	return len;
}

/* ---- Connection ----------------------------------------------------------------------- */
static void mtu_exchanged(struct bt_conn *conn, uint8_t err, struct bt_gatt_exchange_params *p)
{
	LOG_INF("ATT MTU %u (err %u)", bt_gatt_get_mtu(conn), err);
}

static struct bt_gatt_exchange_params mtu_params = {.func = mtu_exchanged};

static void connected(struct bt_conn *conn, uint8_t err)
{
	if (err) {
		return;
	}
	k_mutex_lock(&state_lock, K_FOREVER);
	current_conn = bt_conn_ref(conn);
	k_mutex_unlock(&state_lock);
	/* 30-50 ms interval (units of 1.25 ms), no peripheral latency, 4 s supervision timeout
	 * (units of 10 ms): see CONNECTION.md. */
	struct bt_le_conn_param param = BT_LE_CONN_PARAM_INIT(24, 40, 0, 400);
	bt_conn_le_param_update(conn, &param);
	bt_conn_le_data_len_update(conn, BT_LE_DATA_LEN_PARAM_MAX);
	bt_gatt_exchange_mtu(conn, &mtu_params);
}

static void disconnected(struct bt_conn *conn, uint8_t reason)
{
	/* Keep streaming into the ring buffer: the host reconnects and backfills. */
	data_ccc_value = 0;
	ctrl_indicate_enabled = false;
	status_notify_enabled = false;
	k_mutex_lock(&state_lock, K_FOREVER);
	data_notify_enabled = false;
	if (current_conn) {
		bt_conn_unref(current_conn);
		current_conn = NULL;
	}
	k_mutex_unlock(&state_lock);
	LOG_INF("disconnected (reason 0x%02x)", reason);
}

static const struct bt_data ad[] = {
	BT_DATA_BYTES(BT_DATA_FLAGS, (BT_LE_AD_GENERAL | BT_LE_AD_NO_BREDR)),
	BT_DATA_BYTES(BT_DATA_UUID128_ALL, LW_UUID(1)),
};

static void advertise(void)
{
	static struct bt_data sd[1];
	const char *name = bt_get_name();

	sd[0] = (struct bt_data)BT_DATA(BT_DATA_NAME_COMPLETE, name, strlen(name));
	int err = bt_le_adv_start(BT_LE_ADV_CONN_FAST_2, ad, ARRAY_SIZE(ad), sd, ARRAY_SIZE(sd));
	if (err && err != -EALREADY) {
		LOG_ERR("advertising failed (%d)", err);
	}
}

static void recycled(void)
{
	advertise();
}

BT_CONN_CB_DEFINE(conn_callbacks) = {
	.connected = connected,
	.disconnected = disconnected,
	.recycled = recycled,
};

int main(void)
{
	/* P0.14 LOW for good: the divider stays connected (about 2.8 uA) and P0.31 never sees the
	 * full battery voltage, which Seeed warns can damage it while charging. */
	gpio_pin_configure(gpio0, VBAT_ENABLE_PIN, GPIO_OUTPUT_INACTIVE);
	gpio_pin_configure(gpio0, CHARGE_STATUS_PIN, GPIO_INPUT | GPIO_PULL_UP);
	adc_channel_setup(adc, &vbat_channel);

	if (imu_init() != 0) {
		return 0;
	}
	gpio_pin_configure(gpio0, IMU_INT1_PIN, GPIO_INPUT);
	gpio_init_callback(&int1_cb, int1_handler, BIT(IMU_INT1_PIN));
	gpio_add_callback(gpio0, &int1_cb);
	gpio_pin_interrupt_configure(gpio0, IMU_INT1_PIN, GPIO_INT_EDGE_RISING);

	if (bt_enable(NULL) != 0) {
		LOG_ERR("Bluetooth init failed");
		return 0;
	}
	/* Name legwatch-XXXX from the last two bytes of the identity address. */
	bt_addr_le_t addr;
	size_t count = 1;
	char name[16];
	bt_id_get(&addr, &count);
	snprintk(name, sizeof(name), "legwatch-%02X%02X", addr.a.val[1], addr.a.val[0]);
	bt_set_name(name);
	advertise();
	LOG_INF("%s ready, profile v1, firmware %d.%d.%d", name, FW_MAJOR, FW_MINOR, FW_PATCH);
	return 0;
}
