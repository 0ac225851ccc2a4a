// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Realtek RTL8139 driver, polled, in the original (non C+) mode.
 *
 * Every register is reached through BAR1, the memory-mapped copy of the
 * I/O window, so no access needs a port I/O trap. Reception goes into
 * one contiguous ring (RBSTART) where each frame follows a 4-byte header;
 * CAPR tells the card how far we have read (minus 16, a quirk of the
 * chip). Transmission uses the four fixed TSAD/TSD slots in turn.
 */
#include "arch.h"

#define RTL_IDR0    0x00 /* MAC address, 6 bytes */
#define RTL_MAR0    0x08 /* multicast filter, 8 bytes */
#define RTL_TSD0    0x10 /* transmit status of slot n at +4n */
#define RTL_TSAD0   0x20 /* transmit start address of slot n at +4n */
#define RTL_RBSTART 0x30
#define RTL_CR	    0x37
#define RTL_CAPR    0x38
#define RTL_IMR	    0x3c
#define RTL_ISR	    0x3e
#define RTL_TCR	    0x40
#define RTL_RCR	    0x44
#define RTL_MSR	    0x58
#define RTL_HLTCLK  0x5b
#define RTL_BMCR    0x62
#define RTL_BMSR    0x64

#define CR_BUFE 0x01 /* receive ring empty */
#define CR_TE	0x04
#define CR_RE	0x08
#define CR_RST	0x10

#define TSD_OWN (1u << 13) /* set by the card: the slot is ours again */

#define RCR_APM		    (1u << 1) /* our address */
#define RCR_AB		    (1u << 3) /* broadcast */
#define RCR_WRAP	    (1u << 7) /* frames overrunning the end continue past it */
#define RCR_MXDMA_UNLIMITED (7u << 8)
#define RCR_RBLEN_8K	    (0u << 11)

#define TCR_MXDMA_2048 (7u << 8)
#define TCR_IFG_NORMAL (3u << 24)

#define RX_OK	  0x0001 /* header status: received without error */
#define BMSR_LINK 0x0004

#define RX_RING_SIZE 8192
/* With RCR_WRAP the card writes a frame that starts near the end of the
 * ring linearly past it, so the buffer has room for one more frame. */
#define RX_BUF_SIZE (RX_RING_SIZE + 16 + 2048)
#define TX_SLOTS    4
#define TX_BUF_SIZE 2048
#define FRAME_MIN   60
#define FRAME_MAX   1514

struct rtl8139 {
	struct netif nif;
	uintptr_t regs;
	uint8_t *rx_ring;
	uint8_t *tx_bufs;
	uint32_t rx_off; /* where the next frame header is */
	unsigned tx_next;
};

static uint8_t rd8(const struct rtl8139 *r, uint32_t reg)
{
	return mmio_read8(r->regs + reg);
}

static uint16_t rd16(const struct rtl8139 *r, uint32_t reg)
{
	return mmio_read16(r->regs + reg);
}

static uint32_t rd32(const struct rtl8139 *r, uint32_t reg)
{
	return mmio_read32(r->regs + reg);
}

static void wr8(const struct rtl8139 *r, uint32_t reg, uint8_t v)
{
	mmio_write8(r->regs + reg, v);
}

static void wr16(const struct rtl8139 *r, uint32_t reg, uint16_t v)
{
	mmio_write16(r->regs + reg, v);
}

static void wr32(const struct rtl8139 *r, uint32_t reg, uint32_t v)
{
	mmio_write32(r->regs + reg, v);
}

static int rtl_tx(struct netif *nif, const void *frame, size_t len)
{
	struct rtl8139 *r = nif->priv;
	unsigned slot = r->tx_next;

	if (len > FRAME_MAX)
		return -1;
	/* The card walks the slots in order; the next one must be back. */
	if (!(rd32(r, RTL_TSD0 + 4 * slot) & TSD_OWN))
		return -1;
	uint8_t *buf = r->tx_bufs + (size_t)slot * TX_BUF_SIZE;
	memcpy(buf, frame, len);
	if (len < FRAME_MIN) {
		memset(buf + len, 0, FRAME_MIN - len);
		len = FRAME_MIN;
	}
	barrier();
	wr32(r, RTL_TSAD0 + 4 * slot, (uint32_t)(uintptr_t)buf);
	/* Writing the size clears OWN and starts the slot (early transmit
	 * threshold 0: the card's default of 8 bytes). */
	wr32(r, RTL_TSD0 + 4 * slot, (uint32_t)len);
	r->tx_next = (slot + 1) % TX_SLOTS;
	nif->tx_frames++;
	return 0;
}

/* A corrupt header means the ring position is lost: start it over. */
static void rx_restart(struct rtl8139 *r)
{
	wr8(r, RTL_CR, CR_TE);
	wr32(r, RTL_RCR, RCR_APM | RCR_AB | RCR_WRAP | RCR_MXDMA_UNLIMITED | RCR_RBLEN_8K);
	wr8(r, RTL_CR, CR_TE | CR_RE);
	wr16(r, RTL_CAPR, (uint16_t)(0 - 16));
	memset(r->rx_ring, 0, RX_BUF_SIZE);
	r->rx_off = 0;
}

static size_t rtl_rx(struct netif *nif, void *out, size_t cap)
{
	struct rtl8139 *r = nif->priv;

	for (;;) {
		uint8_t *h = r->rx_ring + r->rx_off;
		/* Consumed frames are zeroed, so an idle poll needs no register
		 * access (an exit to the VMM): only a header that is there
		 * makes us ask the card, which also waits for the card to
		 * finish writing the frame. */
		if (!(h[0] | h[1] | h[2] | h[3]) || (rd8(r, RTL_CR) & CR_BUFE))
			return 0;
		barrier();
		uint16_t status = (uint16_t)(h[0] | h[1] << 8);
		uint16_t len = (uint16_t)(h[2] | h[3] << 8); /* frame + 4-byte CRC */

		if (!(status & RX_OK) || len < 4 + 14 || len > FRAME_MAX + 4 + 4) {
			kprintf("rtl8139: bad rx header status 0x%04x len %u at 0x%x, restarting\n",
				status, len, r->rx_off);
			nif->rx_dropped++;
			rx_restart(r);
			return 0;
		}
		size_t n = len - 4;
		bool fits = n <= cap;
		if (fits)
			memcpy(out, h + 4, n);
		memset(h, 0, 4 + len);
		r->rx_off = (r->rx_off + 4 + len + 3) & ~3u;
		r->rx_off %= RX_RING_SIZE;
		/* CAPR lags the read position by 16 bytes. */
		wr16(r, RTL_CAPR, (uint16_t)(r->rx_off - 16));
		if (fits) {
			nif->rx_frames++;
			return n;
		}
		nif->rx_dropped++;
	}
}

static bool rtl_link_up(struct netif *nif)
{
	struct rtl8139 *r = nif->priv;

	return rd16(r, RTL_BMSR) & BMSR_LINK;
}

struct netif *rtl8139_probe(struct pci_dev *d)
{
	static struct rtl8139 store;
	struct rtl8139 *r = &store;

	memset(r, 0, sizeof(*r));
	if (d->bar[1].kind != PCI_BAR_MEM32 || !d->bar[1].addr || d->bar[1].size < 0x100) {
		kprintf("rtl8139: BAR1 is not an assigned memory BAR of 256 bytes\n");
		return NULL;
	}
	r->regs = (uintptr_t)d->bar[1].addr;
	pci_enable(d);

	wr8(r, RTL_HLTCLK, 'R'); /* the clock runs (older chips start halted) */
	wr8(r, RTL_CR, CR_RST);
	uint64_t deadline = now_us() + 100000;
	while (rd8(r, RTL_CR) & CR_RST) {
		if (now_us() > deadline) {
			kprintf("rtl8139: reset does not complete\n");
			return NULL;
		}
	}
	for (int i = 0; i < 6; i++)
		r->nif.mac[i] = rd8(r, RTL_IDR0 + i);

	r->rx_ring = dma_alloc(RX_BUF_SIZE, 4096);
	r->tx_bufs = dma_alloc(TX_SLOTS * TX_BUF_SIZE, 4096);
	if (!r->rx_ring || !r->tx_bufs) {
		kprintf("rtl8139: out of memory for the buffers\n");
		return NULL;
	}
	wr16(r, RTL_IMR, 0);
	wr16(r, RTL_ISR, 0xffff);
	wr32(r, RTL_RBSTART, (uint32_t)(uintptr_t)r->rx_ring);
	wr32(r, RTL_MAR0, 0);
	wr32(r, RTL_MAR0 + 4, 0);
	wr8(r, RTL_CR, CR_TE | CR_RE);
	/* RCR after the receiver is on: writing it resets the ring position. */
	wr32(r, RTL_RCR, RCR_APM | RCR_AB | RCR_WRAP | RCR_MXDMA_UNLIMITED | RCR_RBLEN_8K);
	wr32(r, RTL_TCR, TCR_MXDMA_2048 | TCR_IFG_NORMAL);
	wr16(r, RTL_CAPR, (uint16_t)(0 - 16));
	kprintf("rtl8139: bmcr 0x%04x bmsr 0x%04x msr 0x%02x tcr 0x%08x\n", rd16(r, RTL_BMCR),
		rd16(r, RTL_BMSR), rd8(r, RTL_MSR), rd32(r, RTL_TCR));

	r->nif.name = "rtl8139";
	r->nif.priv = r;
	r->nif.tx = rtl_tx;
	r->nif.rx = rtl_rx;
	r->nif.link_up = rtl_link_up;
	return &r->nif;
}
