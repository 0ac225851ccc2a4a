/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Realtek RTL8029AS, the PCI NE2000 (PCI 10ec:8029), as QEMU's "ne2k_pci".
 *
 * A DP8390 core with 32 KiB of on-board packet memory (pages 0x40-0xbf)
 * plus the 32-byte station address PROM at address 0. The host never
 * gives the chip guest addresses: frames move between guest and card
 * through the remote DMA data port (0x10), so every index here points into
 * the card's own memory and is checked against it.
 *
 * I/O BAR (256 bytes): 0x00-0x0f the paged 8390 registers (CR selects page
 * 0-3), 0x10 the data port (byte, word or dword), 0x1f the reset port.
 * The chip has no link status register; while the link is down frames
 * simply stop (the net layer drops them).
 */
#include <string.h>

#include "nic-common.h"

#define MEM_SIZE   0xc000 /* PROM image at 0, packet memory from 16 KiB */
#define PMEM_START 0x4000
#define PMEM_END   0xc000
#define PMEM_SIZE  (PMEM_END - PMEM_START)
#define PROM_SIZE  32
#define MAX_FRAME  1514

/* CR */
#define CR_STP	    0x01
#define CR_STA	    0x02
#define CR_TXP	    0x04
#define CR_RD_READ  0x08
#define CR_RD_WRITE 0x10
#define CR_RD_ABORT 0x20

/* ISR */
#define ISR_PRX 0x01
#define ISR_PTX 0x02
#define ISR_RXE 0x04
#define ISR_TXE 0x08
#define ISR_OVW 0x10
#define ISR_CNT 0x20
#define ISR_RDC 0x40
#define ISR_RST 0x80

/* RCR */
#define RCR_AB	0x04
#define RCR_AM	0x08
#define RCR_PRO 0x10

/* RSR */
#define RSR_PRX 0x01
#define RSR_PHY 0x20 /* multicast or broadcast */

/* TSR */
#define TSR_PTX 0x01
#define TSR_ABT 0x08

struct ne2k {
	struct nic_common nic; /* first: see nic-common.h */
	uint8_t cmd;
	uint32_t start, stop; /* ring bounds, byte addresses */
	uint8_t boundary;
	uint8_t tsr, tpsr;
	uint16_t tcnt, rcnt;
	uint32_t rsar;
	uint8_t rsr, isr, imr, rxcr, txcr, dcfg;
	uint8_t phys[6];
	uint8_t curpag;
	uint8_t mult[8];
	uint8_t mem[MEM_SIZE];
};

static void update_irq(struct ne2k *s)
{
	nic_set_irq(&s->nic, (s->isr & s->imr & 0x7f) != 0);
}

/* The reset pulse (reset port read): PROM image reloaded, ISR.RST set. */
static void chip_reset(struct ne2k *s)
{
	s->isr = ISR_RST;
	/* Each MAC byte twice (the PROM is read word-wide), then the NE2000
	 * signature 'W' where QEMU's image has it: bytes 28-31. */
	for (int i = 0; i < 6; i++)
		s->mem[2 * i] = s->mem[2 * i + 1] = s->nic.conf_mac[i];
	memset(s->mem + 12, 0, PROM_SIZE - 12);
	memset(s->mem + 28, 0x57, 4);
	update_irq(s);
}

static void pci_reset(void *opaque)
{
	struct ne2k *s = opaque;
	s->cmd = 0;
	s->start = s->stop = 0;
	s->boundary = s->tsr = s->tpsr = 0;
	s->tcnt = s->rcnt = 0;
	s->rsar = 0;
	s->rsr = s->imr = s->rxcr = s->txcr = s->dcfg = 0;
	memset(s->phys, 0, sizeof(s->phys));
	s->curpag = 0;
	memset(s->mult, 0, sizeof(s->mult));
	chip_reset(s);
}

/* ---- receive ---- */

/* The ring as the guest programmed it, or false when it is unusable. */
static bool ring_ok(struct ne2k *s)
{
	uint32_t cur = (uint32_t)s->curpag << 8;
	return s->start >= PMEM_START && s->stop <= PMEM_END && s->start < s->stop &&
	       cur >= s->start && cur < s->stop;
}

static uint32_t ring_free(struct ne2k *s)
{
	uint32_t index = (uint32_t)s->curpag << 8, boundary = (uint32_t)s->boundary << 8;
	if (index < boundary)
		return boundary - index;
	uint32_t used = index - boundary;
	uint32_t size = s->stop - s->start;
	return used > size ? 0 : size - used;
}

static bool ring_full(struct ne2k *s)
{
	return ring_free(s) < MAX_FRAME + 4;
}

static bool ne2k_can_receive(NetClient *nc)
{
	struct ne2k *s = nc->opaque;
	if ((s->cmd & CR_STP) || !ring_ok(s))
		return true; /* dropped, not held */
	return !ring_full(s);
}

static bool accept(struct ne2k *s, const uint8_t *buf)
{
	if (s->rxcr & RCR_PRO)
		return true;
	switch (nic_dest_kind(buf)) {
	case NIC_DEST_BROADCAST:
		return s->rxcr & RCR_AB;
	case NIC_DEST_MULTICAST: {
		if (!(s->rxcr & RCR_AM))
			return false;
		unsigned bit = nic_crc32_be(buf, 6) >> 26;
		return s->mult[bit >> 3] & (1 << (bit & 7));
	}
	default:
		return !memcmp(buf, s->phys, 6);
	}
}

static ssize_t ne2k_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	struct ne2k *s = nc->opaque;
	size_t size = net_iov_size(iov, iovcnt);
	uint8_t buf[MAX_FRAME + 4];
	if ((s->cmd & CR_STP) || !ring_ok(s) || ring_full(s))
		return -1;
	if (size > sizeof(buf) || size < 6) {
		s->isr |= ISR_RXE;
		update_irq(s);
		return -1;
	}
	net_iov_to_buf(iov, iovcnt, buf, size);
	if (!accept(s, buf))
		return size;
	size_t len = size;
	if (len < 60) {
		memset(buf + len, 0, 60 - len);
		len = 60;
	}
	uint32_t index = (uint32_t)s->curpag << 8;
	uint32_t total = len + 4; /* with the 4-byte header */
	/* the chip reserves room for the FCS it does not store */
	uint32_t next = index + ((total + 4 + 255) & ~0xffu);
	if (next >= s->stop)
		next -= s->stop - s->start;
	s->rsr = RSR_PRX | ((buf[0] & 1) ? RSR_PHY : 0);
	uint8_t hdr[4] = {s->rsr, next >> 8, total & 0xff, total >> 8};
	const uint8_t *parts[2] = {hdr, buf};
	size_t lens[2] = {4, len};
	/* copy with wrap-around; index stays in [start, stop) throughout */
	for (int p = 0; p < 2; p++) {
		const uint8_t *src = parts[p];
		size_t left = lens[p];
		while (left) {
			size_t room = s->stop - index;
			size_t n = left < room ? left : room;
			memcpy(s->mem + index, src, n);
			src += n;
			left -= n;
			index += n;
			if (index >= s->stop)
				index = s->start;
		}
	}
	s->curpag = next >> 8;
	s->isr |= ISR_PRX;
	update_irq(s);
	return size;
}

/* ---- transmit ---- */

static void transmit(struct ne2k *s)
{
	uint32_t index = (uint32_t)s->tpsr << 8;
	/* NetWare 3.11 gives pages past the end: they alias the start */
	if (index >= PMEM_END)
		index -= PMEM_SIZE;
	if (s->tcnt == 0 || index + s->tcnt > PMEM_END) {
		nic_count_tx_drop(&s->nic);
		s->tsr = TSR_ABT;
		s->isr |= ISR_TXE;
	} else {
		nic_send(&s->nic, s->mem + index, s->tcnt);
		s->tsr = TSR_PTX;
		s->isr |= ISR_PTX;
	}
	s->cmd &= ~CR_TXP;
	update_irq(s);
}

/* ---- registers ---- */

static void write_cmd(struct ne2k *s, uint8_t v)
{
	s->cmd = v;
	if (v & CR_STP)
		return;
	s->isr &= ~ISR_RST;
	if ((v & (CR_RD_READ | CR_RD_WRITE)) && s->rcnt == 0) {
		s->isr |= ISR_RDC;
		update_irq(s);
	}
	if (v & CR_TXP)
		transmit(s);
	if (s->nic.nc)
		net_client_flush_queue(s->nic.nc);
}

static void reg_write(struct ne2k *s, unsigned addr, uint8_t v)
{
	if (addr == 0) {
		write_cmd(s, v);
		return;
	}
	unsigned reg = addr | (s->cmd >> 6) << 4;
	switch (reg) {
	case 0x01:
		s->start = (uint32_t)v << 8;
		break;
	case 0x02:
		s->stop = (uint32_t)v << 8;
		break;
	case 0x03:
		s->boundary = v;
		if (s->nic.nc)
			net_client_flush_queue(s->nic.nc);
		break;
	case 0x04:
		s->tpsr = v;
		break;
	case 0x05:
		s->tcnt = (s->tcnt & 0xff00) | v;
		break;
	case 0x06:
		s->tcnt = (s->tcnt & 0x00ff) | v << 8;
		break;
	case 0x07:
		s->isr &= ~(v & 0x7f);
		update_irq(s);
		break;
	case 0x08:
		s->rsar = (s->rsar & 0xff00) | v;
		break;
	case 0x09:
		s->rsar = (s->rsar & 0x00ff) | v << 8;
		break;
	case 0x0a:
		s->rcnt = (s->rcnt & 0xff00) | v;
		break;
	case 0x0b:
		s->rcnt = (s->rcnt & 0x00ff) | v << 8;
		break;
	case 0x0c:
		s->rxcr = v;
		if (s->nic.nc)
			net_nic_rx_filter_changed(s->nic.nc);
		break;
	case 0x0d:
		s->txcr = v;
		break;
	case 0x0e:
		s->dcfg = v;
		break;
	case 0x0f:
		s->imr = v;
		update_irq(s);
		break;
	case 0x11 ... 0x16:
		s->phys[reg - 0x11] = v;
		if (reg == 0x16 && s->nic.nc)
			net_nic_set_mac(s->nic.nc, s->phys);
		break;
	case 0x17:
		s->curpag = v;
		break;
	case 0x18 ... 0x1f:
		s->mult[reg - 0x18] = v;
		if (s->nic.nc)
			net_nic_rx_filter_changed(s->nic.nc);
		break;
	default:
		break;
	}
}

static uint8_t reg_read(struct ne2k *s, unsigned addr)
{
	if (addr == 0)
		return s->cmd;
	unsigned reg = addr | (s->cmd >> 6) << 4;
	switch (reg) {
	case 0x03:
		return s->boundary;
	case 0x04:
		return s->tsr;
	case 0x07:
		return s->isr;
	case 0x08:
		return s->rsar & 0xff;
	case 0x09:
		return (s->rsar >> 8) & 0xff;
	case 0x0a:
		return 0x50; /* RTL8029 ID: 'P' */
	case 0x0b:
		return 0x43; /* 'C' */
	case 0x0c:
		return s->rsr;
	case 0x11 ... 0x16:
		return s->phys[reg - 0x11];
	case 0x17:
		return s->curpag;
	case 0x18 ... 0x1f:
		return s->mult[reg - 0x18];
	case 0x21:
		return s->start >> 8;
	case 0x22:
		return s->stop >> 8;
	case 0x33:
		return 0x00; /* CONFIG0: 10BASE-T */
	case 0x35:
		return 0x40; /* CONFIG2: 10BASE-T link test on */
	case 0x36:
		return 0x40; /* CONFIG3: full duplex */
	default:
		return 0;
	}
}

static bool mem_valid(uint32_t addr, unsigned len)
{
	return addr + len <= PROM_SIZE || (addr >= PMEM_START && addr + len <= MEM_SIZE);
}

/* Remote DMA: advance the address, wrapping at the ring's end, and signal
 * completion when the count runs out. */
static void dma_advance(struct ne2k *s, unsigned len)
{
	s->rsar = (s->rsar + len) & 0xffff;
	if (s->rsar == s->stop)
		s->rsar = s->start;
	if (s->rcnt <= len) {
		s->rcnt = 0;
		s->isr |= ISR_RDC;
		update_irq(s);
	} else {
		s->rcnt -= len;
	}
}

static uint32_t data_read(struct ne2k *s, unsigned size)
{
	/* byte mode unless the data configuration selects words */
	unsigned len = size == 4 ? 4 : (s->dcfg & 1) ? 2 : 1;
	uint32_t addr = len > 1 ? s->rsar & ~1u : s->rsar;
	uint32_t v = 0;
	if (mem_valid(addr, len)) {
		for (unsigned i = 0; i < len; i++)
			v |= (uint32_t)s->mem[addr + i] << (8 * i);
	} else {
		v = len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
	}
	dma_advance(s, len);
	return v;
}

static void data_write(struct ne2k *s, unsigned size, uint32_t v)
{
	if (s->rcnt == 0)
		return;
	unsigned len = size == 4 ? 4 : (s->dcfg & 1) ? 2 : 1;
	uint32_t addr = len > 1 ? s->rsar & ~1u : s->rsar;
	if (mem_valid(addr, len))
		for (unsigned i = 0; i < len; i++)
			s->mem[addr + i] = v >> (8 * i);
	dma_advance(s, len);
}

static uint64_t bar_read(void *opaque, int bar, uint64_t off, unsigned size)
{
	(void)bar;
	struct ne2k *s = opaque;
	if (off < 0x10 && size == 1)
		return reg_read(s, off);
	if (off == 0x10 && size <= 4)
		return data_read(s, size);
	if (off == 0x1f && size == 1) {
		chip_reset(s);
		return 0;
	}
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static void bar_write(void *opaque, int bar, uint64_t off, unsigned size, uint64_t v)
{
	(void)bar;
	struct ne2k *s = opaque;
	if (off < 0x10 && size == 1)
		reg_write(s, off, v);
	else if (off == 0x10 && size <= 4)
		data_write(s, size, v);
	/* a write to the reset port ends the reset pulse: nothing to do */
}

static const struct pci_bar_ops ne2k_bar_ops = {.read = bar_read, .write = bar_write};

static void ne2k_query_rx_filter(NetClient *nc, JsonObject *o)
{
	struct ne2k *s = nc->opaque;
	json_object_set_boolean_member(o, "promiscuous", s->rxcr & RCR_PRO);
	json_object_set_string_member(o, "multicast", (s->rxcr & RCR_AM) ? "normal" : "none");
	json_object_set_string_member(o, "unicast", "normal");
	json_object_set_boolean_member(o, "broadcast-allowed", s->rxcr & RCR_AB);
}

static const NetClientOps ne2k_net_ops = {
    .receive = ne2k_receive,
    .can_receive = ne2k_can_receive,
    .query_rx_filter = ne2k_query_rx_filter,
};

static void unrealize(void *opaque)
{
	struct ne2k *s = opaque;
	nic_detach(&s->nic);
	g_free(s);
}

static const struct pci_device_ops ne2k_pci_ops = {
    .reset = pci_reset,
    .unrealize = unrealize,
};

static int ne2k_init(const struct dev_model *m, struct dev_opts *o, GError **err)
{
	struct ne2k *s = g_new0(struct ne2k, 1);
	if (nic_prepare(&s->nic, m, o, err) < 0) {
		g_free(s);
		return -1;
	}
	static const struct pci_ident ident = {
	    .vendor_id = 0x10ec,
	    .device_id = 0x8029,
	    .class_code = 0x020000,
	    .irq_pin = 1,
	};
	if (!nic_pci_new(&s->nic, o, &ident, &ne2k_pci_ops, s, err)) {
		nic_abandon(&s->nic);
		g_free(s);
		return -1;
	}
	if (pci_register_bar(s->nic.pci, 0, PCI_BAR_IO, 0x100, &ne2k_bar_ops, err) < 0)
		return -1;
	nic_attach(&s->nic, &ne2k_net_ops, s);
	pci_reset(s);
	return 0;
}

static const struct dev_prop ne2k_props[] = {
    NIC_COMMON_PROPS,
    {NULL, 0, NULL, NULL, 0},
};

static struct dev_model ne2k_model = {
    .name = "ne2k_pci",
    .bus = "PCI",
    .category = "Network devices",
    .props = ne2k_props,
    .init = ne2k_init,
};
NIC_MODEL_REGISTER(ne2k_model)
