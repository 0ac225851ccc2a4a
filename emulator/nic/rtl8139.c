/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Realtek RTL8139C+ (PCI 10ec:8139, revision 0x20), as QEMU's "rtl8139".
 *
 * Two receive/transmit engines share one register file (BAR0 I/O and BAR1
 * MMIO, 256 bytes each):
 *   - C mode: a receive ring buffer (RBSTART, CAPR/CBR) the chip fills with
 *     [status, length][frame][FCS] records, and four transmit slots
 *     (TSD0-3 / TSAD0-3);
 *   - C+ mode (enabled through CpCmd): 16-byte descriptor rings for both
 *     directions, with checksum, VLAN and large-send offloads.
 * A 93C46 EEPROM holds the IDs and the MAC; the MII registers are mapped at
 * 0x62..0x6b. Link changes raise the "packet underrun / link change"
 * interrupt and flip BMSR's link bit.
 *
 * Every ring index is bounded (4 slots, 64 C+ descriptors) and every guest
 * address goes through nic_dma_*: a bad ring drops frames, counted on the
 * NIC, and never stops kite.
 */
#include <string.h>

#include "machine.h"
#include "main-loop.h"
#include "nic-common.h"

enum {
	R_IDR0 = 0x00,
	R_MAR0 = 0x08,
	R_TSD0 = 0x10,	/* C+ mode: DTCCR (tally counter dump address) */
	R_TSAD0 = 0x20, /* C+ mode: TNPDS (normal priority tx ring) */
	R_RBSTART = 0x30,
	R_CMD = 0x37,
	R_CAPR = 0x38,
	R_CBR = 0x3a,
	R_IMR = 0x3c,
	R_ISR = 0x3e,
	R_TCR = 0x40,
	R_RCR = 0x44,
	R_TCTR = 0x48,
	R_MPC = 0x4c,
	R_9346CR = 0x50,
	R_CONFIG0 = 0x51,
	R_CONFIG1 = 0x52,
	R_TIMERINT = 0x54,
	R_MSR = 0x58,
	R_CONFIG3 = 0x59,
	R_CONFIG4 = 0x5a,
	R_HLTCLK = 0x5b,
	R_MULINT = 0x5c,
	R_RERID = 0x5e,
	R_TSAD = 0x60,
	R_BMCR = 0x62,
	R_BMSR = 0x64,
	R_ANAR = 0x66,
	R_ANLPAR = 0x68,
	R_ANER = 0x6a,
	R_CSCR = 0x74,
	R_CONFIG5 = 0xd8,
	R_TPPOLL = 0xd9,
	R_CPCMD = 0xe0,
	R_INTRMIT = 0xe2,
	R_RDSAR_LO = 0xe4,
	R_RDSAR_HI = 0xe8,
	R_ETTHR = 0xec,
};

/* CMD */
#define CMD_RST	 0x10
#define CMD_RE	 0x08
#define CMD_TE	 0x04
#define CMD_BUFE 0x01

/* ISR / IMR */
#define INT_SERR	0x8000
#define INT_TIMEOUT	0x4000
#define INT_FOVW	0x40
#define INT_PUN_LINKCHG 0x20
#define INT_RXOVW	0x10
#define INT_TER		0x08
#define INT_TOK		0x04
#define INT_RER		0x02
#define INT_ROK		0x01

/* TSD */
#define TSD_OWN	 0x2000 /* set: the host owns the slot (DMA done) */
#define TSD_TUN	 0x4000
#define TSD_TOK	 0x8000
#define TSD_TABT 0x40000000u
#define TSD_SIZE 0x1fff

/* TCR */
#define TCR_LOOPBACK	 (3u << 17)
#define TCR_HWVER_8139CP 0x74800000u /* RTL8139C+ hardware version bits */
#define TCR_HWVER_MASK	 0x7c800000u

/* RCR */
#define RCR_AAP	 0x01
#define RCR_APM	 0x02
#define RCR_AM	 0x04
#define RCR_AB	 0x08
#define RCR_WRAP 0x80

/* receive record status */
#define RX_ROK 0x0001
#define RX_BAR 0x2000
#define RX_PAM 0x4000
#define RX_MAR 0x8000

/* CpCmd */
#define CP_RXVLAN   0x0040
#define CP_RXCHKSUM 0x0020
#define CP_RXENB    0x0002
#define CP_TXENB    0x0001

/* C+ descriptor word 0 */
#define CPD_OWN		 0x80000000u
#define CPD_EOR		 0x40000000u
#define CPD_FS		 0x20000000u
#define CPD_LS		 0x10000000u
#define CPTX_LGSEN	 0x08000000u
#define CPTX_IPCS	 0x00040000u
#define CPTX_UDPCS	 0x00020000u
#define CPTX_TCPCS	 0x00010000u
#define CPTX_STATUS_MASK 0x03f00000u /* UNF, TES, OWC, LNKF, EXC ... */
#define CPTX_SIZE	 0xffff
#define CPRX_MAR	 0x04000000u
#define CPRX_PAM	 0x02000000u
#define CPRX_BAR	 0x01000000u
#define CPRX_SIZE	 0x1fff
/* C+ descriptor word 1 */
#define CPTX_TAGC 0x00020000u
#define CPRX_TAVA 0x00010000u

#define CP_RING_MAX  64 /* descriptors per C+ ring */
#define CP_TXBUF_MAX 65536
#define PCI_CLOCK_HZ 33000000ULL
#define ETH_MIN	     60

#define BMSR_LINK 0x0004

struct tally {
	uint64_t tx_ok, rx_ok, tx_err;
	uint32_t rx_err;
	uint16_t miss_pkt, fae;
	uint32_t tx_1col, tx_mcol;
	uint64_t rx_ok_phy, rx_ok_brd;
	uint32_t rx_ok_mul;
	uint16_t tx_abt, tx_undrn;
};

struct rtl8139 {
	struct nic_common nic; /* first: see nic-common.h */
	uint8_t idr[6], mar[8];
	uint32_t tsd[4], tsad[4];
	uint32_t rbstart;
	uint32_t rx_size;  /* C mode ring size from RCR */
	uint32_t rx_read;  /* CAPR + 16 */
	uint32_t rx_write; /* CBR */
	uint16_t isr, imr;
	uint32_t tcr, rcr, mpc;
	uint16_t cscr;
	uint8_t cr9346, config0, config1, config3, config4, config5;
	bool clock_enabled;
	uint8_t cmd;
	uint16_t mulint;
	uint16_t bmcr, bmsr, anar, anlpar, aner;
	uint16_t cpcmd;
	bool cplus_enabled;
	uint8_t etthr;
	unsigned tx_slot, cp_rx_idx, cp_tx_idx;
	uint32_t rdsar_lo, rdsar_hi;
	struct nic_eeprom93 eeprom;
	uint32_t timer_int;
	int64_t tctr_base, timer_expire;
	ml_timer *timer;
	struct tally tally;
	uint8_t *cp_txbuf;
	size_t cp_txlen;
	bool cp_tx_bad; /* a segment of the frame being assembled was lost */
};

static void update_irq(struct rtl8139 *s)
{
	nic_set_irq(&s->nic, (s->isr & s->imr) != 0);
}

/* ---- the PCI timer (TCTR / TimerInt) ---- */

static uint32_t tctr_now(struct rtl8139 *s, int64_t now)
{
	return (uint32_t)((uint64_t)(now - s->tctr_base) * PCI_CLOCK_HZ / 1000000000ULL);
}

/* Raise the timeout when TCTR passed TimerInt; compute the next expiry. */
static void timer_update(struct rtl8139 *s)
{
	int64_t now = vclock_ns();
	if (s->timer_expire && now >= s->timer_expire) {
		s->isr |= INT_TIMEOUT;
		update_irq(s);
	}
	s->timer_expire = 0;
	if (!s->timer_int)
		return;
	uint64_t ticks = (uint64_t)(now - s->tctr_base) * PCI_CLOCK_HZ / 1000000000ULL;
	uint64_t next = (ticks & ~0xffffffffULL) + s->timer_int;
	if ((uint32_t)ticks >= s->timer_int)
		next += 1ULL << 32;
	s->timer_expire = s->tctr_base + (int64_t)(next * 1000000000ULL / PCI_CLOCK_HZ);
	/* a virtual-clock timer: under qtest it fires when clock_step gets there */
	if ((s->imr & INT_TIMEOUT) && !(s->isr & INT_TIMEOUT))
		ml_timer_mod(s->timer, s->timer_expire);
	else
		ml_timer_del(s->timer);
}

static void timer_fired(void *opaque)
{
	struct rtl8139 *s = opaque;
	if (s->clock_enabled)
		timer_update(s);
}

/* ---- reset ---- */

static void rx_ring_reset(struct rtl8139 *s)
{
	s->rx_size = 8192u << ((s->rcr >> 11) & 3);
	s->rx_read = 0;
	s->rx_write = 0;
}

static void chip_reset(struct rtl8139 *s)
{
	memcpy(s->idr, s->nic.conf_mac, 6);
	if (s->nic.nc)
		net_nic_set_mac(s->nic.nc, s->idr);
	s->isr = 0;
	s->imr = 0;
	update_irq(s);
	for (int i = 0; i < 4; i++)
		s->tsd[i] = TSD_OWN;
	s->tx_slot = 0;
	s->cp_rx_idx = 0;
	s->cp_tx_idx = 0;
	s->rdsar_lo = s->rdsar_hi = 0;
	s->rbstart = 0;
	s->rx_size = 8192;
	s->rx_read = s->rx_write = 0;
	s->tcr = TCR_HWVER_8139CP;
	s->clock_enabled = true;
	s->cmd = CMD_RST; /* reads back set until the next CMD write */
	s->config0 = 0x00;
	s->config1 = 0x0c; /* I/O and memory mapping enabled */
	s->config3 = 0x01; /* fast back-to-back */
	s->config5 = 0x00;
	s->cscr = 0x0340; /* LD, HEART_BIT, F_LINK_100 */
	s->cpcmd = 0;
	s->cplus_enabled = false;
	s->bmcr = 0x1000; /* autonegotiation */
	s->bmsr = 0x7809 | 0x0020 | (nic_link_up(&s->nic) ? BMSR_LINK : 0);
	s->anar = 0x05e1;
	s->anlpar = 0x05e1;
	s->aner = 0x0001;
	s->timer_int = 0;
	s->tctr_base = vclock_ns();
	s->timer_expire = 0;
	if (s->timer)
		ml_timer_del(s->timer);
	memset(&s->tally, 0, sizeof(s->tally));
	s->cp_txlen = 0;
	s->cp_tx_bad = false;
}

static void pci_reset(void *opaque)
{
	struct rtl8139 *s = opaque;
	chip_reset(s);
	/* state a power cycle clears that the chip's own reset keeps */
	memset(s->mar, 0, sizeof(s->mar));
	s->rcr = 0;
	s->mpc = 0;
	s->cr9346 = 0;
	s->config4 = 0;
	s->mulint = 0;
	s->etthr = 0;
	nic_ee93_init(&s->eeprom, 64);
}

/* ---- receive ---- */

static bool rx_enabled(struct rtl8139 *s)
{
	return s->clock_enabled && (s->cmd & CMD_RE);
}

static bool cp_rx_mode(struct rtl8139 *s)
{
	return s->cpcmd & CP_RXENB;
}

static bool cp_rx_ring_set(struct rtl8139 *s)
{
	/* Linux enables the receiver before it hands over the ring. */
	return s->rdsar_lo || s->rdsar_hi;
}

static uint32_t rx_free(struct rtl8139 *s)
{
	return (s->rx_size + s->rx_read - s->rx_write) & (s->rx_size - 1);
}

static bool rtl_can_receive(NetClient *nc)
{
	struct rtl8139 *s = nc->opaque;
	if (!rx_enabled(s))
		return true; /* frames are dropped, not held */
	if (cp_rx_mode(s) && cp_rx_ring_set(s))
		return true; /* no doorbell in C+ mode: never hold frames */
	uint32_t avail = rx_free(s);
	return avail == 0 || avail >= 1514 || (s->imr & INT_RXOVW);
}

/* Copy into the C mode ring at CBR, wrapping unless RCR.WRAP lets the chip
 * run past the end (the driver then allocated the extra room). */
static bool rx_ring_put(struct rtl8139 *s, const void *buf, uint32_t len)
{
	const uint8_t *p = buf;
	bool ok = true;
	if (s->rx_write + len > s->rx_size && !(s->rx_size < 65536 && (s->rcr & RCR_WRAP))) {
		uint32_t first = s->rx_size - s->rx_write;
		if (first > len)
			first = len;
		ok = nic_dma_write(&s->nic, (uint64_t)s->rbstart + s->rx_write, p, first);
		s->rx_write = 0;
		p += first;
		len -= first;
	}
	ok = nic_dma_write(&s->nic, (uint64_t)s->rbstart + s->rx_write, p, len) && ok;
	s->rx_write += len;
	return ok;
}

static ssize_t rx_cplus(struct rtl8139 *s, const uint8_t *buf, size_t size, size_t orig,
			uint32_t kind)
{
	uint64_t ring = (uint64_t)s->rdsar_hi << 32 | s->rdsar_lo;
	uint64_t desc = ring + 16 * s->cp_rx_idx;
	uint8_t d[16];
	if (!nic_dma_read(&s->nic, desc, d, sizeof(d)))
		return -1;
	uint32_t w0 = nic_le32(d), w1 = nic_le32(d + 4);
	uint64_t bufaddr = (uint64_t)nic_le32(d + 12) << 32 | nic_le32(d + 8);
	if (!(w0 & CPD_OWN)) {
		s->isr |= INT_RXOVW;
		s->mpc++;
		s->tally.rx_err++;
		s->tally.miss_pkt++;
		update_irq(s);
		return -1;
	}
	uint32_t space = w0 & CPRX_SIZE;
	const uint8_t *tag = NULL;
	if ((s->cpcmd & CP_RXVLAN) && size >= 16 && nic_be16(buf + 12) == 0x8100) {
		tag = buf + 12;
		size -= 4;
		if (size < ETH_MIN)
			size = ETH_MIN;
		w1 = (w1 & ~0xffffu) | CPRX_TAVA | nic_le16(tag + 2);
	} else {
		w1 &= ~CPRX_TAVA;
	}
	if (size + 4 > space) {
		s->isr |= INT_RXOVW;
		s->mpc++;
		s->tally.rx_err++;
		s->tally.miss_pkt++;
		update_irq(s);
		return -1;
	}
	bool ok;
	if (tag) {
		ok = nic_dma_write(&s->nic, bufaddr, buf, 12) &&
		     nic_dma_write(&s->nic, bufaddr + 12, buf + 16, size - 12);
	} else {
		ok = nic_dma_write(&s->nic, bufaddr, buf, size);
	}
	uint8_t fcs[4];
	nic_put_le32(fcs, nic_fcs(buf, orig));
	ok = ok && nic_dma_write(&s->nic, bufaddr + size, fcs, 4);
	if (!ok)
		return -1;
	w0 &= ~(CPD_OWN | CPRX_SIZE | 0x0fff0000u);
	w0 |= CPD_FS | CPD_LS | kind | (uint32_t)(size + 4);
	uint8_t out[8];
	nic_put_le32(out, w0);
	nic_put_le32(out + 4, w1);
	if (!nic_dma_write(&s->nic, desc, out, 8))
		return -1;
	s->tally.rx_ok++;
	if ((w0 & CPD_EOR) || ++s->cp_rx_idx >= CP_RING_MAX)
		s->cp_rx_idx = 0;
	return 0;
}

static ssize_t do_receive(struct rtl8139 *s, const uint8_t *frame, size_t size)
{
	if (!rx_enabled(s))
		return -1;
	if (size < 6)
		return -1;
	uint32_t hdr = 0, cpkind = 0;
	if (!(s->rcr & RCR_AAP)) {
		switch (nic_dest_kind(frame)) {
		case NIC_DEST_BROADCAST:
			if (!(s->rcr & RCR_AB)) {
				s->tally.rx_err++;
				return size;
			}
			hdr = RX_BAR;
			cpkind = CPRX_BAR;
			s->tally.rx_ok_brd++;
			break;
		case NIC_DEST_MULTICAST: {
			unsigned bit = nic_crc32_be(frame, 6) >> 26;
			if (!(s->rcr & RCR_AM) || !(s->mar[bit >> 3] & (1 << (bit & 7)))) {
				s->tally.rx_err++;
				return size;
			}
			hdr = RX_MAR;
			cpkind = CPRX_MAR;
			s->tally.rx_ok_mul++;
			break;
		}
		default:
			if (memcmp(frame, s->idr, 6) || !(s->rcr & RCR_APM)) {
				s->tally.rx_err++;
				return size;
			}
			hdr = RX_PAM;
			cpkind = CPRX_PAM;
			s->tally.rx_ok_phy++;
			break;
		}
	}
	/* Short frames are padded to the Ethernet minimum, with room left for
	 * a VLAN tag that the C+ receiver may strip. */
	uint8_t small[ETH_MIN + 4];
	const uint8_t *buf = frame;
	size_t len = size;
	if (size < sizeof(small)) {
		memset(small, 0, sizeof(small));
		memcpy(small, frame, size);
		buf = small;
		if (len < ETH_MIN)
			len = ETH_MIN;
	}
	if (cp_rx_mode(s)) {
		if (!cp_rx_ring_set(s))
			return size;
		if (rx_cplus(s, buf, len, size, cpkind) < 0)
			return -1;
	} else {
		uint32_t avail = rx_free(s);
		if ((avail != 0 && len + 8 >= avail) || len + 8 > s->rx_size) {
			s->isr |= INT_RXOVW;
			s->mpc++;
			update_irq(s);
			return -1;
		}
		uint8_t word[4];
		nic_put_le32(word, RX_ROK | hdr | (uint32_t)(len + 4) << 16);
		bool ok = rx_ring_put(s, word, 4);
		ok = rx_ring_put(s, buf, len) && ok;
		nic_put_le32(word, nic_fcs(buf, len));
		ok = rx_ring_put(s, word, 4) && ok;
		s->rx_write = ((s->rx_write + 3) & ~3u) & (s->rx_size - 1);
		if (!ok)
			return -1;
	}
	s->isr |= INT_ROK;
	update_irq(s);
	return size;
}

static ssize_t rtl_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	struct rtl8139 *s = nc->opaque;
	size_t size;
	g_autofree uint8_t *buf = nic_iov_flatten(iov, iovcnt, &size);
	return buf ? do_receive(s, buf, size) : -1;
}

/* ---- transmit ---- */

static void transfer_frame(struct rtl8139 *s, const uint8_t *buf, size_t len)
{
	if (len == 0) {
		nic_count_tx_drop(&s->nic);
		return;
	}
	if ((s->tcr & TCR_LOOPBACK) == TCR_LOOPBACK) {
		if (s->nic.nc) {
			s->nic.nc->stats.tx_packets++;
			s->nic.nc->stats.tx_bytes += len;
		}
		do_receive(s, buf, len);
		return;
	}
	nic_send(&s->nic, buf, len);
}

/* C mode: send the slots the guest handed over, in order. */
static void transmit_slots(struct rtl8139 *s)
{
	if (!(s->cmd & CMD_TE))
		return;
	for (int n = 0; n < 4; n++) {
		unsigned i = s->tx_slot;
		if (s->tsd[i] & TSD_OWN)
			break;
		uint32_t size = s->tsd[i] & TSD_SIZE;
		uint8_t buf[TSD_SIZE + 1];
		if (!nic_dma_read(&s->nic, s->tsad[i], buf, size)) {
			nic_count_tx_drop(&s->nic);
			s->tsd[i] |= TSD_OWN | TSD_TABT;
			s->tally.tx_err++;
			s->tally.tx_abt++;
			s->isr |= INT_TER;
		} else {
			s->tsd[i] |= TSD_OWN | TSD_TOK;
			transfer_frame(s, buf, size);
			s->isr |= INT_TOK;
		}
		s->tx_slot = (i + 1) & 3;
	}
	update_irq(s);
}

struct cp_seg_ctx {
	struct rtl8139 *s;
	const uint8_t *vlan; /* 4 bytes to insert after the MACs, or NULL */
};

static void cp_send_one(void *opaque, const uint8_t *frame, size_t len)
{
	struct cp_seg_ctx *c = opaque;
	if (!c->vlan || len < 12) {
		transfer_frame(c->s, frame, len);
		return;
	}
	uint8_t *tagged = g_malloc(len + 4);
	memcpy(tagged, frame, 12);
	memcpy(tagged + 12, c->vlan, 4);
	memcpy(tagged + 16, frame + 12, len - 12);
	transfer_frame(c->s, tagged, len + 4);
	g_free(tagged);
}

/* The assembled frame of a C+ transmit, with its offloads done. */
static void cp_finish_frame(struct rtl8139 *s, uint32_t w0, uint32_t w1)
{
	uint8_t *f = s->cp_txbuf;
	size_t len = s->cp_txlen;
	uint8_t tag[4];
	struct cp_seg_ctx ctx = {.s = s, .vlan = NULL};
	if (w1 & CPTX_TAGC) {
		/* the tag sits in the descriptor in network byte order */
		tag[0] = 0x81;
		tag[1] = 0x00;
		tag[2] = w1 & 0xff;
		tag[3] = (w1 >> 8) & 0xff;
		ctx.vlan = tag;
	}
	bool ipv4 = len >= 14 + 20 && nic_be16(f + 12) == 0x0800 && (f[14] >> 4) == 4;
	if (w0 & CPTX_LGSEN) {
		/* MSS in bits 16..26; the checksum bits overlap it and mean
		 * nothing here */
		unsigned mss = (w0 >> 16) & 0x7ff;
		size_t l4 = 14 + (size_t)(f[14] & 0xf) * 4;
		if (ipv4 && f[14 + 9] == 6 && l4 + 20 <= len) {
			size_t hdr = l4 + (size_t)(f[l4 + 12] >> 4) * 4;
			if (nic_tso(f, len, 14, l4, hdr, mss, cp_send_one, &ctx) >= 0) {
				s->tally.tx_ok++;
				return;
			}
		}
		nic_count_tx_drop(&s->nic);
		s->tally.tx_err++;
		return;
	}
	if (ipv4 && (w0 & CPTX_IPCS))
		nic_fill_ipv4_csum(f, len, 14);
	if (ipv4 && (w0 & (CPTX_TCPCS | CPTX_UDPCS)))
		nic_fill_l4_csum(f, len, 14, w0 & CPTX_TCPCS, w0 & CPTX_UDPCS);
	s->tally.tx_ok++;
	cp_send_one(&ctx, f, len);
}

static void transmit_cplus(struct rtl8139 *s)
{
	if (!(s->cmd & CMD_TE) || !(s->cpcmd & CP_TXENB))
		return;
	uint64_t ring = (uint64_t)s->tsad[1] << 32 | s->tsad[0];
	int done = 0;
	/* one pass over the ring at most: a guest that hands the whole ring
	 * over again is served on its next poll */
	for (int n = 0; n < CP_RING_MAX; n++) {
		uint64_t desc = ring + 16 * s->cp_tx_idx;
		uint8_t d[16];
		if (!nic_dma_read(&s->nic, desc, d, sizeof(d))) {
			nic_count_tx_drop(&s->nic);
			break;
		}
		uint32_t w0 = nic_le32(d), w1 = nic_le32(d + 4);
		uint64_t bufaddr = (uint64_t)nic_le32(d + 12) << 32 | nic_le32(d + 8);
		if (!(w0 & CPD_OWN))
			break;
		if (w0 & CPD_FS) {
			s->cp_txlen = 0;
			s->cp_tx_bad = false;
		}
		size_t size = w0 & CPTX_SIZE;
		if (s->cp_txlen + size > CP_TXBUF_MAX) {
			s->cp_tx_bad = true;
		} else if (!nic_dma_read(&s->nic, bufaddr, s->cp_txbuf + s->cp_txlen, size)) {
			s->cp_tx_bad = true;
		} else {
			s->cp_txlen += size;
		}
		if ((w0 & CPD_EOR) || ++s->cp_tx_idx >= CP_RING_MAX)
			s->cp_tx_idx = 0;
		uint32_t status = w0 & ~(CPD_OWN | CPTX_STATUS_MASK);
		nic_dma_write32(&s->nic, desc, status);
		done++;
		if (w0 & CPD_LS) {
			if (s->cp_tx_bad || s->cp_txlen == 0) {
				nic_count_tx_drop(&s->nic);
				s->tally.tx_err++;
			} else {
				cp_finish_frame(s, w0, w1);
			}
			s->cp_txlen = 0;
			s->cp_tx_bad = false;
		}
	}
	if (done) {
		s->isr |= INT_TOK;
		update_irq(s);
	}
}

static void dump_tally(struct rtl8139 *s)
{
	uint64_t addr = (uint64_t)s->tsd[1] << 32 | (s->tsd[0] & ~0x3fu);
	uint8_t t[64];
	struct tally *c = &s->tally;
	memset(t, 0, sizeof(t));
	nic_put_le32(t + 0, (uint32_t)c->tx_ok);
	nic_put_le32(t + 4, (uint32_t)(c->tx_ok >> 32));
	nic_put_le32(t + 8, (uint32_t)c->rx_ok);
	nic_put_le32(t + 12, (uint32_t)(c->rx_ok >> 32));
	nic_put_le32(t + 16, (uint32_t)c->tx_err);
	nic_put_le32(t + 20, (uint32_t)(c->tx_err >> 32));
	nic_put_le32(t + 24, c->rx_err);
	nic_put_le16(t + 28, c->miss_pkt);
	nic_put_le16(t + 30, c->fae);
	nic_put_le32(t + 32, c->tx_1col);
	nic_put_le32(t + 36, c->tx_mcol);
	nic_put_le32(t + 40, (uint32_t)c->rx_ok_phy);
	nic_put_le32(t + 44, (uint32_t)(c->rx_ok_phy >> 32));
	nic_put_le32(t + 48, (uint32_t)c->rx_ok_brd);
	nic_put_le32(t + 52, (uint32_t)(c->rx_ok_brd >> 32));
	nic_put_le32(t + 56, c->rx_ok_mul);
	nic_put_le16(t + 60, c->tx_abt);
	nic_put_le16(t + 62, c->tx_undrn);
	nic_dma_write(&s->nic, addr, t, sizeof(t));
}

/* ---- registers ---- */

static bool config_writable(struct rtl8139 *s)
{
	return (s->cr9346 & 0xc0) == 0xc0;
}

static uint16_t tsad_summary(struct rtl8139 *s)
{
	uint16_t v = 0;
	for (int i = 0; i < 4; i++) {
		if (s->tsd[i] & TSD_TOK)
			v |= 1u << (12 + i);
		if (s->tsd[i] & TSD_TUN)
			v |= 1u << (8 + i);
		if (s->tsd[i] & TSD_TABT)
			v |= 1u << (4 + i);
		if (s->tsd[i] & TSD_OWN)
			v |= 1u << i;
	}
	return v;
}

/*
 * Byte and word reads of the 32-bit registers follow QEMU: only TSD (all
 * sizes), TSAD (words) and the top byte of TCR read back, the others read
 * 0 unless accessed as a whole.
 */
static uint8_t read8(struct rtl8139 *s, unsigned a)
{
	switch (a) {
	case R_IDR0 ... R_IDR0 + 5:
		return s->idr[a - R_IDR0];
	case R_MAR0 ... R_MAR0 + 7:
		return s->mar[a - R_MAR0];
	case R_TSD0 ... R_TSD0 + 15:
		return s->tsd[(a - R_TSD0) / 4] >> (8 * (a & 3));
	case R_CMD:
		return s->cmd | (s->rx_read == s->rx_write ? CMD_BUFE : 0);
	case R_TCR + 3:
		return s->tcr >> 24;
	case R_9346CR: {
		uint8_t v = s->cr9346;
		if ((v & 0xc0) == 0x80) {
			v &= ~0x01;
			if (s->eeprom.cs && nic_ee93_dout(&s->eeprom))
				v |= 0x01;
		}
		return v;
	}
	case R_CONFIG0:
		return s->config0;
	case R_CONFIG1:
		return s->config1;
	case R_MSR:
		/* LINKB (bit 2) reads 1 while the link is down */
		return 0xd0 | (~s->bmsr & BMSR_LINK);
	case R_CONFIG3:
		return s->config3;
	case R_CONFIG4:
		return s->config4;
	case R_HLTCLK:
		return s->clock_enabled;
	case R_RERID:
		return 0x20;
	case R_CONFIG5:
		return s->config5;
	case R_ETTHR:
		return s->etthr;
	default:
		return 0;
	}
}

static uint32_t read16(struct rtl8139 *s, unsigned a)
{
	switch (a) {
	case R_TSAD0 ... R_TSAD0 + 15:
		return (a & 1) ? 0 : (uint16_t)(s->tsad[(a - R_TSAD0) / 4] >> (8 * (a & 2)));
	case R_CAPR:
		return (uint16_t)(s->rx_read - 16);
	case R_CBR:
		return (uint16_t)s->rx_write;
	case R_IMR:
		return s->imr;
	case R_ISR:
		timer_update(s);
		return s->isr;
	case R_MULINT:
		return s->mulint;
	case R_TSAD:
		return tsad_summary(s);
	case R_BMCR:
		return s->bmcr;
	case R_BMSR:
		return s->bmsr;
	case R_ANAR:
		return s->anar;
	case R_ANLPAR:
		return s->anlpar;
	case R_ANER:
		return s->aner;
	case R_CSCR:
		return s->cscr;
	case R_CPCMD:
		return s->cpcmd;
	case R_INTRMIT:
		return 0;
	default:
		return read8(s, a) | read8(s, a + 1) << 8;
	}
}

static uint32_t read32(struct rtl8139 *s, unsigned a)
{
	switch (a) {
	case R_MPC:
		return s->mpc;
	case R_TCR:
		return s->tcr;
	case R_RCR:
		return s->rcr;
	case R_TSD0:
	case R_TSD0 + 4:
	case R_TSD0 + 8:
	case R_TSD0 + 12:
		return s->tsd[(a - R_TSD0) / 4];
	case R_TSAD0:
	case R_TSAD0 + 4:
	case R_TSAD0 + 8:
	case R_TSAD0 + 12:
		return s->tsad[(a - R_TSAD0) / 4];
	case R_RBSTART:
		return s->rbstart;
	case R_RDSAR_LO:
		return s->rdsar_lo;
	case R_RDSAR_HI:
		return s->rdsar_hi;
	case R_TCTR:
		return tctr_now(s, vclock_ns());
	case R_TIMERINT:
		return s->timer_int;
	default:
		return read16(s, a) | read16(s, a + 2) << 16;
	}
}

static void write_cmd(struct rtl8139 *s, uint8_t v)
{
	if (v & CMD_RST)
		chip_reset(s);
	if (v & CMD_RE)
		s->cp_rx_idx = 0;
	if (v & CMD_TE)
		s->cp_tx_idx = 0;
	s->cmd = (s->cmd & 0xe3) | (v & ~0xe3 & ~CMD_RST);
	if (v & CMD_RE && s->nic.nc)
		net_client_flush_queue(s->nic.nc);
}

static void write_9346(struct rtl8139 *s, uint8_t v)
{
	v = (v & ~0x31) | (s->cr9346 & 0x31);
	unsigned mode = v & 0xc0;
	if (mode == 0x80) {
		nic_ee93_wires(&s->eeprom, v & 0x08, v & 0x04, v & 0x02);
	} else if (mode == 0x40) {
		/* autoload: reload from the EEPROM, i.e. a reset */
		v = 0;
		chip_reset(s);
	}
	if (mode != 0x80 && s->eeprom.cs)
		nic_ee93_wires(&s->eeprom, false, false, false);
	s->cr9346 = v;
}

/* TCR only takes writes while the transmitter is on; the version bits and
 * a few reserved ones are fixed. */
#define TCR_WRITABLE 0x030f07f0u
static void write_tcr(struct rtl8139 *s, uint32_t v)
{
	if (s->cmd & CMD_TE)
		s->tcr = (s->tcr & ~TCR_WRITABLE) | (v & TCR_WRITABLE);
}

static void write8(struct rtl8139 *s, unsigned a, uint8_t v)
{
	switch (a) {
	case R_IDR0 ... R_IDR0 + 5:
		s->idr[a - R_IDR0] = v;
		if (a == R_IDR0 + 5 && s->nic.nc)
			net_nic_set_mac(s->nic.nc, s->idr);
		break;
	case R_MAR0 ... R_MAR0 + 7:
		s->mar[a - R_MAR0] = v;
		if (s->nic.nc)
			net_nic_rx_filter_changed(s->nic.nc);
		break;
	case R_CMD:
		write_cmd(s, v);
		break;
	case R_9346CR:
		write_9346(s, v);
		break;
	case R_TCR:
		/* some drivers write the low byte alone */
		write_tcr(s, (s->tcr & ~0xffu) | v);
		break;
	case R_CONFIG0:
		if (config_writable(s))
			s->config0 = (s->config0 & 0xf8) | (v & ~0xf8);
		break;
	case R_CONFIG1:
		if (config_writable(s))
			s->config1 = (s->config1 & 0x0c) | (v & ~0x0c);
		break;
	case R_CONFIG3:
		if (config_writable(s))
			s->config3 = (s->config3 & 0x8f) | (v & ~0x8f);
		break;
	case R_CONFIG4:
		if (config_writable(s))
			s->config4 = (s->config4 & 0x0a) | (v & ~0x0a);
		break;
	case R_CONFIG5:
		s->config5 = (s->config5 & 0x80) | (v & ~0x80);
		break;
	case R_HLTCLK:
		if (v == 'R')
			s->clock_enabled = true;
		else if (v == 'H')
			s->clock_enabled = false;
		break;
	case R_ETTHR:
		s->etthr = v;
		break;
	case R_TPPOLL:
		if (v & 0x40)
			transmit_cplus(s);
		break;
	default:
		break;
	}
}

static void write16(struct rtl8139 *s, unsigned a, uint16_t v)
{
	switch (a) {
	case R_IMR:
		s->imr = (s->imr & 0x1e00) | (v & ~0x1e00);
		timer_update(s);
		update_irq(s);
		if (s->nic.nc)
			net_client_flush_queue(s->nic.nc);
		break;
	case R_ISR:
		/* write one to clear */
		s->isr = (s->isr & ~v) | (s->isr & 0x1e00);
		timer_update(s);
		update_irq(s);
		break;
	case R_MULINT:
		s->mulint = (s->mulint & 0xf000) | (v & 0x0fff);
		break;
	case R_CAPR:
		s->rx_read = (v + 16u) & (s->rx_size - 1);
		if (s->nic.nc)
			net_client_flush_queue(s->nic.nc);
		break;
	case R_BMCR:
		/* only reset (bit 15) and restart-autoneg (bit 9) are writable */
		s->bmcr = (s->bmcr & 0x7dff) | (v & 0x8200);
		break;
	case R_BMSR:
		s->bmsr = (s->bmsr & 0xff3f) | (v & 0x00c0);
		break;
	case R_ANAR:
		s->anar = v;
		break;
	case R_ANLPAR:
		break;
	case R_ANER:
		s->aner = v;
		break;
	case R_CPCMD:
		s->cplus_enabled = true;
		s->cpcmd = (s->cpcmd & 0xff84) | (v & ~0xff84);
		if (s->nic.nc)
			net_client_flush_queue(s->nic.nc);
		break;
	case R_INTRMIT:
		break;
	default:
		write8(s, a, v & 0xff);
		write8(s, a + 1, v >> 8);
		break;
	}
}

static void write32(struct rtl8139 *s, unsigned a, uint32_t v)
{
	switch (a) {
	case R_MPC:
		s->mpc = 0;
		break;
	case R_TCR:
		write_tcr(s, v);
		break;
	case R_RCR:
		s->rcr = (s->rcr & 0xf0fc0040u) | (v & ~0xf0fc0040u);
		rx_ring_reset(s);
		if (s->nic.nc)
			net_nic_rx_filter_changed(s->nic.nc);
		break;
	case R_TSD0:
	case R_TSD0 + 4:
	case R_TSD0 + 8:
	case R_TSD0 + 12: {
		unsigned i = (a - R_TSD0) / 4;
		if (s->cplus_enabled) {
			/* DTCCR: bit 3 asks for a tally counter dump */
			s->tsd[i] = v;
			if (i == 0 && (v & 0x8)) {
				dump_tally(s);
				s->tsd[0] &= ~0x8u;
			}
			break;
		}
		v &= ~0xff00c000u; /* status bits are the chip's */
		s->tsd[i] = (v & ~0x00c00000u) | (s->tsd[i] & 0x00c00000u);
		transmit_slots(s);
		break;
	}
	case R_TSAD0:
	case R_TSAD0 + 4:
	case R_TSAD0 + 8:
	case R_TSAD0 + 12:
		s->tsad[(a - R_TSAD0) / 4] = v;
		break;
	case R_RBSTART:
		s->rbstart = v;
		break;
	case R_RDSAR_LO:
		s->rdsar_lo = v;
		break;
	case R_RDSAR_HI:
		s->rdsar_hi = v;
		break;
	case R_TCTR:
		s->tctr_base = vclock_ns();
		timer_update(s);
		break;
	case R_TIMERINT:
		if (s->timer_int != v) {
			s->timer_int = v;
			timer_update(s);
		}
		break;
	default:
		write16(s, a, v & 0xffff);
		write16(s, a + 2, v >> 16);
		break;
	}
}

static uint64_t bar_read(void *opaque, int bar, uint64_t off, unsigned size)
{
	(void)bar;
	struct rtl8139 *s = opaque;
	unsigned a = off & 0xff;
	switch (size) {
	case 1:
		return read8(s, a);
	case 2:
		return a + 2 <= 0x100 ? read16(s, a) : read8(s, a);
	case 4:
		return a + 4 <= 0x100 ? read32(s, a) : read16(s, a);
	default:
		return a + 8 <= 0x100 ? read32(s, a) | (uint64_t)read32(s, a + 4) << 32
				      : read32(s, a);
	}
}

static void bar_write(void *opaque, int bar, uint64_t off, unsigned size, uint64_t v)
{
	(void)bar;
	struct rtl8139 *s = opaque;
	unsigned a = off & 0xff;
	switch (size) {
	case 1:
		write8(s, a, v);
		break;
	case 2:
		write16(s, a, v);
		break;
	case 4:
		write32(s, a, v);
		break;
	default:
		write32(s, a, v);
		write32(s, a + 4, v >> 32);
		break;
	}
}

static const struct pci_bar_ops rtl_bar_ops = {.read = bar_read, .write = bar_write};

static void rtl_link_changed(NetClient *nc)
{
	struct rtl8139 *s = nc->opaque;
	if (nc->link_down)
		s->bmsr &= ~BMSR_LINK;
	else
		s->bmsr |= BMSR_LINK;
	s->isr |= INT_PUN_LINKCHG;
	update_irq(s);
}

static void rtl_query_rx_filter(NetClient *nc, JsonObject *o)
{
	struct rtl8139 *s = nc->opaque;
	json_object_set_boolean_member(o, "promiscuous", s->rcr & RCR_AAP);
	json_object_set_string_member(o, "multicast", (s->rcr & RCR_AM) ? "normal" : "none");
	json_object_set_string_member(o, "unicast", (s->rcr & RCR_APM) ? "normal" : "none");
	json_object_set_boolean_member(o, "broadcast-allowed", s->rcr & RCR_AB);
}

static const NetClientOps rtl_net_ops = {
    .receive = rtl_receive,
    .can_receive = rtl_can_receive,
    .link_status_changed = rtl_link_changed,
    .query_rx_filter = rtl_query_rx_filter,
};

static void unrealize(void *opaque)
{
	struct rtl8139 *s = opaque;
	nic_detach(&s->nic);
	ml_timer_free(s->timer);
	g_free(s->cp_txbuf);
	g_free(s);
}

static const struct pci_device_ops rtl_pci_ops = {
    .reset = pci_reset,
    .unrealize = unrealize,
};

static int rtl_init(const struct dev_model *m, struct dev_opts *o, GError **err)
{
	struct rtl8139 *s = g_new0(struct rtl8139, 1);
	if (nic_prepare(&s->nic, m, o, err) < 0) {
		g_free(s);
		return -1;
	}
	static const struct pci_ident ident = {
	    .vendor_id = 0x10ec,
	    .device_id = 0x8139,
	    .class_code = 0x020000,
	    .revision = 0x20, /* >= 0x20: 8139C+ */
	    .irq_pin = 1,
	};
	if (!nic_pci_new(&s->nic, o, &ident, &rtl_pci_ops, s, err)) {
		nic_abandon(&s->nic);
		g_free(s);
		return -1;
	}
	if (pci_register_bar(s->nic.pci, 0, PCI_BAR_IO, 0x100, &rtl_bar_ops, err) < 0 ||
	    pci_register_bar(s->nic.pci, 1, PCI_BAR_MEM32, 0x100, &rtl_bar_ops, err) < 0)
		return -1;
	/* As QEMU: a capability pointer without the capability list bit. */
	pci_config(s->nic.pci)[PCI_CAPABILITY_LIST] = 0xdc;

	nic_ee93_init(&s->eeprom, 64);
	s->eeprom.data[0] = 0x8129;
	s->eeprom.data[1] = 0x10ec;
	s->eeprom.data[2] = 0x8139;
	for (int i = 0; i < 3; i++)
		s->eeprom.data[7 + i] = s->nic.conf_mac[2 * i] | s->nic.conf_mac[2 * i + 1] << 8;
	s->cp_txbuf = g_malloc(CP_TXBUF_MAX);
	s->timer = ml_timer_new_virtual(timer_fired, s);
	nic_attach(&s->nic, &rtl_net_ops, s);
	pci_reset(s);
	return 0;
}

static const struct dev_prop rtl_props[] = {
    NIC_COMMON_PROPS,
    {NULL, 0, NULL, NULL, 0},
};

static struct dev_model rtl8139_model = {
    .name = "rtl8139",
    .bus = "PCI",
    .category = "Network devices",
    .props = rtl_props,
    .init = rtl_init,
};
NIC_MODEL_REGISTER(rtl8139_model)
