// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Intel 8255x (eepro100: 82557, 82559ER, 82551...) driver, polled.
 *
 * The control/status registers (the SCB) are in BAR0, memory. The card is
 * driven by command blocks: the command unit (CU) walks a list of them in
 * memory (configure, individual address setup, transmit) and the receive
 * unit (RU) fills a list of receive frame descriptors (RFDs). Both use
 * the simplified memory model: the data follows the block header. The
 * MAC address comes from the serial EEPROM (Microwire, bit-banged through
 * the SCB) and is then given to the card with an IA setup command.
 */
#include "arch.h"

#define SCB_STATUS  0x00 /* byte: CU and RU state */
#define SCB_CMD	    0x02 /* byte: CU command << 4 | RU command */
#define SCB_INTMASK 0x03
#define SCB_POINTER 0x04
#define SCB_PORT    0x08
#define SCB_EEPROM  0x0e
#define SCB_MDI	    0x10

#define CU_START     0x10
#define CU_LOAD_BASE 0x60
#define RU_START     0x01
#define RU_LOAD_BASE 0x06
#define INT_MASK_ALL 0x01

#define RUS_MASK	 0x3c
#define RUS_READY	 0x10
#define RUS_NO_RESOURCES 0x08

#define PORT_SOFTWARE_RESET 0

#define EE_SK	0x01
#define EE_CS	0x02
#define EE_DI	0x04
#define EE_DO	0x08
#define EE_READ 0x6 /* start bit and read opcode 10 */

#define MDI_READ  (2u << 26)
#define MDI_READY (1u << 28)
#define MDI_PHY	  1
#define MII_BMSR  1
#define BMSR_LINK 0x0004

/* Command block and RFD header bits. */
#define CB_C	       0x8000 /* status: complete */
#define CB_OK	       0x2000
#define CB_EL	       0x8000 /* command: end of list */
#define CMD_IA_SETUP   1
#define CMD_CONFIGURE  2
#define CMD_TX	       4
#define RFD_COUNT_MASK 0x3fff
#define TBD_NONE       0xffffffffu /* simplified transmit: data follows the TCB */

#define RX_RING	  64
#define TX_RING	  16
#define FRAME_MIN 60
#define FRAME_MAX 1514
#define RFD_DATA  1520

struct cb {
	uint16_t status;
	uint16_t command;
	uint32_t link;
	union {
		uint8_t ia[6];
		uint8_t config[22];
		struct {
			uint32_t tbd_array;
			uint16_t tcb_bytes; /* bit 15: EOF */
			uint8_t threshold;
			uint8_t tbd_count;
			uint8_t data[FRAME_MAX];
		} tx;
	} u;
} __attribute__((aligned(16)));

struct rfd {
	uint16_t status;
	uint16_t command;
	uint32_t link;
	uint32_t reserved; /* the buffer pointer of the flexible model */
	uint16_t count;	   /* bytes received; bit 15 EOF, bit 14 F */
	uint16_t size;
	uint8_t data[RFD_DATA];
} __attribute__((aligned(16)));

struct eepro100 {
	struct netif nif;
	uintptr_t regs;
	volatile struct cb *cbs; /* TX_RING blocks, used in turn */
	volatile struct rfd *rfds;
	unsigned cb_next, rx_next;
	bool cb_busy; /* the block before cb_next is still with the CU */
	uint64_t rus_checked_us;
};

static uint8_t rd8(const struct eepro100 *e, uint32_t reg)
{
	return mmio_read8(e->regs + reg);
}

static void wr8(const struct eepro100 *e, uint32_t reg, uint8_t v)
{
	mmio_write8(e->regs + reg, v);
}

static void wr32(const struct eepro100 *e, uint32_t reg, uint32_t v)
{
	mmio_write32(e->regs + reg, v);
}

/* The SCB takes one command at a time: wait until the last was taken. */
static bool scb_idle(const struct eepro100 *e)
{
	uint64_t deadline = now_us() + 10000;

	while (rd8(e, SCB_CMD)) {
		if (now_us() > deadline)
			return false;
	}
	return true;
}

static bool scb_command(const struct eepro100 *e, uint8_t cmd, uint32_t pointer)
{
	if (!scb_idle(e))
		return false;
	wr32(e, SCB_POINTER, pointer);
	wr8(e, SCB_CMD, cmd);
	return scb_idle(e);
}

/* ---- EEPROM (93C46-style Microwire) ---- */

static void ee_out(const struct eepro100 *e, uint8_t v)
{
	mmio_write16(e->regs + SCB_EEPROM, v);
	udelay(2);
}

static bool ee_bit(const struct eepro100 *e, bool di)
{
	uint8_t v = EE_CS | (di ? EE_DI : 0);

	ee_out(e, v);
	ee_out(e, v | EE_SK);
	bool dout = mmio_read16(e->regs + SCB_EEPROM) & EE_DO;
	ee_out(e, v);
	return dout;
}

/* Reads word 'addr'. *addr_bits starts as a guess (8) and is corrected
 * from the dummy zero the EEPROM drives after the last address bit. */
static uint16_t ee_read(const struct eepro100 *e, uint8_t addr, unsigned *addr_bits)
{
	uint16_t data = 0;

	ee_out(e, EE_CS);
	for (int i = 2; i >= 0; i--)
		ee_bit(e, (EE_READ >> i) & 1);
	for (int i = (int)*addr_bits - 1; i >= 0; i--) {
		bool dout = ee_bit(e, (addr >> i) & 1);
		if (!dout && i > 0) {
			/* The dummy zero came early: the part has fewer bits. */
			*addr_bits -= (unsigned)i;
			break;
		}
	}
	for (int i = 0; i < 16; i++)
		data = (uint16_t)(data << 1 | ee_bit(e, false));
	ee_out(e, 0);
	return data;
}

/* ---- command unit ---- */

/* Waits for the CU to finish the block in flight (it goes idle after
 * the EL block). */
static bool cu_wait(struct eepro100 *e, uint32_t timeout_us)
{
	if (!e->cb_busy)
		return true;
	volatile struct cb *prev = &e->cbs[(e->cb_next + TX_RING - 1) % TX_RING];
	uint64_t deadline = now_us() + timeout_us;
	while (!(prev->status & CB_C)) {
		if (now_us() > deadline)
			return false;
	}
	e->cb_busy = false;
	return true;
}

/* Hands the next command block (already filled in) to the CU. */
static bool cu_start(struct eepro100 *e, volatile struct cb *cb, uint16_t command)
{
	cb->status = 0;
	cb->link = (uint32_t)(uintptr_t)cb;
	barrier();
	cb->command = command | CB_EL;
	barrier();
	if (!scb_command(e, CU_START, (uint32_t)(uintptr_t)cb))
		return false;
	e->cb_next = (e->cb_next + 1) % TX_RING;
	e->cb_busy = true;
	return true;
}

static bool cu_run(struct eepro100 *e, volatile struct cb *cb, uint16_t command)
{
	return cu_start(e, cb, command) && cu_wait(e, 100000) && (cb->status & CB_OK);
}

static int eepro100_tx(struct netif *nif, const void *frame, size_t len)
{
	struct eepro100 *e = nif->priv;

	if (len > FRAME_MAX)
		return -1;
	if (!cu_wait(e, 0))
		return -1;
	volatile struct cb *cb = &e->cbs[e->cb_next];
	memcpy((void *)cb->u.tx.data, frame, len);
	if (len < FRAME_MIN) {
		memset((void *)(cb->u.tx.data + len), 0, FRAME_MIN - len);
		len = FRAME_MIN;
	}
	cb->u.tx.tbd_array = TBD_NONE;
	cb->u.tx.tcb_bytes = (uint16_t)(0x8000 | len);
	cb->u.tx.threshold = 0xe0; /* the whole frame in the FIFO first */
	cb->u.tx.tbd_count = 0;
	if (!cu_start(e, cb, CMD_TX))
		return -1;
	nif->tx_frames++;
	return 0;
}

/* ---- receive unit ---- */

static void rfd_reset(volatile struct rfd *r, bool el)
{
	r->count = 0;
	r->size = RFD_DATA;
	r->status = 0;
	barrier();
	r->command = el ? CB_EL : 0;
}

static bool ru_start(struct eepro100 *e)
{
	return scb_command(e, RU_START, (uint32_t)(uintptr_t)&e->rfds[e->rx_next]);
}

static size_t eepro100_rx(struct netif *nif, void *out, size_t cap)
{
	struct eepro100 *e = nif->priv;

	for (;;) {
		volatile struct rfd *r = &e->rfds[e->rx_next];
		if (!(r->status & CB_C)) {
			/* The RU stops at the EL descriptor when we fall behind:
			 * everything is given back by now, so restart it here.
			 * Checked once a millisecond: a register read is an
			 * exit to the VMM, the descriptor is plain memory. */
			uint64_t now = now_us();
			if (now - e->rus_checked_us >= 1000) {
				e->rus_checked_us = now;
				if ((rd8(e, SCB_STATUS) & RUS_MASK) == RUS_NO_RESOURCES)
					ru_start(e);
			}
			return 0;
		}
		/* QEMU sets the status before it writes the count and the data;
		 * a register read waits for it to finish the frame. */
		(void)rd8(e, SCB_STATUS);
		barrier();
		size_t n = r->count & RFD_COUNT_MASK, got = 0;
		if ((r->status & CB_OK) && n >= 14 && n <= cap && n <= RFD_DATA) {
			memcpy(out, (const void *)r->data, n);
			got = n;
		}
		/* This one becomes the end of the list, its predecessor not. */
		rfd_reset(r, true);
		e->rfds[(e->rx_next + RX_RING - 1) % RX_RING].command = 0;
		e->rx_next = (e->rx_next + 1) % RX_RING;
		if (got) {
			nif->rx_frames++;
			return got;
		}
		nif->rx_dropped++;
	}
}

static bool eepro100_link_up(struct netif *nif)
{
	struct eepro100 *e = nif->priv;

	wr32(e, SCB_MDI, MDI_READ | (uint32_t)MDI_PHY << 21 | (uint32_t)MII_BMSR << 16);
	uint64_t deadline = now_us() + 10000;
	for (;;) {
		uint32_t v = mmio_read32(e->regs + SCB_MDI);
		if (v & MDI_READY)
			return v & BMSR_LINK;
		if (now_us() > deadline)
			return false;
	}
}

static const uint8_t config_bytes[22] = {
    22,				  /* byte count */
    0x08,			  /* receive FIFO limit */
    0,	  0,	0,    0,    0x32, /* byte 6: standard statistics, no extended TCB */
    0x02,			  /* byte 7: one transmit underrun retry; short frames are kept */
    0x01,			  /* byte 8: MII mode, CSMA on */
    0,	  0x2e, 0,    0x60, 0,	  0xf2, 0x48, /* byte 15: not promiscuous, broadcasts on */
    0,	  0x40, 0xf2, /* byte 18: padding on, CRC not stored, no long frames */
    0x80, 0x3f, 0x05, /* byte 21: no "all multicast" */
};

/* The family shares two device IDs; the revision tells the chips apart. */
static const char *model_name(const struct pci_dev *d)
{
	uint8_t rev = (uint8_t)d->class_rev;

	if (d->device == 0x1209)
		return rev == 0x09 ? "i82559er" : rev == 0x0f || rev == 0x10 ? "i82551" : "i8255x";
	if (rev >= 1 && rev <= 3)
		return "i82557";
	if (rev == 4 || rev == 5)
		return "i82558";
	if (rev >= 6 && rev <= 0x0c)
		return "i82559";
	return "i8255x";
}

struct netif *eepro100_probe(struct pci_dev *d)
{
	static struct eepro100 store;
	struct eepro100 *e = &store;

	memset(e, 0, sizeof(*e));
	if ((d->bar[0].kind != PCI_BAR_MEM32 && d->bar[0].kind != PCI_BAR_MEM64) ||
	    !d->bar[0].addr || d->bar[0].size < 0x20) {
		kprintf("eepro100: BAR0 is not an assigned memory BAR\n");
		return NULL;
	}
	e->regs = (uintptr_t)d->bar[0].addr;
	pci_enable(d);

	wr32(e, SCB_PORT, PORT_SOFTWARE_RESET);
	udelay(20);
	wr8(e, SCB_INTMASK, INT_MASK_ALL);

	unsigned addr_bits = 8;
	uint16_t words[3];
	for (uint8_t i = 0; i < 3; i++)
		words[i] = ee_read(e, i, &addr_bits);
	for (int i = 0; i < 3; i++) {
		e->nif.mac[2 * i] = (uint8_t)words[i];
		e->nif.mac[2 * i + 1] = (uint8_t)(words[i] >> 8);
	}
	if ((e->nif.mac[0] & 1) || !(words[0] | words[1] | words[2])) {
		kprintf("eepro100: no valid MAC address in the EEPROM\n");
		return NULL;
	}

	e->cbs = dma_alloc(TX_RING * sizeof(struct cb), 16);
	e->rfds = dma_alloc(RX_RING * sizeof(struct rfd), 16);
	if (!e->cbs || !e->rfds) {
		kprintf("eepro100: out of memory for the lists\n");
		return NULL;
	}
	/* Linear addressing: both bases 0, every pointer is physical. */
	if (!scb_command(e, CU_LOAD_BASE, 0) || !scb_command(e, RU_LOAD_BASE, 0)) {
		kprintf("eepro100: the SCB does not take commands\n");
		return NULL;
	}

	volatile struct cb *cb = &e->cbs[e->cb_next];
	memcpy((void *)cb->u.config, config_bytes, sizeof(config_bytes));
	if (!cu_run(e, cb, CMD_CONFIGURE)) {
		kprintf("eepro100: configure command failed\n");
		return NULL;
	}
	cb = &e->cbs[e->cb_next];
	memcpy((void *)cb->u.ia, e->nif.mac, 6);
	if (!cu_run(e, cb, CMD_IA_SETUP)) {
		kprintf("eepro100: IA setup command failed\n");
		return NULL;
	}

	for (unsigned i = 0; i < RX_RING; i++) {
		e->rfds[i].link = (uint32_t)(uintptr_t)&e->rfds[(i + 1) % RX_RING];
		e->rfds[i].reserved = 0xffffffffu;
		rfd_reset(&e->rfds[i], i == RX_RING - 1);
	}
	if (!ru_start(e) || (rd8(e, SCB_STATUS) & RUS_MASK) != RUS_READY) {
		kprintf("eepro100: receive unit does not start (status 0x%02x)\n",
			rd8(e, SCB_STATUS));
		return NULL;
	}
	kprintf("eepro100: revision 0x%02x, EEPROM address bits %u, SCB status 0x%02x\n",
		(unsigned)(uint8_t)d->class_rev, addr_bits, rd8(e, SCB_STATUS));

	e->nif.name = model_name(d);
	e->nif.priv = e;
	e->nif.tx = eepro100_tx;
	e->nif.rx = eepro100_rx;
	e->nif.link_up = eepro100_link_up;
	return &e->nif;
}
