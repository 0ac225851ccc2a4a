/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Intel 82540EM gigabit Ethernet (PCI 8086:100e rev 3, subsystem 1af4:1100),
 * the PC machine's default NIC (S3), and the two siblings QEMU offers as
 * e1000-82544gc (8086:100c) and e1000-82545em (8086:100f): same register
 * set, they differ in device ID (PCI and EEPROM) and PHY ID. What drivers
 * use is emulated from the
 * datasheet: the Microwire EEPROM through EECD and EERD (checksum 0xBABA),
 * the PHY through MDIC, legacy and extended (context/data) transmit
 * descriptors with checksum offload and TCP segmentation, legacy receive
 * descriptors, RA/MTA/VLAN filtering, interrupt cause/mask registers with a
 * link-status-change interrupt, interrupt throttling (ITR, and RADV/TADV
 * as QEMU's mitigation uses them) and the statistics block.
 *
 * Everything the guest controls (ring bases and lengths, descriptor
 * addresses and lengths, header offsets) is checked before use; guest
 * memory is only touched through nic_dma_*(), which bounds-checks against
 * guest RAM and honours bus mastering.
 */
#include <glib/gi18n.h>
#include <string.h>

#include "../machine.h"
#include "../main-loop.h"
#include "../nic/nic-common.h"
#include "net-cmdline.h"
#include "net.h"

/* Registers (byte offsets in BAR0). */
#define CTRL	    0x0000
#define STATUS	    0x0008
#define EECD	    0x0010
#define EERD	    0x0014
#define CTRL_EXT    0x0018
#define MDIC	    0x0020
#define VET	    0x0038
#define ICR	    0x00c0
#define ITR	    0x00c4
#define ICS	    0x00c8
#define IMS	    0x00d0
#define IMC	    0x00d8
#define RCTL	    0x0100
#define TCTL	    0x0400
#define TIPG	    0x0410
#define LEDCTL	    0x0e00
#define PBA	    0x1000
#define RDBAL	    0x2800
#define RDBAH	    0x2804
#define RDLEN	    0x2808
#define RDH	    0x2810
#define RDT	    0x2818
#define RDTR	    0x2820
#define RADV	    0x282c
#define TDBAL	    0x3800
#define TDBAH	    0x3804
#define TDLEN	    0x3808
#define TDH	    0x3810
#define TDT	    0x3818
#define TIDV	    0x3820
#define TXDCTL	    0x3828
#define TADV	    0x382c
#define STATS_START 0x4000
#define STATS_END   0x4100
#define MPC	    0x4010
#define GPRC	    0x4074
#define BPRC	    0x4078
#define MPRC	    0x407c
#define GPTC	    0x4080
#define GORCL	    0x4088
#define GORCH	    0x408c
#define GOTCL	    0x4090
#define GOTCH	    0x4094
#define RNBC	    0x40a0
#define TORL	    0x40c0
#define TORH	    0x40c4
#define TOTL	    0x40c8
#define TOTH	    0x40cc
#define TPR	    0x40d0
#define TPT	    0x40d4
#define MPTC	    0x40f0
#define BPTC	    0x40f4
#define TSCTC	    0x40f8
#define RXCSUM	    0x5000
#define MTA	    0x5200
#define RA	    0x5400
#define VFTA	    0x5600
#define WUC	    0x5800
#define MANC	    0x5820
#define BAR0_SIZE   0x20000
#define NREGS	    (BAR0_SIZE / 4)

#define CTRL_SLU	  (1u << 6)
#define CTRL_RST	  (1u << 26)
#define CTRL_VME	  (1u << 30)
#define CTRL_PHY_RST	  (1u << 31)
#define STATUS_FD	  0x1
#define STATUS_LU	  0x2
#define STATUS_SPEED_1000 0x80
#define STATUS_ASDV	  0x300 /* both bits: 1000 Mb/s */
#define STATUS_MTXCKOK	  0x400
#define STATUS_GIO_MASTER 0x80000
#define STATUS_BIT31	  0x80000000u /* set by QEMU, reserved in the datasheet */

#define EECD_SK	   0x1
#define EECD_CS	   0x2
#define EECD_DI	   0x4
#define EECD_DO	   0x8
#define EECD_REQ   0x40
#define EECD_GNT   0x80
#define EECD_PRES  0x100
#define EERD_START 0x1
#define EERD_DONE  0x10

#define MDIC_OP_WRITE (1u << 26)
#define MDIC_OP_READ  (2u << 26)
#define MDIC_READY    (1u << 28)
#define MDIC_ERROR    (1u << 30)

#define ICR_TXDW   0x1
#define ICR_TXQE   0x2
#define ICR_LSC	   0x4
#define ICR_RXDMT0 0x10
#define ICR_RXO	   0x40
#define ICR_RXT0   0x80
#define ICR_MDAC   0x200

#define RCTL_EN	     (1u << 1)
#define RCTL_UPE     (1u << 3)
#define RCTL_MPE     (1u << 4)
#define RCTL_LPE     (1u << 5)
#define RCTL_BAM     (1u << 15)
#define RCTL_VFE     (1u << 18)
#define RCTL_BSEX    (1u << 25)
#define RCTL_SECRC   (1u << 26)
#define TCTL_EN	     (1u << 1)
#define RAH_AV	     (1u << 31)
#define RXCSUM_TUOFL (1u << 9)
#define RXCSUM_IPOFL (1u << 8)

#define TXD_EOP	   0x01
#define TXD_IFCS   0x02
#define TXD_IC	   0x04 /* legacy: insert checksum */
#define TXD_TSE	   0x04 /* extended data: TCP segmentation */
#define TXD_RS	   0x08
#define TXD_RPS	   0x10
#define TXD_DEXT   0x20
#define TXD_VLE	   0x40
#define TXD_IDE	   0x80 /* delay the interrupt (TIDV/TADV) */
#define POPTS_IXSM 0x01
#define POPTS_TXSM 0x02
#define TUCMD_TCP  0x01
#define TUCMD_IP   0x02
#define TUCMD_TSE  0x04

#define RXD_DD	  0x01
#define RXD_EOP	  0x02
#define RXD_IXSM  0x04
#define RXD_VP	  0x08
#define RXD_TCPCS 0x20
#define RXD_IPCS  0x40

#define PHY_CTRL	     0
#define PHY_STATUS	     1
#define PHY_ID1		     2
#define PHY_ID2		     3
#define PHY_SPEC_STATUS	     0x11
#define PHY_STATUS_LINK	     0x0004
#define PHY_STATUS_ANEG_DONE 0x0020
#define PHY_SPEC_LINK	     0x0400

#define EEPROM_WORDS 64
#define EEPROM_SUM   0xbaba
#define MIN_FRAME    60
#define TX_MAX	     (64 * 1024 + 4096) /* one packet, TSO included */

typedef struct TxContext {
	uint8_t ipcss, ipcso, tucss, tucso;
	uint16_t ipcse, tucse;
	uint32_t paylen;
	uint8_t hdrlen;
	uint16_t mss;
	uint8_t tucmd;
} TxContext;

/* What tells the 8254x siblings apart (the rest of the chip is shared). */
struct e1000_variant {
	struct dev_model model; /* first: init gets &model back */
	uint16_t device_id;	/* PCI and EEPROM words 0x0b and 0x0d */
	uint16_t phy_id2;	/* Marvell PHY ID low word (revision) */
};

typedef struct E1000 {
	struct nic_common nic; /* first: nic-common's qtree hook relies on it */
	const struct e1000_variant *variant;
	uint32_t regs[NREGS];
	uint16_t phy[32];
	uint16_t eeprom[EEPROM_WORDS];
	struct nic_eeprom93 ee;
	uint32_t ioaddr; /* BAR1 indirect access */
	/*
	 * Two offload contexts, as in QEMU's model: a context descriptor
	 * with TUCMD.TSE loads the segmentation one, one without it the
	 * checksum one, and a data descriptor's DCMD.TSE picks which its
	 * packet uses. A driver may set up both once and then interleave
	 * TSO bursts with checksummed frames.
	 */
	TxContext ctx_csum, ctx_tso;
	/* Transmit state across descriptors of one packet. */
	uint8_t *tx;
	size_t tx_len;
	uint8_t *seg; /* the TSO segment being built */
	bool tx_tse, tx_ixsm, tx_txsm, tx_vle;
	uint16_t tx_vlan;
	bool tx_legacy_ic;
	uint8_t tx_css, tx_cso;
	bool tx_overflow;
	/*
	 * Interrupt throttling. A rising edge of the line opens a window of
	 * the ITR interval (or RADV/TADV, see mit_interval) during which
	 * further rising edges wait; the causes keep collecting in ICR and
	 * the line rises once at mit_deadline (vclock_ns time, 0 when no
	 * window is open). Lowering is never delayed.
	 */
	bool irq_level;
	bool mit_ide; /* a descriptor with IDE completed since the last edge */
	int64_t mit_deadline;
	ml_timer *mit_timer;
} E1000;

static uint32_t reg(E1000 *s, unsigned off)
{
	return s->regs[off / 4];
}

static void set_reg(E1000 *s, unsigned off, uint32_t v)
{
	s->regs[off / 4] = v;
}

static void stat_add(E1000 *s, unsigned off, uint32_t n)
{
	uint32_t v = reg(s, off);
	set_reg(s, off, v + n < v ? UINT32_MAX : v + n); /* counters saturate */
}

static void stat_add64(E1000 *s, unsigned lo, uint64_t n)
{
	uint64_t v = (uint64_t)reg(s, lo + 4) << 32 | reg(s, lo);
	v += n;
	set_reg(s, lo, (uint32_t)v);
	set_reg(s, lo + 4, (uint32_t)(v >> 32));
}

/* Shortest non-zero interval (256 ns units) that applies to the causes. */
static uint32_t mit_interval(E1000 *s, uint32_t pending)
{
	uint32_t candidates[3] = {reg(s, ITR) & 0xffff, 0, 0};
	/* As QEMU: RADV only counts when RDTR enables receive delays, TADV
	 * only for descriptors that asked for a delayed interrupt; both are
	 * in 1024 ns units. */
	if (reg(s, RDTR) && (pending & ICR_RXT0))
		candidates[1] = (reg(s, RADV) & 0xffff) * 4;
	if (s->mit_ide && (pending & (ICR_TXDW | ICR_TXQE)))
		candidates[2] = (reg(s, TADV) & 0xffff) * 4;
	uint32_t best = 0;
	for (int i = 0; i < 3; i++)
		if (candidates[i] && (!best || candidates[i] < best))
			best = candidates[i];
	return best;
}

static void update_irq(E1000 *s)
{
	uint32_t pending = reg(s, ICR) & reg(s, IMS);
	if (!s->irq_level && pending) {
		int64_t now = vclock_ns();
		if (s->mit_deadline && now < s->mit_deadline)
			return; /* the window's end raises it (mit_expired) */
		uint32_t interval = mit_interval(s, pending);
		s->mit_deadline = interval ? now + (int64_t)interval * 256 : 0;
		s->mit_ide = false;
		if (s->mit_deadline)
			ml_timer_mod(s->mit_timer, s->mit_deadline); /* a virtual-clock timer */
	}
	s->irq_level = pending != 0;
	nic_set_irq(&s->nic, s->irq_level);
}

/* Closes a throttling window whose time is up and raises what waited. */
static void mit_expired(E1000 *s)
{
	if (!s->mit_deadline || vclock_ns() < s->mit_deadline)
		return;
	s->mit_deadline = 0;
	update_irq(s);
}

static void mit_timer_fired(void *opaque)
{
	E1000 *s = opaque;
	/* The timer may fire a little early: re-arm rather than raise early. */
	if (s->mit_deadline && vclock_ns() < s->mit_deadline)
		ml_timer_mod(s->mit_timer, s->mit_deadline);
	else
		mit_expired(s);
}

static void raise_cause(E1000 *s, uint32_t cause)
{
	set_reg(s, ICR, reg(s, ICR) | cause);
	update_irq(s);
}

/* --- EEPROM and PHY --------------------------------------------------------- */

static void eeprom_init(E1000 *s)
{
	/* Words 0x0b/0x0d (device ID) are filled in per model; 0x30-0x32
	 * are the PXE setup and boot agent words QEMU's EEPROM has. */
	static const uint16_t tmpl[EEPROM_WORDS] = {
	    [0x04] = 0xffff, [0x08] = 0x3000, [0x09] = 0x1000, [0x0a] = 0x6403, [0x0c] = 0x8086,
	    [0x0e] = 0x8086, [0x0f] = 0x3040, [0x10] = 0x0008, [0x11] = 0x2000, [0x12] = 0x7e14,
	    [0x13] = 0x0048, [0x14] = 0x1000, [0x15] = 0x00d8, [0x17] = 0x2700, [0x18] = 0x6cc9,
	    [0x19] = 0x3150, [0x1a] = 0x0722, [0x1b] = 0x040b, [0x1c] = 0x0984, [0x1e] = 0xc000,
	    [0x1f] = 0x0706, [0x20] = 0x1008, [0x22] = 0x0f04, [0x23] = 0x7fff, [0x24] = 0x4d01,
	    [0x25] = 0xffff, [0x26] = 0xffff, [0x27] = 0xffff, [0x28] = 0xffff, [0x29] = 0xffff,
	    [0x2a] = 0xffff, [0x2b] = 0xffff, [0x2c] = 0xffff, [0x2d] = 0xffff, [0x2e] = 0xffff,
	    [0x2f] = 0xffff, [0x30] = 0x0100, [0x31] = 0x4000, [0x32] = 0x121c, [0x33] = 0xffff,
	    [0x34] = 0xffff, [0x35] = 0xffff, [0x36] = 0xffff, [0x37] = 0xffff, [0x38] = 0xffff,
	    [0x39] = 0xffff, [0x3a] = 0xffff, [0x3b] = 0xffff, [0x3c] = 0xffff, [0x3d] = 0xffff,
	    [0x3e] = 0xffff,
	};
	memcpy(s->eeprom, tmpl, sizeof(tmpl));
	for (int i = 0; i < 3; i++)
		s->eeprom[i] = s->nic.conf_mac[2 * i] | s->nic.conf_mac[2 * i + 1] << 8;
	/* Both ID words carry the device ID, as in QEMU's EEPROM. */
	s->eeprom[0x0b] = s->eeprom[0x0d] = s->variant->device_id;
	uint16_t sum = 0;
	for (int i = 0; i < EEPROM_WORDS - 1; i++)
		sum += s->eeprom[i];
	/* The last word makes all 64 add up to 0xBABA, as drivers check. */
	s->eeprom[EEPROM_WORDS - 1] = (uint16_t)(EEPROM_SUM - sum);
	nic_ee93_init(&s->ee, EEPROM_WORDS);
	memcpy(s->ee.data, s->eeprom, sizeof(s->eeprom));
}

static void phy_set_link(E1000 *s, bool up)
{
	if (up) {
		s->phy[PHY_STATUS] |= PHY_STATUS_LINK | PHY_STATUS_ANEG_DONE;
		s->phy[PHY_SPEC_STATUS] |= PHY_SPEC_LINK;
	} else {
		s->phy[PHY_STATUS] &= ~(PHY_STATUS_LINK | PHY_STATUS_ANEG_DONE);
		s->phy[PHY_SPEC_STATUS] &= ~PHY_SPEC_LINK;
	}
}

static void phy_reset(E1000 *s)
{
	/* Marvell 88E1011 power-on values, link up at 1000/full. */
	memset(s->phy, 0, sizeof(s->phy));
	s->phy[PHY_CTRL] = 0x1140;
	s->phy[PHY_STATUS] = 0x7949;
	s->phy[PHY_ID1] = 0x0141;
	s->phy[PHY_ID2] = s->variant->phy_id2;
	s->phy[4] = 0x0de1;  /* autoneg advertisement */
	s->phy[5] = 0x41e1;  /* link partner ability */
	s->phy[6] = 0x0001;  /* autoneg expansion */
	s->phy[9] = 0x0e00;  /* 1000BASE-T control */
	s->phy[10] = 0x3c00; /* 1000BASE-T status */
	s->phy[15] = 0x3000; /* extended status */
	s->phy[0x10] = 0x0360;
	s->phy[PHY_SPEC_STATUS] = 0xac00;
	s->phy[0x14] = 0x0d60;
	phy_set_link(s, nic_link_up(&s->nic));
	/* As QEMU (0x794d): autonegotiation has not run since the reset;
	 * the driver's restart completes it (mdic_write). */
	s->phy[PHY_STATUS] &= ~PHY_STATUS_ANEG_DONE;
}

static void mdic_write(E1000 *s, uint32_t v)
{
	unsigned phy_addr = (v >> 21) & 0x1f, r = (v >> 16) & 0x1f;
	uint32_t op = v & (3u << 26);
	v &= ~(MDIC_READY | MDIC_ERROR);
	if (phy_addr != 1 || (op != MDIC_OP_READ && op != MDIC_OP_WRITE)) {
		v |= MDIC_ERROR;
	} else if (op == MDIC_OP_READ) {
		v = (v & 0xffff0000u) | s->phy[r];
	} else if (r == PHY_CTRL) {
		/* Reset and restart-autoneg bits clear themselves. */
		s->phy[r] = (uint16_t)v & ~0x8200;
		/* Autonegotiation enabled and restarted: done at once while
		 * the link is up (QEMU takes 500 ms of virtual time). */
		if ((v & 0x1200) == 0x1200 && nic_link_up(&s->nic))
			s->phy[PHY_STATUS] |= PHY_STATUS_ANEG_DONE;
	} else if (r != PHY_STATUS && r != PHY_ID1 && r != PHY_ID2 && r != PHY_SPEC_STATUS) {
		s->phy[r] = (uint16_t)v;
	}
	set_reg(s, MDIC, v | MDIC_READY);
	raise_cause(s, ICR_MDAC);
}

/* --- receive ---------------------------------------------------------------- */

static size_t rx_buf_size(uint32_t rctl)
{
	static const size_t plain[4] = {2048, 1024, 512, 256};
	static const size_t ext[4] = {2048, 16384, 8192, 4096};
	unsigned bsize = (rctl >> 16) & 3;
	return (rctl & RCTL_BSEX) ? ext[bsize] : plain[bsize];
}

static uint32_t ring_count(E1000 *s, unsigned len_reg)
{
	return reg(s, len_reg) / 16;
}

/* Descriptors the guest has handed us: RDH up to (not including) RDT. */
static uint32_t rx_free(E1000 *s)
{
	uint32_t n = ring_count(s, RDLEN), h = reg(s, RDH), t = reg(s, RDT);
	if (n == 0 || h >= n || t >= n)
		return 0;
	return t >= h ? t - h : n - h + t;
}

static bool mta_match(E1000 *s, const uint8_t *mac)
{
	unsigned mo = (reg(s, RCTL) >> 12) & 3;
	static const unsigned shift[4] = {4, 3, 2, 0};
	uint32_t hash =
	    ((uint32_t)mac[4] >> shift[mo] | (uint32_t)mac[5] << (8 - shift[mo])) & 0xfff;
	return reg(s, MTA + (hash >> 5) * 4) & (1u << (hash & 31));
}

static bool ra_match(E1000 *s, const uint8_t *mac)
{
	for (int i = 0; i < 16; i++) {
		uint32_t lo = reg(s, RA + 8 * i), hi = reg(s, RA + 8 * i + 4);
		if (!(hi & RAH_AV))
			continue;
		uint8_t ra[6] = {lo, lo >> 8, lo >> 16, lo >> 24, hi, hi >> 8};
		if (!memcmp(ra, mac, 6))
			return true;
	}
	return false;
}

static bool rx_accept(E1000 *s, const uint8_t *f, size_t len)
{
	uint32_t rctl = reg(s, RCTL);
	if (len >= 18 && (rctl & RCTL_VFE) && nic_be16(f + 12) == (reg(s, VET) & 0xffff)) {
		unsigned vid = (f[14] << 8 | f[15]) & 0xfff;
		if (!(reg(s, VFTA + (vid >> 5) * 4) & (1u << (vid & 31))))
			return false;
	}
	switch (nic_dest_kind(f)) {
	case NIC_DEST_BROADCAST:
		return (rctl & RCTL_BAM) || (rctl & RCTL_MPE);
	case NIC_DEST_MULTICAST:
		return (rctl & RCTL_MPE) || mta_match(s, f);
	default:
		return (rctl & RCTL_UPE) || ra_match(s, f);
	}
}

static bool e1000_can_receive(NetClient *nc)
{
	E1000 *s = nc->opaque;
	return (reg(s, RCTL) & RCTL_EN) && (reg(s, STATUS) & STATUS_LU) && rx_free(s) > 0 &&
	       (pci_config(s->nic.pci)[PCI_COMMAND] & PCI_COMMAND_MASTER);
}

static ssize_t e1000_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	E1000 *s = nc->opaque;
	size_t len = net_iov_size(iov, iovcnt);
	uint8_t buf[NET_MAX_FRAME + 4 + MIN_FRAME];
	uint32_t rctl = reg(s, RCTL);
	if (len < 14)
		return -1;
	/* Long frames need LPE; the largest legal one is 1522 with a tag. */
	if (len > NET_MAX_FRAME || (!(rctl & RCTL_LPE) && len > 1522)) {
		stat_add(s, 0x4058 /* ROC */, 1);
		return -1;
	}
	net_iov_to_buf(iov, iovcnt, buf, len);
	if (!rx_accept(s, buf, len))
		return len; /* filtered: not for this NIC, nothing lost */
	uint16_t special = 0;
	uint8_t status = RXD_DD;
	if ((reg(s, CTRL) & CTRL_VME) && len >= 18 &&
	    nic_be16(buf + 12) == (reg(s, VET) & 0xffff)) {
		special = buf[14] << 8 | buf[15];
		memmove(buf + 12, buf + 16, len - 16);
		len -= 4;
		status |= RXD_VP;
	}
	if (len < MIN_FRAME) {
		memset(buf + len, 0, MIN_FRAME - len);
		len = MIN_FRAME;
	}
	size_t total = len;
	if (!(rctl & RCTL_SECRC)) {
		nic_put_le32(buf + len, nic_fcs(buf, len));
		total += 4;
	}
	size_t bufsize = rx_buf_size(rctl);
	uint32_t need = (uint32_t)((total + bufsize - 1) / bufsize);
	if (rx_free(s) < need) {
		/* Wait for the guest's buffers: the net layer keeps the frame. */
		raise_cause(s, ICR_RXO);
		stat_add(s, RNBC, 1);
		return 0;
	}
	/* Checksums are not verified: tell the driver to ignore ours. */
	status |= RXD_IXSM;
	uint64_t base = (uint64_t)reg(s, RDBAH) << 32 | reg(s, RDBAL);
	uint32_t n = ring_count(s, RDLEN);
	size_t done = 0;
	bool lost = false;
	while (done < total) {
		if (rx_free(s) == 0) {
			/* Descriptors without a buffer used up what the check
			 * above counted on: the frame is lost, as on QEMU. */
			stat_add(s, RNBC, 1);
			stat_add(s, MPC, 1);
			raise_cause(s, ICR_RXO);
			return -1;
		}
		uint32_t h = reg(s, RDH);
		uint64_t daddr = base + (uint64_t)h * 16;
		uint8_t d[16];
		/* A ring or buffer outside RAM loses the frame: returning < 0
		 * has the net layer count the drop (once). */
		if (!nic_dma_read(&s->nic, daddr, d, sizeof(d)))
			return -1;
		uint64_t baddr = (uint64_t)nic_le32(d + 4) << 32 | nic_le32(d);
		if (baddr == 0) {
			/*
			 * A descriptor without a buffer is skipped (8254x manual;
			 * QEMU alike): handed back done, its length as the driver
			 * left it, and the frame goes on in the next one.
			 */
			d[12] |= status & (RXD_DD | RXD_VP);
			nic_put_le16(d + 14, special);
			nic_dma_write(&s->nic, daddr + 8, d + 8, 8);
			set_reg(s, RDH, (h + 1) % n);
			continue;
		}
		size_t chunk = MIN(bufsize, total - done);
		bool ok = nic_dma_write(&s->nic, baddr, buf + done, chunk);
		lost |= !ok;
		done += chunk;
		memset(d + 8, 0, 8);
		nic_put_le16(d + 8, (uint16_t)chunk);
		d[12] = status | (done == total ? RXD_EOP : 0);
		d[13] = ok ? 0 : 0x80; /* RXE: data error */
		nic_put_le16(d + 14, special);
		nic_dma_write(&s->nic, daddr + 8, d + 8, 8);
		set_reg(s, RDH, (h + 1) % n);
	}
	if (lost) {
		/* The descriptors go back marked RXE, the frame is lost. */
		raise_cause(s, ICR_RXT0);
		return -1;
	}
	stat_add(s, GPRC, 1);
	stat_add(s, TPR, 1);
	stat_add64(s, GORCL, total);
	stat_add64(s, TORL, total);
	if (nic_dest_kind(buf) == NIC_DEST_BROADCAST)
		stat_add(s, BPRC, 1);
	else if (nic_dest_kind(buf) == NIC_DEST_MULTICAST)
		stat_add(s, MPRC, 1);
	uint32_t cause = ICR_RXT0;
	unsigned rdmts = (rctl >> 8) & 3; /* free below 1/2, 1/4, 1/8 of the ring */
	if (rdmts < 3 && rx_free(s) < (n >> (rdmts + 1)))
		cause |= ICR_RXDMT0;
	raise_cause(s, cause);
	return len;
}

/* --- transmit ----------------------------------------------------------------- */

/*
 * Internet checksum of p[start..end] (inclusive; end 0 or past the packet
 * means its last byte) into p[off..off+1]. The field is summed as the
 * driver left it: drivers seed a TCP/UDP one with the pseudo-header sum
 * and zero an IPv4 one. False, leaving p alone, when the range or the
 * field is not inside the packet: the caller drops it.
 */
static bool insert_csum(uint8_t *p, size_t len, size_t start, size_t off, size_t end)
{
	if (start >= len || off + 2 > len)
		return false;
	if (end == 0 || end >= len)
		end = len - 1;
	if (end < start)
		return false;
	uint16_t sum = (uint16_t)~nic_csum_fold(nic_csum_add(0, p + start, end + 1 - start));
	if (sum == 0)
		sum = 0xffff; /* the same in one's complement; a UDP 0 means "none" */
	p[off] = sum >> 8;
	p[off + 1] = (uint8_t)sum;
	return true;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

static void tx_frame(E1000 *s, uint8_t *p, size_t len)
{
	if (s->tx_vle && (reg(s, CTRL) & CTRL_VME) && len >= 12 && len + 4 <= TX_MAX) {
		memmove(p + 16, p + 12, len - 12);
		put_be16(p + 12, (uint16_t)reg(s, VET));
		put_be16(p + 14, s->tx_vlan);
		len += 4;
	}
	stat_add(s, GPTC, 1);
	stat_add(s, TPT, 1);
	stat_add64(s, GOTCL, len);
	stat_add64(s, TOTL, len);
	if (nic_dest_kind(p) == NIC_DEST_BROADCAST)
		stat_add(s, BPTC, 1);
	else if (nic_dest_kind(p) == NIC_DEST_MULTICAST)
		stat_add(s, MPTC, 1);
	if (reg(s, RCTL) & (3u << 6)) {
		/* MAC loopback (RCTL.LBM): the frame comes straight back. */
		struct iovec v = {p, len};
		/* No queue on this path: a frame not taken now is lost. */
		if (e1000_receive(s->nic.nc, &v, 1) <= 0)
			nic_count_rx_drop(&s->nic);
		return;
	}
	nic_send(&s->nic, p, len);
}

/*
 * The checksums a packet's first data descriptor asked for (POPTS.TXSM,
 * POPTS.IXSM), over the ranges of context c. The TCP/UDP one goes first:
 * should the IP range cover it, it sees the final value.
 */
static bool tx_offload_csums(E1000 *s, const TxContext *c, uint8_t *p, size_t len)
{
	if (s->tx_txsm && !insert_csum(p, len, c->tucss, c->tucso, c->tucse))
		return false;
	if (s->tx_ixsm && !insert_csum(p, len, c->ipcss, c->ipcso, c->ipcse))
		return false;
	return true;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)nic_be16(p) << 16 | nic_be16(p + 2);
}

/*
 * TCP segmentation (TSE) with the segmentation context: the HDRLEN bytes
 * of header are a template, the payload after them is cut into MSS-sized
 * pieces, each sent behind a copy of the template with the IPv4 total
 * length and id (+1 per segment) or the IPv6 payload length, the TCP
 * sequence number (FIN and PSH on the last segment only) or the UDP length
 * fixed up. The driver seeded the TCP/UDP checksum field with the
 * pseudo-header sum without a length; each segment's length is added
 * before its checksums go in as POPTS asked.
 */
static void tx_segment(E1000 *s)
{
	const TxContext *c = &s->ctx_tso;
	bool tcp = c->tucmd & TUCMD_TCP, ipv4 = c->tucmd & TUCMD_IP;
	size_t hdr = c->hdrlen;
	/* Every field rewritten per segment lies in the header, and no
	 * checksum range ends before it starts. */
	if (hdr == 0 || hdr > s->tx_len || c->mss == 0 || c->ipcss + (ipv4 ? 20u : 40u) > hdr ||
	    c->tucss + (tcp ? 20u : 8u) > hdr ||
	    (s->tx_txsm && (c->tucso + 2u > hdr || (c->tucse && c->tucse < c->tucss))) ||
	    (s->tx_ixsm && (c->ipcso + 2u > hdr || (c->ipcse && c->ipcse < c->ipcss)))) {
		nic_count_tx_drop(&s->nic);
		return;
	}
	size_t payload = s->tx_len - hdr;
	uint32_t seq = tcp ? get_be32(s->tx + c->tucss + 4) : 0;
	uint16_t ip_id = ipv4 ? nic_be16(s->tx + c->ipcss + 4) : 0;
	uint8_t *seg = s->seg;
	size_t off = 0;
	unsigned n = 0;
	do {
		size_t plen = MIN((size_t)c->mss, payload - off);
		bool last = off + plen == payload;
		memcpy(seg, s->tx, hdr);
		memcpy(seg + hdr, s->tx + hdr + off, plen);
		size_t slen = hdr + plen;
		uint8_t *iph = seg + c->ipcss;
		if (ipv4) {
			put_be16(iph + 2, (uint16_t)(slen - c->ipcss));
			put_be16(iph + 4, (uint16_t)(ip_id + n));
		} else {
			/* IPv6 payload length excludes its 40-byte header. */
			put_be16(iph + 4, (uint16_t)(slen - c->ipcss - 40));
		}
		uint8_t *l4 = seg + c->tucss;
		size_t l4len = slen - c->tucss;
		if (tcp) {
			uint32_t sq = seq + (uint32_t)off;
			put_be16(l4 + 4, (uint16_t)(sq >> 16));
			put_be16(l4 + 6, (uint16_t)sq);
			if (!last)
				l4[13] &= ~0x09; /* FIN and PSH */
		} else {
			put_be16(l4 + 4, (uint16_t)l4len);
		}
		if (s->tx_txsm) {
			uint32_t seed = nic_be16(seg + c->tucso) + (uint32_t)l4len;
			put_be16(seg + c->tucso, nic_csum_fold(seed));
		}
		if (!tx_offload_csums(s, c, seg, slen)) {
			nic_count_tx_drop(&s->nic); /* not reached: checked above */
			return;
		}
		tx_frame(s, seg, slen);
		off += plen;
		n++;
	} while (off < payload);
	stat_add(s, TSCTC, 1);
}

static void tx_packet_done(E1000 *s)
{
	if (s->tx_overflow) {
		nic_count_tx_drop(&s->nic);
	} else if (s->tx_tse) {
		tx_segment(s);
	} else if (s->tx_len) {
		bool ok = s->tx_legacy_ic ? insert_csum(s->tx, s->tx_len, s->tx_css, s->tx_cso, 0)
					  : tx_offload_csums(s, &s->ctx_csum, s->tx, s->tx_len);
		if (ok)
			tx_frame(s, s->tx, s->tx_len);
		else
			nic_count_tx_drop(&s->nic);
	}
	s->tx_len = 0;
	s->tx_overflow = false;
	s->tx_tse = s->tx_ixsm = s->tx_txsm = s->tx_legacy_ic = false;
}

static void tx_append(E1000 *s, uint64_t addr, size_t len)
{
	if (s->tx_overflow)
		return;
	if (len > TX_MAX - s->tx_len) {
		s->tx_overflow = true; /* the rest of this packet is dropped */
		return;
	}
	if (!nic_dma_read(&s->nic, addr, s->tx + s->tx_len, len)) {
		s->tx_overflow = true;
		return;
	}
	s->tx_len += len;
}

static void process_tx(E1000 *s)
{
	if (!(reg(s, TCTL) & TCTL_EN))
		return;
	uint32_t n = ring_count(s, TDLEN);
	uint64_t base = (uint64_t)reg(s, TDBAH) << 32 | reg(s, TDBAL);
	uint32_t cause = 0;
	bool ring_lost = false;
	/* At most one pass over the ring per doorbell, whatever the guest
	 * writes into it meanwhile. */
	for (uint32_t budget = n; budget && n && reg(s, TDH) != reg(s, TDT); budget--) {
		uint32_t h = reg(s, TDH);
		if (h >= n || reg(s, TDT) >= n)
			break;
		uint64_t daddr = base + (uint64_t)h * 16;
		uint8_t d[16];
		if (!nic_dma_read(&s->nic, daddr, d, sizeof(d))) {
			/* A ring outside RAM: the packet being gathered is lost,
			 * counted once per doorbell however many descriptors
			 * cannot be read; the head moves on as over any other. */
			if (!ring_lost) {
				s->tx_overflow = true;
				tx_packet_done(s);
				ring_lost = true;
			}
			set_reg(s, TDH, (h + 1) % n);
			continue;
		}
		uint64_t addr = (uint64_t)nic_le32(d + 4) << 32 | nic_le32(d);
		uint32_t lower = nic_le32(d + 8), upper = nic_le32(d + 12);
		uint8_t cmd = lower >> 24;
		if (cmd & TXD_DEXT) {
			unsigned dtyp = (lower >> 20) & 0xf;
			if (dtyp == 0) { /* context descriptor */
				TxContext *c = (cmd & TUCMD_TSE) ? &s->ctx_tso : &s->ctx_csum;
				c->ipcss = d[0];
				c->ipcso = d[1];
				c->ipcse = nic_le16(d + 2);
				c->tucss = d[4];
				c->tucso = d[5];
				c->tucse = nic_le16(d + 6);
				c->paylen = lower & 0xfffff;
				c->tucmd = cmd;
				c->hdrlen = d[13];
				c->mss = nic_le16(d + 14);
			} else if (dtyp == 1) { /* data descriptor */
				if (s->tx_len == 0) {
					uint8_t popts = upper >> 8;
					s->tx_tse = cmd & TXD_TSE;
					s->tx_ixsm = popts & POPTS_IXSM;
					s->tx_txsm = popts & POPTS_TXSM;
				}
				s->tx_vle = cmd & TXD_VLE;
				s->tx_vlan = upper >> 16;
				tx_append(s, addr, lower & 0xfffff);
				if (cmd & TXD_EOP)
					tx_packet_done(s);
			}
		} else { /* legacy descriptor */
			if (s->tx_len == 0 && (cmd & TXD_IC)) {
				s->tx_legacy_ic = true;
				s->tx_cso = d[10];
				s->tx_css = d[13];
			}
			s->tx_vle = cmd & TXD_VLE;
			s->tx_vlan = upper >> 16;
			tx_append(s, addr, lower & 0xffff);
			if (cmd & TXD_EOP)
				tx_packet_done(s);
		}
		if (cmd & TXD_IDE)
			s->mit_ide = true;
		if (cmd & (TXD_RS | TXD_RPS)) {
			uint8_t st = d[12] | 0x01; /* DD */
			nic_dma_write(&s->nic, daddr + 12, &st, 1);
		}
		set_reg(s, TDH, (h + 1) % n);
		cause |= ICR_TXDW;
	}
	if (reg(s, TDH) == reg(s, TDT))
		cause |= ICR_TXQE;
	if (cause)
		raise_cause(s, cause);
}

/* --- registers ----------------------------------------------------------------- */

static void update_mac_from_ra0(E1000 *s)
{
	uint32_t lo = reg(s, RA), hi = reg(s, RA + 4);
	uint8_t mac[6] = {lo, lo >> 8, lo >> 16, lo >> 24, hi, hi >> 8};
	if (s->nic.nc && memcmp(mac, s->nic.nc->macaddr, 6))
		net_nic_set_mac(s->nic.nc, mac);
}

static void mac_reset(E1000 *s)
{
	memset(s->regs, 0, sizeof(s->regs));
	/* QEMU 7.2's power-on values: SWDPIN2, SWDPIN0, 1000 Mb/s and SLU
	 * in CTRL; TIPG left 0 (drivers program it). */
	set_reg(s, CTRL, 0x00140240);
	set_reg(s, STATUS,
		STATUS_BIT31 | STATUS_GIO_MASTER | STATUS_MTXCKOK | STATUS_ASDV | STATUS_FD |
		    STATUS_SPEED_1000 | (nic_link_up(&s->nic) ? STATUS_LU : 0));
	set_reg(s, EECD, 0);
	set_reg(s, VET, 0x8100);
	set_reg(s, PBA, 0x00100030);
	set_reg(s, LEDCTL, 0x07068302);
	set_reg(s, MANC, 0x00000000);
	s->ioaddr = 0;
	const uint8_t *m = s->nic.conf_mac;
	set_reg(s, RA, m[0] | m[1] << 8 | m[2] << 16 | (uint32_t)m[3] << 24);
	set_reg(s, RA + 4, m[4] | m[5] << 8 | RAH_AV);
	s->tx_len = 0;
	s->tx_overflow = false;
	s->tx_tse = s->tx_ixsm = s->tx_txsm = s->tx_legacy_ic = false;
	memset(&s->ctx_csum, 0, sizeof(s->ctx_csum));
	memset(&s->ctx_tso, 0, sizeof(s->ctx_tso));
	phy_reset(s);
	update_mac_from_ra0(s);
	s->mit_deadline = 0;
	s->mit_ide = false;
	ml_timer_del(s->mit_timer);
	s->irq_level = false;
	nic_set_irq(&s->nic, false);
}

static uint32_t reg_read(E1000 *s, unsigned off)
{
	off &= ~3u;
	if (off >= BAR0_SIZE)
		return 0;
	uint32_t v = reg(s, off);
	switch (off) {
	case ICR:
		/* Reading clears all causes (the interrupt goes away). */
		set_reg(s, ICR, 0);
		update_irq(s);
		return v;
	case EECD: {
		v &= ~EECD_DO;
		if (nic_ee93_dout(&s->ee))
			v |= EECD_DO;
		/* As QEMU: granted at once, requested or not. */
		return v | EECD_GNT | EECD_PRES;
	}
	case ICS:
		return reg(s, ICR);
	case IMC:
		return 0;
	default:
		if (off >= STATS_START && off < STATS_END)
			set_reg(s, off, 0); /* statistics clear on read */
		return v;
	}
}

static void rx_filter_changed(E1000 *s)
{
	if (s->nic.nc)
		net_nic_rx_filter_changed(s->nic.nc);
}

static void reg_write(E1000 *s, unsigned off, uint32_t v)
{
	off &= ~3u;
	if (off >= BAR0_SIZE)
		return;
	switch (off) {
	case CTRL:
		if (v & CTRL_RST) {
			mac_reset(s);
			return;
		}
		if (v & CTRL_PHY_RST)
			phy_reset(s);
		set_reg(s, CTRL, v & ~(CTRL_RST | CTRL_PHY_RST));
		return;
	case STATUS:
		return; /* read only */
	case EECD:
		/* The driver owns SK/CS/DI and the request bit; DO, GNT and
		 * PRES come from the chip (see reg_read). */
		set_reg(s, EECD, v & (EECD_SK | EECD_CS | EECD_DI | EECD_REQ));
		nic_ee93_wires(&s->ee, v & EECD_CS, v & EECD_SK, v & EECD_DI);
		return;
	case EERD: {
		unsigned addr = (v >> 8) & 0xff;
		if (!(v & EERD_START))
			return;
		uint32_t word = addr < EEPROM_WORDS ? s->eeprom[addr] : 0;
		set_reg(s, EERD, word << 16 | addr << 8 | EERD_DONE);
		return;
	}
	case MDIC:
		mdic_write(s, v);
		return;
	case ICR:
		set_reg(s, ICR, reg(s, ICR) & ~v); /* write 1 to clear */
		update_irq(s);
		return;
	case ICS:
		raise_cause(s, v);
		return;
	case IMS:
		set_reg(s, IMS, reg(s, IMS) | v);
		update_irq(s);
		return;
	case IMC:
		set_reg(s, IMS, reg(s, IMS) & ~v);
		update_irq(s);
		return;
	case RCTL:
		set_reg(s, RCTL, v);
		rx_filter_changed(s);
		if (s->nic.nc)
			net_client_flush_queue(s->nic.nc);
		return;
	case RDT:
		set_reg(s, RDT, v & 0xffff);
		if (s->nic.nc)
			net_client_flush_queue(s->nic.nc);
		return;
	case RDH:
	case TDH:
	case ITR: /* the interval fields are 16 bits wide */
	case RDTR:
	case RADV:
	case TIDV:
	case TADV:
		set_reg(s, off, v & 0xffff);
		return;
	case RDLEN:
	case TDLEN:
		set_reg(s, off, v & 0xfff80); /* multiples of 128 bytes */
		return;
	case RDBAL:
	case TDBAL:
		set_reg(s, off, v & ~0xfu);
		return;
	case TDT:
		set_reg(s, TDT, v & 0xffff);
		process_tx(s);
		return;
	case TCTL:
		set_reg(s, TCTL, v);
		process_tx(s);
		return;
	default:
		if (off >= STATS_START && off < STATS_END)
			return; /* statistics are read only */
		set_reg(s, off, v);
		if (off >= RA && off < RA + 16 * 8) {
			if (off <= RA + 4)
				update_mac_from_ra0(s);
			rx_filter_changed(s);
		} else if (off >= MTA && off < MTA + 128 * 4) {
			rx_filter_changed(s);
		}
		return;
	}
}

static uint64_t bar_read(void *opaque, int bar, uint64_t offset, unsigned size)
{
	E1000 *s = opaque;
	uint32_t v;
	mit_expired(s);
	if (bar == 1) {
		if (offset < 4)
			v = s->ioaddr;
		else if (offset < 8)
			v = reg_read(s, s->ioaddr);
		else
			return 0;
		return (v >> (8 * (offset & 3))) &
		       (size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
	}
	v = reg_read(s, (unsigned)offset);
	unsigned shift = 8 * (offset & 3);
	uint64_t mask = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	return (v >> shift) & mask;
}

static void bar_write(void *opaque, int bar, uint64_t offset, unsigned size, uint64_t value)
{
	E1000 *s = opaque;
	uint32_t v = (uint32_t)value;
	mit_expired(s);
	if (size < 4) {
		/* Narrow writes merge into the register (drivers use 32 bits). */
		unsigned shift = 8 * (offset & 3);
		uint32_t mask = ((1u << (8 * size)) - 1) << shift;
		uint32_t cur = (offset & ~3u) < BAR0_SIZE ? reg(s, (unsigned)(offset & ~3u)) : 0;
		v = (cur & ~mask) | ((v << shift) & mask);
	}
	if (bar == 1) {
		if (offset < 4)
			s->ioaddr = v & (BAR0_SIZE - 1);
		else if (offset < 8)
			reg_write(s, s->ioaddr, v);
		return;
	}
	reg_write(s, (unsigned)offset, v);
}

static const struct pci_bar_ops e1000_bar_ops = {
    .read = bar_read,
    .write = bar_write,
};

/* --- net client ------------------------------------------------------------------ */

static void e1000_link_changed(NetClient *nc)
{
	E1000 *s = nc->opaque;
	bool up = !nc->link_down;
	if (up)
		set_reg(s, STATUS, reg(s, STATUS) | STATUS_LU);
	else
		set_reg(s, STATUS, reg(s, STATUS) & ~STATUS_LU);
	phy_set_link(s, up);
	raise_cause(s, ICR_LSC);
	if (up)
		net_client_flush_queue(nc);
}

static void e1000_query_rx_filter(NetClient *nc, JsonObject *o)
{
	E1000 *s = nc->opaque;
	uint32_t rctl = reg(s, RCTL);
	bool mta_any = false;
	for (int i = 0; i < 128; i++)
		mta_any |= reg(s, MTA + 4 * i) != 0;
	json_object_set_boolean_member(o, "promiscuous", rctl & RCTL_UPE);
	json_object_set_string_member(o, "multicast",
				      (rctl & RCTL_MPE) ? "all"
				      : mta_any		? "normal"
							: "none");
	json_object_set_string_member(o, "unicast", (rctl & RCTL_UPE) ? "all" : "normal");
	json_object_set_string_member(o, "vlan", (rctl & RCTL_VFE) ? "normal" : "all");
	json_object_set_boolean_member(o, "broadcast-allowed", rctl & RCTL_BAM);
	/* The hash table cannot be turned back into addresses. */
	json_object_set_boolean_member(o, "multicast-overflow", mta_any);
	json_object_set_boolean_member(o, "unicast-overflow", false);
	JsonArray *uni = json_array_new();
	for (int i = 1; i < 16; i++) {
		uint32_t lo = reg(s, RA + 8 * i), hi = reg(s, RA + 8 * i + 4);
		if (!(hi & RAH_AV))
			continue;
		uint8_t m[6] = {lo, lo >> 8, lo >> 16, lo >> 24, hi, hi >> 8};
		char buf[18];
		net_format_mac(m, buf);
		json_array_add_string_element(uni, buf);
	}
	json_object_set_array_member(o, "unicast-table", uni);
	json_object_set_array_member(o, "multicast-table", json_array_new());
	JsonArray *vlans = json_array_new();
	if (rctl & RCTL_VFE)
		for (unsigned vid = 0; vid < 4096; vid++)
			if (reg(s, VFTA + (vid >> 5) * 4) & (1u << (vid & 31)))
				json_array_add_int_element(vlans, vid);
	json_object_set_array_member(o, "vlan-table", vlans);
}

static const NetClientOps e1000_net_ops = {
    .receive = e1000_receive,
    .can_receive = e1000_can_receive,
    .link_status_changed = e1000_link_changed,
    .query_rx_filter = e1000_query_rx_filter,
};

static void e1000_pci_reset(void *opaque)
{
	mac_reset(opaque);
}

static void e1000_config_written(void *opaque, unsigned offset, unsigned size, uint32_t value)
{
	E1000 *s = opaque;
	(void)size;
	(void)value;
	/* Bus mastering switched on: parked frames may go in now. */
	if (offset <= PCI_COMMAND && offset + size > PCI_COMMAND && s->nic.nc)
		net_client_flush_queue(s->nic.nc);
}

static void e1000_unrealize(void *opaque)
{
	E1000 *s = opaque;
	nic_detach(&s->nic);
	ml_timer_free(s->mit_timer);
	g_free(s->tx);
	g_free(s->seg);
	g_free(s);
}

static const struct pci_device_ops e1000_pci_ops = {
    .config_written = e1000_config_written,
    .reset = e1000_pci_reset,
    .unrealize = e1000_unrealize,
};

static const struct dev_prop e1000_props[] = {
    NIC_COMMON_PROPS,
    {NULL, 0, NULL, NULL, 0},
};

static int e1000_init(const struct dev_model *model, struct dev_opts *opts, GError **err)
{
	E1000 *s = g_new0(E1000, 1);
	s->variant = (const struct e1000_variant *)model;
	if (nic_prepare(&s->nic, model, opts, err) < 0)
		goto fail;
	/* QEMU names a -device NIC's net client after its id (set_link net0) */
	if (!s->nic.name && dev_opts_id(opts))
		s->nic.name = g_strdup(dev_opts_id(opts));
	const struct pci_ident ident = {
	    .vendor_id = 0x8086,
	    .device_id = s->variant->device_id,
	    .subsys_vendor_id = 0x1af4,
	    .subsys_id = 0x1100,
	    .class_code = 0x020000,
	    .revision = 0x03,
	    .irq_pin = 1,
	};
	if (!nic_pci_new(&s->nic, opts, &ident, &e1000_pci_ops, s, err))
		goto fail_prepared;
	if (pci_register_bar(s->nic.pci, 0, PCI_BAR_MEM32, BAR0_SIZE, &e1000_bar_ops, err) < 0 ||
	    pci_register_bar(s->nic.pci, 1, PCI_BAR_IO, 0x40, &e1000_bar_ops, err) < 0)
		goto fail_prepared;
	eeprom_init(s);
	s->mit_timer = ml_timer_new_virtual(mit_timer_fired, s);
	s->tx = g_malloc(TX_MAX);
	s->seg = g_malloc(TX_MAX);
	nic_attach(&s->nic, &e1000_net_ops, s);
	mac_reset(s);
	return 0;
fail_prepared:
	nic_abandon(&s->nic);
fail:
	g_free(s);
	return -1;
}

/* IDs as QEMU 7.2 gives them (PCI revision 3 and subsystem 1af4:1100 for all). */
static struct e1000_variant e1000_variants[] = {
    {
	.model = {.name = "e1000",
		  .alias = "e1000-82540em",
		  .bus = "PCI",
		  .category = "Network devices",
		  .desc = "Intel Gigabit Ethernet",
		  .props = e1000_props,
		  .init = e1000_init},
	.device_id = 0x100e,
	.phy_id2 = 0x0c20,
    },
    {
	.model = {.name = "e1000-82544gc",
		  .bus = "PCI",
		  .category = "Network devices",
		  .desc = "Intel Gigabit Ethernet",
		  .props = e1000_props,
		  .init = e1000_init},
	.device_id = 0x100c,
	.phy_id2 = 0x0c30,
    },
    {
	.model = {.name = "e1000-82545em",
		  .bus = "PCI",
		  .category = "Network devices",
		  .desc = "Intel Gigabit Ethernet",
		  .props = e1000_props,
		  .init = e1000_init},
	.device_id = 0x100f,
	.phy_id2 = 0x0c20,
    },
};

static void __attribute__((constructor)) register_e1000_variants(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(e1000_variants); i++)
		nic_model_register(&e1000_variants[i].model);
}
