/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * AMD Am79C970A PCnet-PCI II (PCI 1022:2000, revision 0x10), as QEMU's
 * "pcnet".
 *
 * Registers are reached indirectly: RAP selects a CSR (through RDP) or a
 * BCR (through BDP). Word I/O mode (the default) has APROM at 0x00-0x0f,
 * RDP 0x10, RAP 0x12, RESET 0x14, BDP 0x16; a 32-bit write to RDP switches
 * to dword I/O mode (RDP 0x10, RAP 0x14, RESET 0x18, BDP 0x1c). BAR0 (I/O)
 * and BAR1 (MMIO) decode the same 32 bytes.
 *
 * The driver hands over an initialization block (mode, MAC, logical
 * address filter, ring addresses and lengths) and two descriptor rings in
 * one of three layouts (SWSTYLE 0: 16-bit, 8-byte descriptors; 2: 32-bit;
 * 3: 32-bit with words swapped). Receive fills as many descriptors as a
 * frame needs, transmit gathers STP..ENP chains. Every ring walk is bounded
 * by the ring length and every address goes through nic_dma_*.
 *
 * The link state is BCR4's LEDOUT (bit 15 with the link-status enable);
 * this chip has no link-change interrupt.
 */
#include <string.h>

#include "machine.h"
#include "main-loop.h"
#include "nic-common.h"

#define APROM_SIZE 16
#define TXBUF_SIZE 4096
#define POLL_NS	   2000000 /* transmit ring polling, as the chip's ~2 ms */

/* CSR0 */
#define C0_INIT 0x0001
#define C0_STRT 0x0002
#define C0_STOP 0x0004
#define C0_TDMD 0x0008
#define C0_TXON 0x0010
#define C0_RXON 0x0020
#define C0_IENA 0x0040
#define C0_INTR 0x0080
#define C0_IDON 0x0100
#define C0_TINT 0x0200
#define C0_RINT 0x0400
#define C0_MERR 0x0800
#define C0_MISS 0x1000
#define C0_CERR 0x2000
#define C0_BABL 0x4000
#define C0_ERR	0x8000

/* CSR4 */
#define C4_TXSTRT  0x0004
#define C4_UINT	   0x0040
#define C4_UINTCMD 0x0080
#define C4_DPOLL   0x1000
/* CSR5 */
#define C5_SPND	   0x0001
#define C5_LTINTEN 0x4000
#define C5_TOKINTD 0x8000
/* CSR15 (mode) */
#define M_DRX	 0x0001
#define M_DTX	 0x0002
#define M_LOOP	 0x0004
#define M_DRCVPA 0x2000
#define M_DRCVBC 0x4000
#define M_PROM	 0x8000
/* CSR3 */
#define C3_DXSUFLO 0x0040

/* BCRs */
#define BCR_MSRDA 0
#define BCR_MSWRA 1
#define BCR_MC	  2
#define BCR_LNKST 4
#define BCR_LED1  5
#define BCR_LED2  6
#define BCR_LED3  7
#define BCR_FDC	  9
#define BCR_BSBC  18
#define BCR_EECAS 19
#define BCR_SWS	  20
#define BCR_PLAT  22

/* descriptor status (RMD1/TMD1 high half) */
#define D_OWN	  0x8000
#define D_ERR	  0x4000
#define D_STP	  0x0200
#define D_ENP	  0x0100
#define RD_FRAM	  0x2000
#define RD_OFLO	  0x1000
#define RD_BUFF	  0x0400
#define RD_PAM	  0x0040
#define RD_LAFM	  0x0020
#define RD_BAM	  0x0010
#define TD_ADDFCS 0x2000
#define TD_LTINT  0x1000
#define TM_BUFF	  0x80000000u
#define TM_UFLO	  0x40000000u
#define TM_LCAR	  0x08000000u

/* One descriptor, in the 32-bit (SWSTYLE 2) field order. */
struct desc {
	uint32_t addr;
	uint16_t bcnt; /* two's complement byte count with the ONES nibble */
	uint16_t status;
	uint32_t misc; /* RMD2 message count / TMD2 error bits */
};

struct pcnet {
	struct nic_common nic; /* first: see nic-common.h */
	uint16_t csr[128];
	uint16_t bcr[32];
	unsigned rap;
	uint8_t prom[APROM_SIZE];
	uint32_t rdra, tdra;
	bool link_up;
	bool intr;
	bool looptest;
	bool in_tx;
	uint8_t txbuf[TXBUF_SIZE];
	int txpos;	/* -1: no frame being gathered */
	uint64_t txstp; /* descriptor address of the frame's STP */
	ml_timer *poll;
};

static bool ssize32(struct pcnet *s)
{
	return s->bcr[BCR_SWS] & 0x100;
}

static unsigned swstyle(struct pcnet *s)
{
	return s->bcr[BCR_SWS] & 0xff;
}

static bool dwio(struct pcnet *s)
{
	return s->bcr[BCR_BSBC] & 0x80;
}

/* 16-bit software style: the top address byte comes from CSR2. */
static uint64_t phys(struct pcnet *s, uint32_t a)
{
	return ssize32(s) ? a : (a & 0xffffff) | (uint32_t)(s->csr[2] & 0xff00) << 16;
}

static unsigned desc_size(struct pcnet *s)
{
	return swstyle(s) ? 16 : 8;
}

static bool desc_load(struct pcnet *s, uint64_t addr, struct desc *d)
{
	uint8_t b[16];
	if (!ssize32(s)) {
		if (!nic_dma_read(&s->nic, addr, b, 8))
			return false;
		uint32_t w0 = nic_le32(b);
		d->addr = w0 & 0xffffff;
		d->status = (w0 >> 16) & 0xff00;
		d->bcnt = nic_le16(b + 4);
		d->misc = nic_le16(b + 6);
		return true;
	}
	if (!nic_dma_read(&s->nic, addr, b, 16))
		return false;
	unsigned a = swstyle(s) == 3 ? 8 : 0, m = swstyle(s) == 3 ? 0 : 8;
	d->addr = nic_le32(b + a);
	d->bcnt = nic_le16(b + 4);
	d->status = nic_le16(b + 6);
	d->misc = nic_le32(b + m);
	return true;
}

static bool desc_store(struct pcnet *s, uint64_t addr, const struct desc *d, bool rx)
{
	uint8_t b[16];
	if (!ssize32(s)) {
		nic_put_le32(b, (d->addr & 0xffffff) | (uint32_t)(d->status & 0xff00) << 16);
		nic_put_le16(b + 4, d->bcnt);
		/* RMD3 is the message count; TMD3 carries the TMD2 error bits */
		nic_put_le16(b + 6, rx ? (uint16_t)d->misc : (uint16_t)(d->misc >> 16));
		return nic_dma_write(&s->nic, addr, b, 8);
	}
	unsigned a = swstyle(s) == 3 ? 8 : 0, m = swstyle(s) == 3 ? 0 : 8;
	memset(b, 0, sizeof(b));
	nic_put_le32(b + a, d->addr);
	nic_put_le16(b + 4, d->bcnt);
	nic_put_le16(b + 6, d->status);
	nic_put_le32(b + m, d->misc);
	/* the fourth word is reserved for the driver: leave it alone */
	return nic_dma_write(&s->nic, addr, b, 12);
}

/* 16-bit descriptors keep TMD2's error bits in the top half of misc. */
static void tmd_fixup_load(struct pcnet *s, struct desc *d)
{
	if (!ssize32(s))
		d->misc <<= 16;
}

static unsigned bcnt_of(const struct desc *d)
{
	return 4096 - (d->bcnt & 0xfff);
}

static bool ones_ok(const struct desc *d)
{
	return (d->bcnt & 0xf000) == 0xf000;
}

/* ---- interrupts ---- */

static void update_irq(struct pcnet *s)
{
	uint16_t *c = s->csr;
	bool irq = false;
	c[0] &= ~C0_INTR;
	if (((c[0] & ~c[3]) & 0x5f00) || (((c[4] >> 1) & ~c[4]) & 0x0115) ||
	    (((c[5] >> 1) & c[5]) & 0x0048)) {
		irq = c[0] & C0_IENA;
		c[0] |= C0_INTR;
	}
	if ((c[4] & C4_UINTCMD) && (c[0] & C0_IENA)) {
		c[4] &= ~C4_UINTCMD;
		c[4] |= C4_UINT;
		c[0] |= C0_INTR;
		irq = true;
	}
	if (((c[5] >> 1) & c[5]) & 0x0500) {
		irq = true;
		c[0] |= C0_INTR;
	}
	s->intr = irq;
	nic_set_irq(&s->nic, irq);
}

/* ---- rings ---- */

static unsigned ring_len(uint16_t v)
{
	return v;
}

/* Descriptor index from the down-counting ring counter (RCVRC/XMTRC run
 * from the ring length down to 1). */
static unsigned ring_index(uint16_t *counter, unsigned len)
{
	if (*counter < 1 || *counter > len)
		*counter = len;
	return len - *counter;
}

static void ring_advance(uint16_t *counter, unsigned len)
{
	if (*counter <= 1)
		*counter = len;
	else
		(*counter)--;
}

/* ---- receive ---- */

static bool rx_stopped(struct pcnet *s)
{
	return (s->csr[0] & C0_STOP) || (s->csr[5] & C5_SPND);
}

static bool pcnet_can_receive(NetClient *nc)
{
	struct pcnet *s = nc->opaque;
	return !rx_stopped(s);
}

static bool padr_match(struct pcnet *s, const uint8_t *buf)
{
	uint8_t padr[6];
	for (int i = 0; i < 3; i++) {
		padr[2 * i] = s->csr[12 + i] & 0xff;
		padr[2 * i + 1] = s->csr[12 + i] >> 8;
	}
	return !(s->csr[15] & M_DRCVPA) && !memcmp(buf, padr, 6);
}

static bool ladr_match(struct pcnet *s, const uint8_t *buf)
{
	if (!(buf[0] & 1) || !(s->csr[8] | s->csr[9] | s->csr[10] | s->csr[11]))
		return false;
	unsigned bit = nic_crc32_le(buf, 6) >> 26;
	return (s->csr[8 + bit / 16] >> (bit % 16)) & 1;
}

static ssize_t do_receive(struct pcnet *s, const uint8_t *frame, size_t size)
{
	uint16_t *c = s->csr;
	if ((c[15] & M_DRX) || rx_stopped(s) || size == 0 || ((c[15] & M_LOOP) && !s->looptest))
		return -1;
	if (size > TXBUF_SIZE - 4)
		return -1;
	uint8_t buf[TXBUF_SIZE];
	memcpy(buf, frame, size);
	if (size < 60) {
		memset(buf + size, 0, 60 - size);
		size = 60;
	}
	bool prom = c[15] & M_PROM, pam = false, bam = false, lafm = false;
	if (!prom) {
		pam = padr_match(s, buf);
		bam = !pam && !(c[15] & M_DRCVBC) && nic_dest_kind(buf) == NIC_DEST_BROADCAST;
		lafm = !pam && !bam && ladr_match(s, buf);
		if (!pam && !bam && !lafm)
			return size;
	}
	unsigned len = ring_len(c[76]);
	if (!s->rdra || len == 0) {
		c[0] |= C0_MISS;
		c[112]++;
		update_irq(s);
		return -1;
	}
	/* As QEMU: if the current descriptor is not ours, look for the next
	 * one that is (once around the ring at most, and no further than the
	 * largest ring an init block can describe). */
	unsigned idx = ring_index(&c[72], len);
	unsigned scan = len < 512 ? len : 512;
	struct desc d;
	unsigned tries;
	for (tries = 0; tries < scan; tries++) {
		uint64_t a = phys(s, s->rdra + (uint64_t)((idx + tries) % len) * desc_size(s));
		if (!desc_load(s, a, &d))
			break;
		if ((d.status & D_OWN) && ones_ok(&d))
			break;
	}
	if (tries == scan || !(d.status & D_OWN) || !ones_ok(&d)) {
		c[0] |= C0_MISS;
		c[112]++;
		update_irq(s);
		return -1;
	}
	for (unsigned k = 0; k < tries; k++)
		ring_advance(&c[72], len);
	idx = (idx + tries) % len;

	/* the frame with its FCS, spread over as many buffers as it takes */
	nic_put_le32(buf + size, nic_fcs(buf, size));
	size_t total = size + 4, done = 0;
	bool dma_ok = true;
	uint64_t daddr = phys(s, s->rdra + (uint64_t)idx * desc_size(s));
	d.status |= D_STP;
	for (unsigned n = 0; n < len; n++) {
		size_t room = bcnt_of(&d), cnt = total - done < room ? total - done : room;
		dma_ok = nic_dma_write(&s->nic, phys(s, d.addr), buf + done, cnt) && dma_ok;
		done += cnt;
		ring_advance(&c[72], len);
		idx = (idx + 1) % len;
		if (done == total) {
			d.status |= D_ENP;
			if (!prom)
				d.status |=
				    (pam ? RD_PAM : 0) | (lafm ? RD_LAFM : 0) | (bam ? RD_BAM : 0);
			d.misc = (d.misc & ~0xfffu) | (uint32_t)total;
			if (!dma_ok)
				d.status |= D_ERR | RD_FRAM;
			d.status &= ~D_OWN;
			desc_store(s, daddr, &d, true);
			break;
		}
		/* more to come: the next buffer must be ours too */
		uint64_t next = phys(s, s->rdra + (uint64_t)idx * desc_size(s));
		struct desc nd;
		bool have = desc_load(s, next, &nd) && (nd.status & D_OWN) && ones_ok(&nd);
		if (!have || n + 1 == len) {
			d.status |= D_ERR | RD_OFLO | RD_BUFF;
			d.status &= ~D_OWN;
			desc_store(s, daddr, &d, true);
			dma_ok = false;
			break;
		}
		d.status &= ~D_OWN;
		desc_store(s, daddr, &d, true);
		d = nd;
		d.status &= ~(D_STP | D_ENP);
		daddr = next;
	}
	c[0] |= C0_RINT;
	update_irq(s);
	if (!dma_ok || done != total)
		return -1;
	return size;
}

static ssize_t pcnet_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	struct pcnet *s = nc->opaque;
	size_t size;
	g_autofree uint8_t *buf = nic_iov_flatten(iov, iovcnt, &size);
	return buf ? do_receive(s, buf, size) : -1;
}

/* ---- transmit ---- */

static void transmit(struct pcnet *s)
{
	uint16_t *c = s->csr;
	unsigned len = ring_len(c[78]);
	if (!(c[0] & C0_TXON) || (c[0] & C0_STOP) || !s->tdra || len == 0 || s->in_tx) {
		c[0] &= ~C0_TDMD;
		return;
	}
	s->in_tx = true;
	s->txpos = -1;
	bool sent_any = false;
	for (unsigned n = 0; n < len; n++) {
		unsigned idx = ring_index(&c[74], len);
		uint64_t daddr = phys(s, s->tdra + (uint64_t)idx * desc_size(s));
		struct desc d;
		if (!desc_load(s, daddr, &d)) {
			nic_count_tx_drop(&s->nic);
			c[0] |= C0_MERR;
			s->txpos = -1;
			break;
		}
		tmd_fixup_load(s, &d);
		if (!(d.status & D_OWN) || !ones_ok(&d)) {
			if (s->txpos >= 0) {
				/* the chain ended before its ENP: underflow */
				struct desc st;
				if (desc_load(s, s->txstp, &st)) {
					tmd_fixup_load(s, &st);
					st.misc |= TM_BUFF | TM_UFLO;
					st.status = (st.status | D_ERR) & ~D_OWN;
					desc_store(s, s->txstp, &st, false);
				}
				nic_count_tx_drop(&s->nic);
				c[0] |= C0_TINT;
				if (!(c[3] & C3_DXSUFLO))
					c[0] &= ~C0_TXON;
				s->txpos = -1;
			}
			break;
		}
		if (d.status & D_STP) {
			s->txpos = 0;
			s->txstp = daddr;
		}
		bool loop = c[15] & M_LOOP;
		if (!s->link_up && !loop) {
			d.misc |= TM_LCAR;
			d.status |= D_ERR;
			c[0] |= C0_ERR | C0_CERR;
			if (s->txpos >= 0 && (d.status & D_ENP))
				nic_count_tx_drop(&s->nic);
			if (d.status & D_ENP)
				s->txpos = -1;
		} else if (s->txpos >= 0) {
			unsigned cnt = bcnt_of(&d);
			if ((size_t)s->txpos + cnt > TXBUF_SIZE) {
				d.misc |= TM_BUFF;
				d.status |= D_ERR;
				nic_count_tx_drop(&s->nic);
				s->txpos = -1;
			} else if (!nic_dma_read(&s->nic, phys(s, d.addr), s->txbuf + s->txpos,
						 cnt)) {
				d.status |= D_ERR;
				c[0] |= C0_MERR;
				nic_count_tx_drop(&s->nic);
				s->txpos = -1;
			} else {
				s->txpos += cnt;
				if (d.status & D_ENP) {
					if (loop) {
						s->looptest = true;
						do_receive(s, s->txbuf, s->txpos);
						s->looptest = false;
					} else {
						nic_send(&s->nic, s->txbuf, s->txpos);
					}
					sent_any = true;
					s->txpos = -1;
				}
			}
		}
		d.status &= ~D_OWN;
		desc_store(s, daddr, &d, false);
		if (!(c[5] & C5_TOKINTD) || ((c[5] & C5_LTINTEN) && (d.status & TD_LTINT)))
			c[0] |= C0_TINT;
		ring_advance(&c[74], len);
	}
	if (sent_any)
		c[4] |= C4_TXSTRT;
	c[0] &= ~C0_TDMD;
	s->in_tx = false;
	update_irq(s);
}

/* Is the current transmit descriptor handed over to the chip? */
static bool tx_pending(struct pcnet *s)
{
	unsigned len = ring_len(s->csr[78]);
	if (!s->tdra || len == 0)
		return false;
	unsigned idx = ring_index(&s->csr[74], len);
	struct desc d;
	if (!desc_load(s, phys(s, s->tdra + (uint64_t)idx * desc_size(s)), &d))
		return false;
	return (d.status & D_OWN) && ones_ok(&d);
}

static bool running(struct pcnet *s)
{
	return !(s->csr[0] & C0_STOP) && !(s->csr[5] & C5_SPND);
}

static void poll_arm(struct pcnet *s)
{
	if (running(s) && !(s->csr[4] & C4_DPOLL) && (s->csr[0] & C0_TXON))
		ml_timer_mod(s->poll, vclock_ns() + POLL_NS);
	else
		ml_timer_del(s->poll);
}

static void poll_fired(void *opaque)
{
	struct pcnet *s = opaque;
	if ((s->csr[0] & C0_TXON) && !(s->csr[4] & C4_DPOLL) && tx_pending(s))
		transmit(s);
	poll_arm(s);
}

/* ---- init / start / stop / reset ---- */

static void init_block(struct pcnet *s)
{
	uint16_t *c = s->csr;
	uint64_t iadr = phys(s, c[1] | (uint32_t)c[2] << 16);
	uint8_t ib[28];
	unsigned rlen, tlen;
	uint16_t mode, padr[3], ladrf[4];
	uint32_t rdra, tdra;
	if (ssize32(s)) {
		if (!nic_dma_read(&s->nic, iadr, ib, 28)) {
			c[0] |= C0_MERR;
			update_irq(s);
			return;
		}
		mode = nic_le16(ib);
		rlen = ib[2] >> 4;
		tlen = ib[3] >> 4;
		for (int i = 0; i < 3; i++)
			padr[i] = nic_le16(ib + 4 + 2 * i);
		for (int i = 0; i < 4; i++)
			ladrf[i] = nic_le16(ib + 12 + 2 * i);
		rdra = nic_le32(ib + 20);
		tdra = nic_le32(ib + 24);
	} else {
		if (!nic_dma_read(&s->nic, iadr, ib, 24)) {
			c[0] |= C0_MERR;
			update_irq(s);
			return;
		}
		mode = nic_le16(ib);
		for (int i = 0; i < 3; i++)
			padr[i] = nic_le16(ib + 2 + 2 * i);
		for (int i = 0; i < 4; i++)
			ladrf[i] = nic_le16(ib + 8 + 2 * i);
		rdra = nic_le32(ib + 16);
		tdra = nic_le32(ib + 20);
		rlen = rdra >> 29;
		tlen = tdra >> 29;
		rdra &= 0xffffff;
		tdra &= 0xffffff;
	}
	c[76] = rlen < 9 ? 1u << rlen : 512;
	c[78] = tlen < 9 ? 1u << tlen : 512;
	c[6] = (tlen << 12) | (rlen << 8);
	c[15] = mode;
	for (int i = 0; i < 4; i++)
		c[8 + i] = ladrf[i];
	for (int i = 0; i < 3; i++)
		c[12 + i] = padr[i];
	s->rdra = phys(s, rdra);
	s->tdra = phys(s, tdra);
	c[72] = c[76];
	c[74] = c[78];
	c[0] |= C0_IDON | C0_INIT;
	c[0] &= ~C0_STOP;
	if (s->nic.nc) {
		uint8_t mac[6];
		for (int i = 0; i < 3; i++) {
			mac[2 * i] = padr[i] & 0xff;
			mac[2 * i + 1] = padr[i] >> 8;
		}
		net_nic_set_mac(s->nic.nc, mac);
		net_nic_rx_filter_changed(s->nic.nc);
		net_client_flush_queue(s->nic.nc);
	}
}

static void start(struct pcnet *s)
{
	uint16_t *c = s->csr;
	if (!(c[15] & M_DTX))
		c[0] |= C0_TXON;
	if (!(c[15] & M_DRX))
		c[0] |= C0_RXON;
	c[0] &= ~C0_STOP;
	c[0] |= C0_STRT;
	poll_arm(s);
	if (s->nic.nc)
		net_client_flush_queue(s->nic.nc);
}

static void stop(struct pcnet *s)
{
	uint16_t *c = s->csr;
	/* QEMU's register image after STOP: STOP and TXON set */
	c[0] &= ~0xffeb;
	c[0] |= 0x0014;
	c[4] &= ~0x02c2;
	c[5] &= ~0x0011;
	ml_timer_del(s->poll);
}

/* Software reset (reading the RESET port). */
static void s_reset(struct pcnet *s)
{
	uint16_t *c = s->csr;
	s->rdra = s->tdra = 0;
	s->rap = 0;
	s->bcr[BCR_BSBC] &= ~0x0080;
	c[0] = C0_STOP;
	c[3] = 0;
	c[4] = 0x0115;
	c[5] = 0;
	c[6] = 0;
	c[8] = c[9] = c[10] = c[11] = 0;
	for (int i = 0; i < 3; i++)
		c[12 + i] = nic_le16(s->prom + 2 * i);
	c[15] &= 0x21c4;
	c[72] = c[74] = c[76] = c[78] = 1;
	c[80] = 0x1410;
	c[88] = 0x1003; /* chip ID 0x2621003: Am79C970A */
	c[89] = 0x0262;
	c[94] = 0;
	c[100] = 0x0200;
	c[103] = 0x0105;
	c[112] = c[114] = c[122] = c[124] = 0;
	s->txpos = -1;
	s->in_tx = false;
	if (s->poll)
		ml_timer_del(s->poll);
}

static void h_reset(struct pcnet *s)
{
	memset(s->csr, 0, sizeof(s->csr));
	memset(s->bcr, 0, sizeof(s->bcr));
	s->bcr[BCR_MSRDA] = 0x0005;
	s->bcr[BCR_MSWRA] = 0x0005;
	s->bcr[BCR_MC] = 0x0002;
	s->bcr[BCR_LNKST] = 0x00c0;
	s->bcr[BCR_LED1] = 0x0084;
	s->bcr[BCR_LED2] = 0x0088;
	s->bcr[BCR_LED3] = 0x0090;
	s->bcr[BCR_FDC] = 0x0000;
	s->bcr[BCR_BSBC] = 0x9001;
	s->bcr[BCR_EECAS] = 0x0002;
	s->bcr[BCR_SWS] = 0x0200;
	s->bcr[BCR_PLAT] = 0xff06;
	s_reset(s);
	update_irq(s);
}

static void pci_reset(void *opaque)
{
	struct pcnet *s = opaque;
	uint8_t *cfg = pci_config(s->nic.pci);
	/* fast back-to-back capable, medium DEVSEL timing (read-only) */
	cfg[PCI_STATUS] |= 0x80;
	cfg[PCI_STATUS + 1] |= 0x02;
	h_reset(s);
}

/* ---- CSR / BCR access ---- */

static void bcr_write(struct pcnet *s, unsigned rap, uint16_t v);

static void csr_write(struct pcnet *s, unsigned rap, uint16_t v)
{
	uint16_t *c = s->csr;
	switch (rap) {
	case 0: {
		c[0] &= ~(v & 0x7f00); /* write one to clear the status bits */
		c[0] = (c[0] & ~C0_IENA) | (v & (C0_IENA | C0_TDMD));
		unsigned cmd = (v & 0x7f) | (c[0] & 0x7f00);
		if ((cmd & 7) == 7)
			cmd &= ~3u; /* STOP wins over INIT and STRT */
		if (!(c[0] & C0_STOP) && (cmd & C0_STOP))
			stop(s);
		if (!(c[0] & C0_INIT) && (cmd & C0_INIT))
			init_block(s);
		if (!(c[0] & C0_STRT) && (cmd & C0_STRT))
			start(s);
		if (c[0] & C0_TDMD)
			transmit(s);
		return;
	}
	case 1:
	case 2:
	case 8:
	case 9:
	case 10:
	case 11:
	case 12:
	case 13:
	case 14:
	case 15:
	case 18 ... 47:
	case 72:
	case 74:
	case 76:
	case 78:
	case 112:
		/* only while stopped or suspended */
		if (!running(s))
			break;
		return;
	case 3:
		break;
	case 4:
		c[4] &= ~(v & 0x026a);
		v = (v & ~0x026a) | (c[4] & 0x026a);
		break;
	case 5:
		c[5] &= ~(v & 0x0a90);
		v = (v & ~0x0a90) | (c[5] & 0x0a90);
		break;
	case 16:
		csr_write(s, 1, v);
		return;
	case 17:
		csr_write(s, 2, v);
		return;
	case 58:
		bcr_write(s, BCR_SWS, v);
		break;
	default:
		return;
	}
	c[rap] = v;
	if (rap == 4)
		poll_arm(s);
}

static uint16_t bcr_read(struct pcnet *s, unsigned rap);

static uint32_t csr_read(struct pcnet *s, unsigned rap)
{
	switch (rap) {
	case 0: {
		update_irq(s);
		uint16_t v = s->csr[0];
		return v | ((v & 0x7800) ? C0_ERR : 0);
	}
	case 16:
		return csr_read(s, 1);
	case 17:
		return csr_read(s, 2);
	case 58:
		return bcr_read(s, BCR_SWS);
	case 88:
		return (uint32_t)s->csr[89] << 16 | s->csr[88];
	default:
		return s->csr[rap & 127];
	}
}

static void bcr_write(struct pcnet *s, unsigned rap, uint16_t v)
{
	rap &= 127;
	switch (rap) {
	case BCR_SWS:
		if (running(s))
			return;
		v &= ~0x0300;
		switch (v & 0xff) {
		case 0:
			v |= 0x0200;
			break;
		case 1:
			v |= 0x0100;
			break;
		case 2:
		case 3:
			v |= 0x0300;
			break;
		default:
			v = 0x0200;
			break;
		}
		s->bcr[rap] = v;
		break;
	case BCR_LNKST:
	case BCR_LED1:
	case BCR_LED2:
	case BCR_LED3:
	case BCR_MC:
	case BCR_FDC:
	case BCR_BSBC:
	case BCR_EECAS:
	case BCR_PLAT:
		s->bcr[rap] = v;
		break;
	default:
		break;
	}
}

static uint16_t bcr_read(struct pcnet *s, unsigned rap)
{
	rap &= 127;
	switch (rap) {
	case BCR_LNKST:
	case BCR_LED1:
	case BCR_LED2:
	case BCR_LED3: {
		/* LEDOUT: the LED's enabled conditions, here only link status */
		uint16_t v = s->bcr[rap] & ~0x8000;
		return v | ((v & 0x017f & (s->link_up ? 0x40 : 0)) ? 0x8000 : 0);
	}
	default:
		return rap < 32 ? s->bcr[rap] : 0;
	}
}

/* ---- I/O dispatch ---- */

static uint64_t io_read(struct pcnet *s, unsigned a, unsigned size)
{
	uint64_t v = size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	if (a < 0x10) {
		if (!dwio(s) && size == 1)
			return s->prom[a];
		if (!dwio(s) && size == 2 && !(a & 1))
			return nic_le16(s->prom + a);
		if (dwio(s) && size == 4 && !(a & 3))
			return nic_le32(s->prom + a);
		return v;
	}
	if (size == 2 && !dwio(s)) {
		switch (a & 0x0f) {
		case 0x00:
			v = csr_read(s, s->rap) & 0xffff;
			break;
		case 0x02:
			v = s->rap;
			break;
		case 0x04:
			s_reset(s);
			v = 0;
			break;
		case 0x06:
			v = bcr_read(s, s->rap);
			break;
		}
	} else if (size == 4 && dwio(s)) {
		switch (a & 0x0f) {
		case 0x00:
			v = csr_read(s, s->rap);
			break;
		case 0x04:
			v = s->rap;
			break;
		case 0x08:
			s_reset(s);
			v = 0;
			break;
		case 0x0c:
			v = bcr_read(s, s->rap);
			break;
		}
	}
	update_irq(s);
	return v;
}

static void io_write(struct pcnet *s, unsigned a, unsigned size, uint32_t v)
{
	if (a < 0x10) {
		/* the APROM takes writes only when BCR2.APROMWE allows */
		bool we = s->bcr[BCR_MC] & 0x100;
		if (!we)
			return;
		if (!dwio(s) && size == 1)
			s->prom[a] = v;
		else if (!dwio(s) && size == 2 && !(a & 1))
			nic_put_le16(s->prom + a, v);
		else if (dwio(s) && size == 4 && !(a & 3))
			nic_put_le32(s->prom + a, v);
		return;
	}
	if (size == 2 && !dwio(s)) {
		switch (a & 0x0f) {
		case 0x00:
			csr_write(s, s->rap, v);
			break;
		case 0x02:
			s->rap = v & 0x7f;
			break;
		case 0x06:
			bcr_write(s, s->rap, v);
			break;
		}
	} else if (size == 4) {
		if (dwio(s)) {
			switch (a & 0x0f) {
			case 0x00:
				csr_write(s, s->rap, v & 0xffff);
				break;
			case 0x04:
				s->rap = v & 0x7f;
				break;
			case 0x0c:
				bcr_write(s, s->rap, v & 0xffff);
				break;
			}
		} else if ((a & 0x0f) == 0) {
			/* a dword write to RDP switches to dword I/O */
			bcr_write(s, BCR_BSBC, bcr_read(s, BCR_BSBC) | 0x0080);
		}
	}
	update_irq(s);
}

static uint64_t bar_read(void *opaque, int bar, uint64_t off, unsigned size)
{
	(void)bar;
	return io_read(opaque, off & 0x1f, size);
}

static void bar_write(void *opaque, int bar, uint64_t off, unsigned size, uint64_t v)
{
	(void)bar;
	io_write(opaque, off & 0x1f, size, (uint32_t)v);
}

static const struct pci_bar_ops pcnet_bar_ops = {.read = bar_read, .write = bar_write};

static void pcnet_link_changed(NetClient *nc)
{
	struct pcnet *s = nc->opaque;
	s->link_up = !nc->link_down;
}

static void pcnet_query_rx_filter(NetClient *nc, JsonObject *o)
{
	struct pcnet *s = nc->opaque;
	json_object_set_boolean_member(o, "promiscuous", s->csr[15] & M_PROM);
	json_object_set_string_member(o, "multicast", "normal");
	json_object_set_string_member(o, "unicast", (s->csr[15] & M_DRCVPA) ? "none" : "normal");
	json_object_set_boolean_member(o, "broadcast-allowed", !(s->csr[15] & M_DRCVBC));
}

static const NetClientOps pcnet_net_ops = {
    .receive = pcnet_receive,
    .can_receive = pcnet_can_receive,
    .link_status_changed = pcnet_link_changed,
    .query_rx_filter = pcnet_query_rx_filter,
};

static void unrealize(void *opaque)
{
	struct pcnet *s = opaque;
	nic_detach(&s->nic);
	ml_timer_free(s->poll);
	g_free(s);
}

static const struct pci_device_ops pcnet_pci_ops = {
    .reset = pci_reset,
    .unrealize = unrealize,
};

static int pcnet_init(const struct dev_model *m, struct dev_opts *o, GError **err)
{
	struct pcnet *s = g_new0(struct pcnet, 1);
	if (nic_prepare(&s->nic, m, o, err) < 0) {
		g_free(s);
		return -1;
	}
	static const struct pci_ident ident = {
	    .vendor_id = 0x1022,
	    .device_id = 0x2000,
	    /* a non-zero subsystem vendor is needed to override the
	     * framework's default; the real 0000:0000 is set below */
	    .subsys_vendor_id = 0xffff,
	    .class_code = 0x020000,
	    .revision = 0x10,
	    .irq_pin = 1,
	};
	if (!nic_pci_new(&s->nic, o, &ident, &pcnet_pci_ops, s, err)) {
		nic_abandon(&s->nic);
		g_free(s);
		return -1;
	}
	if (pci_register_bar(s->nic.pci, 0, PCI_BAR_IO, 0x20, &pcnet_bar_ops, err) < 0 ||
	    pci_register_bar(s->nic.pci, 1, PCI_BAR_MEM32, 0x20, &pcnet_bar_ops, err) < 0)
		return -1;
	uint8_t *cfg = pci_config(s->nic.pci);
	memset(cfg + PCI_SUBSYSTEM_VENDOR_ID, 0, 4);
	cfg[0x3e] = 0x06; /* MIN_GNT */
	cfg[0x3f] = 0xff; /* MAX_LAT */

	/* APROM: MAC, reserved, hardware ID 0x11, checksum, "WW" */
	memcpy(s->prom, s->nic.conf_mac, 6);
	s->prom[9] = 0x11;
	s->prom[14] = s->prom[15] = 0x57;
	uint16_t sum = 0;
	for (int i = 0; i < APROM_SIZE; i++)
		sum += s->prom[i];
	nic_put_le16(s->prom + 12, sum);
	s->link_up = true;
	s->poll = ml_timer_new_virtual(poll_fired, s);
	nic_attach(&s->nic, &pcnet_net_ops, s);
	s->link_up = nic_link_up(&s->nic);
	pci_reset(s);
	return 0;
}

static const struct dev_prop pcnet_props[] = {
    NIC_COMMON_PROPS,
    {NULL, 0, NULL, NULL, 0},
};

static struct dev_model pcnet_model = {
    .name = "pcnet",
    .bus = "PCI",
    .category = "Network devices",
    .props = pcnet_props,
    .init = pcnet_init,
};
NIC_MODEL_REGISTER(pcnet_model)
