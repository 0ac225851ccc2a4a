// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NE2000-compatible PCI card (RTL8029) driver, polled.
 *
 * The card has no memory BAR: every register is a port, and the frames
 * live in the card's own 16 KiB buffer (pages of 256 bytes from 0x4000),
 * copied in and out through "remote DMA" on the data port. Here the
 * transmit buffer is pages 0x40-0x45, the receive ring 0x46-0x7f. Where
 * port I/O traps (this host's KVM) every register access costs a trap,
 * so the data moves with REP INSW/OUTSW (one trap per frame) and the
 * card is slow there all the same.
 */
#include "arch.h"

#define NE_CR	 0x00
#define NE_DATA	 0x10
#define NE_RESET 0x1f
/* page 0 */
#define NE_PSTART 0x01
#define NE_PSTOP  0x02
#define NE_BNRY	  0x03
#define NE_TPSR	  0x04 /* write */
#define NE_TBCR0  0x05
#define NE_TBCR1  0x06
#define NE_ISR	  0x07
#define NE_RSAR0  0x08
#define NE_RSAR1  0x09
#define NE_RBCR0  0x0a
#define NE_RBCR1  0x0b
#define NE_RCR	  0x0c
#define NE_TCR	  0x0d
#define NE_DCR	  0x0e
#define NE_IMR	  0x0f
/* page 1 */
#define NE_PAR0 0x01
#define NE_CURR 0x07
#define NE_MAR0 0x08

#define CR_STP	    0x01
#define CR_STA	    0x02
#define CR_TXP	    0x04
#define CR_RD_READ  0x08
#define CR_RD_WRITE 0x10
#define CR_RD_ABORT 0x20 /* "abort/complete remote DMA" */
#define CR_PAGE0    0x00
#define CR_PAGE1    0x40

#define ISR_RDC 0x40
#define ISR_RST 0x80

#define DCR_WTS 0x01 /* word-wide remote DMA */
#define DCR_LS	0x08 /* normal operation (not loopback) */
#define DCR_FT1 0x40
#define RCR_AB	0x04 /* accept broadcast */
#define RSR_PRX 0x01 /* received intact */

#define TX_START  0x40
#define RX_START  0x46
#define RX_STOP	  0x80
#define FRAME_MIN 60
#define FRAME_MAX 1514

struct ne2k {
	struct netif nif;
	uint16_t io;
	uint8_t next; /* page the next received frame starts at */
	uint8_t buf[FRAME_MAX + 1];
};

static uint8_t rd(const struct ne2k *n, uint8_t reg)
{
	return inb((uint16_t)(n->io + reg));
}

static void wr(const struct ne2k *n, uint8_t reg, uint8_t v)
{
	outb((uint16_t)(n->io + reg), v);
}

static bool wait_isr(const struct ne2k *n, uint8_t bit, uint32_t timeout_us)
{
	uint64_t deadline = now_us() + timeout_us;

	while (!(rd(n, NE_ISR) & bit)) {
		if (now_us() > deadline)
			return false;
	}
	wr(n, NE_ISR, bit);
	return true;
}

/* Remote DMA between the card's buffer at 'addr' and memory; 'len' is
 * even (the transfer is word-wide). */
static bool remote_read(const struct ne2k *n, uint16_t addr, void *dst, size_t len)
{
	wr(n, NE_RBCR0, (uint8_t)len);
	wr(n, NE_RBCR1, (uint8_t)(len >> 8));
	wr(n, NE_RSAR0, (uint8_t)addr);
	wr(n, NE_RSAR1, (uint8_t)(addr >> 8));
	wr(n, NE_CR, CR_RD_READ | CR_STA);
	insw((uint16_t)(n->io + NE_DATA), dst, len / 2);
	return wait_isr(n, ISR_RDC, 10000);
}

static bool remote_write(const struct ne2k *n, uint16_t addr, const void *src, size_t len)
{
	wr(n, NE_RBCR0, (uint8_t)len);
	wr(n, NE_RBCR1, (uint8_t)(len >> 8));
	wr(n, NE_RSAR0, (uint8_t)addr);
	wr(n, NE_RSAR1, (uint8_t)(addr >> 8));
	wr(n, NE_CR, CR_RD_WRITE | CR_STA);
	outsw((uint16_t)(n->io + NE_DATA), src, len / 2);
	return wait_isr(n, ISR_RDC, 10000);
}

static int ne2k_tx(struct netif *nif, const void *frame, size_t len)
{
	struct ne2k *n = nif->priv;

	if (len > FRAME_MAX)
		return -1;
	/* The previous frame must be gone before its buffer is reused. */
	if (rd(n, NE_CR) & CR_TXP)
		return -1;
	memcpy(n->buf, frame, len);
	if (len < FRAME_MIN) {
		memset(n->buf + len, 0, FRAME_MIN - len);
		len = FRAME_MIN;
	}
	size_t even = (len + 1) & ~(size_t)1;
	if (even > len)
		n->buf[len] = 0;
	if (!remote_write(n, TX_START << 8, n->buf, even)) {
		kprintf("ne2k: remote DMA write does not complete\n");
		return -1;
	}
	wr(n, NE_TPSR, TX_START);
	wr(n, NE_TBCR0, (uint8_t)len);
	wr(n, NE_TBCR1, (uint8_t)(len >> 8));
	wr(n, NE_CR, CR_TXP | CR_STA | CR_RD_ABORT);
	nif->tx_frames++;
	return 0;
}

static size_t ne2k_rx(struct netif *nif, void *out, size_t cap)
{
	struct ne2k *n = nif->priv;

	for (;;) {
		wr(n, NE_CR, CR_PAGE1 | CR_STA | CR_RD_ABORT);
		uint8_t curr = rd(n, NE_CURR);
		wr(n, NE_CR, CR_PAGE0 | CR_STA | CR_RD_ABORT);
		if (curr == n->next)
			return 0;

		/* Header: receive status, next page, length (header included). */
		uint8_t hdr[4];
		if (!remote_read(n, (uint16_t)(n->next << 8), hdr, sizeof(hdr)))
			return 0;
		uint8_t next = hdr[1];
		size_t total = (size_t)(hdr[2] | hdr[3] << 8);
		if (next < RX_START || next >= RX_STOP || total < 4 + 14 ||
		    total > FRAME_MAX + 4 + 4) {
			/* Lost track of the ring: skip everything received. */
			kprintf("ne2k: bad rx header %02x %02x %02x %02x at page 0x%02x\n", hdr[0],
				hdr[1], hdr[2], hdr[3], n->next);
			n->next = curr;
			wr(n, NE_BNRY, (uint8_t)(curr == RX_START ? RX_STOP - 1 : curr - 1));
			nif->rx_dropped++;
			return 0;
		}
		size_t len = total - 4, got = 0;
		/* The read wraps from RX_STOP back to RX_START by itself. */
		if ((hdr[0] & RSR_PRX) && len <= cap && len <= FRAME_MAX &&
		    remote_read(n, (uint16_t)((n->next << 8) + 4), n->buf,
				(len + 1) & ~(size_t)1)) {
			memcpy(out, n->buf, len);
			got = len;
		}
		n->next = next;
		/* BNRY trails the next frame by one page. */
		wr(n, NE_BNRY, (uint8_t)(next == RX_START ? RX_STOP - 1 : next - 1));
		if (got) {
			nif->rx_frames++;
			return got;
		}
		nif->rx_dropped++;
	}
}

/* The NE2000 does not report the carrier. */
static bool ne2k_link_up(struct netif *nif)
{
	(void)nif;
	return true;
}

struct netif *ne2k_probe(struct pci_dev *d)
{
	static struct ne2k store;
	struct ne2k *n = &store;

	memset(n, 0, sizeof(*n));
	if (d->bar[0].kind != PCI_BAR_IO || !d->bar[0].addr || d->bar[0].size < 0x20) {
		kprintf("ne2k: BAR0 is not an assigned I/O BAR of at least 32 ports\n");
		return NULL;
	}
	n->io = (uint16_t)d->bar[0].addr;
	pci_enable(d);

	/* Reading the reset port resets; writing it ends the pulse. */
	outb((uint16_t)(n->io + NE_RESET), inb((uint16_t)(n->io + NE_RESET)));
	if (!wait_isr(n, ISR_RST, 100000)) {
		kprintf("ne2k: reset does not complete\n");
		return NULL;
	}
	wr(n, NE_CR, CR_PAGE0 | CR_STP | CR_RD_ABORT);
	wr(n, NE_DCR, DCR_FT1 | DCR_LS | DCR_WTS);
	wr(n, NE_RBCR0, 0);
	wr(n, NE_RBCR1, 0);
	wr(n, NE_IMR, 0);
	wr(n, NE_ISR, 0xff);
	wr(n, NE_RCR, 0x20); /* monitor mode while configuring */
	wr(n, NE_TCR, 0x02); /* internal loopback while configuring */

	/* The address PROM: in word mode each byte comes doubled. */
	uint16_t prom[6];
	if (!remote_read(n, 0, prom, sizeof(prom))) {
		kprintf("ne2k: cannot read the address PROM\n");
		return NULL;
	}
	for (int i = 0; i < 6; i++)
		n->nif.mac[i] = (uint8_t)prom[i];

	wr(n, NE_PSTART, RX_START);
	wr(n, NE_PSTOP, RX_STOP);
	wr(n, NE_BNRY, RX_STOP - 1);
	wr(n, NE_TPSR, TX_START);
	wr(n, NE_CR, CR_PAGE1 | CR_STP | CR_RD_ABORT);
	for (int i = 0; i < 6; i++)
		wr(n, (uint8_t)(NE_PAR0 + i), n->nif.mac[i]);
	for (int i = 0; i < 8; i++)
		wr(n, (uint8_t)(NE_MAR0 + i), 0);
	wr(n, NE_CURR, RX_START);
	n->next = RX_START;
	wr(n, NE_CR, CR_PAGE0 | CR_STA | CR_RD_ABORT);
	wr(n, NE_ISR, 0xff);
	wr(n, NE_TCR, 0x00);
	wr(n, NE_RCR, RCR_AB);

	n->nif.name = "ne2k";
	n->nif.priv = n;
	n->nif.tx = ne2k_tx;
	n->nif.rx = ne2k_rx;
	n->nif.link_up = ne2k_link_up;
	return &n->nif;
}
