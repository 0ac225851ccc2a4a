// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Intel 8254x (e1000) driver, polled, with legacy descriptors.
 *
 * The bring-up follows the order Linux's e1000 uses for the 82540 family:
 * mask interrupts, quiesce rx/tx, global reset, read the MAC from the
 * EEPROM, force link up through CTRL.SLU, look at the PHY, program the
 * receive address and multicast table, then the rings. Every register is
 * in BAR0 (MMIO).
 */
#include "arch.h"

#define E1000_CTRL   0x0000
#define E1000_STATUS 0x0008
#define E1000_EERD   0x0014
#define E1000_MDIC   0x0020
#define E1000_ICR    0x00c0
#define E1000_IMC    0x00d8
#define E1000_RCTL   0x0100
#define E1000_TCTL   0x0400
#define E1000_TIPG   0x0410
#define E1000_RDBAL  0x2800
#define E1000_RDBAH  0x2804
#define E1000_RDLEN  0x2808
#define E1000_RDH    0x2810
#define E1000_RDT    0x2818
#define E1000_TDBAL  0x3800
#define E1000_TDBAH  0x3804
#define E1000_TDLEN  0x3808
#define E1000_TDH    0x3810
#define E1000_TDT    0x3818
#define E1000_MTA    0x5200
#define E1000_RAL0   0x5400
#define E1000_RAH0   0x5404

#define CTRL_ASDE    (1u << 5)
#define CTRL_SLU     (1u << 6)
#define CTRL_ILOS    (1u << 7)
#define CTRL_FRCSPD  (1u << 11)
#define CTRL_FRCDPLX (1u << 12)
#define CTRL_RST     (1u << 26)
#define CTRL_PHY_RST (1u << 31)
#define STATUS_LU    (1u << 1)

#define EERD_START (1u << 0)
#define EERD_DONE  (1u << 4)

#define MDIC_OP_READ	(2u << 26)
#define MDIC_READY	(1u << 28)
#define MDIC_ERROR	(1u << 30)
#define PHY_ADDR	1
#define PHY_STATUS	1
#define PHY_ID1		2
#define PHY_ID2		3
#define PHY_STATUS_LINK (1u << 2)

#define RCTL_EN	    (1u << 1)
#define RCTL_BAM    (1u << 15)
#define RCTL_SECRC  (1u << 26) /* BSIZE bits 0 with BSEX 0: 2048-byte buffers */
#define TCTL_EN	    (1u << 1)
#define TCTL_PSP    (1u << 3)
#define TCTL_CT	    (0x0fu << 4)
#define TCTL_COLD   (0x40u << 12) /* full duplex */
#define TIPG_COPPER (8u | 8u << 10 | 6u << 20)
#define RAH_AV	    (1u << 31)

#define TXD_CMD_EOP  0x01
#define TXD_CMD_IFCS 0x02
#define TXD_CMD_RS   0x08
#define DESC_DD	     0x01
#define RXD_EOP	     0x02

#define RING_SIZE 64 /* a multiple of 8: rings are sized in 128-byte units */
#define BUF_SIZE  2048
#define FRAME_MAX 1514

struct rx_desc {
	uint64_t addr;
	uint16_t length;
	uint16_t csum;
	uint8_t status;
	uint8_t errors;
	uint16_t special;
};

struct tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
};

struct e1000 {
	struct netif nif;
	uintptr_t regs;
	volatile struct rx_desc *rxd;
	volatile struct tx_desc *txd;
	uint8_t *rx_bufs, *tx_bufs;
	unsigned rx_next, tx_tail, tx_clean;
};

static uint32_t rd(const struct e1000 *e, uint32_t reg)
{
	return mmio_read32(e->regs + reg);
}

static void wr(const struct e1000 *e, uint32_t reg, uint32_t v)
{
	mmio_write32(e->regs + reg, v);
}

/* One EEPROM word through EERD; false when the read never completes. */
static bool eeprom_read(const struct e1000 *e, uint8_t addr, uint16_t *out)
{
	wr(e, E1000_EERD, (uint32_t)addr << 8 | EERD_START);
	uint64_t deadline = now_us() + 10000;
	for (;;) {
		uint32_t v = rd(e, E1000_EERD);
		if (v & EERD_DONE) {
			*out = (uint16_t)(v >> 16);
			return true;
		}
		if (now_us() > deadline)
			return false;
	}
}

static bool phy_read(const struct e1000 *e, uint8_t reg, uint16_t *out)
{
	wr(e, E1000_MDIC, (uint32_t)reg << 16 | (uint32_t)PHY_ADDR << 21 | MDIC_OP_READ);
	uint64_t deadline = now_us() + 10000;
	for (;;) {
		uint32_t v = rd(e, E1000_MDIC);
		if (v & MDIC_READY) {
			*out = (uint16_t)v;
			return !(v & MDIC_ERROR);
		}
		if (now_us() > deadline)
			return false;
	}
}

static bool mac_valid(const uint8_t *mac)
{
	static const uint8_t zero[6], ones[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	return memcmp(mac, zero, 6) && memcmp(mac, ones, 6) && !(mac[0] & 1);
}

static void read_mac(struct e1000 *e)
{
	uint8_t *mac = e->nif.mac;
	bool ok = true;

	for (uint8_t i = 0; i < 3 && ok; i++) {
		uint16_t w = 0;
		ok = eeprom_read(e, i, &w);
		mac[2 * i] = (uint8_t)w;
		mac[2 * i + 1] = (uint8_t)(w >> 8);
	}
	if (ok && mac_valid(mac))
		return;
	/* No EEPROM answer: whatever the receive address register holds. */
	uint32_t lo = rd(e, E1000_RAL0), hi = rd(e, E1000_RAH0);
	for (int i = 0; i < 4; i++)
		mac[i] = (uint8_t)(lo >> (8 * i));
	mac[4] = (uint8_t)hi;
	mac[5] = (uint8_t)(hi >> 8);
	kprintf("e1000: no EEPROM MAC, using RAL/RAH\n");
}

static void reclaim_tx(struct e1000 *e)
{
	while (e->tx_clean != e->tx_tail && (e->txd[e->tx_clean].status & DESC_DD))
		e->tx_clean = (e->tx_clean + 1) % RING_SIZE;
}

static int e1000_tx(struct netif *nif, const void *frame, size_t len)
{
	struct e1000 *e = nif->priv;

	if (len > FRAME_MAX)
		return -1;
	reclaim_tx(e);
	/* One slot stays empty: TDT == TDH means "nothing queued". */
	if ((e->tx_tail + 1) % RING_SIZE == e->tx_clean)
		return -1;
	unsigned i = e->tx_tail;
	memcpy(e->tx_bufs + (size_t)i * BUF_SIZE, frame, len);
	e->txd[i].length = (uint16_t)len;
	e->txd[i].cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
	e->txd[i].status = 0;
	barrier();
	e->tx_tail = (i + 1) % RING_SIZE;
	wr(e, E1000_TDT, e->tx_tail);
	nif->tx_frames++;
	return 0;
}

static size_t e1000_rx(struct netif *nif, void *out, size_t cap)
{
	struct e1000 *e = nif->priv;

	for (;;) {
		volatile struct rx_desc *d = &e->rxd[e->rx_next];
		uint8_t status = d->status;
		if (!(status & DESC_DD))
			return 0;
		barrier();
		size_t len = d->length;
		size_t n = 0;
		/* Frames spanning buffers (no EOP) or with errors are dropped. */
		if ((status & RXD_EOP) && !d->errors && len <= BUF_SIZE && len <= cap) {
			memcpy(out, e->rx_bufs + (size_t)e->rx_next * BUF_SIZE, len);
			n = len;
		}
		d->status = 0;
		barrier();
		wr(e, E1000_RDT, e->rx_next);
		e->rx_next = (e->rx_next + 1) % RING_SIZE;
		if (n) {
			nif->rx_frames++;
			return n;
		}
		nif->rx_dropped++;
	}
}

static bool e1000_link_up(struct netif *nif)
{
	struct e1000 *e = nif->priv;

	return rd(e, E1000_STATUS) & STATUS_LU;
}

struct netif *e1000_probe(struct pci_dev *d)
{
	static struct e1000 store;
	struct e1000 *e = &store;

	memset(e, 0, sizeof(*e));
	if (d->bar[0].kind != PCI_BAR_MEM32 && d->bar[0].kind != PCI_BAR_MEM64) {
		kprintf("e1000: BAR0 is not a memory BAR\n");
		return NULL;
	}
	if (!d->bar[0].addr || d->bar[0].size < 0x20000) {
		kprintf("e1000: BAR0 unassigned or too small\n");
		return NULL;
	}
	e->regs = (uintptr_t)d->bar[0].addr;
	pci_enable(d);

	wr(e, E1000_IMC, 0xffffffffu);
	wr(e, E1000_RCTL, 0);
	wr(e, E1000_TCTL, TCTL_PSP);
	(void)rd(e, E1000_STATUS); /* flush */
	udelay(10000);

	wr(e, E1000_CTRL, rd(e, E1000_CTRL) | CTRL_RST);
	udelay(5000);
	uint64_t deadline = now_us() + 100000;
	while (rd(e, E1000_CTRL) & CTRL_RST) {
		if (now_us() > deadline) {
			kprintf("e1000: reset does not complete\n");
			return NULL;
		}
	}
	wr(e, E1000_IMC, 0xffffffffu);
	(void)rd(e, E1000_ICR);

	read_mac(e);

	uint32_t ctrl = rd(e, E1000_CTRL);
	ctrl |= CTRL_SLU | CTRL_ASDE;
	ctrl &= ~(CTRL_FRCSPD | CTRL_FRCDPLX | CTRL_ILOS | CTRL_PHY_RST);
	wr(e, E1000_CTRL, ctrl);

	uint16_t id1 = 0, id2 = 0, phy_status = 0;
	if (phy_read(e, PHY_ID1, &id1) && phy_read(e, PHY_ID2, &id2) &&
	    phy_read(e, PHY_STATUS, &phy_status))
		kprintf("e1000: phy id %04x:%04x link %s\n", id1, id2,
			phy_status & PHY_STATUS_LINK ? "up" : "down");
	else
		kprintf("e1000: PHY does not answer on MDIC\n");

	wr(e, E1000_RAL0,
	   (uint32_t)e->nif.mac[0] | (uint32_t)e->nif.mac[1] << 8 | (uint32_t)e->nif.mac[2] << 16 |
	       (uint32_t)e->nif.mac[3] << 24);
	wr(e, E1000_RAH0, (uint32_t)e->nif.mac[4] | (uint32_t)e->nif.mac[5] << 8 | RAH_AV);
	for (uint32_t i = 0; i < 128; i++)
		wr(e, E1000_MTA + 4 * i, 0);

	e->rxd = dma_alloc(RING_SIZE * sizeof(struct rx_desc), 4096);
	e->txd = dma_alloc(RING_SIZE * sizeof(struct tx_desc), 4096);
	e->rx_bufs = dma_alloc(RING_SIZE * BUF_SIZE, 4096);
	e->tx_bufs = dma_alloc(RING_SIZE * BUF_SIZE, 4096);
	if (!e->rxd || !e->txd || !e->rx_bufs || !e->tx_bufs) {
		kprintf("e1000: out of memory for the rings\n");
		return NULL;
	}
	for (unsigned i = 0; i < RING_SIZE; i++) {
		e->rxd[i].addr = (uintptr_t)(e->rx_bufs + (size_t)i * BUF_SIZE);
		e->txd[i].addr = (uintptr_t)(e->tx_bufs + (size_t)i * BUF_SIZE);
		e->txd[i].status = DESC_DD;
	}

	wr(e, E1000_RDBAL, (uint32_t)(uintptr_t)e->rxd);
	wr(e, E1000_RDBAH, 0);
	wr(e, E1000_RDLEN, RING_SIZE * sizeof(struct rx_desc));
	wr(e, E1000_RDH, 0);
	wr(e, E1000_RDT, RING_SIZE - 1);
	wr(e, E1000_RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);

	wr(e, E1000_TDBAL, (uint32_t)(uintptr_t)e->txd);
	wr(e, E1000_TDBAH, 0);
	wr(e, E1000_TDLEN, RING_SIZE * sizeof(struct tx_desc));
	wr(e, E1000_TDH, 0);
	wr(e, E1000_TDT, 0);
	wr(e, E1000_TIPG, TIPG_COPPER);
	wr(e, E1000_TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);
	(void)rd(e, E1000_ICR);

	e->nif.name = "e1000";
	e->nif.priv = e;
	e->nif.tx = e1000_tx;
	e->nif.rx = e1000_rx;
	e->nif.link_up = e1000_link_up;
	return &e->nif;
}
