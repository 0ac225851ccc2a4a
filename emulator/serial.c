/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 16550A UART (isa-serial): the registers Linux's 8250 driver and simple
 * guests use, a 16-byte receive FIFO fed from a chardev, transmit straight
 * to the chardev, loopback mode, and the interrupt on an ISA IRQ.
 */
#include "serial.h"

#include <glib/gi18n.h>
#include <string.h>

#include "chardev.h"
#include "device.h"
#include "error.h"
#include "io.h"
#include "machine.h"

#define FIFO_SIZE 16

#define IER_RDI	 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI	 0x08

#define IIR_NO_INT 0x01
#define IIR_MSI	   0x00
#define IIR_THRI   0x02
#define IIR_RDI	   0x04
#define IIR_RLSI   0x06
#define IIR_FIFO   0xc0

#define LCR_DLAB 0x80
#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR	    0x01
#define LSR_OE	    0x02
#define LSR_BI	    0x10
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define LSR_INT_ANY 0x1e

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS	 0x10
#define MSR_DSR	 0x20
#define MSR_RI	 0x40
#define MSR_DCD	 0x80

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02

struct serial {
	uint16_t iobase;
	unsigned irq;
	struct chardev *chr;
	uint8_t ier, iir, lcr, mcr, lsr, msr, scr, fcr;
	uint16_t divider;
	bool thr_ipending;
	int irq_level;
	uint8_t rx[FIFO_SIZE];
	unsigned rx_head, rx_count;
};

static void update_irq(struct serial *s)
{
	uint8_t iir = IIR_NO_INT;
	if ((s->ier & IER_RLSI) && (s->lsr & LSR_INT_ANY))
		iir = IIR_RLSI;
	else if ((s->ier & IER_RDI) && (s->lsr & LSR_DR))
		iir = IIR_RDI;
	else if ((s->ier & IER_THRI) && s->thr_ipending)
		iir = IIR_THRI;
	else if ((s->ier & IER_MSI) && (s->msr & 0x0f))
		iir = IIR_MSI;
	s->iir = iir | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	int level = iir != IIR_NO_INT;
	if (level != s->irq_level) {
		s->irq_level = level;
		irq_set_level(s->irq, level);
	}
}

static unsigned fifo_cap(struct serial *s)
{
	return (s->fcr & FCR_ENABLE) ? FIFO_SIZE : 1;
}

static void rx_push(struct serial *s, uint8_t ch)
{
	if (s->rx_count >= fifo_cap(s)) {
		s->lsr |= LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % FIFO_SIZE] = ch;
	s->rx_count++;
	s->lsr |= LSR_DR;
}

static void update_loop_msr(struct serial *s)
{
	uint8_t old = s->msr;
	uint8_t m = 0;
	if (s->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (s->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (s->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		m |= MSR_DCD;
	uint8_t delta = 0;
	if ((old ^ m) & MSR_CTS)
		delta |= MSR_DCTS;
	if ((old ^ m) & MSR_DSR)
		delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(m & MSR_RI))
		delta |= MSR_TERI;
	if ((old ^ m) & MSR_DCD)
		delta |= MSR_DDCD;
	s->msr = m | (old & 0x0f) | delta;
}

static uint64_t serial_read(void *opaque, uint64_t off, unsigned size)
{
	struct serial *s = opaque;
	(void)size;
	uint8_t v = 0xff;
	switch (off) {
	case 0:
		if (s->lcr & LCR_DLAB) {
			v = s->divider & 0xff;
			break;
		}
		v = 0;
		if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % FIFO_SIZE;
			s->rx_count--;
		}
		if (!s->rx_count)
			s->lsr &= ~LSR_DR;
		update_irq(s);
		if (!(s->mcr & MCR_LOOP))
			chardev_input_ready(s->chr);
		break;
	case 1:
		v = (s->lcr & LCR_DLAB) ? s->divider >> 8 : s->ier;
		break;
	case 2:
		v = s->iir;
		if ((v & 0x0f) == IIR_THRI) {
			s->thr_ipending = false;
			update_irq(s);
		}
		break;
	case 3:
		v = s->lcr;
		break;
	case 4:
		v = s->mcr;
		break;
	case 5:
		v = s->lsr;
		/* overrun and break are cleared by reading LSR */
		if (s->lsr & (LSR_OE | LSR_BI)) {
			s->lsr &= ~(LSR_OE | LSR_BI);
			update_irq(s);
		}
		break;
	case 6:
		if (s->mcr & MCR_LOOP) {
			v = s->msr;
		} else {
			v = s->msr;
		}
		if (s->msr & 0x0f) {
			s->msr &= 0xf0;
			update_irq(s);
		}
		break;
	case 7:
		v = s->scr;
		break;
	}
	return v;
}

static void serial_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct serial *s = opaque;
	uint8_t v = value;
	(void)size;
	switch (off) {
	case 0:
		if (s->lcr & LCR_DLAB) {
			s->divider = (s->divider & 0xff00) | v;
			break;
		}
		if (s->mcr & MCR_LOOP)
			rx_push(s, v);
		else if (s->chr)
			chardev_write(s->chr, &v, 1);
		/* transmission is instantaneous: THR is empty again */
		s->lsr |= LSR_THRE | LSR_TEMT;
		s->thr_ipending = true;
		update_irq(s);
		break;
	case 1:
		if (s->lcr & LCR_DLAB) {
			s->divider = (s->divider & 0x00ff) | (v << 8);
			break;
		}
		{
			uint8_t old = s->ier;
			s->ier = v & 0x0f;
			/* enabling THRI with an empty THR raises it at once */
			if (!(old & IER_THRI) && (s->ier & IER_THRI) && (s->lsr & LSR_THRE))
				s->thr_ipending = true;
			update_irq(s);
		}
		break;
	case 2: {
		uint8_t was = s->fcr & FCR_ENABLE;
		if ((v & FCR_ENABLE) != was || (v & FCR_CLEAR_RX)) {
			s->rx_count = s->rx_head = 0;
			s->lsr &= ~LSR_DR;
		}
		s->fcr = v & 0xc9; /* enable, DMA mode, trigger level */
		update_irq(s);
		chardev_input_ready(s->chr);
		break;
	}
	case 3:
		s->lcr = v;
		break;
	case 4:
		s->mcr = v & 0x1f;
		if (s->mcr & MCR_LOOP)
			update_loop_msr(s);
		else
			s->msr = (s->msr & 0x0f) | MSR_DCD | MSR_DSR | MSR_CTS;
		update_irq(s);
		break;
	case 5:
		break; /* LSR is read-only (factory test only) */
	case 6:
		break;
	case 7:
		s->scr = v;
		break;
	}
}

static const struct io_ops serial_ops = {.read = serial_read, .write = serial_write};

static size_t serial_can_read(void *opaque)
{
	struct serial *s = opaque;
	if (s->mcr & MCR_LOOP)
		return 0;
	unsigned cap = fifo_cap(s);
	return s->rx_count < cap ? cap - s->rx_count : 0;
}

static void serial_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct serial *s = opaque;
	for (size_t i = 0; i < len; i++)
		rx_push(s, buf[i]);
	update_irq(s);
}

static const struct chr_frontend serial_fe = {
    .can_read = serial_can_read,
    .read = serial_receive,
};

static void serial_reset(void *opaque)
{
	struct serial *s = opaque;
	s->ier = 0;
	s->lcr = 0;
	s->mcr = MCR_OUT2;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	s->scr = 0;
	s->fcr = 0;
	s->divider = 12; /* 9600 baud */
	s->thr_ipending = false;
	s->rx_count = s->rx_head = 0;
	update_irq(s);
	s->iir = IIR_NO_INT;
}

static const uint16_t com_base[4] = {0x3f8, 0x2f8, 0x3e8, 0x2e8};
static const uint8_t com_irq[4] = {4, 3, 4, 3};
static bool com_used[4];

static const struct dev_prop serial_props[] = {
    {"chardev", DEV_PROP_STR, NULL, "ID of a chardev to use as a backend", 0},
    {"index", DEV_PROP_UINT, NULL, "COM port number 0-3 (picks iobase and irq)", 3},
    {"iobase", DEV_PROP_UINT, NULL, "I/O port base (default: by index)", 0xfff8},
    {"irq", DEV_PROP_UINT, NULL, "ISA interrupt (default: by index)", 15},
    {NULL, 0, NULL, NULL, 0},
};

static int serial_init(const struct dev_model *m, struct dev_opts *o, GError **err);

static struct dev_model serial_model = {
    .name = "isa-serial",
    .bus = "ISA",
    .category = "Input devices",
    .props = serial_props,
    .init = serial_init,
};
DEV_MODEL_REGISTER(serial_model)

static struct serial *serial_create(int index, uint16_t iobase, unsigned irq, struct chardev *chr,
				    const char *id, GError **err)
{
	struct serial *s = g_new0(struct serial, 1);
	s->iobase = iobase;
	s->irq = irq;
	s->chr = chr;
	if (chr && chardev_attach(chr, &serial_fe, s, err) < 0) {
		g_free(s);
		return NULL;
	}
	if (index >= 0)
		com_used[index] = true;
	serial_reset(s);
	io_region_add(IO_SPACE_PIO, iobase, 8, &serial_ops, s, "serial");
	machine_register_reset(serial_reset, s);
	dev_instance_add(&serial_model, id, s);
	return s;
}

int serial_hds_create(int index, struct chardev *chr, GError **err)
{
	if (index < 0 || index >= 4) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("Maximum number of serial devices is 4"));
		return -1;
	}
	if (com_used[index])
		return 0;
	return serial_create(index, com_base[index], com_irq[index], chr, NULL, err) ? 0 : -1;
}

static int serial_init(const struct dev_model *m, struct dev_opts *o, GError **err)
{
	(void)m;
	int index = -1;
	if (dev_opts_is_set(o, "index")) {
		index = dev_opts_uint(o, "index");
	} else {
		for (int i = 0; i < 4 && index < 0; i++)
			if (!com_used[i])
				index = i;
	}
	if (index < 0 || com_used[index]) {
		g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
			    _("isa-serial: no free COM port (index %d is in use)"), index);
		return -1;
	}
	uint16_t iobase =
	    dev_opts_is_set(o, "iobase") ? dev_opts_uint(o, "iobase") : com_base[index];
	unsigned irq = dev_opts_is_set(o, "irq") ? dev_opts_uint(o, "irq") : com_irq[index];
	struct chardev *chr = NULL;
	const char *cid = dev_opts_str(o, "chardev");
	if (cid) {
		chr = chardev_find(cid);
		if (!chr) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Property 'isa-serial.chardev' can't find value '%s'"), cid);
			return -1;
		}
	}
	return serial_create(index, iobase, irq, chr, dev_opts_id(o), err) ? 0 : -1;
}
