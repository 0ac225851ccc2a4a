/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Intel 82574L Gigabit Ethernet (PCI 8086:10d3, subsystem 8086:0000), as
 * QEMU's "e1000e".
 *
 * BAR0 (128 KiB) holds the register file, BAR1 (128 KiB) the unused flash
 * window, BAR2 (32 bytes of I/O) the IOADDR/IODATA pair that reaches the
 * same registers, BAR3 (16 KiB) the MSI-X table (5 vectors) and PBA. The
 * PCI capabilities sit where QEMU puts them: PM at 0xc8, MSI at 0xd0
 * (64-bit, one vector), PCI Express at 0xe0 and MSI-X at 0xa0.
 *
 * Two transmit and two receive rings; transmit understands legacy,
 * context and data descriptors (checksum offload, TCP segmentation, VLAN
 * insertion), receive writes legacy or extended descriptors (VLAN
 * stripping, checksum verification, RSS hash). Interrupt causes collect in
 * ICR and reach the guest through INTx, MSI, or MSI-X vectors chosen by
 * IVAR, with the auto-clear (EIAC) and auto-mask (IAM) rules of the chip.
 *
 * Every ring walk is bounded by the ring size, every guest address goes
 * through nic_dma_*: a hostile ring drops frames (counted) and nothing
 * else.
 */
#include <string.h>

#include "machine.h"
#include "nic-common.h"

#define MMIO_SIZE    0x20000
#define FLASH_SIZE   0x20000
#define IO_SIZE	     0x20
#define MSIX_SIZE    0x4000
#define MSIX_VECTORS 5
#define NREGS	     (MMIO_SIZE / 4)
#define EEPROM_WORDS 64
#define PHY_PAGES    7
#define TX_MAX	     (65536 + 4096) /* largest frame gathered from descriptors */
#define TX_MAX_FRAGS 64

/* register offsets (byte) */
enum {
	CTRL = 0x00000,
	CTRL_DUP = 0x00004,
	STATUS = 0x00008,
	EECD = 0x00010,
	EERD = 0x00014,
	CTRL_EXT = 0x00018,
	MDIC = 0x00020,
	VET = 0x00038,
	ICR = 0x000c0,
	ITR = 0x000c4,
	ICS = 0x000c8,
	IMS = 0x000d0,
	IMC = 0x000d8,
	EIAC = 0x000dc,
	IAM = 0x000e0,
	IVAR = 0x000e4,
	EITR = 0x000e8,
	RCTL = 0x00100,
	TCTL = 0x00400,
	TIPG = 0x00410,
	LEDCTL = 0x00e00,
	EXTCNF_CTRL = 0x00f00,
	POEMB = 0x00f10,
	PBA = 0x01000,
	PBS = 0x01008,
	EEMNGCTL = 0x01010,
	FLASHT = 0x01028,
	EEWR = 0x0102c,
	FLSWCTL = 0x01030,
	FLOL = 0x01050,
	PSRCTL = 0x02170,
	RDBAL0 = 0x02800,
	RDBAH0 = 0x02804,
	RDLEN0 = 0x02808,
	RDH0 = 0x02810,
	RDT0 = 0x02818,
	RXDCTL = 0x02828,
	RXDCTL1 = 0x02928,
	RSRPD = 0x02c00,
	TDFH = 0x03410,
	TDFT = 0x03418,
	TDFHS = 0x03420,
	TDFTS = 0x03428,
	TDBAL = 0x03800,
	TDBAH = 0x03804,
	TDLEN = 0x03808,
	TDH = 0x03810,
	TDT = 0x03818,
	TARC0 = 0x03840,
	TARC1 = 0x03940,
	RXCSUM = 0x05000,
	RFCTL = 0x05008,
	MTA = 0x05200,
	RA = 0x05400,
	VFTA = 0x05600,
	MRQC = 0x05818,
	MANC = 0x05820,
	GCR = 0x05b00,
	FACTPS = 0x05b30,
	SWSM = 0x05b50,
	RETA = 0x05c00,
	RSSRK = 0x05c80,
	RXCFGL = 0x0b634,
	RXUDP = 0x0b638,
	/* statistics */
	CRCERRS = 0x04000,
	MPC = 0x04010,
	GPRC = 0x04074,
	BPRC = 0x04078,
	MPRC = 0x0407c,
	GPTC = 0x04080,
	GORCL = 0x04088,
	GORCH = 0x0408c,
	GOTCL = 0x04090,
	GOTCH = 0x04094,
	RNBC = 0x040a0,
	RUC = 0x040a4,
	ROC = 0x040ac,
	TORL = 0x040c0,
	TORH = 0x040c4,
	TOTL = 0x040c8,
	TOTH = 0x040cc,
	TPR = 0x040d0,
	TPT = 0x040d4,
	MPTC = 0x040f0,
	BPTC = 0x040f4,
	TSCTC = 0x040f8,
	IAC = 0x04100,
};

/* CTRL */
#define CTRL_GIO_MASTER_DISABLE (1u << 2)
#define CTRL_FRCSPD		(1u << 11)
#define CTRL_FRCDPX		(1u << 12)
#define CTRL_RST		(1u << 26)
#define CTRL_VME		(1u << 30)
#define CTRL_PHY_RST		(1u << 31)
/* STATUS */
#define STATUS_FD		 0x1
#define STATUS_LU		 0x2
#define STATUS_SPEED_1000	 0x80
#define STATUS_PHYRA		 0x400
#define STATUS_GIO_MASTER_ENABLE 0x80000
/* CTRL_EXT */
#define CTRL_EXT_ASDCHK	  (1u << 12)
#define CTRL_EXT_EE_RST	  (1u << 13)
#define CTRL_EXT_SPD_BYPS (1u << 15)
#define CTRL_EXT_EIAME	  (1u << 24)
#define CTRL_EXT_IAME	  (1u << 27)
/* ICR / IMS */
#define ICR_TXDW	 0x00000001u
#define ICR_TXQE	 0x00000002u
#define ICR_LSC		 0x00000004u
#define ICR_RXDMT0	 0x00000010u
#define ICR_RXO		 0x00000040u
#define ICR_RXT0	 0x00000080u
#define ICR_MDAC	 0x00000200u
#define ICR_TXD_LOW	 0x00008000u
#define ICR_SRPD	 0x00010000u
#define ICR_ACK		 0x00020000u
#define ICR_MNG		 0x00040000u
#define ICR_RXQ0	 0x00100000u
#define ICR_RXQ1	 0x00200000u
#define ICR_TXQ0	 0x00400000u
#define ICR_TXQ1	 0x00800000u
#define ICR_OTHER	 0x01000000u
#define ICR_ASSERTED	 0x80000000u
#define ICR_OTHER_CAUSES (ICR_LSC | ICR_RXO | ICR_MDAC | ICR_SRPD | ICR_ACK | ICR_MNG)
#define IMS_VALID                                                                                  \
	(ICR_TXDW | ICR_TXQE | ICR_LSC | ICR_RXDMT0 | ICR_RXO | ICR_RXT0 | ICR_MDAC |              \
	 ICR_TXD_LOW | ICR_SRPD | ICR_ACK | ICR_MNG | ICR_RXQ0 | ICR_RXQ1 | ICR_TXQ0 | ICR_TXQ1 |  \
	 ICR_OTHER)
#define IVAR_TX_INT_EVERY_WB (1u << 31)
/* RCTL */
#define RCTL_EN		  0x00000002u
#define RCTL_SBP	  0x00000004u
#define RCTL_UPE	  0x00000008u
#define RCTL_MPE	  0x00000010u
#define RCTL_LPE	  0x00000020u
#define RCTL_LBM_MAC	  0x00000040u
#define RCTL_DTYP_PS	  0x00000400u
#define RCTL_DTYP_MASK	  0x00000c00u
#define RCTL_BAM	  0x00008000u
#define RCTL_VFE	  0x00040000u
#define RCTL_BSEX	  0x02000000u
#define RCTL_SECRC	  0x04000000u
#define RCTL_FLXBUF_SHIFT 27
/* RFCTL */
#define RFCTL_IPV6_DIS	    0x00000400u
#define RFCTL_IPV6_XSUM_DIS 0x00000800u
#define RFCTL_ACK_DIS	    0x00001000u
#define RFCTL_EXTEN	    0x00008000u
/* RXCSUM */
#define RXCSUM_IPOFLD 0x100
#define RXCSUM_TUOFLD 0x200
#define RXCSUM_PCSD   0x2000
/* TCTL / TARC */
#define TCTL_EN	    0x2
#define TARC_ENABLE (1u << 10)
/* transmit descriptor */
#define TXD_CMD_EOP    0x01000000u
#define TXD_CMD_TCP    0x01000000u /* context descriptors */
#define TXD_CMD_IP     0x02000000u
#define TXD_CMD_TSE    0x04000000u
#define TXD_CMD_RS     0x08000000u
#define TXD_CMD_DEXT   0x20000000u
#define TXD_CMD_VLE    0x40000000u
#define TXD_CMD_IDE    0x80000000u
#define TXD_DTYP_D     0x00100000u
#define TXD_STAT_DD    0x1
#define TXD_POPTS_IXSM 0x1
#define TXD_POPTS_TXSM 0x2
/* receive descriptor status / errors */
#define RXD_STAT_DD    0x1u
#define RXD_STAT_EOP   0x2u
#define RXD_STAT_VP    0x8u
#define RXD_STAT_UDPCS 0x10u
#define RXD_STAT_TCPCS 0x20u
#define RXD_STAT_IPCS  0x40u
#define RXD_STAT_IPIDV 0x200u
#define RXD_STAT_ACK   0x8000u
#define RXD_ERR_TCPE   0x20000000u
#define RXD_ERR_IPE    0x40000000u
/* MDIC */
#define MDIC_DATA     0x0000ffffu
#define MDIC_OP_WRITE 0x04000000u
#define MDIC_OP_READ  0x08000000u
#define MDIC_READY    0x10000000u
#define MDIC_INT_EN   0x20000000u
#define MDIC_ERROR    0x40000000u
/* EERD / EEWR */
#define EERW_START 0x1
#define EERW_DONE  0x2
/* PHY */
#define PHY_CTRL		0x00
#define PHY_STATUS		0x01
#define PHY_LP_ABILITY		0x05
#define PHY_PAGE		0x16
#define PHY_OEM_BITS		0x19
#define MII_CR_LOOPBACK		0x4000
#define MII_CR_RESET		0x8000
#define MII_CR_RESTART_AUTO_NEG 0x0200
#define MII_CR_AUTO_NEG_EN	0x1000
#define MII_SR_LINK_STATUS	0x0004
#define MII_SR_AUTONEG_COMPLETE 0x0020
#define MII_ANLPAR_ACK		0x4000

/* Which PHY registers exist (page 0 ones marked 'any' work on every page). */
enum { PHY_R = 1, PHY_W = 2, PHY_RW = 3, PHY_ANY = 4 };
static const uint8_t phy_cap[PHY_PAGES][32] = {
    [0] =
	{
	    [0x00] = PHY_ANY | PHY_RW,
	    [0x01] = PHY_ANY | PHY_R,
	    [0x02] = PHY_ANY | PHY_R,
	    [0x03] = PHY_ANY | PHY_R,
	    [0x04] = PHY_ANY | PHY_RW,
	    [0x05] = PHY_ANY | PHY_R,
	    [0x06] = PHY_ANY | PHY_R,
	    [0x07] = PHY_ANY | PHY_RW,
	    [0x08] = PHY_ANY | PHY_R,
	    [0x09] = PHY_ANY | PHY_RW,
	    [0x0a] = PHY_ANY | PHY_R,
	    [0x0f] = PHY_ANY | PHY_R,
	    [0x16] = PHY_ANY | PHY_RW,
	    [0x10] = PHY_RW,
	    [0x11] = PHY_R,
	    [0x14] = PHY_RW,
	    [0x15] = PHY_R,
	    [0x19] = PHY_RW,
	    [0x1d] = PHY_RW,
	    [0x1e] = PHY_RW,
	    [0x12] = PHY_RW,
	    [0x13] = PHY_R,
	    [0x1a] = PHY_RW,
	},
    [2] = {[0x10] = PHY_RW, [0x12] = PHY_RW, [0x13] = PHY_R, [0x15] = PHY_RW},
    [3] = {[0x10] = PHY_RW, [0x11] = PHY_RW, [0x12] = PHY_RW, [0x13] = PHY_RW},
    [5] = {[0x14] = PHY_R, [0x15] = PHY_R},
    [6] = {[0x11] = PHY_R},
};

static const uint16_t phy_init[PHY_PAGES][32] = {
    [0] =
	{
	    [0x00] = 0x1140, /* 1000 Mb/s, full duplex, autonegotiation */
	    [0x01] = 0x794d, /* capabilities and link up, autoneg not done */
	    [0x02] = 0x0141,
	    [0x03] = 0x0cb1, /* 82574 PHY ID */
	    [0x04] = 0x0de1,
	    [0x05] = 0x07e0,
	    [0x06] = 0x0004,
	    [0x07] = 0x2001,
	    [0x09] = 0x0f00,
	    [0x0a] = 0x3c00,
	    [0x0f] = 0x3000,
	    [0x10] = 0x3360,
	    [0x11] = 0xac08,
	},
    [2] = {[0x10] = 0x0088, [0x15] = 0x1046},
    [3] = {[0x12] = 0x4005},
};

/* clang-format off */
static const uint16_t eeprom_template[EEPROM_WORDS] = {
	0x0000, 0x0000, 0x0000, 0x0420, 0xf746, 0x2010, 0xffff, 0xffff,
	0x0000, 0x0000, 0x026b, 0x0000, 0x8086, 0x0000, 0x0000, 0x8058,
	0x0000, 0x2001, 0x7e7c, 0xffff, 0x1000, 0x00c8, 0x0000, 0x2704,
	0x6cc9, 0x3150, 0x070e, 0x460b, 0x2d84, 0x0100, 0xf000, 0x0706,
	0x6000, 0x0080, 0x0f04, 0x7fff, 0x4f01, 0xc600, 0x0000, 0x20ff,
	0x0028, 0x0003, 0x0000, 0x0000, 0x0000, 0x0003, 0x0000, 0xffff,
	0x0100, 0xc000, 0x121c, 0xc007, 0xffff, 0xffff, 0xffff, 0xffff,
	0xffff, 0xffff, 0xffff, 0xffff, 0x0000, 0x0120, 0xffff, 0x0000,
};
/* clang-format on */

/* Register values after reset (all others are 0). */
static const struct {
	uint32_t off, val;
} reg_init[] = {
    {CTRL, 0x00140241},
    {STATUS, STATUS_LU | 0x200 /* ASDV 1000 */},
    {EECD, 0x00000300},
    {EERD, EERW_DONE},
    {VET, 0x8100},
    {TIPG, 0x00602008},
    {LEDCTL, 0x00068302},
    {EXTCNF_CTRL, 0x8},
    {POEMB, 0x30d},
    {PBA, 0x00140014},
    {PBS, 0x28},
    {EEMNGCTL, 0x80000000u},
    {FLASHT, 2},
    {EEWR, EERW_DONE},
    {FLSWCTL, 0xc0000000u},
    {FLOL, 1},
    {PSRCTL, 0x00040402},
    {RXDCTL, 0x10000},
    {RXDCTL1, 0x10000},
    {TDFH, 0x600},
    {TDFT, 0x600},
    {TDFHS, 0x600},
    {TDFTS, 0x600},
    {TARC0, 0x403},
    {TARC1, 0x403},
    {RXCSUM, RXCSUM_IPOFLD | RXCSUM_TUOFLD},
    {MANC, 0x10000000},
    {GCR, 0x06800200},
    {FACTPS, 0x20000004},
    {SWSM, 1},
    {RXCFGL, 0x88f7},
    {RXUDP, 0x319},
    {ITR, 500},
    {EITR, 500},
    {EITR + 4, 500},
    {EITR + 8, 500},
    {EITR + 12, 500},
    {EITR + 16, 500},
};

/* Offload context from the last context descriptor. */
struct tx_ctx {
	uint8_t ipcss, ipcso, tucss, tucso;
	uint16_t ipcse, tucse;
	uint32_t paylen;
	uint8_t hdr_len;
	uint16_t mss;
	bool ip, tcp, tse;
};

struct txq {
	struct tx_ctx ctx;
	uint8_t *buf;
	size_t len;
	unsigned frags;
	bool skip;     /* the frame being gathered is already lost */
	uint8_t popts; /* checksum options of its data descriptors */
	bool tse;
};

struct e1000e {
	struct nic_common nic; /* first: see nic-common.h */
	uint32_t mac[NREGS];
	uint16_t phy[PHY_PAGES][32];
	uint16_t eeprom[EEPROM_WORDS];
	uint32_t ioaddr;
	uint32_t itr_guest, eitr_guest[MSIX_VECTORS];
	uint32_t msi_causes_pending;
	struct txq tx[2];
	uint8_t msi_cap, pm_cap, pcie_cap;
};

#define R(off) (s->mac[(off) >> 2])

/* ---- interrupts ---- */

static bool msix_on(struct e1000e *s)
{
	return pci_msix_enabled(s->nic.pci);
}

static bool msi_on(struct e1000e *s)
{
	uint8_t *cfg = pci_config(s->nic.pci);
	return nic_le16(cfg + s->msi_cap + 2) & 1;
}

static void msi_send(struct e1000e *s)
{
	uint8_t *cfg = pci_config(s->nic.pci);
	uint64_t addr = nic_le32(cfg + s->msi_cap + 4) | (uint64_t)nic_le32(cfg + s->msi_cap + 8)
							     << 32;
	irq_msi(addr, nic_le16(cfg + s->msi_cap + 12));
}

static void msix_notify_one(struct e1000e *s, uint32_t cause, unsigned field)
{
	uint32_t cfg = (R(IVAR) >> (4 * field)) & 0xf;
	if (cfg & 0x8) {
		unsigned vec = cfg & 0x7;
		if (vec < MSIX_VECTORS)
			pci_msix_notify(s->nic.pci, vec);
	}
	if (R(CTRL_EXT) & CTRL_EXT_EIAME)
		R(IAM) &= ~cause;
	uint32_t autoclear = R(EIAC) & cause;
	R(ICR) &= ~autoclear;
	s->msi_causes_pending &= ~autoclear;
	if (!(R(CTRL_EXT) & CTRL_EXT_IAME))
		R(IMS) &= ~autoclear;
}

static void msix_notify(struct e1000e *s, uint32_t causes)
{
	static const uint32_t bit[5] = {ICR_RXQ0, ICR_RXQ1, ICR_TXQ0, ICR_TXQ1, ICR_OTHER};
	for (unsigned f = 0; f < 5; f++)
		if (causes & bit[f])
			msix_notify_one(s, bit[f], f);
}

/* MSI and MSI-X are edge triggered: only causes not yet signalled go out. */
static void send_msi(struct e1000e *s, bool msix)
{
	uint32_t causes = R(ICR) & R(IMS) & ~ICR_ASSERTED;
	s->msi_causes_pending &= causes;
	causes ^= s->msi_causes_pending;
	if (!causes)
		return;
	s->msi_causes_pending |= causes;
	if (msix)
		msix_notify(s, causes);
	else
		msi_send(s);
}

static void update_interrupts(struct e1000e *s)
{
	bool msix = msix_on(s);
	if (msix && (R(ICR) & ICR_OTHER_CAUSES))
		R(ICR) |= ICR_OTHER;
	R(ICR) &= ~ICR_ASSERTED;
	if (R(ICR))
		R(ICR) |= ICR_ASSERTED;
	/* ICS reads back as ICR without its read-to-clear side effect */
	R(ICS) = R(ICR);
	bool pending = R(IMS) & R(ICR);
	if (!pending)
		s->msi_causes_pending = 0;
	if (msix || msi_on(s)) {
		nic_set_irq(&s->nic, false);
		if (pending)
			send_msi(s, msix);
	} else {
		if (pending)
			R(IAC)++;
		nic_set_irq(&s->nic, pending);
	}
}

static void set_cause(struct e1000e *s, uint32_t cause)
{
	R(ICR) |= cause;
	update_interrupts(s);
}

/* ---- link and PHY ---- */

static void link_down_regs(struct e1000e *s)
{
	R(STATUS) &= ~STATUS_LU;
	s->phy[0][PHY_STATUS] &= ~(MII_SR_LINK_STATUS | MII_SR_AUTONEG_COMPLETE);
	s->phy[0][PHY_LP_ABILITY] &= ~MII_ANLPAR_ACK;
}

static void link_up_regs(struct e1000e *s)
{
	R(STATUS) |= STATUS_LU;
	s->phy[0][PHY_STATUS] |= MII_SR_LINK_STATUS;
}

static void start_recv(struct e1000e *s)
{
	if (s->nic.nc)
		net_client_flush_queue(s->nic.nc);
}

/* Autonegotiation completes at once (QEMU takes 500 ms), when the link is
 * there to negotiate with. */
static void restart_autoneg(struct e1000e *s)
{
	uint32_t old = R(STATUS);
	link_down_regs(s);
	if (nic_link_up(&s->nic)) {
		link_up_regs(s);
		s->phy[0][PHY_LP_ABILITY] |= MII_ANLPAR_ACK;
		s->phy[0][PHY_STATUS] |= MII_SR_AUTONEG_COMPLETE;
		R(CTRL) |= (1u << 27) | (1u << 28); /* RFCE, TFCE from the partner */
		start_recv(s);
	}
	if (R(STATUS) != old || nic_link_up(&s->nic))
		set_cause(s, ICR_LSC);
}

static void e1000e_link_changed(NetClient *nc)
{
	struct e1000e *s = nc->opaque;
	uint32_t old = R(STATUS);
	if (nc->link_down) {
		link_down_regs(s);
	} else if ((s->phy[0][PHY_CTRL] & MII_CR_AUTO_NEG_EN) &&
		   !(s->phy[0][PHY_STATUS] & MII_SR_AUTONEG_COMPLETE)) {
		restart_autoneg(s);
		return;
	} else {
		link_up_regs(s);
		start_recv(s);
	}
	if (R(STATUS) != old)
		set_cause(s, ICR_LSC);
}

static void phy_write(struct e1000e *s, unsigned page, unsigned reg, uint16_t v)
{
	if (page == 0 && reg == PHY_CTRL) {
		if (v & MII_CR_RESET) {
			memcpy(s->phy[0], phy_init[0], sizeof(s->phy[0]));
			if (!nic_link_up(&s->nic))
				link_down_regs(s);
		}
		s->phy[0][PHY_CTRL] = v & ~(0x3f | MII_CR_RESET | MII_CR_RESTART_AUTO_NEG);
		if ((v & MII_CR_RESTART_AUTO_NEG) && (v & MII_CR_AUTO_NEG_EN))
			restart_autoneg(s);
	} else if (page == 0 && reg == PHY_PAGE) {
		s->phy[0][PHY_PAGE] = v & 0x7f;
	} else if (page == 0 && reg == PHY_OEM_BITS) {
		s->phy[0][PHY_OEM_BITS] = v & ~(1u << 10);
		if (v & (1u << 10))
			restart_autoneg(s);
	} else {
		s->phy[page][reg] = v;
	}
}

static void write_mdic(struct e1000e *s, uint32_t v)
{
	unsigned reg = (v >> 16) & 0x1f, phyaddr = (v >> 21) & 0x1f;
	if (phyaddr != 1) {
		v = R(MDIC) | MDIC_ERROR;
	} else if (v & (MDIC_OP_READ | MDIC_OP_WRITE)) {
		bool read = v & MDIC_OP_READ;
		unsigned page = (phy_cap[0][reg] & PHY_ANY) ? 0 : s->phy[0][PHY_PAGE];
		if (page >= PHY_PAGES || !(phy_cap[page][reg] & (read ? PHY_R : PHY_W))) {
			v |= MDIC_ERROR;
		} else if (read) {
			v = (v & ~MDIC_DATA) | s->phy[page][reg];
		} else {
			phy_write(s, page, reg, v & MDIC_DATA);
		}
	}
	R(MDIC) = v | MDIC_READY;
	if (v & MDIC_INT_EN)
		set_cause(s, ICR_MDAC);
}

/* ---- reset ---- */

static void set_ra0(struct e1000e *s, const uint8_t mac[6])
{
	R(RA) = mac[0] | mac[1] << 8 | mac[2] << 16 | (uint32_t)mac[3] << 24;
	R(RA + 4) = mac[4] | mac[5] << 8 | 0x80000000u; /* address valid */
	if (s->nic.nc)
		net_nic_set_mac(s->nic.nc, mac);
}

static void mac_reset(struct e1000e *s)
{
	memset(s->mac, 0, sizeof(s->mac));
	for (size_t i = 0; i < G_N_ELEMENTS(reg_init); i++)
		s->mac[reg_init[i].off >> 2] = reg_init[i].val;
	s->itr_guest = 0;
	memset(s->eitr_guest, 0, sizeof(s->eitr_guest));
	s->msi_causes_pending = 0;
	memcpy(s->phy, phy_init, sizeof(s->phy));
	if (!nic_link_up(&s->nic))
		link_down_regs(s);
	set_ra0(s, s->nic.conf_mac);
	for (int q = 0; q < 2; q++) {
		memset(&s->tx[q].ctx, 0, sizeof(s->tx[q].ctx));
		s->tx[q].len = 0;
		s->tx[q].frags = 0;
		s->tx[q].skip = false;
		s->tx[q].popts = 0;
		s->tx[q].tse = false;
	}
	nic_set_irq(&s->nic, false);
}

static void pci_reset(void *opaque)
{
	struct e1000e *s = opaque;
	uint8_t *cfg = pci_config(s->nic.pci);
	nic_put_le16(cfg + s->pm_cap + 4, 0);
	nic_put_le16(cfg + s->msi_cap + 2, 0x0080);
	memset(cfg + s->msi_cap + 4, 0, 10);
	nic_put_le16(cfg + s->pcie_cap + 8, 0);
	nic_put_le16(cfg + s->pcie_cap + 10, 0);
	nic_put_le16(cfg + s->pcie_cap + 16, 0);
	s->ioaddr = 0;
	mac_reset(s);
}

/* ---- transmit ---- */

struct ring {
	uint32_t bal, bah, len, head, tail;
};

static const struct ring tx_rings[2] = {
    {TDBAL, TDBAH, TDLEN, TDH, TDT},
    {TDBAL + 0x100, TDBAH + 0x100, TDLEN + 0x100, TDH + 0x100, TDT + 0x100},
};
static const struct ring rx_rings[2] = {
    {RDBAL0, RDBAH0, RDLEN0, RDH0, RDT0},
    {RDBAL0 + 0x100, RDBAH0 + 0x100, RDLEN0 + 0x100, RDH0 + 0x100, RDT0 + 0x100},
};

static uint32_t ring_size(struct e1000e *s, const struct ring *r)
{
	return R(r->len) / 16;
}

static bool ring_empty(struct e1000e *s, const struct ring *r)
{
	return R(r->head) == R(r->tail) || R(r->tail) >= ring_size(s, r);
}

static uint64_t ring_desc(struct e1000e *s, const struct ring *r)
{
	return ((uint64_t)R(r->bah) << 32 | R(r->bal)) + 16ull * R(r->head);
}

static void ring_advance(struct e1000e *s, const struct ring *r, uint32_t n)
{
	R(r->head) += n;
	if (R(r->head) >= ring_size(s, r))
		R(r->head) = 0;
}

static uint32_t ring_free(struct e1000e *s, const struct ring *r)
{
	if (R(r->head) <= R(r->tail))
		return R(r->tail) - R(r->head);
	return ring_size(s, r) + R(r->tail) - R(r->head);
}

static void count_tx(struct e1000e *s, const uint8_t *f, size_t len)
{
	R(TPT)++;
	R(GPTC) = R(TPT);
	uint64_t tot = ((uint64_t)R(TOTH) << 32 | R(TOTL)) + len;
	R(TOTL) = (uint32_t)tot;
	R(TOTH) = tot >> 32;
	R(GOTCL) = R(TOTL);
	R(GOTCH) = R(TOTH);
	if (nic_dest_kind(f) == NIC_DEST_BROADCAST)
		R(BPTC)++;
	else if (nic_dest_kind(f) == NIC_DEST_MULTICAST)
		R(MPTC)++;
}

static bool loopback(struct e1000e *s)
{
	return (s->phy[0][PHY_CTRL] & MII_CR_LOOPBACK) || (R(RCTL) & 0xc0) == RCTL_LBM_MAC;
}

static ssize_t do_receive(struct e1000e *s, const uint8_t *buf, size_t size);

static void send_frame(void *opaque, const uint8_t *f, size_t len)
{
	struct e1000e *s = opaque;
	count_tx(s, f, len);
	if (loopback(s)) {
		if (s->nic.nc) {
			s->nic.nc->stats.tx_packets++;
			s->nic.nc->stats.tx_bytes += len;
		}
		do_receive(s, f, len);
	} else {
		nic_send(&s->nic, f, len);
	}
}

static size_t l3_offset(const uint8_t *f, size_t len)
{
	if (len >= 18 && nic_be16(f + 12) == 0x8100)
		return 18;
	return 14;
}

/*
 * Transmit checksum offload as the chip does it: the TCP/UDP checksum field
 * already holds the pseudo-header sum the driver put there, and the sum of
 * everything from the L4 header on, that field included, goes into it.
 */
static void l4_csum_partial(uint8_t *f, size_t len, size_t l3)
{
	size_t l4, off;
	uint8_t proto;
	if (l3 + 20 <= len && (f[l3] >> 4) == 4) {
		l4 = l3 + (size_t)(f[l3] & 0xf) * 4;
		proto = f[l3 + 9];
	} else if (l3 + 40 <= len && (f[l3] >> 4) == 6) {
		l4 = l3 + 40;
		proto = f[l3 + 6];
	} else {
		return;
	}
	if (proto == 6)
		off = l4 + 16;
	else if (proto == 17)
		off = l4 + 6;
	else
		return;
	if (off + 2 > len)
		return;
	uint16_t c = ~nic_csum_fold(nic_csum_add(0, f + l4, len - l4));
	if (proto == 17 && c == 0)
		c = 0xffff;
	f[off] = c >> 8;
	f[off + 1] = c & 0xff;
}

static void finish_frame(struct e1000e *s, struct txq *q, uint32_t lower, uint16_t special)
{
	uint8_t *f = q->buf;
	size_t len = q->len;
	if (q->skip || len < 14) {
		nic_count_tx_drop(&s->nic);
		return;
	}
	/* VLAN insertion: the tag goes after the MAC addresses (and the
	 * offsets of the offload context move with the headers) */
	size_t shift = 0;
	if ((R(CTRL) & CTRL_VME) && (lower & TXD_CMD_VLE) && len + 4 <= TX_MAX) {
		shift = 4;
		memmove(f + 16, f + 12, len - 12);
		f[12] = R(VET) >> 8;
		f[13] = R(VET) & 0xff;
		f[14] = special >> 8;
		f[15] = special & 0xff;
		len += 4;
	}
	size_t l3 = l3_offset(f, len);
	if (q->ctx.tse && q->tse) {
		size_t hdr = q->ctx.hdr_len + shift;
		size_t l4 = q->ctx.tucss ? q->ctx.tucss + shift : l3 + (size_t)(f[l3] & 0xf) * 4;
		if (l3 >= len || nic_tso(f, len, l3, l4, hdr, q->ctx.mss, send_frame, s) < 0) {
			nic_count_tx_drop(&s->nic);
			return;
		}
		R(TSCTC)++;
		return;
	}
	if (q->popts & TXD_POPTS_TXSM)
		l4_csum_partial(f, len, l3);
	if (q->popts & TXD_POPTS_IXSM)
		nic_fill_ipv4_csum(f, len, l3);
	send_frame(s, f, len);
}

static void read_context(struct tx_ctx *c, const uint8_t *d)
{
	uint32_t op = nic_le32(d + 8);
	c->ipcss = d[0];
	c->ipcso = d[1];
	c->ipcse = nic_le16(d + 2);
	c->tucss = d[4];
	c->tucso = d[5];
	c->tucse = nic_le16(d + 6);
	c->paylen = op & 0xfffff;
	c->hdr_len = d[13];
	c->mss = nic_le16(d + 14);
	c->ip = op & TXD_CMD_IP;
	c->tcp = op & TXD_CMD_TCP;
	c->tse = op & TXD_CMD_TSE;
}

/* One descriptor; returns the interrupt cause of its write-back. */
static uint32_t tx_desc(struct e1000e *s, int qi, uint64_t daddr, const uint8_t *d, bool *ide)
{
	struct txq *q = &s->tx[qi];
	uint32_t lower = nic_le32(d + 8), upper = nic_le32(d + 12);
	uint32_t dtype = lower & (TXD_CMD_DEXT | TXD_DTYP_D);
	if (dtype == TXD_CMD_DEXT) {
		read_context(&q->ctx, d);
	} else {
		size_t n;
		if (dtype == (TXD_CMD_DEXT | TXD_DTYP_D)) {
			q->popts = upper >> 8;
			q->tse = lower & TXD_CMD_TSE;
			n = lower & 0xfffff;
		} else {
			q->tse = false;
			n = lower & 0xffff;
		}
		uint64_t addr = nic_le32(d) | (uint64_t)nic_le32(d + 4) << 32;
		if (!q->skip) {
			if (q->frags >= TX_MAX_FRAGS || n > TX_MAX - q->len ||
			    !nic_dma_read(&s->nic, addr, q->buf + q->len, n))
				q->skip = true;
			else
				q->len += n;
			q->frags++;
		}
		if (lower & TXD_CMD_EOP) {
			finish_frame(s, q, lower, upper >> 16);
			q->len = 0;
			q->frags = 0;
			q->skip = false;
			q->popts = 0;
			q->tse = false;
		}
	}
	if (!(lower & TXD_CMD_RS) && !(R(IVAR) & IVAR_TX_INT_EVERY_WB))
		return 0;
	*ide = lower & TXD_CMD_IDE;
	nic_dma_write32(&s->nic, daddr + 12, upper | TXD_STAT_DD);
	if (!msix_on(s))
		return ICR_TXDW;
	return qi == 0 ? ICR_TXQ0 : ICR_TXQ1;
}

static void start_xmit(struct e1000e *s, int qi)
{
	const struct ring *r = &tx_rings[qi];
	if (!(R(TCTL) & TCTL_EN))
		return;
	uint32_t cause = ICR_TXQE;
	bool ide = false;
	/* at most one lap of the ring per doorbell */
	for (uint32_t n = ring_size(s, r); n && !ring_empty(s, r); n--) {
		uint64_t daddr = ring_desc(s, r);
		uint8_t d[16];
		if (!nic_dma_read(&s->nic, daddr, d, 16)) {
			/* a ring outside RAM: whatever was being gathered is lost */
			if (!s->tx[qi].skip)
				nic_count_tx_drop(&s->nic);
			s->tx[qi].skip = true;
			ring_advance(s, r, 1);
			continue;
		}
		cause |= tx_desc(s, qi, daddr, d, &ide);
		ring_advance(s, r, 1);
	}
	set_cause(s, cause);
}

/* ---- receive ---- */

static bool use_legacy_desc(struct e1000e *s)
{
	return !(R(RFCTL) & RFCTL_EXTEN);
}

static unsigned rx_buf_size(struct e1000e *s)
{
	uint32_t rctl = R(RCTL);
	uint32_t flx = (rctl >> RCTL_FLXBUF_SHIFT) & 0xf;
	if (flx)
		return flx * 1024;
	switch ((rctl >> 16) & 3) {
	case 0:
		return 2048;
	case 1:
		return (rctl & RCTL_BSEX) ? 16384 : 1024;
	case 2:
		return (rctl & RCTL_BSEX) ? 8192 : 512;
	default:
		return (rctl & RCTL_BSEX) ? 4096 : 256;
	}
}

static bool rx_ready(struct e1000e *s)
{
	return (R(STATUS) & STATUS_LU) && (R(RCTL) & RCTL_EN) &&
	       (pci_config(s->nic.pci)[PCI_COMMAND] & PCI_COMMAND_MASTER);
}

static bool use_ps(struct e1000e *s);
static void rx_buf_sizes(struct e1000e *s, unsigned sz[4]);

static bool has_rxbufs(struct e1000e *s, const struct ring *r, size_t total)
{
	unsigned sz[4];
	rx_buf_sizes(s, sz);
	size_t descs = ring_free(s, r) / (use_ps(s) ? 2 : 1);
	return total <= descs * (sz[0] + sz[1] + sz[2] + sz[3]);
}

static bool e1000e_can_receive(NetClient *nc)
{
	struct e1000e *s = nc->opaque;
	if (!rx_ready(s))
		return false;
	for (int q = 0; q < 2; q++)
		if (R(rx_rings[q].len) && has_rxbufs(s, &rx_rings[q], 1))
			return true;
	return false;
}

static bool group_filter(struct e1000e *s, const uint8_t *buf)
{
	static const int mta_shift[] = {4, 3, 2, 0};
	uint32_t rctl = R(RCTL);
	switch (nic_dest_kind(buf)) {
	case NIC_DEST_BROADCAST:
		if (rctl & RCTL_BAM)
			return true;
		break;
	case NIC_DEST_MULTICAST:
		if (rctl & RCTL_MPE)
			return true;
		break;
	default:
		if (rctl & RCTL_UPE)
			return true;
		break;
	}
	for (int i = 0; i < 16; i++) {
		uint32_t lo = R(RA + 8 * i), hi = R(RA + 8 * i + 4);
		if (!(hi & 0x80000000u))
			continue;
		uint8_t a[6] = {lo, lo >> 8, lo >> 16, lo >> 24, hi, hi >> 8};
		if (!memcmp(buf, a, 6))
			return true;
	}
	unsigned f = mta_shift[(rctl >> 12) & 3];
	f = (((unsigned)buf[5] << 8 | buf[4]) >> f) & 0xfff;
	return R(MTA + 4 * (f >> 5)) & (1u << (f & 31));
}

static bool vlan_filter(struct e1000e *s, const uint8_t *buf, size_t len)
{
	if (len < 18 || nic_be16(buf + 12) != R(VET) || !(R(RCTL) & RCTL_VFE))
		return true;
	unsigned vid = nic_be16(buf + 14) & 0xfff;
	return R(VFTA + 4 * (vid >> 5)) & (1u << (vid & 31));
}

/* Toeplitz hash over 'in' with the RSS key */
static uint32_t toeplitz(struct e1000e *s, const uint8_t *in, size_t n)
{
	uint8_t key[40];
	for (int i = 0; i < 10; i++)
		nic_put_le32(key + 4 * i, R(RSSRK + 4 * i));
	uint32_t h = 0;
	uint32_t window = (uint32_t)key[0] << 24 | key[1] << 16 | key[2] << 8 | key[3];
	for (size_t i = 0; i < n; i++) {
		for (int b = 7; b >= 0; b--) {
			if (in[i] & (1 << b))
				h ^= window;
			size_t kbit = i * 8 + (7 - b) + 32;
			window <<= 1;
			if (kbit / 8 < sizeof(key) && (key[kbit / 8] & (0x80 >> (kbit % 8))))
				window |= 1;
		}
	}
	return h;
}

struct rx_meta {
	uint32_t status;
	uint16_t vlan;
	uint16_t ip_id;
	uint32_t rss, mrq;
};

/* Parse, verify checksums and compute RSS as the chip reports them. */
static void rx_metadata(struct e1000e *s, const uint8_t *f, size_t len, bool stripped, uint16_t tci,
			struct rx_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->status = RXD_STAT_DD | RXD_STAT_EOP;
	if (stripped) {
		m->status |= RXD_STAT_VP;
		m->vlan = tci;
	}
	size_t l3 = 14;
	uint16_t et = len >= 14 ? nic_be16(f + 12) : 0;
	if (!stripped && et == R(VET) && len >= 18) {
		l3 = 18;
		et = nic_be16(f + 16);
	}
	bool ip4 = false, ip6 = false, tcp = false, udp = false, frag = false;
	size_t l4 = 0, l4len = 0;
	if (et == 0x0800 && len >= l3 + 20 && (f[l3] >> 4) == 4) {
		size_t ihl = (size_t)(f[l3] & 0xf) * 4;
		if (ihl >= 20 && l3 + ihl <= len) {
			ip4 = true;
			frag = nic_be16(f + l3 + 6) & 0x3fff;
			l4 = l3 + ihl;
			size_t tot = nic_be16(f + l3 + 2);
			l4len = tot > ihl && l3 + tot <= len ? tot - ihl : 0;
			tcp = f[l3 + 9] == 6 && !frag;
			udp = f[l3 + 9] == 17 && !frag;
		}
	} else if (et == 0x86dd && len >= l3 + 40 && (f[l3] >> 4) == 6) {
		ip6 = true;
		l4 = l3 + 40;
		size_t pl = nic_be16(f + l3 + 4);
		l4len = l4 + pl <= len ? pl : 0;
		tcp = f[l3 + 6] == 6;
		udp = f[l3 + 6] == 17;
	}
	if (tcp && l4len >= 20 && (f[l4 + 13] & 0x10))
		m->status |= RXD_STAT_ACK;
	unsigned type = 0;
	if (ip6 && (R(RFCTL) & RFCTL_IPV6_DIS))
		type = 0;
	else if ((tcp || udp) && (ip4 || ip6))
		type = ip4 ? 2 : 6;
	else if (ip4 || ip6)
		type = ip4 ? 1 : 5;
	m->status |= type << 16;
	if (R(RXCSUM) & RXCSUM_PCSD) {
		/* RSS: hash over addresses (and ports for TCP) */
		uint32_t mrqc = R(MRQC);
		if ((mrqc & 3) == 1 && !use_legacy_desc(s)) {
			uint8_t in[36];
			size_t n = 0;
			unsigned rtype = 0;
			if (ip4 && (mrqc & (1u << 16)) && tcp && l4len >= 4) {
				memcpy(in, f + l3 + 12, 8);
				memcpy(in + 8, f + l4, 4);
				n = 12;
				rtype = 1;
			} else if (ip4 && (mrqc & (1u << 17))) {
				memcpy(in, f + l3 + 12, 8);
				n = 8;
				rtype = 2;
			} else if (ip6 && (mrqc & (1u << 21)) && tcp && l4len >= 4) {
				memcpy(in, f + l3 + 8, 32);
				memcpy(in + 32, f + l4, 4);
				n = 36;
				rtype = 3;
			} else if (ip6 && (mrqc & (1u << 20))) {
				memcpy(in, f + l3 + 8, 32);
				n = 32;
				rtype = 5;
			}
			if (n) {
				m->rss = toeplitz(s, in, n);
				m->mrq = rtype;
			}
		}
	} else if (ip4) {
		m->status |= RXD_STAT_IPIDV;
		m->ip_id = nic_be16(f + l3 + 4);
	}
	if (ip6 && (R(RFCTL) & RFCTL_IPV6_XSUM_DIS))
		return;
	if ((R(RXCSUM) & RXCSUM_IPOFLD) && ip4) {
		size_t ihl = (size_t)(f[l3] & 0xf) * 4;
		bool ok = nic_csum_fold(nic_csum_add(0, f + l3, ihl)) == 0xffff;
		m->status |= RXD_STAT_IPCS | (ok ? 0 : RXD_ERR_IPE);
	}
	if ((R(RXCSUM) & RXCSUM_TUOFLD) && (tcp || udp) && l4len >= (tcp ? 20u : 8u)) {
		bool skip = udp && nic_be16(f + l4 + 6) == 0 && ip4; /* no UDP checksum */
		uint32_t sum =
		    ip4 ? nic_csum_add(0, f + l3 + 12, 8) : nic_csum_add(0, f + l3 + 8, 32);
		sum += tcp ? 6 : 17;
		sum += (uint32_t)l4len;
		bool ok = skip || nic_csum_fold(nic_csum_add(sum, f + l4, l4len)) == 0xffff;
		m->status |= RXD_STAT_TCPCS | (udp ? RXD_STAT_UDPCS : 0) | (ok ? 0 : RXD_ERR_TCPE);
	}
}

static void count_rx(struct e1000e *s, const uint8_t *f, size_t len)
{
	R(TPR)++;
	R(GPRC)++;
	uint64_t tor = ((uint64_t)R(TORH) << 32 | R(TORL)) + len + 4;
	R(TORL) = (uint32_t)tor;
	R(TORH) = tor >> 32;
	uint64_t gor = ((uint64_t)R(GORCH) << 32 | R(GORCL)) + len + 4;
	R(GORCL) = (uint32_t)gor;
	R(GORCH) = gor >> 32;
	if (nic_dest_kind(f) == NIC_DEST_BROADCAST)
		R(BPRC)++;
	else if (nic_dest_kind(f) == NIC_DEST_MULTICAST)
		R(MPRC)++;
}

static void write_rx_desc(struct e1000e *s, uint8_t *d, size_t written, const struct rx_meta *m,
			  bool last)
{
	uint32_t status = last ? m->status : RXD_STAT_DD;
	if (use_legacy_desc(s)) {
		nic_put_le16(d + 8, written);
		nic_put_le16(d + 10, 0);
		d[12] = status & 0xff;
		d[13] = status >> 24;
		nic_put_le16(d + 14, last ? m->vlan : 0);
	} else {
		memset(d, 0, 16);
		if (last) {
			nic_put_le32(d, m->mrq);
			if (R(RXCSUM) & RXCSUM_PCSD) {
				nic_put_le32(d + 4, m->rss);
			} else {
				nic_put_le16(d + 4, m->ip_id);
			}
			nic_put_le16(d + 14, m->vlan);
		}
		nic_put_le32(d + 8, status);
		nic_put_le16(d + 12, written);
	}
}

static bool use_ps(struct e1000e *s)
{
	return !use_legacy_desc(s) && (R(RCTL) & RCTL_DTYP_PS);
}

/* Buffer sizes of one descriptor; only packet split has more than one. */
static void rx_buf_sizes(struct e1000e *s, unsigned sz[4])
{
	memset(sz, 0, 4 * sizeof(sz[0]));
	if (use_ps(s)) {
		uint32_t p = R(PSRCTL);
		sz[0] = (p & 0x7f) * 128;
		sz[1] = ((p >> 8) & 0x3f) * 1024;
		sz[2] = ((p >> 16) & 0x3f) * 1024;
		sz[3] = ((p >> 24) & 0x3f) * 1024;
	} else {
		sz[0] = rx_buf_size(s);
	}
}

/* Header split point: the end of the TCP/UDP header, or of the IP header
 * for other IP packets and fragments; 0 = no split. */
static size_t ps_header_len(struct e1000e *s, const uint8_t *f, size_t len, unsigned max)
{
	size_t l3 = 14, hdr = 0;
	uint16_t et = nic_be16(f + 12);
	if (et == R(VET) && len >= 18) {
		l3 = 18;
		et = nic_be16(f + 16);
	}
	uint8_t proto;
	bool frag = false;
	size_t l4;
	if (et == 0x0800 && len >= l3 + 20 && (f[l3] >> 4) == 4) {
		l4 = l3 + (size_t)(f[l3] & 0xf) * 4;
		proto = f[l3 + 9];
		frag = nic_be16(f + l3 + 6) & 0x3fff;
	} else if (et == 0x86dd && len >= l3 + 40 && (f[l3] >> 4) == 6) {
		l4 = l3 + 40;
		proto = f[l3 + 6];
	} else {
		return 0;
	}
	if (frag && (R(RFCTL) & 0x4000)) /* IPFRSP_DIS */
		return 0;
	if (!frag && proto == 6 && l4 + 20 <= len)
		hdr = l4 + (size_t)(f[l4 + 12] >> 4) * 4;
	else if (!frag && proto == 17)
		hdr = l4 + 8;
	else
		hdr = l4;
	return hdr <= max && hdr <= len ? hdr : 0;
}

static void write_ps_desc(struct e1000e *s, uint8_t *d, const size_t written[4], size_t hdr,
			  const struct rx_meta *m, bool last)
{
	memset(d, 0, 32);
	if (last) {
		nic_put_le32(d, m->mrq);
		if (R(RXCSUM) & RXCSUM_PCSD)
			nic_put_le32(d + 4, m->rss);
		else
			nic_put_le16(d + 4, m->ip_id);
		nic_put_le16(d + 14, m->vlan);
	}
	nic_put_le32(d + 8, last ? m->status : RXD_STAT_DD);
	nic_put_le16(d + 12, written[0]);
	nic_put_le16(d + 16, hdr | (hdr ? 0x8000 : 0)); /* HDRSP */
	for (int k = 1; k < 4; k++)
		nic_put_le16(d + 16 + 2 * k, written[k]);
}

static ssize_t do_receive(struct e1000e *s, const uint8_t *frame, size_t size)
{
	if (!(R(STATUS) & STATUS_LU) || !(R(RCTL) & RCTL_EN))
		return -1;
	if (size > TX_MAX)
		return -1;
	/* room for the padding to 60 bytes and for the FCS */
	uint8_t *buf = g_malloc((size < 60 ? 60 : size) + 4);
	memcpy(buf, frame, size);
	size_t len = size;
	ssize_t ret = size;
	if (len < 60) {
		memset(buf + len, 0, 60 - len);
		len = 60;
		R(RUC)++;
	}
	/* oversized: more than a VLAN-tagged 1500-byte frame without LPE */
	if (((len > 16384 - 4) || (len > 1522 && !(R(RCTL) & RCTL_LPE))) && !(R(RCTL) & RCTL_SBP)) {
		R(ROC)++;
		goto out;
	}
	if (!vlan_filter(s, buf, len) || !group_filter(s, buf))
		goto out;
	bool stripped = false;
	uint16_t tci = 0;
	if ((R(CTRL) & CTRL_VME) && len >= 18 && nic_be16(buf + 12) == R(VET)) {
		tci = nic_be16(buf + 14);
		memmove(buf + 12, buf + 16, len - 16);
		len -= 4;
		stripped = true;
	}
	struct rx_meta meta;
	rx_metadata(s, buf, len, stripped, tci, &meta);
	const struct ring *r = &rx_rings[0];
	if ((R(MRQC) & 3) == 1 && (R(RXCSUM) & RXCSUM_PCSD) && !use_legacy_desc(s) && meta.mrq) {
		/* RETA: one byte per entry, bit 7 picks the queue */
		unsigned idx = meta.rss & 0x7f;
		if ((R(RETA + (idx & ~3u)) >> (8 * (idx & 3))) & 0x80)
			r = &rx_rings[1];
		meta.mrq |= (unsigned)(r == &rx_rings[1]) << 8;
	}
	size_t fcs = (R(RCTL) & RCTL_SECRC) ? 0 : 4;
	size_t total = len + fcs;
	if (fcs)
		memset(buf + len, 0, 4); /* QEMU leaves the FCS as zeros too */
	unsigned sz[4];
	rx_buf_sizes(s, sz);
	bool ps = use_ps(s);
	unsigned unit = ps ? 2 : 1; /* descriptor size in 16-byte ring units */
	if (ps && (!sz[0] || !sz[1])) {
		/* a packet split layout without buffers: nothing can land */
		ret = -1;
		goto out;
	}
	if (!R(r->len) || !has_rxbufs(s, r, total)) {
		set_cause(s, ICR_RXO);
		R(RNBC)++;
		ret = 0; /* held until the guest gives buffers */
		goto out;
	}
	size_t hdr = ps ? ps_header_len(s, buf, len, sz[0]) : 0;
	size_t done = 0;
	bool dma_ok = true, first = true;
	for (unsigned n = 0; n < ring_size(s, r) && done < total && !ring_empty(s, r); n++) {
		uint64_t daddr = ring_desc(s, r);
		uint8_t d[32];
		if (!nic_dma_read(&s->nic, daddr, d, 16 * unit)) {
			dma_ok = false;
			break;
		}
		uint64_t ba[4] = {0, 0, 0, 0};
		for (unsigned k = 0; k < (ps ? 4u : 1u); k++)
			ba[k] = nic_le32(d + 8 * k) | (uint64_t)nic_le32(d + 8 * k + 4) << 32;
		size_t written[4] = {0, 0, 0, 0};
		/* descriptors without a buffer are skipped, as the spec says */
		if (ba[0]) {
			unsigned k = 0;
			if (hdr) {
				/* header split: the headers alone in buffer 0 of the
				 * first descriptor, buffer 0 of the others stays empty */
				if (first) {
					dma_ok = nic_dma_write(&s->nic, ba[0], buf, hdr) && dma_ok;
					written[0] = hdr;
					done += hdr;
				}
				k = 1;
			}
			for (; k < (ps ? 4u : 1u) && done < total; k++) {
				size_t cnt = total - done < sz[k] ? total - done : sz[k];
				if (!cnt)
					continue;
				dma_ok = nic_dma_write(&s->nic, ba[k], buf + done, cnt) && dma_ok;
				written[k] = cnt;
				done += cnt;
			}
			first = false;
		}
		if (ps)
			write_ps_desc(s, d, written, hdr, &meta, done >= total);
		else
			write_rx_desc(s, d, written[0], &meta, done >= total);
		if (!nic_dma_write(&s->nic, daddr, d, 16 * unit))
			dma_ok = false;
		ring_advance(s, r, unit);
	}
	if (done < total || !dma_ok) {
		ret = -1;
		goto out;
	}
	count_rx(s, buf, len);
	uint32_t cause = 0;
	if (total < (R(RSRPD) & 0xfff))
		cause |= ICR_SRPD;
	if (!(R(RFCTL) & RFCTL_ACK_DIS) && (meta.status & RXD_STAT_ACK))
		cause |= ICR_ACK;
	if (msix_on(s)) {
		cause |= r == &rx_rings[0] ? ICR_RXQ0 : ICR_RXQ1;
	} else {
		unsigned shift = ((R(RCTL) >> 8) & 3) + 1;
		cause |= ICR_RXT0;
		if (ring_free(s, r) == ring_size(s, r) >> shift)
			cause |= ICR_RXDMT0;
	}
	set_cause(s, cause);
out:
	g_free(buf);
	return ret;
}

static ssize_t e1000e_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	struct e1000e *s = nc->opaque;
	size_t size = net_iov_size(iov, iovcnt);
	if (size > TX_MAX || size < 14)
		return -1;
	uint8_t *buf = g_malloc(size);
	net_iov_to_buf(iov, iovcnt, buf, size);
	ssize_t r = do_receive(s, buf, size);
	g_free(buf);
	return r;
}

/* ---- register access ---- */

static uint32_t read_status(struct e1000e *s)
{
	uint32_t v = R(STATUS);
	if (!(R(CTRL) & CTRL_GIO_MASTER_DISABLE))
		v |= STATUS_GIO_MASTER_ENABLE;
	if (R(CTRL) & CTRL_FRCDPX)
		v |= (R(CTRL) & 1) ? STATUS_FD : 0;
	else
		v |= STATUS_FD;
	if ((R(CTRL) & CTRL_FRCSPD) || (R(CTRL_EXT) & CTRL_EXT_SPD_BYPS)) {
		switch (R(CTRL) & 0x300) {
		case 0x000:
			break; /* 10 Mb/s */
		case 0x100:
			v |= 0x40;
			break;
		default:
			v |= STATUS_SPEED_1000;
			break;
		}
	} else {
		v |= STATUS_SPEED_1000;
	}
	return v;
}

static bool is_read_clear(uint32_t off)
{
	return (off >= 0x04000 && off <= 0x04124 && off != GORCL && off != GOTCL && off != TORL &&
		off != TOTL);
}

/* The 82542-era offsets of a few registers still reach them. */
static uint32_t unalias(uint32_t off)
{
	off &= ~3u;
	if (off >= 0x00040 && off < 0x000c0)
		return off - 0x00040 + RA;
	if (off >= 0x00600 && off < 0x00800)
		return off - 0x00600 + VFTA;
	switch (off) {
	case 0x00108:
		return 0x02820; /* RDTR */
	case 0x00110:
		return RDBAL0;
	case 0x00114:
		return RDBAH0;
	case 0x00118:
		return RDLEN0;
	case 0x00120:
		return RDH0;
	case 0x00128:
		return RDT0;
	case 0x00160:
		return 0x02168; /* FCRTH */
	case 0x00168:
		return 0x02160; /* FCRTL */
	case 0x00420:
		return TDBAL;
	case 0x00424:
		return TDBAH;
	case 0x00428:
		return TDLEN;
	case 0x00430:
		return TDH;
	case 0x00438:
		return TDT;
	case 0x00440:
		return 0x03820; /* TIDV */
	case 0x08000:
		return 0x02410; /* RDFH */
	case 0x08008:
		return 0x02418; /* RDFT */
	case 0x08010:
		return TDFH;
	case 0x08018:
		return TDFT;
	default:
		return off;
	}
}

static uint32_t reg_read(struct e1000e *s, uint32_t off)
{
	off = unalias(off);
	uint32_t v;
	switch (off) {
	case STATUS:
		return read_status(s);
	case ICR:
		v = R(ICR);
		/* read-to-clear, except in MSI-X mode where only the auto-clear
		 * and IMS rules apply */
		if (R(IMS) == 0 || !msix_on(s))
			R(ICR) = 0;
		if ((R(ICR) & ICR_ASSERTED) && (R(CTRL_EXT) & CTRL_EXT_IAME)) {
			R(ICR) = 0;
			R(IMS) &= ~R(IAM);
		}
		update_interrupts(s);
		return v;
	case ITR:
		return s->itr_guest;
	case EITR ... EITR + 4 * (MSIX_VECTORS - 1):
		return s->eitr_guest[(off - EITR) / 4];
	case SWSM:
		v = R(SWSM);
		R(SWSM) = v | 1;
		return v;
	case TARC0:
	case TARC1:
		return R(off) & (0x7ffu | 0x78000000u);
	case PBS:
		return R(PBS) & 0x3f;
	case GORCH:
	case GOTCH:
	case TORH:
	case TOTH:
		/* reading the high half clears the counter */
		v = R(off);
		R(off) = 0;
		R(off - 4) = 0;
		return v;
	default:
		if (off >= MMIO_SIZE)
			return 0;
		v = R(off);
		if (is_read_clear(off))
			R(off) = 0;
		return v;
	}
}

static void write_ctrl(struct e1000e *s, uint32_t v)
{
	if (v & CTRL_RST) {
		/* software reset: the MAC starts over, the PHY keeps its state */
		uint16_t phy[PHY_PAGES][32];
		memcpy(phy, s->phy, sizeof(phy));
		mac_reset(s);
		memcpy(s->phy, phy, sizeof(phy));
		if (nic_link_up(&s->nic))
			link_up_regs(s);
		else
			link_down_regs(s);
		update_interrupts(s);
		return;
	}
	R(CTRL) = v;
	R(CTRL_DUP) = v;
	if (v & CTRL_PHY_RST)
		R(STATUS) |= STATUS_PHYRA;
}

static void write_eerd(struct e1000e *s, uint32_t v, bool write)
{
	uint32_t addr = (v >> 2) & 0x3fff, data = 0, flags = 0;
	if (addr < EEPROM_WORDS && (v & EERW_START)) {
		if (write)
			s->eeprom[addr] = v >> 16;
		data = s->eeprom[addr];
		flags = EERW_DONE;
	}
	R(EERD) = flags | addr << 2 | data << 16;
}

static void reg_write(struct e1000e *s, uint32_t off, uint32_t v)
{
	off = unalias(off);
	switch (off) {
	case CTRL:
	case CTRL_DUP:
		write_ctrl(s, v);
		break;
	case STATUS:
		if (!(v & STATUS_PHYRA))
			R(STATUS) &= ~STATUS_PHYRA;
		break;
	case EECD:
		R(EECD) = (R(EECD) & 0x7b00) | (v & ~0x7b00u);
		break;
	case EERD:
		write_eerd(s, v, false);
		break;
	case EEWR:
		write_eerd(s, v, true);
		break;
	case CTRL_EXT:
		R(CTRL_EXT) = v & ~(CTRL_EXT_ASDCHK | CTRL_EXT_EE_RST);
		break;
	case MDIC:
		write_mdic(s, v);
		break;
	case VET:
		R(VET) = v & 0xffff;
		break;
	case ICR: {
		if ((R(ICR) & ICR_ASSERTED) && (R(CTRL_EXT) & CTRL_EXT_IAME))
			R(IMS) &= ~R(IAM);
		uint32_t icr = R(ICR) & ~v;
		/* clearing OTHER clears the causes it stands for */
		if (v & ICR_OTHER)
			icr &= ~ICR_OTHER_CAUSES;
		R(ICR) = icr;
		update_interrupts(s);
		break;
	}
	case ICS:
		set_cause(s, v);
		break;
	case IMS:
		R(IMS) |= v & IMS_VALID;
		update_interrupts(s);
		break;
	case IMC:
		R(IMS) &= ~v;
		update_interrupts(s);
		break;
	case ITR:
		s->itr_guest = v & 0xffff;
		R(ITR) = s->itr_guest > 500 ? s->itr_guest : 500;
		break;
	case EITR ... EITR + 4 * (MSIX_VECTORS - 1):
		s->eitr_guest[(off - EITR) / 4] = v & 0xffff;
		break;
	case RCTL:
		R(RCTL) = v;
		if (v & RCTL_EN)
			start_recv(s);
		if (s->nic.nc)
			net_nic_rx_filter_changed(s->nic.nc);
		break;
	case TCTL:
		R(TCTL) = v;
		for (int q = 0; q < 2; q++)
			if (R(q ? TARC1 : TARC0) & TARC_ENABLE)
				start_xmit(s, q);
		break;
	case TDT:
	case TDT + 0x100: {
		int q = off == TDT ? 0 : 1;
		R(off) = v & 0xffff;
		if (R(q ? TARC1 : TARC0) & TARC_ENABLE)
			start_xmit(s, q);
		break;
	}
	case TDH:
	case TDH + 0x100:
	case RDH0:
	case RDH0 + 0x100:
		R(off) = v & 0xffff;
		break;
	case RDT0:
	case RDT0 + 0x100:
		R(off) = v & 0xffff;
		start_recv(s);
		break;
	case TDLEN:
	case TDLEN + 0x100:
	case RDLEN0:
	case RDLEN0 + 0x100:
		R(off) = v & 0xfff80;
		break;
	case TDBAL:
	case TDBAL + 0x100:
	case RDBAL0:
	case RDBAL0 + 0x100:
		R(off) = v & 0xfffffff0u;
		break;
	case RXDCTL:
		R(RXDCTL) = R(RXDCTL1) = v;
		break;
	case RA + 4:
		R(off) = v;
		if (s->nic.nc) {
			uint32_t lo = R(RA), hi = R(RA + 4);
			uint8_t mac[6] = {lo, lo >> 8, lo >> 16, lo >> 24, hi, hi >> 8};
			net_nic_set_mac(s->nic.nc, mac);
		}
		break;
	case MTA ... MTA + 0x1fc:
	case RFCTL:
		R(off) = v;
		if (s->nic.nc)
			net_nic_rx_filter_changed(s->nic.nc);
		break;
	default:
		if (off < MMIO_SIZE && !is_read_clear(off))
			R(off) = v;
		break;
	}
}

/* ---- BARs ---- */

static uint64_t mmio_read(void *opaque, int bar, uint64_t off, unsigned size)
{
	struct e1000e *s = opaque;
	(void)bar;
	uint32_t v = reg_read(s, off);
	/* narrow accesses see the addressed bytes of the register */
	v >>= 8 * (off & 3);
	return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void mmio_write(void *opaque, int bar, uint64_t off, unsigned size, uint64_t v)
{
	struct e1000e *s = opaque;
	(void)bar;
	if (size < 4) {
		/* a partial write merges with the register's current value */
		uint32_t cur = s->mac[unalias(off) >> 2];
		unsigned shift = 8 * (off & 3);
		uint32_t mask = ((1u << (8 * size)) - 1) << shift;
		v = (cur & ~mask) | (((uint32_t)v << shift) & mask);
	}
	reg_write(s, off, (uint32_t)v);
}

static const struct pci_bar_ops mmio_ops = {.read = mmio_read, .write = mmio_write};

static uint64_t io_read(void *opaque, int bar, uint64_t off, unsigned size)
{
	struct e1000e *s = opaque;
	(void)bar;
	(void)size;
	if (off == 0)
		return s->ioaddr;
	if (off == 4 && s->ioaddr < MMIO_SIZE)
		return reg_read(s, s->ioaddr);
	return 0;
}

static void io_write(void *opaque, int bar, uint64_t off, unsigned size, uint64_t v)
{
	struct e1000e *s = opaque;
	(void)bar;
	(void)size;
	if (off == 0)
		s->ioaddr = (uint32_t)v;
	else if (off == 4 && s->ioaddr < MMIO_SIZE)
		reg_write(s, s->ioaddr, (uint32_t)v);
}

static const struct pci_bar_ops io_ops = {.read = io_read, .write = io_write};

/* The flash window and the rest of the MSI-X BAR read as zeros. */
static uint64_t zero_read(void *opaque, int bar, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)bar;
	(void)off;
	(void)size;
	return 0;
}

static void ignore_write(void *opaque, int bar, uint64_t off, unsigned size, uint64_t v)
{
	(void)opaque;
	(void)bar;
	(void)off;
	(void)size;
	(void)v;
}

static const struct pci_bar_ops zero_ops = {.read = zero_read, .write = ignore_write};

static void config_written(void *opaque, unsigned off, unsigned size, uint32_t v)
{
	struct e1000e *s = opaque;
	(void)v;
	if (off <= PCI_COMMAND && off + size > PCI_COMMAND &&
	    (pci_config(s->nic.pci)[PCI_COMMAND] & PCI_COMMAND_MASTER))
		start_recv(s);
	/* switching between INTx, MSI and MSI-X re-evaluates the line */
	if ((off < (unsigned)s->msi_cap + 4 && off + size > s->msi_cap) || off >= 0xa0)
		update_interrupts(s);
}

static void e1000e_query_rx_filter(NetClient *nc, JsonObject *o)
{
	struct e1000e *s = nc->opaque;
	uint32_t rctl = s->mac[RCTL >> 2];
	json_object_set_boolean_member(o, "promiscuous", rctl & RCTL_UPE);
	json_object_set_string_member(o, "multicast", (rctl & RCTL_MPE) ? "all" : "normal");
	json_object_set_string_member(o, "unicast", (rctl & RCTL_UPE) ? "all" : "normal");
	json_object_set_boolean_member(o, "broadcast-allowed", rctl & RCTL_BAM);
}

static const NetClientOps e1000e_net_ops = {
    .receive = e1000e_receive,
    .can_receive = e1000e_can_receive,
    .link_status_changed = e1000e_link_changed,
    .query_rx_filter = e1000e_query_rx_filter,
};

static void unrealize(void *opaque)
{
	struct e1000e *s = opaque;
	nic_detach(&s->nic);
	for (int q = 0; q < 2; q++)
		g_free(s->tx[q].buf);
	g_free(s);
}

static const struct pci_device_ops e1000e_pci_ops = {
    .config_written = config_written,
    .reset = pci_reset,
    .unrealize = unrealize,
};

/*
 * Capabilities at QEMU's offsets. The framework appends capabilities from
 * 0x40 on; MSI-X needs its bookkeeping, so a placeholder first moves it to
 * 0xa0, then the list is relinked by hand: PM 0xc8 -> MSI 0xd0 -> PCIe
 * 0xe0 -> MSI-X 0xa0.
 */
static int add_capabilities(struct e1000e *s, GError **err)
{
	struct pci_device *pci = s->nic.pci;
	uint8_t *cfg = pci_config(pci), *wmask = pci_wmask(pci), *w1c = pci_w1cmask(pci);
	uint8_t filler = pci_add_capability(pci, 0, 0xa0 - 0x40, err);
	if (!filler)
		return -1;
	if (pci_msix_init(pci, MSIX_VECTORS, 3, 0, 3, 0x2000, err) < 0)
		return -1;
	memset(cfg + 0x40, 0, 0xa0 - 0x40);
	s->pm_cap = 0xc8;
	s->msi_cap = 0xd0;
	s->pcie_cap = 0xe0;
	cfg[PCI_CAPABILITY_LIST] = s->pm_cap;
	cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	/* power management: D0 only, DSI */
	cfg[0xc8] = PCI_CAP_ID_PM;
	cfg[0xc9] = s->msi_cap;
	nic_put_le16(cfg + 0xca, 0x0022);
	nic_put_le16(wmask + 0xcc, 0x1f03);
	nic_put_le16(w1c + 0xcc, 0x8000);
	/* MSI: 64-bit address, one vector, no masking */
	cfg[0xd0] = PCI_CAP_ID_MSI;
	cfg[0xd1] = s->pcie_cap;
	nic_put_le16(cfg + 0xd2, 0x0080);
	nic_put_le16(wmask + 0xd2, 0x0071);
	nic_put_le32(wmask + 0xd4, 0xfffffffc);
	nic_put_le32(wmask + 0xd8, 0xffffffff);
	nic_put_le16(wmask + 0xdc, 0xffff);
	/* PCI Express v1 endpoint, x1 link at 2.5 GT/s */
	cfg[0xe0] = PCI_CAP_ID_EXP;
	cfg[0xe1] = 0xa0;
	nic_put_le16(cfg + 0xe2, 0x0001);
	nic_put_le32(cfg + 0xe4, 0x00008000);
	nic_put_le16(wmask + 0xe8, 0xffff);
	nic_put_le16(w1c + 0xea, 0x000f);
	nic_put_le32(cfg + 0xec, 0x00000411);
	nic_put_le16(wmask + 0xf0, 0x0fff);
	nic_put_le16(cfg + 0xf2, 0x0011);
	cfg[0xa1] = 0; /* MSI-X ends the list */
	return 0;
}

static int e1000e_init(const struct dev_model *m, struct dev_opts *o, GError **err)
{
	struct e1000e *s = g_new0(struct e1000e, 1);
	if (nic_prepare(&s->nic, m, o, err) < 0) {
		g_free(s);
		return -1;
	}
	struct pci_ident ident = {
	    .vendor_id = 0x8086,
	    .device_id = 0x10d3,
	    .subsys_vendor_id = dev_opts_uint(o, "subsys_ven"),
	    .subsys_id = dev_opts_uint(o, "subsys"),
	    .class_code = 0x020000,
	    .irq_pin = 1,
	};
	if (!nic_pci_new(&s->nic, o, &ident, &e1000e_pci_ops, s, err)) {
		nic_abandon(&s->nic);
		g_free(s);
		return -1;
	}
	struct pci_device *pci = s->nic.pci;
	uint8_t *cfg = pci_config(pci);
	/* the framework substitutes its default for a zero subsystem vendor */
	nic_put_le16(cfg + PCI_SUBSYSTEM_VENDOR_ID, ident.subsys_vendor_id);
	nic_put_le16(cfg + PCI_SUBSYSTEM_ID, ident.subsys_id);
	if (pci_register_bar(pci, 0, PCI_BAR_MEM32, MMIO_SIZE, &mmio_ops, err) < 0 ||
	    pci_register_bar(pci, 1, PCI_BAR_MEM32, FLASH_SIZE, &zero_ops, err) < 0 ||
	    pci_register_bar(pci, 2, PCI_BAR_IO, IO_SIZE, &io_ops, err) < 0 ||
	    pci_register_bar(pci, 3, PCI_BAR_MEM32, MSIX_SIZE, &zero_ops, err) < 0 ||
	    add_capabilities(s, err) < 0)
		return -1;
	for (int q = 0; q < 2; q++)
		s->tx[q].buf = g_malloc(TX_MAX + 4);
	/* NVM: QEMU's image with the MAC, the device ID and the checksum */
	memcpy(s->eeprom, eeprom_template, sizeof(s->eeprom));
	for (int i = 0; i < 3; i++)
		s->eeprom[i] = s->nic.conf_mac[2 * i] | s->nic.conf_mac[2 * i + 1] << 8;
	s->eeprom[11] = s->eeprom[13] = 0x10d3;
	uint16_t sum = 0;
	for (int i = 0; i < EEPROM_WORDS - 1; i++)
		sum += s->eeprom[i];
	s->eeprom[EEPROM_WORDS - 1] = 0xbaba - sum;
	nic_attach(&s->nic, &e1000e_net_ops, s);
	pci_reset(s);
	return 0;
}

static const struct dev_prop e1000e_props[] = {
    NIC_COMMON_PROPS,
    {"subsys_ven", DEV_PROP_UINT, "32902", "PCI device Subsystem Vendor ID", 0xffff},
    {"subsys", DEV_PROP_UINT, "0", "PCI device Subsystem ID", 0xffff},
    {NULL, 0, NULL, NULL, 0},
};

static struct dev_model e1000e_model = {
    .name = "e1000e",
    .bus = "PCI",
    .category = "Network devices",
    .desc = "Intel 82574L GbE Controller",
    .props = e1000e_props,
    .init = e1000e_init,
};
NIC_MODEL_REGISTER(e1000e_model)
