/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isa-debug-exit: a write of value v to the port ends kite with exit
 * status (v << 1) | 1, exactly like QEMU, so test guests can report a
 * result through the exit status.
 */
#include <glib/gi18n.h>

#include "device.h"
#include "error.h"
#include "io.h"
#include "vl.h"

struct debug_exit {
	uint16_t iobase, iosize;
};

static uint64_t debug_exit_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)size;
	return 0;
}

static void debug_exit_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	(void)opaque;
	(void)off;
	(void)size;
	kite_exit_now((int)((value << 1) | 1));
}

static const struct io_ops debug_exit_ops = {.read = debug_exit_read, .write = debug_exit_write};

static const struct dev_prop debug_exit_props[] = {
    {"iobase", DEV_PROP_UINT, "1281", NULL, 0xffff},
    {"iosize", DEV_PROP_UINT, "2", NULL, 0xffff},
    {NULL, 0, NULL, NULL, 0},
};

static int debug_exit_init(const struct dev_model *m, struct dev_opts *o, GError **err)
{
	struct debug_exit *d = g_new0(struct debug_exit, 1);
	d->iobase = dev_opts_uint(o, "iobase");
	d->iosize = dev_opts_uint(o, "iosize");
	if (d->iosize == 0 || d->iosize > 0x10000 - d->iobase) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("isa-debug-exit: iobase 0x%x + iosize 0x%x is outside the I/O space"),
			    d->iobase, d->iosize);
		g_free(d);
		return -1;
	}
	io_region_add(IO_SPACE_PIO, d->iobase, d->iosize, &debug_exit_ops, d, "isa-debug-exit");
	dev_instance_add(m, dev_opts_id(o), d);
	return 0;
}

static struct dev_model debug_exit_model = {
    .name = "isa-debug-exit",
    .bus = "ISA",
    .category = "Misc devices",
    .props = debug_exit_props,
    .init = debug_exit_init,
};
DEV_MODEL_REGISTER(debug_exit_model)
