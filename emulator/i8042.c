/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * i8042 keyboard controller, only as much as guests probe and use to
 * reboot: command 0xfe (pulse reset line) and a write of the output port
 * with bit 0 clear reset the machine. No keyboard is attached.
 */
#include "i8042.h"

#include "device.h"
#include "io.h"
#include "machine.h"

#define STAT_OBF      0x01
#define STAT_SYS      0x04
#define STAT_CMD      0x08
#define STAT_UNLOCKED 0x10

struct i8042 {
	uint8_t status;
	uint8_t mode;
	uint8_t pending_cmd;
	uint8_t out[8];
	unsigned out_head, out_count;
};

static struct i8042 kbc;

static void push(struct i8042 *k, uint8_t v)
{
	if (k->out_count >= sizeof(k->out))
		return;
	k->out[(k->out_head + k->out_count) % sizeof(k->out)] = v;
	k->out_count++;
	k->status |= STAT_OBF;
}

static uint64_t i8042_read(struct i8042 *k, bool cmd_port)
{
	if (cmd_port)
		return k->status;
	uint8_t v = 0;
	if (k->out_count) {
		v = k->out[k->out_head];
		k->out_head = (k->out_head + 1) % sizeof(k->out);
		k->out_count--;
	}
	if (!k->out_count)
		k->status &= ~STAT_OBF;
	return v;
}

static void i8042_write(struct i8042 *k, bool cmd_port, uint8_t v)
{
	if (cmd_port) {
		k->status |= STAT_CMD;
		k->pending_cmd = 0;
		switch (v) {
		case 0x20: /* read mode byte */
			push(k, k->mode);
			break;
		case 0x60: /* write mode byte: next data byte */
		case 0xd1: /* write output port */
		case 0xd2: /* write keyboard output buffer */
		case 0xd3: /* write aux output buffer */
		case 0xd4: /* write to aux device */
			k->pending_cmd = v;
			break;
		case 0xaa: /* self test */
			k->status |= STAT_SYS;
			push(k, 0x55);
			break;
		case 0xab: /* keyboard interface test */
		case 0xa9: /* aux interface test */
			push(k, 0x00);
			break;
		case 0xd0: /* read output port: A20 on, no reset */
			push(k, 0x03);
			break;
		case 0xfe: /* pulse reset line */
			machine_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
			break;
		default:
			break; /* enable/disable interfaces etc.: nothing to do */
		}
		return;
	}
	k->status &= ~STAT_CMD;
	switch (k->pending_cmd) {
	case 0x60:
		k->mode = v;
		break;
	case 0xd1:
		if (!(v & 1))
			machine_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
		break;
	case 0xd2:
	case 0xd3:
		push(k, v);
		break;
	case 0xd4:
		break; /* no mouse: swallowed */
	default:
		/* keyboard command: there is no keyboard, so answer nothing
		 * (guests then time out and carry on, as on a PC without
		 * keyboard) */
		break;
	}
	k->pending_cmd = 0;
}

static uint64_t data_read(void *opaque, uint64_t off, unsigned size)
{
	(void)off;
	(void)size;
	return i8042_read(opaque, false);
}

static void data_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	(void)off;
	(void)size;
	i8042_write(opaque, false, value);
}

static uint64_t cmd_read(void *opaque, uint64_t off, unsigned size)
{
	(void)off;
	(void)size;
	return i8042_read(opaque, true);
}

static void cmd_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	(void)off;
	(void)size;
	i8042_write(opaque, true, value);
}

static const struct io_ops data_ops = {.read = data_read, .write = data_write};
static const struct io_ops cmd_ops = {.read = cmd_read, .write = cmd_write};

static void i8042_reset(void *opaque)
{
	struct i8042 *k = opaque;
	k->status = STAT_CMD | STAT_UNLOCKED;
	k->mode = 0x03 | 0x40; /* interrupts on, translate */
	k->out_count = k->out_head = 0;
	k->pending_cmd = 0;
}

static struct dev_model i8042_model = {
    .name = "i8042",
    .bus = "ISA",
    .category = "Input devices",
    .no_user = true,
};
DEV_MODEL_REGISTER(i8042_model)

void i8042_init(void)
{
	i8042_reset(&kbc);
	io_region_add(IO_SPACE_PIO, 0x60, 1, &data_ops, &kbc, "i8042-data");
	io_region_add(IO_SPACE_PIO, 0x64, 1, &cmd_ops, &kbc, "i8042-cmd");
	machine_register_reset(i8042_reset, &kbc);
	dev_instance_add(&i8042_model, NULL, &kbc);
}
