/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Intel 8255x (EtherExpress PRO/100) family, as QEMU's "i82551" (8086:1209
 * rev 0x0f), "i82557b" (8086:1229 rev 0x02) and "i82559er" (8086:1209 rev
 * 0x09).
 *
 * The System Control Block (SCB) at the start of each BAR holds the status
 * and acknowledge bytes, the command and interrupt-mask bytes, a general
 * pointer, the PORT, EEPROM and MDI control registers. The Command Unit
 * walks a linked list of command blocks (individual address setup,
 * configure, multicast list, transmit...), the Receive Unit fills a linked
 * list of receive frame descriptors (simplified mode: data follows the
 * RFD). Both lists are guest-built chains of 32-bit offsets from a base:
 * every walk is bounded, every address checked.
 *
 * BAR0 (4 KiB, prefetchable memory), BAR1 (64 bytes I/O) and BAR2 (128 KiB
 * "flash") all decode the SCB, as in QEMU. A 64-word EEPROM (checksum
 * 0xBABA) holds the MAC; the PHY (address 1) and the general status
 * register show the link.
 */
#include <string.h>

#include "nic-common.h"

#define SCB_SIZE     4096
#define FLASH_SIZE   (128 * 1024)
#define MAX_FRAME    1514
#define TX_MAX	     2600 /* a transmit command carries at most this much */
#define CU_MAX_CMDS  128  /* commands one CU start/resume works through */
#define EEPROM_WORDS 64

/* SCB offsets */
enum {
	SCB_STATUS = 0,
	SCB_ACK = 1,
	SCB_CMD = 2,
	SCB_INTMASK = 3,
	SCB_POINTER = 4,
	SCB_PORT = 8,
	SCB_FLASH = 12,
	SCB_EEPROM = 14,
	SCB_MDI = 16,
	SCB_EARLYRX = 20,
	SCB_FLOW = 24,
	SCB_PMDR = 27,
	SCB_GCTRL = 28,
	SCB_GSTAT = 29,
};

/* STAT/ACK bits */
#define ACK_CX	0x80 /* command done (with I bit) */
#define ACK_FR	0x40 /* frame received */
#define ACK_CNA 0x20 /* CU left the active state */
#define ACK_RNR 0x10 /* RU not ready */
#define ACK_MDI 0x08
#define ACK_SWI 0x04

/* command block */
#define CB_EL  0x8000
#define CB_S   0x4000
#define CB_I   0x2000
#define CB_NC  0x0010
#define CB_CMD 0x0007
#define CB_C   0x8000
#define CB_OK  0x2000

enum { CU_IDLE = 0, CU_SUSPENDED = 1, CU_ACTIVE = 2 };
enum { RU_IDLE = 0, RU_SUSPENDED = 1, RU_NO_RESOURCES = 2, RU_READY = 4 };

enum eepro100_variant { I82551, I82557B, I82559ER };

struct variant {
	const char *name, *desc;
	uint16_t device_id;
	uint8_t revision;
	uint8_t stats_size; /* 64 (82557) or 80 */
	bool extended_tcb;
	bool power_management;
};

static const struct variant variants[] = {
    [I82551] = {"i82551", "Intel i82551 Ethernet", 0x1209, 0x0f, 80, true, true},
    [I82557B] = {"i82557b", "Intel i82557B Ethernet", 0x1229, 0x02, 64, false, false},
    [I82559ER] = {"i82559er", "Intel i82559ER Ethernet", 0x1209, 0x09, 80, true, true},
};

/* clang-format off */
static const uint16_t mdi_default[32] = {
	0x3000, 0x780d, 0x02a8, 0x0154, 0x05e1, 0x0000, 0x0000, 0x0000,
	0, 0, 0, 0, 0, 0, 0, 0,
	0x0003, 0x0000, 0x0001, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */

/* bits of each MDI register that the driver cannot change */
/* clang-format off */
static const uint16_t mdi_readonly[32] = {
	0x0000, 0xffff, 0xffff, 0xffff, 0xc01f, 0xffff, 0xffff, 0x0000,
	0, 0, 0, 0, 0, 0, 0, 0,
	0x0fff, 0x0000, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
	0xffff, 0xffff, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */

struct stats {
	uint32_t tx_good, rx_good, rx_resource_errors, rx_short;
};

struct e100 {
	struct nic_common nic; /* first: see nic-common.h */
	const struct variant *v;
	uint8_t scb[SCB_SIZE];
	uint8_t scb_stat; /* pending STAT/ACK bits */
	bool irq;
	uint8_t mult[8];
	uint8_t ia[6]; /* individual address from IA setup */
	uint8_t config[22];
	uint16_t mdi[32];
	struct nic_eeprom93 eeprom;
	uint32_t cu_base, cu_offset, ru_base, ru_offset, stats_addr;
	struct stats st;
	uint8_t pm_cap;
};

static void set_cu_state(struct e100 *s, unsigned st)
{
	s->scb[SCB_STATUS] = (s->scb[SCB_STATUS] & ~0xc0) | (st << 6);
}

static unsigned ru_state(struct e100 *s)
{
	return (s->scb[SCB_STATUS] >> 2) & 0xf;
}

static void set_ru_state(struct e100 *s, unsigned st)
{
	s->scb[SCB_STATUS] = (s->scb[SCB_STATUS] & ~0x3c) | (st << 2);
}

/* ---- interrupts ---- */

static void set_irq(struct e100 *s, bool on)
{
	if (s->irq == on)
		return;
	s->irq = on;
	nic_set_irq(&s->nic, on);
}

static void raise_cause(struct e100 *s, uint8_t cause)
{
	uint8_t enabled = ~s->scb[SCB_INTMASK];
	s->scb[SCB_ACK] |= cause;
	s->scb_stat = s->scb[SCB_ACK];
	/* the per-cause mask bits (7..2) do not hold back the line: only M */
	if ((s->scb_stat & (enabled | 0x0f)) && (enabled & 0x01))
		set_irq(s, true);
	else
		set_irq(s, false);
}

static void acknowledge(struct e100 *s)
{
	s->scb_stat &= ~s->scb[SCB_ACK];
	s->scb[SCB_ACK] = s->scb_stat;
	if (s->scb_stat == 0)
		set_irq(s, false);
}

/* ---- reset ---- */

static void eeprom_fill(struct e100 *s)
{
	uint16_t *w = s->eeprom.data;
	for (int i = 0; i < 3; i++)
		w[i] = s->nic.conf_mac[2 * i] | s->nic.conf_mac[2 * i + 1] << 8;
	w[5] = s->v == &variants[I82557B] ? 0x0100 : 0x4000; /* ID word */
	w[6] = 1;					     /* PHY address */
	uint16_t sum = 0;
	for (int i = 0; i < EEPROM_WORDS - 1; i++)
		sum += w[i];
	w[EEPROM_WORDS - 1] = 0xbaba - sum;
}

static void selective_reset(struct e100 *s)
{
	eeprom_fill(s);
	memset(s->scb, 0, sizeof(s->scb));
	nic_put_le32(s->scb + SCB_MDI, 1u << 21); /* PHY address 1 */
	memcpy(s->mdi, mdi_default, sizeof(s->mdi));
	if (!nic_link_up(&s->nic))
		s->mdi[1] &= ~0x0004;
	s->scb_stat = 0;
	set_irq(s, false);
}

static void software_reset(struct e100 *s)
{
	memset(s->mult, 0, sizeof(s->mult));
	memcpy(s->ia, s->nic.conf_mac, 6);
	if (s->nic.nc)
		net_nic_set_mac(s->nic.nc, s->ia);
	selective_reset(s);
}

static void pci_reset(void *opaque)
{
	struct e100 *s = opaque;
	uint8_t *cfg = pci_config(s->nic.pci);
	cfg[PCI_STATUS] |= 0x80;     /* fast back-to-back */
	cfg[PCI_STATUS + 1] |= 0x02; /* DEVSEL medium */
	if (s->pm_cap)
		nic_put_le16(cfg + s->pm_cap + 4, 0); /* PMCSR: D0 */
	memset(s->config, 0, sizeof(s->config));
	s->config[6] = 0x30; /* standard TxCB, standard statistical counters */
	s->cu_base = s->cu_offset = s->ru_base = s->ru_offset = s->stats_addr = 0;
	memset(&s->st, 0, sizeof(s->st));
	nic_ee93_init(&s->eeprom, EEPROM_WORDS);
	software_reset(s);
}

/* ---- command unit ---- */

static unsigned stats_size(struct e100 *s)
{
	if (s->v->stats_size == 64 || (s->config[6] & 0x20))
		return 64;
	return (s->config[6] & 0x04) ? 80 : 76;
}

static void dump_stats(struct e100 *s, uint32_t signature, bool reset)
{
	uint8_t buf[84];
	unsigned n = stats_size(s);
	memset(buf, 0, sizeof(buf));
	nic_put_le32(buf + 0, s->st.tx_good);
	nic_put_le32(buf + 36, s->st.rx_good);
	nic_put_le32(buf + 48, s->st.rx_resource_errors);
	nic_put_le32(buf + 60, s->st.rx_short);
	nic_put_le32(buf + n, signature);
	nic_dma_write(&s->nic, s->stats_addr, buf, n + 4);
	if (reset)
		memset(&s->st, 0, sizeof(s->st));
}

struct tcb {
	uint16_t status, command;
	uint32_t link, tbd_array;
	uint16_t tcb_bytes;
	uint8_t threshold, tbd_count;
};

/* Gather one TBD's buffer; false when the frame cannot be built. */
static bool add_tbd(struct e100 *s, uint64_t tbd, uint8_t *buf, size_t *size, bool *el)
{
	uint8_t t[8];
	if (!nic_dma_read(&s->nic, tbd, t, 8))
		return false;
	uint32_t addr = nic_le32(t);
	size_t n = nic_le16(t + 4) & 0x7fff;
	*el = nic_le16(t + 6) & 1;
	if (n > TX_MAX - *size)
		n = TX_MAX - *size;
	if (!nic_dma_read(&s->nic, addr, buf + *size, n))
		return false;
	*size += n;
	return true;
}

static bool tx_command(struct e100 *s, uint64_t cb, const struct tcb *t)
{
	uint8_t buf[TX_MAX];
	size_t size = 0;
	size_t bytes = t->tcb_bytes & 0x3fff;
	if (bytes > TX_MAX)
		bytes = TX_MAX;
	/* simplified mode data (and, in flexible mode, whatever the TCB byte
	 * count says) follows the TCB */
	if (!nic_dma_read(&s->nic, cb + 16, buf, bytes))
		goto fail;
	size = bytes;
	if (t->tbd_array != 0xffffffffu) {
		unsigned count = 0;
		bool el = false;
		if (s->v->extended_tcb && !(s->config[6] & 0x10)) {
			/* extended TCB: two TBDs inside the command block */
			for (; count < 2 && !el; count++)
				if (!add_tbd(s, cb + 16 + 8 * count, buf, &size, &el))
					goto fail;
		}
		for (uint64_t tbd = t->tbd_array; count < t->tbd_count && !el; count++, tbd += 8)
			if (!add_tbd(s, tbd, buf, &size, &el))
				goto fail;
	}
	if (size == 0)
		goto fail;
	nic_send(&s->nic, buf, size);
	s->st.tx_good++;
	return true;
fail:
	nic_count_tx_drop(&s->nic);
	return false;
}

static void multicast_list(struct e100 *s, uint64_t cb)
{
	uint16_t count;
	memset(s->mult, 0, sizeof(s->mult));
	if (!nic_dma_read16(&s->nic, cb + 8, &count))
		return;
	count &= 0x3fff;
	for (unsigned i = 0; i + 6 <= count; i += 6) {
		uint8_t a[6];
		if (!nic_dma_read(&s->nic, cb + 10 + i, a, 6))
			break;
		unsigned bit = (nic_crc32_be(a, 6) >> 2) & 0x3f;
		s->mult[bit >> 3] |= 1 << (bit & 7);
	}
	if (s->nic.nc)
		net_nic_rx_filter_changed(s->nic.nc);
}

static void run_cu(struct e100 *s)
{
	for (unsigned n = 0; n < CU_MAX_CMDS; n++) {
		uint64_t cb = (uint32_t)(s->cu_base + s->cu_offset);
		uint8_t raw[16];
		if (!nic_dma_read(&s->nic, cb, raw, sizeof(raw))) {
			/* a command list outside RAM: the CU gives up */
			nic_count_tx_drop(&s->nic);
			set_cu_state(s, CU_IDLE);
			raise_cause(s, ACK_CNA);
			return;
		}
		struct tcb t = {
		    .status = nic_le16(raw),
		    .command = nic_le16(raw + 2),
		    .link = nic_le32(raw + 4),
		    .tbd_array = nic_le32(raw + 8),
		    .tcb_bytes = nic_le16(raw + 12),
		    .threshold = raw[14],
		    .tbd_count = raw[15],
		};
		s->cu_offset = t.link;
		uint16_t ok = CB_OK;
		switch (t.command & CB_CMD) {
		case 0: /* NOP */
			break;
		case 1: /* individual address setup */
			if (nic_dma_read(&s->nic, cb + 8, s->ia, 6) && s->nic.nc)
				net_nic_set_mac(s->nic.nc, s->ia);
			break;
		case 2: /* configure */
			nic_dma_read(&s->nic, cb + 8, s->config, sizeof(s->config));
			if (s->nic.nc)
				net_nic_rx_filter_changed(s->nic.nc);
			break;
		case 3:
			multicast_list(s, cb);
			break;
		case 4: /* transmit */
			if (t.command & CB_NC) {
				ok = 0;
				break;
			}
			if (!tx_command(s, cb, &t))
				ok = 0;
			break;
		case 5: /* load microcode (ignored) */
			break;
		case 7: /* diagnose */
			t.status = 0;
			break;
		default: /* dump */
			ok = 0;
			break;
		}
		nic_dma_write16(&s->nic, cb, t.status | ok | CB_C);
		if (t.command & CB_I)
			raise_cause(s, ACK_CX);
		if (t.command & CB_EL) {
			set_cu_state(s, CU_IDLE);
			raise_cause(s, ACK_CNA);
			return;
		}
		if (t.command & CB_S) {
			set_cu_state(s, CU_SUSPENDED);
			raise_cause(s, ACK_CNA);
			return;
		}
	}
	/* A list that neither ends nor suspends: stop here, still active;
	 * the guest's next resume carries on. */
}

static void cu_command(struct e100 *s, uint8_t cmd)
{
	uint32_t ptr = nic_le32(s->scb + SCB_POINTER);
	switch (cmd) {
	case 0x00:
		break;
	case 0x10: /* CU start */
		set_cu_state(s, CU_ACTIVE);
		s->cu_offset = ptr;
		run_cu(s);
		break;
	case 0x20: /* CU resume; Linux resumes an idle CU too */
		set_cu_state(s, CU_ACTIVE);
		run_cu(s);
		break;
	case 0x40: /* load dump counters address */
		s->stats_addr = ptr & ~3u;
		break;
	case 0x50:
		dump_stats(s, 0xa005, false);
		break;
	case 0x60: /* load CU base */
		s->cu_base = ptr;
		break;
	case 0x70:
		dump_stats(s, 0xa007, true);
		break;
	default:
		break;
	}
}

static void ru_command(struct e100 *s, uint8_t cmd)
{
	switch (cmd) {
	case 0x1: /* RU start */
		set_ru_state(s, RU_READY);
		s->ru_offset = nic_le32(s->scb + SCB_POINTER);
		if (s->nic.nc)
			net_client_flush_queue(s->nic.nc);
		break;
	case 0x2: /* RU resume */
		set_ru_state(s, RU_READY);
		if (s->nic.nc)
			net_client_flush_queue(s->nic.nc);
		break;
	case 0x4: /* RU abort */
		if (ru_state(s) == RU_READY)
			raise_cause(s, ACK_RNR);
		set_ru_state(s, RU_IDLE);
		break;
	case 0x6: /* load RU base */
		s->ru_base = nic_le32(s->scb + SCB_POINTER);
		break;
	default:
		break;
	}
}

static void write_command(struct e100 *s, uint8_t v)
{
	ru_command(s, v & 0x0f);
	cu_command(s, v & 0xf0);
	s->scb[SCB_CMD] = 0; /* accepted */
}

/* ---- receive ---- */

enum accept { DROP_SILENT, DROP_COUNT, ACCEPT };

static enum accept filter(struct e100 *s, const uint8_t *buf, size_t size, uint16_t *status)
{
	bool promisc = s->config[15] & 0x01;
	if (s->config[8] & 0x80) /* CSMA disabled */
		return DROP_COUNT;
	if (size > MAX_FRAME + 4 && !(s->config[18] & 0x08))
		return DROP_COUNT;
	if (!memcmp(buf, s->ia, 6))
		return ACCEPT;
	switch (nic_dest_kind(buf)) {
	case NIC_DEST_BROADCAST:
		*status |= 0x0002;
		return ACCEPT;
	case NIC_DEST_MULTICAST:
		if (!(s->config[21] & 0x08)) {
			unsigned bit = (nic_crc32_be(buf, 6) >> 2) & 0x3f;
			if (s->mult[bit >> 3] & (1 << (bit & 7)))
				;
			else if (promisc)
				*status |= 0x0004;
			else
				return DROP_SILENT;
		}
		*status |= 0x0002;
		return ACCEPT;
	default:
		if (promisc) {
			*status |= 0x0004;
			return ACCEPT;
		}
		if (s->config[20] & 0x40) { /* multiple individual addresses */
			unsigned bit = nic_crc32_be(buf, 6) >> 26;
			return (s->mult[bit >> 3] & (1 << (bit & 7))) ? ACCEPT : DROP_SILENT;
		}
		return DROP_SILENT;
	}
}

static ssize_t e100_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	struct e100 *s = nc->opaque;
	size_t size = net_iov_size(iov, iovcnt), orig = size;
	uint8_t buf[MAX_FRAME + 8 + 4096];
	if (size > sizeof(buf) || size < 6)
		return -1;
	net_iov_to_buf(iov, iovcnt, buf, size);
	if (size < 60) {
		memset(buf + size, 0, 60 - size);
		size = 60;
	}
	uint16_t status = CB_C | CB_OK;
	switch (filter(s, buf, size, &status)) {
	case DROP_SILENT:
		return orig;
	case DROP_COUNT:
		return -1;
	case ACCEPT:
		break;
	}
	if (ru_state(s) != RU_READY) {
		raise_cause(s, ACK_RNR);
		s->st.rx_resource_errors++;
		return -1;
	}
	uint64_t rfd = (uint32_t)(s->ru_base + s->ru_offset);
	uint8_t r[16];
	if (!nic_dma_read(&s->nic, rfd, r, sizeof(r))) {
		set_ru_state(s, RU_NO_RESOURCES);
		raise_cause(s, ACK_RNR);
		return -1;
	}
	uint16_t command = nic_le16(r + 2);
	uint32_t link = nic_le32(r + 4);
	size_t room = nic_le16(r + 14) & 0x3fff;
	if (size > room)
		size = room; /* truncated, as QEMU */
	/* simplified RFD: the frame follows the 16-byte descriptor */
	bool ok = nic_dma_write(&s->nic, rfd + 16, buf, size);
	if (ok) {
		uint8_t w[2];
		nic_put_le16(w, status);
		ok = nic_dma_write(&s->nic, rfd, w, 2);
		/* actual count with EOF and F, as the chip reports it */
		nic_put_le16(w, (uint16_t)(size | 0xc000));
		ok = ok && nic_dma_write(&s->nic, rfd + 12, w, 2);
	}
	s->ru_offset = link;
	if (!ok) {
		set_ru_state(s, RU_NO_RESOURCES);
		raise_cause(s, ACK_RNR);
		return -1;
	}
	s->st.rx_good++;
	raise_cause(s, ACK_FR);
	if (command & CB_EL) {
		set_ru_state(s, RU_NO_RESOURCES);
		raise_cause(s, ACK_RNR);
	}
	if (command & CB_S)
		set_ru_state(s, RU_SUSPENDED);
	return orig;
}

/* ---- PORT, EEPROM, MDI ---- */

static void write_port(struct e100 *s)
{
	uint32_t v = nic_le32(s->scb + SCB_PORT);
	uint32_t addr = v & ~3u;
	switch (v & 3) {
	case 0:
		software_reset(s);
		break;
	case 1: { /* self-test: signature and a clean result */
		uint8_t r[8];
		nic_put_le32(r, 0xffffffffu);
		nic_put_le32(r + 4, 0);
		nic_dma_write(&s->nic, addr, r, 8);
		break;
	}
	case 2:
		selective_reset(s);
		break;
	default:
		break;
	}
}

static uint16_t read_eeprom_reg(struct e100 *s)
{
	uint16_t v = nic_le16(s->scb + SCB_EEPROM);
	if (nic_ee93_dout(&s->eeprom))
		v |= 0x08;
	else
		v &= ~0x08;
	return v;
}

static void write_eeprom_reg(struct e100 *s, uint8_t v)
{
	nic_ee93_wires(&s->eeprom, v & 0x02, v & 0x01, v & 0x04);
}

static uint32_t read_mdi(struct e100 *s)
{
	return nic_le32(s->scb + SCB_MDI) | (1u << 28); /* ready */
}

static void write_mdi(struct e100 *s)
{
	uint32_t v = nic_le32(s->scb + SCB_MDI);
	bool irq = v & (1u << 29);
	unsigned op = (v >> 26) & 3, phy = (v >> 21) & 0x1f, reg = (v >> 16) & 0x1f;
	uint16_t data = v & 0xffff;
	if (phy != 1 || (op != 1 && op != 2) || reg > 6) {
		data = 0;
	} else {
		if (op == 1) {
			if (reg == 0) {
				if (data & 0x8000) {
					s->mdi[0] = mdi_default[0];
					s->mdi[1] = mdi_default[1];
					if (!nic_link_up(&s->nic))
						s->mdi[1] &= ~0x0004;
					data = s->mdi[0];
				} else {
					data &= ~0x0200; /* autonegotiation restarts at once */
				}
			}
			s->mdi[reg] =
			    (s->mdi[reg] & mdi_readonly[reg]) | (data & ~mdi_readonly[reg]);
		} else {
			if (reg == 0 && (data & 0x8000)) {
				s->mdi[0] = mdi_default[0];
				s->mdi[1] = mdi_default[1];
			} else if (reg == 1) {
				s->mdi[1] |= 0x0020; /* autonegotiation complete */
			} else if (reg == 5) {
				s->mdi[5] = 0x41fe;
			} else if (reg == 6) {
				s->mdi[6] = 0x0001;
			}
			if (reg <= 1) {
				if (nic_link_up(&s->nic))
					s->mdi[1] |= 0x0004;
				else
					s->mdi[1] &= ~0x0004;
			}
			data = s->mdi[reg];
		}
		s->scb[SCB_ACK] |= ACK_MDI;
		v |= 1u << 28;
		if (irq)
			raise_cause(s, ACK_MDI);
	}
	nic_put_le32(s->scb + SCB_MDI, (v & 0xffff0000u) | data);
}

/* ---- register access ---- */

static uint8_t gstat(struct e100 *s)
{
	/* 100 Mb/s, full duplex, and the link bit */
	return 0x06 | (nic_link_up(&s->nic) ? 0x01 : 0x00);
}

static uint64_t scb_read(struct e100 *s, unsigned a, unsigned size)
{
	uint32_t v = 0;
	if (a + size <= SCB_SIZE)
		v = nic_reg_get(s->scb, a, size);
	if (size == 1) {
		switch (a) {
		case SCB_EEPROM:
			return read_eeprom_reg(s) & 0xff;
		case SCB_MDI ... SCB_MDI + 3:
			return (read_mdi(s) >> (8 * (a & 3))) & 0xff;
		case SCB_PMDR:
			return 0;
		case SCB_GSTAT:
			return gstat(s);
		default:
			return v;
		}
	}
	if (size == 2) {
		switch (a) {
		case SCB_EEPROM:
			return read_eeprom_reg(s);
		case SCB_MDI:
		case SCB_MDI + 2:
			return (read_mdi(s) >> (8 * (a & 3))) & 0xffff;
		default:
			return v;
		}
	}
	switch (a) {
	case SCB_PORT:
		return 0;
	case SCB_FLASH:
		return read_eeprom_reg(s);
	case SCB_MDI:
		return read_mdi(s);
	default:
		return v;
	}
}

static void scb_write1(struct e100 *s, unsigned a, uint8_t v)
{
	if (a > SCB_STATUS && a < SCB_SIZE)
		s->scb[a] = v;
	switch (a) {
	case SCB_ACK:
		acknowledge(s);
		break;
	case SCB_CMD:
		write_command(s, v);
		break;
	case SCB_INTMASK:
		if (v & 0x02)
			raise_cause(s, ACK_SWI);
		raise_cause(s, 0);
		break;
	case SCB_PORT + 3:
		write_port(s);
		break;
	case SCB_EEPROM:
		write_eeprom_reg(s, v);
		break;
	case SCB_MDI + 3:
		write_mdi(s);
		break;
	default:
		break;
	}
}

static void scb_write(struct e100 *s, unsigned a, unsigned size, uint32_t v)
{
	if (size == 1) {
		scb_write1(s, a, v);
		return;
	}
	if (size == 2) {
		if (a > SCB_STATUS && a + 2 <= SCB_SIZE)
			nic_put_le16(s->scb + a, v);
		switch (a) {
		case SCB_STATUS:
			s->scb[SCB_ACK] = v >> 8;
			acknowledge(s);
			break;
		case SCB_CMD:
			write_command(s, v & 0xff);
			scb_write1(s, SCB_INTMASK, v >> 8);
			break;
		case SCB_PORT + 2:
			write_port(s);
			break;
		case SCB_EEPROM:
			write_eeprom_reg(s, v & 0xff);
			break;
		case SCB_MDI + 2:
			write_mdi(s);
			break;
		default:
			break;
		}
		return;
	}
	if (a + 4 <= SCB_SIZE)
		nic_put_le32(s->scb + a, v);
	switch (a) {
	case SCB_PORT:
		write_port(s);
		break;
	case SCB_FLASH:
		write_eeprom_reg(s, v >> 16);
		break;
	case SCB_MDI:
		write_mdi(s);
		break;
	default:
		break;
	}
}

static uint64_t bar_read(void *opaque, int bar, uint64_t off, unsigned size)
{
	(void)bar;
	if (size > 4)
		return scb_read(opaque, off, 4) | (uint64_t)scb_read(opaque, off + 4, 4) << 32;
	return scb_read(opaque, off, size);
}

static void bar_write(void *opaque, int bar, uint64_t off, unsigned size, uint64_t v)
{
	(void)bar;
	if (size > 4) {
		scb_write(opaque, off, 4, v);
		scb_write(opaque, off + 4, 4, v >> 32);
		return;
	}
	scb_write(opaque, off, size, v);
}

static const struct pci_bar_ops e100_bar_ops = {.read = bar_read, .write = bar_write};

static void e100_link_changed(NetClient *nc)
{
	struct e100 *s = nc->opaque;
	if (nc->link_down)
		s->mdi[1] &= ~0x0004;
	else
		s->mdi[1] |= 0x0004;
}

static void e100_query_rx_filter(NetClient *nc, JsonObject *o)
{
	struct e100 *s = nc->opaque;
	json_object_set_boolean_member(o, "promiscuous", s->config[15] & 1);
	json_object_set_string_member(o, "multicast", (s->config[21] & 0x08) ? "all" : "normal");
	json_object_set_string_member(o, "unicast", "normal");
	json_object_set_boolean_member(o, "broadcast-allowed", true);
}

static const NetClientOps e100_net_ops = {
    .receive = e100_receive,
    .link_status_changed = e100_link_changed,
    .query_rx_filter = e100_query_rx_filter,
};

static void unrealize(void *opaque)
{
	struct e100 *s = opaque;
	nic_detach(&s->nic);
	g_free(s);
}

static const struct pci_device_ops e100_pci_ops = {
    .reset = pci_reset,
    .unrealize = unrealize,
};

/* Power management capability at 0xdc, where QEMU puts it. */
static void add_pm_cap(struct e100 *s)
{
	uint8_t *cfg = pci_config(s->nic.pci), *wmask = pci_wmask(s->nic.pci);
	uint8_t *w1c = pci_w1cmask(s->nic.pci);
	const uint8_t at = 0xdc;
	cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	cfg[PCI_CAPABILITY_LIST] = at;
	cfg[at] = PCI_CAP_ID_PM;
	cfg[at + 1] = 0;
	nic_put_le16(cfg + at + 2, 0x7e21);   /* PMC: D1, D2, PME from all states */
	nic_put_le16(wmask + at + 4, 0x0003); /* PMCSR power state */
	nic_put_le16(w1c + at + 4, 0x8000);   /* PME status */
	s->pm_cap = at;
}

static int e100_init(const struct dev_model *m, struct dev_opts *o, GError **err,
		     enum eepro100_variant which)
{
	struct e100 *s = g_new0(struct e100, 1);
	s->v = &variants[which];
	if (nic_prepare(&s->nic, m, o, err) < 0) {
		g_free(s);
		return -1;
	}
	struct pci_ident ident = {
	    .vendor_id = 0x8086,
	    .device_id = s->v->device_id,
	    .class_code = 0x020000,
	    .revision = s->v->revision,
	    .irq_pin = 1,
	};
	if (!nic_pci_new(&s->nic, o, &ident, &e100_pci_ops, s, err)) {
		nic_abandon(&s->nic);
		g_free(s);
		return -1;
	}
	struct pci_device *pci = s->nic.pci;
	if (pci_register_bar(pci, 0, PCI_BAR_MEM32, SCB_SIZE, &e100_bar_ops, err) < 0 ||
	    pci_register_bar(pci, 1, PCI_BAR_IO, 64, &e100_bar_ops, err) < 0 ||
	    pci_register_bar(pci, 2, PCI_BAR_MEM32, FLASH_SIZE, &e100_bar_ops, err) < 0)
		return -1;
	uint8_t *cfg = pci_config(pci);
	cfg[PCI_BASE_ADDRESS_0] |= 0x08; /* prefetchable */
	cfg[PCI_LATENCY_TIMER] = 0x20;
	cfg[0x3e] = 0x08; /* MIN_GNT */
	cfg[0x3f] = 0x18; /* MAX_LAT */
	if (s->v->power_management)
		add_pm_cap(s);
	nic_attach(&s->nic, &e100_net_ops, s);
	pci_reset(s);
	return 0;
}

static int i82551_init(const struct dev_model *m, struct dev_opts *o, GError **err)
{
	return e100_init(m, o, err, I82551);
}

static int i82557b_init(const struct dev_model *m, struct dev_opts *o, GError **err)
{
	return e100_init(m, o, err, I82557B);
}

static int i82559er_init(const struct dev_model *m, struct dev_opts *o, GError **err)
{
	return e100_init(m, o, err, I82559ER);
}

static const struct dev_prop e100_props[] = {
    NIC_COMMON_PROPS,
    {NULL, 0, NULL, NULL, 0},
};

static struct dev_model i82551_model = {
    .name = "i82551",
    .bus = "PCI",
    .category = "Network devices",
    .desc = "Intel i82551 Ethernet",
    .props = e100_props,
    .init = i82551_init,
};
NIC_MODEL_REGISTER(i82551_model)

static struct dev_model i82557b_model = {
    .name = "i82557b",
    .bus = "PCI",
    .category = "Network devices",
    .desc = "Intel i82557B Ethernet",
    .props = e100_props,
    .init = i82557b_init,
};
NIC_MODEL_REGISTER(i82557b_model)

static struct dev_model i82559er_model = {
    .name = "i82559er",
    .bus = "PCI",
    .category = "Network devices",
    .desc = "Intel i82559ER Ethernet",
    .props = e100_props,
    .init = i82559er_init,
};
NIC_MODEL_REGISTER(i82559er_model)
