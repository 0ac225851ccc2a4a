// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Intel 8254x (e1000) driver, polled, with legacy descriptors, and the
 * family core (e1000.h) the e1000e driver shares with it.
 *
 * The bring-up follows the order Linux's e1000 uses for the 82540 family:
 * mask interrupts, quiesce rx/tx, global reset, read the MAC from the
 * EEPROM, force link up through CTRL.SLU, look at the PHY, program the
 * receive address and multicast table, then the rings. Every register is
 * in BAR0 (MMIO).
 *
 * Besides plain frames it offers the card's offloads to the scenarios:
 * TCP segmentation and checksum insertion, both through a context
 * descriptor followed by extended data descriptors (QEMU ignores the
 * legacy descriptor's checksum fields).
 */
#include "e1000.h"

#define CTRL_ASDE    (1u << 5)
#define CTRL_SLU     (1u << 6)
#define CTRL_ILOS    (1u << 7)
#define CTRL_FRCSPD  (1u << 11)
#define CTRL_FRCDPLX (1u << 12)
#define CTRL_RST     (1u << 26)
#define CTRL_PHY_RST (1u << 31)
#define STATUS_LU    (1u << 1)

#define EERD_START (1u << 0)

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
#define RCTL_SECRC   (1u << 26) /* BSIZE bits 0 with BSEX 0: 2048-byte buffers */
#define RFCTL_EXSTEN (1u << 15)
#define TCTL_EN	     (1u << 1)
#define TCTL_PSP     (1u << 3)
#define TCTL_CT	     (0x0fu << 4)
#define RAH_AV	     (1u << 31)

#define TXD_CMD_EOP  0x01
#define TXD_CMD_IFCS 0x02
#define TXD_CMD_RS   0x08
#define DESC_DD	     0x01
#define RXD_EOP	     0x02

/* Extended receive descriptor, write-back: status bits 0-19 and error
 * bits 20-31 share one word. */
#define RXD_STAT_DD   (1u << 0)
#define RXD_STAT_EOP  (1u << 1)
#define RXD_ERR_FRAME 0x97000000u /* CE SE SEQ CXE RXE */

#define RING_SIZE 64 /* a multiple of 8: rings are sized in 128-byte units */
#define BUF_SIZE  2048
#define FRAME_MAX 1514

/* Both formats are 16 bytes and start with the buffer address when the
 * driver hands them to the card. */
union e1000_rx_desc {
	struct {
		uint64_t addr;
		uint16_t length;
		uint16_t csum;
		uint8_t status;
		uint8_t errors;
		uint16_t special;
	} legacy;
	struct {
		uint64_t buffer;
		uint64_t zero;
	} read; /* extended, as given to the card */
	struct {
		uint32_t mrq;
		uint32_t rss_or_csum;
		uint32_t status_error;
		uint16_t length;
		uint16_t vlan;
	} wb; /* extended, as written back */
};

struct e1000_tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
};

/* The 82540 (and the 82544 and 82545, which this driver also takes), as
 * far as the family core goes. */
static const struct e1000_model e1000_model = {
    .name = "e1000",
    .nvm = "EEPROM",
    /* EERD: START bit 0, DONE bit 4, word address from bit 8 */
    .eerd_addr_shift = 8,
    .eerd_done = 1u << 4,
    .ctrl_clear = CTRL_ILOS,
    .tctl_cold = 0x40u << 12, /* full duplex */
    .tipg = 8u | 8u << 10 | 6u << 20,
    .extended_rx = false,
};

bool e1000_wait_bits(const struct e1000_nic *e, uint32_t reg, uint32_t mask, uint32_t want,
		     uint32_t timeout_us)
{
	uint64_t deadline = now_us() + timeout_us;

	while ((e1000_rd(e, reg) & mask) != want) {
		if (now_us() > deadline)
			return false;
	}
	return true;
}

/* One EEPROM/NVM word through EERD; false when the read never completes. */
static bool eeprom_read(const struct e1000_nic *e, uint16_t addr, uint16_t *out)
{
	uint32_t v;
	if (!mmio_cmd_poll32(e->regs + E1000_EERD,
			     (uint32_t)addr << e->model->eerd_addr_shift | EERD_START,
			     e->model->eerd_done, 10000, &v))
		return false;
	*out = (uint16_t)(v >> 16);
	return true;
}

static bool phy_read(const struct e1000_nic *e, uint8_t reg, uint16_t *out)
{
	uint32_t v;
	if (!mmio_cmd_poll32(e->regs + E1000_MDIC,
			     (uint32_t)reg << 16 | (uint32_t)PHY_ADDR << 21 | MDIC_OP_READ, MDIC_READY,
			     10000, &v))
		return false;
	*out = (uint16_t)v;
	return !(v & MDIC_ERROR);
}

static void read_mac(struct e1000_nic *e)
{
	uint8_t *mac = e->nif.mac;
	bool ok = true;

	for (uint16_t i = 0; i < 3 && ok; i++) {
		uint16_t w = 0;
		ok = eeprom_read(e, i, &w);
		mac[2 * i] = (uint8_t)w;
		mac[2 * i + 1] = (uint8_t)(w >> 8);
	}
	if (ok && mac_valid(mac))
		return;
	/* No EEPROM answer: whatever the receive address register holds. */
	mac_from_ral_rah(e1000_rd(e, E1000_RAL0), e1000_rd(e, E1000_RAH0), mac);
	kprintf("%s: no %s MAC, using RAL/RAH\n", e->model->name, e->model->nvm);
}

static void reclaim_tx(struct e1000_nic *e)
{
	while (e->tx_clean != e->tx_tail && (e->txd[e->tx_clean].status & DESC_DD))
		e->tx_clean = (e->tx_clean + 1) % RING_SIZE;
}

static int ring_tx(struct netif *nif, const void *frame, size_t len)
{
	struct e1000_nic *e = nif->priv;

	if (len > FRAME_MAX)
		return -1;
	reclaim_tx(e);
	/* One slot stays empty: TDT == TDH means "nothing queued". */
	if ((e->tx_tail + 1) % RING_SIZE == e->tx_clean)
		return -1;
	unsigned i = e->tx_tail;
	memcpy(e->tx_bufs + (size_t)i * BUF_SIZE, frame, len);
	/* The e1000's offloads put other descriptor kinds in the ring: every
	 * field is written again. */
	e->txd[i].addr = (uintptr_t)(e->tx_bufs + (size_t)i * BUF_SIZE);
	e->txd[i].length = (uint16_t)len;
	e->txd[i].cso = 0;
	e->txd[i].css = 0;
	e->txd[i].special = 0;
	e->txd[i].cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
	e->txd[i].status = 0;
	barrier();
	e->tx_tail = (i + 1) % RING_SIZE;
	e1000_wr(e, E1000_TDT, e->tx_tail);
	nif->tx_frames++;
	return 0;
}

/* ---- offloads: context descriptors and extended data descriptors ---- */

#define DTYP_CONTEXT 0x0u
#define DTYP_DATA    0x1u
#define TUCMD_TCP    0x01 /* the L4 protocol is TCP */
#define TUCMD_IP     0x02 /* IPv4 */
#define TUCMD_TSE    0x04 /* segmentation */
#define TUCMD_RS     0x08
#define TUCMD_DEXT   0x20
#define DCMD_EOP     0x01
#define DCMD_IFCS    0x02
#define DCMD_TSE     0x04
#define DCMD_RS	     0x08
#define DCMD_DEXT    0x20
#define POPTS_IXSM   0x01 /* insert the IPv4 header checksum */
#define POPTS_TXSM   0x02 /* insert the TCP/UDP checksum */
#define TSO_CHUNK    4096 /* payload bytes per data descriptor */

/* Both descriptor kinds as four little-endian words. */
static void put_desc(struct e1000_nic *e, unsigned i, uint32_t w0, uint32_t w1, uint32_t w2,
		     uint32_t w3)
{
	volatile uint32_t *w = (volatile uint32_t *)&e->txd[i];

	w[0] = w0;
	w[1] = w1;
	w[3] = w3; /* status (DD) cleared before the command word */
	w[2] = w2;
}

/* Waits until 'n' descriptors are free (one slot always stays empty). */
static bool tx_room(struct e1000_nic *e, unsigned n)
{
	uint64_t deadline = now_us() + 200000;

	for (;;) {
		reclaim_tx(e);
		unsigned used = (e->tx_tail + RING_SIZE - e->tx_clean) % RING_SIZE;
		if (used + n < RING_SIZE)
			return true;
		if (now_us() > deadline)
			return false;
	}
}

static bool tx_wait_done(struct e1000_nic *e, unsigned last)
{
	uint64_t deadline = now_us() + 1000000;

	while (!(e->txd[last].status & DESC_DD)) {
		if (now_us() > deadline)
			return false;
	}
	reclaim_tx(e);
	return true;
}

/* The IPv4 header of an Ethernet frame: its length, 0 when it is none. */
static size_t ipv4_hlen(const uint8_t *frame, size_t len)
{
	if (len < 14 + 20 || frame[12] != 0x08 || frame[13] != 0x00 || frame[14] >> 4 != 4)
		return 0;
	size_t ihl = (size_t)(frame[14] & 0x0f) * 4;
	return ihl >= 20 && 14 + ihl <= len ? ihl : 0;
}

static uint32_t ctx_w0(size_t ihl)
{
	/* IPCSS, IPCSO (the checksum field), IPCSE (last header byte) */
	return 14u | (14u + 10u) << 8 | (uint32_t)(14 + ihl - 1) << 16;
}

/* The card behind 'nif' when it is an e1000: not an e1000e, whose rings
 * the family code also runs, nor a filter in front of the card. */
static struct e1000_nic *offload_card(struct netif *nif)
{
	if (nif->tx != ring_tx)
		return NULL;
	struct e1000_nic *e = nif->priv;
	return e->model == &e1000_model ? e : NULL;
}

int e1000_tx_csum(struct netif *nif, const uint8_t *frame, size_t len, size_t l4_off,
		  size_t l4_csum_off)
{
	struct e1000_nic *e = offload_card(nif);
	if (!e || len > FRAME_MAX)
		return -1;
	size_t ihl = ipv4_hlen(frame, len);
	if (!ihl || l4_off != 14 + ihl || l4_csum_off + 2 > len || l4_off > 255 ||
	    l4_csum_off > 255)
		return -1;
	if (!tx_room(e, 2))
		return -1;

	unsigned c = e->tx_tail, d = (c + 1) % RING_SIZE;
	uint8_t *buf = e->tx_bufs + (size_t)d * BUF_SIZE;
	memcpy(buf, frame, len);
	put_desc(
	    e, c, ctx_w0(ihl), (uint32_t)l4_off | (uint32_t)l4_csum_off << 8,
	    DTYP_CONTEXT << 20 | (uint32_t)(TUCMD_DEXT | TUCMD_RS | TUCMD_IP | TUCMD_TCP) << 24, 0);
	put_desc(e, d, (uint32_t)(uintptr_t)buf, 0,
		 (uint32_t)len | DTYP_DATA << 20 |
		     (uint32_t)(DCMD_DEXT | DCMD_IFCS | DCMD_EOP | DCMD_RS) << 24,
		 (uint32_t)(POPTS_IXSM | POPTS_TXSM) << 8);
	barrier();
	e->tx_tail = (d + 1) % RING_SIZE;
	e1000_wr(e, E1000_TDT, e->tx_tail);
	nif->tx_frames++;
	return 0;
}

int e1000_tx_tso(struct netif *nif, const uint8_t *hdr, size_t hlen, const uint8_t *payload,
		 size_t plen, uint16_t mss)
{
	struct e1000_nic *e = offload_card(nif);
	if (!e)
		return -1;
	size_t ihl = ipv4_hlen(hdr, hlen);
	/* HDRLEN is 8 bits, PAYLEN 20; the TCP header follows the IP one. */
	if (!ihl || hlen > 255 || hlen < 14 + ihl + 20 || !plen || plen > 0xfffff || !mss ||
	    mss + hlen > FRAME_MAX)
		return -1;
	unsigned chunks = (unsigned)((plen + TSO_CHUNK - 1) / TSO_CHUNK);
	if (chunks + 2 >= RING_SIZE || !tx_room(e, chunks + 2))
		return -1;

	size_t l4 = 14 + ihl;
	unsigned i = e->tx_tail;
	put_desc(e, i, ctx_w0(ihl), (uint32_t)l4 | (uint32_t)(l4 + 16) << 8,
		 (uint32_t)plen | DTYP_CONTEXT << 20 |
		     (uint32_t)(TUCMD_DEXT | TUCMD_RS | TUCMD_TSE | TUCMD_IP | TUCMD_TCP) << 24,
		 (uint32_t)hlen << 8 | (uint32_t)mss << 16);
	const uint32_t dcmd = DCMD_DEXT | DCMD_TSE | DCMD_IFCS | DCMD_RS;
	const uint32_t popts = (uint32_t)(POPTS_IXSM | POPTS_TXSM) << 8;

	/* The header from a ring buffer, the payload straight from memory. */
	i = (i + 1) % RING_SIZE;
	uint8_t *buf = e->tx_bufs + (size_t)i * BUF_SIZE;
	memcpy(buf, hdr, hlen);
	put_desc(e, i, (uint32_t)(uintptr_t)buf, 0, (uint32_t)hlen | DTYP_DATA << 20 | dcmd << 24,
		 popts);
	for (size_t off = 0; off < plen; off += TSO_CHUNK) {
		size_t n = plen - off < TSO_CHUNK ? plen - off : TSO_CHUNK;
		uint32_t cmd = dcmd | (off + n == plen ? DCMD_EOP : 0);
		i = (i + 1) % RING_SIZE;
		put_desc(e, i, (uint32_t)(uintptr_t)(payload + off), 0,
			 (uint32_t)n | DTYP_DATA << 20 | cmd << 24, popts);
	}
	barrier();
	e->tx_tail = (i + 1) % RING_SIZE;
	e1000_wr(e, E1000_TDT, e->tx_tail);
	nif->tx_frames++;
	/* The payload is the caller's memory: hold on until it is read. */
	return tx_wait_done(e, i) ? 0 : -1;
}

/* Whether the card wrote descriptor 'd' back; then the frame's length and
 * whether it is whole and without errors. */
static bool rx_written_back(const struct e1000_nic *e, volatile union e1000_rx_desc *d, size_t *len,
			    bool *good)
{
	if (e->model->extended_rx) {
		uint32_t se = d->wb.status_error;
		if (!(se & RXD_STAT_DD))
			return false;
		barrier();
		*len = d->wb.length;
		*good = (se & RXD_STAT_EOP) && !(se & RXD_ERR_FRAME);
		return true;
	}
	uint8_t status = d->legacy.status;
	if (!(status & DESC_DD))
		return false;
	barrier();
	*len = d->legacy.length;
	*good = (status & RXD_EOP) && !d->legacy.errors;
	return true;
}

static void rx_give(struct e1000_nic *e, unsigned i)
{
	e->rxd[i].read.buffer = (uintptr_t)(e->rx_bufs + (size_t)i * BUF_SIZE);
	e->rxd[i].read.zero = 0;
}

/* A written-back descriptor goes back to the card: the extended write-back
 * overwrote the buffer address, the legacy one only the status. */
static void rx_recycle(struct e1000_nic *e, unsigned i)
{
	if (e->model->extended_rx)
		rx_give(e, i);
	else
		e->rxd[i].legacy.status = 0;
}

static size_t ring_rx(struct netif *nif, void *out, size_t cap)
{
	struct e1000_nic *e = nif->priv;

	for (;;) {
		size_t len, n = 0;
		bool good;
		if (!rx_written_back(e, &e->rxd[e->rx_next], &len, &good))
			return 0;
		/* Frames spanning buffers (no EOP) or with errors are dropped. */
		if (good && len <= BUF_SIZE && len <= cap) {
			memcpy(out, e->rx_bufs + (size_t)e->rx_next * BUF_SIZE, len);
			n = len;
		}
		rx_recycle(e, e->rx_next);
		barrier();
		e1000_wr(e, E1000_RDT, e->rx_next);
		e->rx_next = (e->rx_next + 1) % RING_SIZE;
		if (n) {
			nif->rx_frames++;
			return n;
		}
		nif->rx_dropped++;
	}
}

static bool ring_link_up(struct netif *nif)
{
	struct e1000_nic *e = nif->priv;

	return e1000_rd(e, E1000_STATUS) & STATUS_LU;
}

bool e1000_open(struct e1000_nic *e, struct pci_dev *d, const struct e1000_model *model)
{
	memset(e, 0, sizeof(*e));
	e->model = model;
	if (d->bar[0].kind != PCI_BAR_MEM32 && d->bar[0].kind != PCI_BAR_MEM64) {
		kprintf("%s: BAR0 is not a memory BAR\n", model->name);
		return false;
	}
	if (!d->bar[0].addr || d->bar[0].size < 0x20000) {
		kprintf("%s: BAR0 unassigned or too small\n", model->name);
		return false;
	}
	e->regs = (uintptr_t)d->bar[0].addr;
	pci_enable(d);

	e1000_wr(e, E1000_IMC, 0xffffffffu);
	e1000_wr(e, E1000_RCTL, 0);
	e1000_wr(e, E1000_TCTL, TCTL_PSP);
	(void)e1000_rd(e, E1000_STATUS); /* flush */
	udelay(10000);
	return true;
}

bool e1000_reset(struct e1000_nic *e)
{
	e1000_wr(e, E1000_CTRL, e1000_rd(e, E1000_CTRL) | CTRL_RST);
	udelay(5000);
	if (!e1000_wait_bits(e, E1000_CTRL, CTRL_RST, 0, 100000)) {
		kprintf("%s: reset does not complete\n", e->model->name);
		return false;
	}
	return true;
}

struct netif *e1000_start(struct e1000_nic *e)
{
	const struct e1000_model *model = e->model;

	read_mac(e);

	uint32_t ctrl = e1000_rd(e, E1000_CTRL);
	ctrl |= CTRL_SLU | CTRL_ASDE;
	ctrl &= ~(CTRL_FRCSPD | CTRL_FRCDPLX | CTRL_PHY_RST | model->ctrl_clear);
	e1000_wr(e, E1000_CTRL, ctrl);

	uint16_t id1 = 0, id2 = 0, phy_status = 0;
	if (phy_read(e, PHY_ID1, &id1) && phy_read(e, PHY_ID2, &id2) &&
	    phy_read(e, PHY_STATUS, &phy_status))
		kprintf("%s: phy id %04x:%04x link %s\n", model->name, id1, id2,
			phy_status & PHY_STATUS_LINK ? "up" : "down");
	else
		kprintf("%s: PHY does not answer on MDIC\n", model->name);

	e1000_wr(e, E1000_RAL0,
		 (uint32_t)e->nif.mac[0] | (uint32_t)e->nif.mac[1] << 8 |
		     (uint32_t)e->nif.mac[2] << 16 | (uint32_t)e->nif.mac[3] << 24);
	e1000_wr(e, E1000_RAH0, (uint32_t)e->nif.mac[4] | (uint32_t)e->nif.mac[5] << 8 | RAH_AV);
	for (uint32_t i = 0; i < 128; i++)
		e1000_wr(e, E1000_MTA + 4 * i, 0);

	e->rxd = dma_alloc(RING_SIZE * sizeof(union e1000_rx_desc), 4096);
	e->txd = dma_alloc(RING_SIZE * sizeof(struct e1000_tx_desc), 4096);
	e->rx_bufs = dma_alloc(RING_SIZE * BUF_SIZE, 4096);
	e->tx_bufs = dma_alloc(RING_SIZE * BUF_SIZE, 4096);
	if (!e->rxd || !e->txd || !e->rx_bufs || !e->tx_bufs) {
		kprintf("%s: out of memory for the rings\n", model->name);
		return NULL;
	}
	for (unsigned i = 0; i < RING_SIZE; i++) {
		rx_give(e, i);
		e->txd[i].addr = (uintptr_t)(e->tx_bufs + (size_t)i * BUF_SIZE);
		e->txd[i].status = DESC_DD;
	}

	if (model->extended_rx)
		e1000_wr(e, E1000_RFCTL, e1000_rd(e, E1000_RFCTL) | RFCTL_EXSTEN);
	e1000_wr(e, E1000_RDBAL, (uint32_t)(uintptr_t)e->rxd);
	e1000_wr(e, E1000_RDBAH, 0);
	e1000_wr(e, E1000_RDLEN, RING_SIZE * sizeof(union e1000_rx_desc));
	e1000_wr(e, E1000_RDH, 0);
	e1000_wr(e, E1000_RDT, RING_SIZE - 1);
	e1000_wr(e, E1000_RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC);

	e1000_wr(e, E1000_TDBAL, (uint32_t)(uintptr_t)e->txd);
	e1000_wr(e, E1000_TDBAH, 0);
	e1000_wr(e, E1000_TDLEN, RING_SIZE * sizeof(struct e1000_tx_desc));
	e1000_wr(e, E1000_TDH, 0);
	e1000_wr(e, E1000_TDT, 0);
	e1000_wr(e, E1000_TIPG, model->tipg);
	e1000_wr(e, E1000_TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | model->tctl_cold);
	(void)e1000_rd(e, E1000_ICR);

	e->nif.name = model->name;
	e->nif.priv = e;
	e->nif.tx = ring_tx;
	e->nif.rx = ring_rx;
	e->nif.link_up = ring_link_up;
	return &e->nif;
}

struct netif *e1000_probe(struct pci_dev *d)
{
	static struct e1000_nic store;
	struct e1000_nic *e = &store;

	if (!e1000_open(e, d, &e1000_model) || !e1000_reset(e))
		return NULL;
	e1000_wr(e, E1000_IMC, 0xffffffffu);
	(void)e1000_rd(e, E1000_ICR);
	return e1000_start(e);
}
