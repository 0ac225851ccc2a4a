// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Intel 82574L (e1000e) driver, polled: extended receive descriptors,
 * legacy transmit descriptors, no MSI-X (nothing here takes interrupts).
 *
 * The bring-up follows Linux's e1000e for the 82571 family: mask
 * interrupts, quiesce rx/tx, stop PCIe mastering, global reset, wait for
 * the NVM auto-read, take the MAC from the NVM through EERD (or RAL/RAH),
 * set link up, look at the PHY through MDIC, program the receive address
 * and multicast table, then the rings. Every register is in BAR0 (MMIO).
 * The register map is the e1000's, but EERD has another layout and the
 * receive ring uses the 82574's extended descriptors (RFCTL.EXSTEN).
 */
#include "arch.h"

#define REG_CTRL     0x0000
#define REG_STATUS   0x0008
#define REG_EECD     0x0010
#define REG_EERD     0x0014
#define REG_CTRL_EXT 0x0018
#define REG_MDIC     0x0020
#define REG_ICR	     0x00c0
#define REG_IMC	     0x00d8
#define REG_RCTL     0x0100
#define REG_TCTL     0x0400
#define REG_TIPG     0x0410
#define REG_RDBAL    0x2800
#define REG_RDBAH    0x2804
#define REG_RDLEN    0x2808
#define REG_RDH	     0x2810
#define REG_RDT	     0x2818
#define REG_TDBAL    0x3800
#define REG_TDBAH    0x3804
#define REG_TDLEN    0x3808
#define REG_TDH	     0x3810
#define REG_TDT	     0x3818
#define REG_RFCTL    0x5008
#define REG_MTA	     0x5200
#define REG_RAL0     0x5400
#define REG_RAH0     0x5404

#define CTRL_GIO_MASTER_DISABLE (1u << 2)
#define CTRL_ASDE		(1u << 5)
#define CTRL_SLU		(1u << 6)
#define CTRL_FRCSPD		(1u << 11)
#define CTRL_FRCDPLX		(1u << 12)
#define CTRL_RST		(1u << 26)
#define CTRL_PHY_RST		(1u << 31)
#define STATUS_LU		(1u << 1)
#define STATUS_GIO_MASTER_EN	(1u << 19)
#define EECD_AUTO_RD		(1u << 9)
#define CTRL_EXT_DRV_LOAD	(1u << 28)

/* The 82574's EERD: start bit 0, done bit 1, word address from bit 2. */
#define EERD_START	(1u << 0)
#define EERD_DONE	(1u << 1)
#define EERD_ADDR_SHIFT 2

#define MDIC_OP_READ	(2u << 26)
#define MDIC_READY	(1u << 28)
#define MDIC_ERROR	(1u << 30)
#define PHY_ADDR	1
#define PHY_STATUS	1
#define PHY_ID1		2
#define PHY_ID2		3
#define PHY_STATUS_LINK (1u << 2)

#define RCTL_EN	     (1u << 1)
#define RCTL_BAM     (1u << 15)
#define RCTL_SECRC   (1u << 26) /* BSIZE 00, BSEX 0: 2048-byte buffers */
#define RFCTL_EXSTEN (1u << 15)
#define TCTL_EN	     (1u << 1)
#define TCTL_PSP     (1u << 3)
#define TCTL_CT	     (0x0fu << 4)
#define TCTL_COLD    (0x3fu << 12)
#define TIPG_COPPER  (8u | 8u << 10 | 7u << 20)
#define RAH_AV	     (1u << 31)

#define TXD_CMD_EOP  0x01
#define TXD_CMD_IFCS 0x02
#define TXD_CMD_RS   0x08
#define TXD_STA_DD   0x01

/* Extended receive descriptor, write-back: status bits 0-19 and error
 * bits 20-31 share one word. */
#define RXD_STAT_DD   (1u << 0)
#define RXD_STAT_EOP  (1u << 1)
#define RXD_ERR_FRAME 0x97000000u /* CE SE SEQ CXE RXE */

#define RING_SIZE 64
#define BUF_SIZE  2048
#define FRAME_MAX 1514

union rx_desc {
	struct {
		uint64_t buffer;
		uint64_t zero;
	} read;
	struct {
		uint32_t mrq;
		uint32_t rss_or_csum;
		uint32_t status_error;
		uint16_t length;
		uint16_t vlan;
	} wb;
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

struct e1000e {
	struct netif nif;
	uintptr_t regs;
	volatile union rx_desc *rxd;
	volatile struct tx_desc *txd;
	uint8_t *rx_bufs, *tx_bufs;
	unsigned rx_next, tx_tail, tx_clean;
};

static uint32_t rd(const struct e1000e *e, uint32_t reg)
{
	return mmio_read32(e->regs + reg);
}

static void wr(const struct e1000e *e, uint32_t reg, uint32_t v)
{
	mmio_write32(e->regs + reg, v);
}

static bool wait_bits(const struct e1000e *e, uint32_t reg, uint32_t mask, uint32_t want,
		      uint32_t timeout_us)
{
	uint64_t deadline = now_us() + timeout_us;

	while ((rd(e, reg) & mask) != want) {
		if (now_us() > deadline)
			return false;
	}
	return true;
}

static bool nvm_read(const struct e1000e *e, uint16_t addr, uint16_t *out)
{
	uint32_t v;
	if (!mmio_cmd_poll32(e->regs + REG_EERD, (uint32_t)addr << EERD_ADDR_SHIFT | EERD_START, EERD_DONE,
			     10000, &v))
		return false;
	*out = (uint16_t)(v >> 16);
	return true;
}

static bool phy_read(const struct e1000e *e, uint8_t reg, uint16_t *out)
{
	uint32_t v;
	if (!mmio_cmd_poll32(e->regs + REG_MDIC,
			     (uint32_t)reg << 16 | (uint32_t)PHY_ADDR << 21 | MDIC_OP_READ, MDIC_READY,
			     10000, &v))
		return false;
	*out = (uint16_t)v;
	return !(v & MDIC_ERROR);
}

static void read_mac(struct e1000e *e)
{
	uint8_t *mac = e->nif.mac;
	bool ok = true;

	for (uint16_t i = 0; i < 3 && ok; i++) {
		uint16_t w = 0;
		ok = nvm_read(e, i, &w);
		mac[2 * i] = (uint8_t)w;
		mac[2 * i + 1] = (uint8_t)(w >> 8);
	}
	if (ok && mac_valid(mac))
		return;
	mac_from_ral_rah(rd(e, REG_RAL0), rd(e, REG_RAH0), mac);
	kprintf("e1000e: no NVM MAC, using RAL/RAH\n");
}

static void rx_give(struct e1000e *e, unsigned i)
{
	e->rxd[i].read.buffer = (uintptr_t)(e->rx_bufs + (size_t)i * BUF_SIZE);
	e->rxd[i].read.zero = 0;
}

static int e1000e_tx(struct netif *nif, const void *frame, size_t len)
{
	struct e1000e *e = nif->priv;

	if (len > FRAME_MAX)
		return -1;
	while (e->tx_clean != e->tx_tail && (e->txd[e->tx_clean].status & TXD_STA_DD))
		e->tx_clean = (e->tx_clean + 1) % RING_SIZE;
	if ((e->tx_tail + 1) % RING_SIZE == e->tx_clean)
		return -1;
	unsigned i = e->tx_tail;
	memcpy(e->tx_bufs + (size_t)i * BUF_SIZE, frame, len);
	e->txd[i].addr = (uintptr_t)(e->tx_bufs + (size_t)i * BUF_SIZE);
	e->txd[i].length = (uint16_t)len;
	e->txd[i].cso = 0;
	e->txd[i].css = 0;
	e->txd[i].special = 0;
	e->txd[i].cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
	e->txd[i].status = 0;
	barrier();
	e->tx_tail = (i + 1) % RING_SIZE;
	wr(e, REG_TDT, e->tx_tail);
	nif->tx_frames++;
	return 0;
}

static size_t e1000e_rx(struct netif *nif, void *out, size_t cap)
{
	struct e1000e *e = nif->priv;

	for (;;) {
		volatile union rx_desc *d = &e->rxd[e->rx_next];
		uint32_t se = d->wb.status_error;
		if (!(se & RXD_STAT_DD))
			return 0;
		barrier();
		size_t len = d->wb.length, n = 0;
		if ((se & RXD_STAT_EOP) && !(se & RXD_ERR_FRAME) && len <= BUF_SIZE && len <= cap) {
			memcpy(out, e->rx_bufs + (size_t)e->rx_next * BUF_SIZE, len);
			n = len;
		}
		rx_give(e, e->rx_next);
		barrier();
		wr(e, REG_RDT, e->rx_next);
		e->rx_next = (e->rx_next + 1) % RING_SIZE;
		if (n) {
			nif->rx_frames++;
			return n;
		}
		nif->rx_dropped++;
	}
}

static bool e1000e_link_up(struct netif *nif)
{
	struct e1000e *e = nif->priv;

	return rd(e, REG_STATUS) & STATUS_LU;
}

struct netif *e1000e_probe(struct pci_dev *d)
{
	static struct e1000e store;
	struct e1000e *e = &store;

	memset(e, 0, sizeof(*e));
	if (d->bar[0].kind != PCI_BAR_MEM32 && d->bar[0].kind != PCI_BAR_MEM64) {
		kprintf("e1000e: BAR0 is not a memory BAR\n");
		return NULL;
	}
	if (!d->bar[0].addr || d->bar[0].size < 0x20000) {
		kprintf("e1000e: BAR0 unassigned or too small\n");
		return NULL;
	}
	e->regs = (uintptr_t)d->bar[0].addr;
	pci_enable(d);

	wr(e, REG_IMC, 0xffffffffu);
	wr(e, REG_RCTL, 0);
	wr(e, REG_TCTL, TCTL_PSP);
	(void)rd(e, REG_STATUS);
	udelay(10000);

	/* No DMA may be in flight across the reset. */
	wr(e, REG_CTRL, rd(e, REG_CTRL) | CTRL_GIO_MASTER_DISABLE);
	if (!wait_bits(e, REG_STATUS, STATUS_GIO_MASTER_EN, 0, 10000))
		kprintf("e1000e: PCIe master does not stop, resetting anyway\n");
	wr(e, REG_CTRL, rd(e, REG_CTRL) | CTRL_RST);
	udelay(5000);
	if (!wait_bits(e, REG_CTRL, CTRL_RST, 0, 100000)) {
		kprintf("e1000e: reset does not complete\n");
		return NULL;
	}
	if (!wait_bits(e, REG_EECD, EECD_AUTO_RD, EECD_AUTO_RD, 100000))
		kprintf("e1000e: NVM auto-read not done, going on\n");
	wr(e, REG_IMC, 0xffffffffu);
	(void)rd(e, REG_ICR);
	wr(e, REG_CTRL_EXT, rd(e, REG_CTRL_EXT) | CTRL_EXT_DRV_LOAD);

	read_mac(e);

	uint32_t ctrl = rd(e, REG_CTRL);
	ctrl |= CTRL_SLU | CTRL_ASDE;
	ctrl &= ~(CTRL_FRCSPD | CTRL_FRCDPLX | CTRL_PHY_RST | CTRL_GIO_MASTER_DISABLE);
	wr(e, REG_CTRL, ctrl);

	uint16_t id1 = 0, id2 = 0, phy_status = 0;
	if (phy_read(e, PHY_ID1, &id1) && phy_read(e, PHY_ID2, &id2) &&
	    phy_read(e, PHY_STATUS, &phy_status))
		kprintf("e1000e: phy id %04x:%04x link %s\n", id1, id2,
			phy_status & PHY_STATUS_LINK ? "up" : "down");
	else
		kprintf("e1000e: PHY does not answer on MDIC\n");

	wr(e, REG_RAL0,
	   (uint32_t)e->nif.mac[0] | (uint32_t)e->nif.mac[1] << 8 | (uint32_t)e->nif.mac[2] << 16 |
	       (uint32_t)e->nif.mac[3] << 24);
	wr(e, REG_RAH0, (uint32_t)e->nif.mac[4] | (uint32_t)e->nif.mac[5] << 8 | RAH_AV);
	for (uint32_t i = 0; i < 128; i++)
		wr(e, REG_MTA + 4 * i, 0);

	e->rxd = dma_alloc(RING_SIZE * sizeof(union rx_desc), 4096);
	e->txd = dma_alloc(RING_SIZE * sizeof(struct tx_desc), 4096);
	e->rx_bufs = dma_alloc(RING_SIZE * BUF_SIZE, 4096);
	e->tx_bufs = dma_alloc(RING_SIZE * BUF_SIZE, 4096);
	if (!e->rxd || !e->txd || !e->rx_bufs || !e->tx_bufs) {
		kprintf("e1000e: out of memory for the rings\n");
		return NULL;
	}
	for (unsigned i = 0; i < RING_SIZE; i++) {
		rx_give(e, i);
		e->txd[i].status = TXD_STA_DD;
	}

	wr(e, REG_RFCTL, rd(e, REG_RFCTL) | RFCTL_EXSTEN);
	wr(e, REG_RDBAL, (uint32_t)(uintptr_t)e->rxd);
	wr(e, REG_RDBAH, 0);
	wr(e, REG_RDLEN, RING_SIZE * sizeof(union rx_desc));
	wr(e, REG_RDH, 0);
	wr(e, REG_RDT, RING_SIZE - 1);
	wr(e, REG_RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);

	wr(e, REG_TDBAL, (uint32_t)(uintptr_t)e->txd);
	wr(e, REG_TDBAH, 0);
	wr(e, REG_TDLEN, RING_SIZE * sizeof(struct tx_desc));
	wr(e, REG_TDH, 0);
	wr(e, REG_TDT, 0);
	wr(e, REG_TIPG, TIPG_COPPER);
	wr(e, REG_TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD);
	(void)rd(e, REG_ICR);

	e->nif.name = "e1000e";
	e->nif.priv = e;
	e->nif.tx = e1000e_tx;
	e->nif.rx = e1000e_rx;
	e->nif.link_up = e1000e_link_up;
	return &e->nif;
}
