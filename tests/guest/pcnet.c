// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * AMD PCnet-PCI II (Am79C970A) driver, polled.
 *
 * The registers sit behind an index/data pair: RAP selects a CSR (or BCR)
 * and RDP (BDP) reads or writes it. BAR1 maps the same 32-byte window as
 * the I/O BAR into memory, so everything here is MMIO. The chip starts in
 * 16-bit (WIO) mode; one 32-bit write to RDP switches it to DWIO, where
 * every access is 32 bits wide (RDP 0x10, RAP 0x14, RESET 0x18, BDP 0x1c).
 * Software style 2 gives 32-bit addresses and 16-byte descriptors; the
 * initialization block tells the chip our address and both rings.
 */
#include "arch.h"

/* DWIO offsets */
#define PCNET_APROM 0x00
#define PCNET_RDP   0x10
#define PCNET_RAP   0x14
#define PCNET_RESET 0x18
#define PCNET_BDP   0x1c
/* WIO offsets, used once to reset a chip still in 16-bit mode */
#define PCNET_WIO_RESET 0x14

#define CSR0_INIT 0x0001
#define CSR0_STRT 0x0002
#define CSR0_STOP 0x0004
#define CSR0_TDMD 0x0008
#define CSR0_TXON 0x0010
#define CSR0_RXON 0x0020
#define CSR0_IDON 0x0100
#define CSR0_ERR  0x8000

#define CSR3_MASK_ALL 0x5f00 /* BABLM MISSM MERRM RINTM TINTM IDONM */
#define CSR4_APAD_XMT 0x0800
#define CSR4_DMAPLUS  0x4000

#define BCR_SWS		  20
#define SWSTYLE_PCNET_PCI 2 /* 32-bit structures, SSIZE32 */
#define BCR_LNKST	  4
#define LNKST_LEDOUT	  0x8000 /* the LED's state: link when LNKSTE is set */

#define DESC_OWN    0x80000000u
#define DESC_ERR    0x40000000u
#define DESC_STP    0x02000000u
#define DESC_ENP    0x01000000u
#define DESC_ONES   0x0000f000u /* must be ones in the byte count word */
#define TMD_ADD_FCS 0x20000000u

#define RX_RING_LOG2 7 /* 128 descriptors: the chip drops what does not fit */
#define TX_RING_LOG2 5
#define RX_RING	     (1u << RX_RING_LOG2)
#define TX_RING	     (1u << TX_RING_LOG2)
#define BUF_SIZE     1536
#define FRAME_MIN    60
#define FRAME_MAX    1514

struct pcnet_desc {
	uint32_t addr;
	uint32_t flags; /* OWN ERR ... STP ENP, ONES, negative byte count */
	uint32_t misc;	/* rx: message byte count; tx: error bits */
	uint32_t user;
};

struct pcnet_init_block {
	uint16_t mode;
	uint8_t rlen; /* log2 of the ring size in the high nibble */
	uint8_t tlen;
	uint8_t padr[6];
	uint16_t reserved;
	uint8_t ladrf[8];
	uint32_t rdra;
	uint32_t tdra;
};

struct pcnet {
	struct netif nif;
	uintptr_t regs;
	struct pcnet_init_block *init;
	volatile struct pcnet_desc *rxd, *txd;
	uint8_t *rx_bufs, *tx_bufs;
	unsigned rx_next, tx_next;
};

static uint32_t csr_read(const struct pcnet *p, uint32_t csr)
{
	mmio_write32(p->regs + PCNET_RAP, csr);
	return mmio_read32(p->regs + PCNET_RDP) & 0xffff;
}

static void csr_write(const struct pcnet *p, uint32_t csr, uint32_t v)
{
	mmio_write32(p->regs + PCNET_RAP, csr);
	mmio_write32(p->regs + PCNET_RDP, v);
}

static uint32_t bcr_read(const struct pcnet *p, uint32_t bcr)
{
	mmio_write32(p->regs + PCNET_RAP, bcr);
	return mmio_read32(p->regs + PCNET_BDP) & 0xffff;
}

static void bcr_write(const struct pcnet *p, uint32_t bcr, uint32_t v)
{
	mmio_write32(p->regs + PCNET_RAP, bcr);
	mmio_write32(p->regs + PCNET_BDP, v);
}

/* The two's complement byte count the descriptors carry, with the ONES. */
static uint32_t bcnt(size_t len)
{
	return DESC_ONES | ((uint32_t)-len & 0x0fff);
}

static int pcnet_tx(struct netif *nif, const void *frame, size_t len)
{
	struct pcnet *p = nif->priv;
	volatile struct pcnet_desc *d = &p->txd[p->tx_next];

	if (len > FRAME_MAX)
		return -1;
	if (d->flags & DESC_OWN)
		return -1; /* the ring is full */
	uint8_t *buf = p->tx_bufs + (size_t)p->tx_next * BUF_SIZE;
	memcpy(buf, frame, len);
	if (len < FRAME_MIN) {
		memset(buf + len, 0, FRAME_MIN - len);
		len = FRAME_MIN;
	}
	d->addr = (uint32_t)(uintptr_t)buf;
	d->misc = 0;
	barrier();
	d->flags = DESC_OWN | DESC_STP | DESC_ENP | TMD_ADD_FCS | bcnt(len);
	barrier();
	csr_write(p, 0, CSR0_TDMD);
	p->tx_next = (p->tx_next + 1) % TX_RING;
	nif->tx_frames++;
	return 0;
}

static size_t pcnet_rx(struct netif *nif, void *out, size_t cap)
{
	struct pcnet *p = nif->priv;

	for (;;) {
		volatile struct pcnet_desc *d = &p->rxd[p->rx_next];
		uint32_t flags = d->flags;
		if (flags & DESC_OWN)
			return 0;
		/* QEMU hands the descriptor back (OWN clear) before it writes
		 * ENP and the count. A register read waits for the device to
		 * finish what it is doing, so the rest is read after it. */
		(void)mmio_read32(p->regs + PCNET_RAP);
		barrier();
		flags = d->flags;
		/* The message count includes the 4-byte FCS. */
		size_t mcnt = d->misc & 0x0fff, n = 0;
		bool whole = (flags & (DESC_STP | DESC_ENP)) == (DESC_STP | DESC_ENP);
		if (whole && !(flags & DESC_ERR) && mcnt >= 4 + 14 && mcnt - 4 <= cap &&
		    mcnt <= BUF_SIZE) {
			n = mcnt - 4;
			memcpy(out, p->rx_bufs + (size_t)p->rx_next * BUF_SIZE, n);
		}
		d->misc = 0;
		barrier();
		d->flags = DESC_OWN | bcnt(BUF_SIZE);
		p->rx_next = (p->rx_next + 1) % RX_RING;
		if (n) {
			nif->rx_frames++;
			return n;
		}
		nif->rx_dropped++;
	}
}

static bool pcnet_link_up(struct netif *nif)
{
	struct pcnet *p = nif->priv;

	return bcr_read(p, BCR_LNKST) & LNKST_LEDOUT;
}

struct netif *pcnet_probe(struct pci_dev *d)
{
	static struct pcnet store;
	struct pcnet *p = &store;

	memset(p, 0, sizeof(*p));
	if (d->bar[1].kind != PCI_BAR_MEM32 || !d->bar[1].addr || d->bar[1].size < 0x20) {
		kprintf("pcnet: BAR1 is not an assigned 32-byte memory BAR\n");
		return NULL;
	}
	p->regs = (uintptr_t)d->bar[1].addr;
	pci_enable(d);

	/* Reset in whichever mode the chip is: a 16-bit read of the WIO
	 * reset register, or a 32-bit one of the DWIO register (each is
	 * ignored in the other mode); then a 32-bit RDP write selects DWIO. */
	(void)mmio_read16(p->regs + PCNET_WIO_RESET);
	(void)mmio_read32(p->regs + PCNET_RESET);
	udelay(10);
	mmio_write32(p->regs + PCNET_RDP, 0);
	uint32_t csr0 = csr_read(p, 0);
	if (!(csr0 & CSR0_STOP)) {
		kprintf("pcnet: not stopped after reset (csr0 0x%04x)\n", csr0);
		return NULL;
	}
	for (int i = 0; i < 6; i += 2) {
		uint32_t w = mmio_read32(p->regs + PCNET_APROM + (uint32_t)(i & ~3));
		uint32_t shift = (uint32_t)(i & 3) * 8;
		p->nif.mac[i] = (uint8_t)(w >> shift);
		p->nif.mac[i + 1] = (uint8_t)(w >> (shift + 8));
	}
	bcr_write(p, BCR_SWS, SWSTYLE_PCNET_PCI);

	p->init = dma_alloc(sizeof(*p->init), 16);
	p->rxd = dma_alloc(RX_RING * sizeof(struct pcnet_desc), 16);
	p->txd = dma_alloc(TX_RING * sizeof(struct pcnet_desc), 16);
	p->rx_bufs = dma_alloc(RX_RING * BUF_SIZE, 16);
	p->tx_bufs = dma_alloc(TX_RING * BUF_SIZE, 16);
	if (!p->init || !p->rxd || !p->txd || !p->rx_bufs || !p->tx_bufs) {
		kprintf("pcnet: out of memory for the rings\n");
		return NULL;
	}
	for (unsigned i = 0; i < RX_RING; i++) {
		p->rxd[i].addr = (uint32_t)(uintptr_t)(p->rx_bufs + (size_t)i * BUF_SIZE);
		p->rxd[i].flags = DESC_OWN | bcnt(BUF_SIZE);
	}
	for (unsigned i = 0; i < TX_RING; i++)
		p->txd[i].addr = (uint32_t)(uintptr_t)(p->tx_bufs + (size_t)i * BUF_SIZE);

	p->init->mode = 0; /* normal: our address, broadcast, no promiscuous */
	p->init->rlen = RX_RING_LOG2 << 4;
	p->init->tlen = TX_RING_LOG2 << 4;
	memcpy(p->init->padr, p->nif.mac, 6);
	p->init->rdra = (uint32_t)(uintptr_t)p->rxd;
	p->init->tdra = (uint32_t)(uintptr_t)p->txd;
	barrier();

	uint32_t iaddr = (uint32_t)(uintptr_t)p->init;
	csr_write(p, 1, iaddr & 0xffff);
	csr_write(p, 2, iaddr >> 16);
	csr_write(p, 3, CSR3_MASK_ALL);
	csr_write(p, 4, CSR4_DMAPLUS | CSR4_APAD_XMT);
	csr_write(p, 0, CSR0_INIT);
	uint64_t deadline = now_us() + 100000;
	while (!(csr_read(p, 0) & CSR0_IDON)) {
		if (now_us() > deadline) {
			kprintf("pcnet: initialization does not complete (csr0 0x%04x)\n",
				csr_read(p, 0));
			return NULL;
		}
	}
	csr_write(p, 0, CSR0_IDON | CSR0_STRT);
	csr0 = csr_read(p, 0);
	if (!(csr0 & CSR0_TXON) || !(csr0 & CSR0_RXON) || (csr0 & CSR0_ERR)) {
		kprintf("pcnet: did not start (csr0 0x%04x)\n", csr0);
		return NULL;
	}
	kprintf("pcnet: csr0 0x%04x bcr20 0x%04x bcr4 0x%04x\n", csr0, bcr_read(p, BCR_SWS),
		bcr_read(p, BCR_LNKST));

	p->nif.name = "pcnet";
	p->nif.priv = p;
	p->nif.tx = pcnet_tx;
	p->nif.rx = pcnet_rx;
	p->nif.link_up = pcnet_link_up;
	return &p->nif;
}
