/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "nic-common.h"

#include <glib/gi18n.h>
#include <string.h>

#include "error.h"
#include "memory.h"
#include "net/net-cmdline.h"

void nic_model_register(struct dev_model *model)
{
	/* every NIC model implements unrealize (see nic_detach) */
	model->hotpluggable = true;
	dev_model_register(model);
	net_nic_model_register(model->name, model->alias);
}

int nic_prepare(struct nic_common *c, const struct dev_model *model, struct dev_opts *opts,
		GError **err)
{
	memset(c, 0, sizeof(*c));
	c->model = model;
	NicConfig *cfg = dev_opts_extra(opts);
	if (cfg) {
		/* -net nic / -nic: the net layer already made the backend (or hub
		 * port) and chose the MAC. */
		c->peer = cfg->peer;
		c->name = g_strdup(cfg->name);
		memcpy(c->conf_mac, cfg->mac, 6);
		return 0;
	}
	if (dev_opts_mac(opts, "mac", c->conf_mac)) {
		if (net_mac_is_multicast(c->conf_mac)) {
			g_set_error(err, KITE_ERROR, KITE_ERR_GENERIC,
				    _("Property '%s.mac': NIC cannot have multicast MAC address "
				      "(odd 1st byte)"),
				    model->name);
			return -1;
		}
	} else {
		net_nic_assign_mac(c->conf_mac);
	}
	/* -device ...,id=net0 names the NIC "net0" on the net layer, as in
	 * QEMU: set_link and the daemon's stats address it by that id. */
	if (dev_opts_id(opts))
		c->name = g_strdup(dev_opts_id(opts));
	const char *netdev = dev_opts_str(opts, "netdev");
	if (netdev) {
		c->peer = net_netdev_claim(netdev, model->name, err);
		if (!c->peer)
			return -1;
		c->netdev = g_strdup(netdev);
	}
	return 0;
}

void nic_abandon(struct nic_common *c)
{
	/* Only a netdev claimed by -device is ours to give back; -net nic
	 * peers stay with the net layer, which tears them down itself. */
	if (c->peer && c->netdev)
		c->peer->in_use = false;
	c->peer = NULL;
	g_clear_pointer(&c->name, g_free);
	g_clear_pointer(&c->netdev, g_free);
}

/* info qtree: QEMU shows the NIC properties first. */
static void qtree_info(void *opaque, GString *out, int indent)
{
	/* every model's state starts with its struct nic_common */
	struct nic_common *c = opaque;
	char mac[18];
	net_format_mac(c->conf_mac, mac);
	g_string_append_printf(out, "%*smac = \"%s\"\n", indent, "", mac);
	g_string_append_printf(out, "%*snetdev = \"%s\"\n", indent, "",
			       c->netdev ? c->netdev : (c->peer ? c->peer->name : ""));
}

struct pci_device *nic_pci_new(struct nic_common *c, struct dev_opts *opts,
			       const struct pci_ident *ident, const struct pci_device_ops *ops,
			       void *opaque, GError **err)
{
	c->pci = pci_device_new(c->model, opts, ident, ops, opaque, err);
	if (!c->pci)
		return NULL;
	pci_set_qtree_info(c->pci, qtree_info);
	return c->pci;
}

void nic_attach(struct nic_common *c, const NetClientOps *ops, void *opaque)
{
	c->nc = net_nic_new(c->model->name, c->name, c->peer, c->conf_mac, ops, opaque);
}

void nic_detach(struct nic_common *c)
{
	if (c->nc) {
		net_mac_mark_free(c->conf_mac);
		net_client_free(c->nc);
		c->nc = NULL;
	}
	nic_abandon(c);
	c->pci = NULL;
}

/* ---- DMA ---- */

static bool dma_allowed(struct nic_common *c, uint64_t addr, size_t len)
{
	if (!(pci_config(c->pci)[PCI_COMMAND] & PCI_COMMAND_MASTER))
		return false;
	return addr + len >= addr;
}

bool nic_dma_read(struct nic_common *c, uint64_t addr, void *buf, size_t len)
{
	if (len == 0)
		return true;
	if (dma_allowed(c, addr, len) && guest_read(addr, buf, len) == 0)
		return true;
	c->dma_errors++;
	memset(buf, 0, len);
	return false;
}

bool nic_dma_write(struct nic_common *c, uint64_t addr, const void *buf, size_t len)
{
	if (len == 0)
		return true;
	if (dma_allowed(c, addr, len) && guest_write(addr, buf, len) == 0)
		return true;
	c->dma_errors++;
	return false;
}

/*
 * 16- and 32-bit fields the guest polls or updates while the device runs
 * (ring indices, descriptor status) must move in one access, as on a real
 * bus. memcpy() of 2 or 3 bytes is two overlapping loads or stores in
 * glibc (the first two bytes, then the last one): a guest bumping an index
 * from 0x01ff to 0x0200 in between is read as 0x02ff. Aligned fields go
 * through a single atomic access instead; x86 is little-endian like the
 * devices, so no byte swapping.
 */
static void *dma_field(struct nic_common *c, uint64_t addr, size_t len)
{
	if ((addr & (len - 1)) || !dma_allowed(c, addr, len))
		return NULL;
	return guest_ram_ptr(addr, len);
}

bool nic_dma_read32(struct nic_common *c, uint64_t addr, uint32_t *v)
{
	uint32_t *p = dma_field(c, addr, 4);
	if (p) {
		*v = __atomic_load_n(p, __ATOMIC_RELAXED);
		return true;
	}
	uint8_t b[4];
	bool ok = nic_dma_read(c, addr, b, 4);
	*v = nic_le32(b);
	return ok;
}

bool nic_dma_write32(struct nic_common *c, uint64_t addr, uint32_t v)
{
	uint32_t *p = dma_field(c, addr, 4);
	if (p) {
		__atomic_store_n(p, v, __ATOMIC_RELAXED);
		return true;
	}
	uint8_t b[4];
	nic_put_le32(b, v);
	return nic_dma_write(c, addr, b, 4);
}

bool nic_dma_read16(struct nic_common *c, uint64_t addr, uint16_t *v)
{
	uint16_t *p = dma_field(c, addr, 2);
	if (p) {
		*v = __atomic_load_n(p, __ATOMIC_RELAXED);
		return true;
	}
	uint8_t b[2];
	bool ok = nic_dma_read(c, addr, b, 2);
	*v = nic_le16(b);
	return ok;
}

bool nic_dma_write16(struct nic_common *c, uint64_t addr, uint16_t v)
{
	uint16_t *p = dma_field(c, addr, 2);
	if (p) {
		__atomic_store_n(p, v, __ATOMIC_RELAXED);
		return true;
	}
	uint8_t b[2];
	nic_put_le16(b, v);
	return nic_dma_write(c, addr, b, 2);
}

void nic_count_rx_drop(struct nic_common *c)
{
	if (c->nc)
		c->nc->stats.rx_dropped++;
}

void nic_count_tx_drop(struct nic_common *c)
{
	if (c->nc)
		c->nc->stats.tx_dropped++;
}

uint8_t *nic_iov_flatten(const struct iovec *iov, int iovcnt, size_t *size)
{
	*size = net_iov_size(iov, iovcnt);
	if (*size > NET_MAX_FRAME)
		return NULL;
	uint8_t *buf = g_malloc(*size ? *size : 1);
	net_iov_to_buf(iov, iovcnt, buf, *size);
	return buf;
}

void nic_set_irq(struct nic_common *c, bool level)
{
	pci_set_irq(c->pci, level);
}

bool nic_link_up(const struct nic_common *c)
{
	return c->nc && !c->nc->link_down;
}

void nic_send(struct nic_common *c, const void *buf, size_t len)
{
	if (c->nc)
		net_send(c->nc, buf, len);
}

/* ---- CRCs ---- */

#define CRC32_POLY_BE 0x04c11db7u
#define CRC32_POLY_LE 0xedb88320u

uint32_t nic_crc32_le(const uint8_t *buf, size_t len)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		crc ^= buf[i];
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ ((crc & 1) ? CRC32_POLY_LE : 0);
	}
	return crc;
}

uint32_t nic_crc32_be(const uint8_t *buf, size_t len)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		uint8_t byte = buf[i];
		/* bits go out on the wire least significant first */
		for (int b = 0; b < 8; b++, byte >>= 1) {
			bool top = (crc >> 31) ^ (byte & 1);
			crc <<= 1;
			if (top)
				crc ^= CRC32_POLY_BE;
		}
	}
	return crc;
}

uint32_t nic_fcs(const uint8_t *buf, size_t len)
{
	return ~nic_crc32_le(buf, len);
}

enum nic_dest nic_dest_kind(const uint8_t *frame)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	if (!memcmp(frame, bcast, 6))
		return NIC_DEST_BROADCAST;
	return (frame[0] & 1) ? NIC_DEST_MULTICAST : NIC_DEST_UNICAST;
}

/* ---- checksums ---- */

uint32_t nic_csum_add(uint32_t sum, const uint8_t *buf, size_t len)
{
	uint64_t s = sum;
	size_t i;
	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)buf[i] << 8 | buf[i + 1];
	if (i < len)
		s += (uint32_t)buf[i] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t nic_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

void nic_insert_csum(uint8_t *frame, size_t len, size_t start, size_t offset, uint32_t seed)
{
	if (start >= len || offset > len - 2)
		return;
	frame[offset] = 0;
	frame[offset + 1] = 0;
	uint16_t sum = ~nic_csum_fold(nic_csum_add(seed, frame + start, len - start));
	frame[offset] = sum >> 8;
	frame[offset + 1] = sum & 0xff;
}

/* ---- register blocks ---- */

uint64_t nic_reg_get(const uint8_t *regs, unsigned off, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)regs[off + i] << (8 * i);
	return v;
}

void nic_reg_put(uint8_t *regs, unsigned off, unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size; i++)
		regs[off + i] = v >> (8 * i);
}

/* ---- Microwire EEPROM ---- */

enum { EE_IDLE, EE_OPCODE, EE_ADDRESS, EE_READ, EE_WRITE, EE_DONE };
enum { EE_OP_EXT = 0, EE_OP_WRITE = 1, EE_OP_READ = 2, EE_OP_ERASE = 3 };

void nic_ee93_init(struct nic_eeprom93 *e, unsigned words)
{
	uint16_t keep[256];
	memcpy(keep, e->data, sizeof(keep));
	memset(e, 0, sizeof(*e));
	memcpy(e->data, keep, sizeof(keep));
	e->words = words == 256 || words == 128 ? words : 64;
	e->addr_bits = e->words == 64 ? 6 : 8;
	e->dout = true;
}

/* Extended commands carry their sub-opcode in the top two address bits. */
static unsigned ee_ext_op(const struct nic_eeprom93 *e)
{
	return e->addr >> (e->addr_bits - 2);
}

static void ee_commit(struct nic_eeprom93 *e)
{
	if (!e->write_enabled)
		return;
	unsigned a = e->addr % e->words;
	if (e->opcode == EE_OP_ERASE && e->phase >= EE_READ) {
		e->data[a] = 0xffff;
	} else if (e->opcode == EE_OP_WRITE && e->phase == EE_DONE) {
		e->data[a] = e->shift;
	} else if (e->opcode == EE_OP_EXT && ee_ext_op(e) == 2 && e->phase >= EE_READ) {
		for (unsigned i = 0; i < e->words; i++)
			e->data[i] = 0xffff;
	} else if (e->opcode == EE_OP_EXT && ee_ext_op(e) == 1 && e->phase == EE_DONE) {
		for (unsigned i = 0; i < e->words; i++)
			e->data[i] = e->shift;
	}
}

static void ee_clock(struct nic_eeprom93 *e, bool di)
{
	switch (e->phase) {
	case EE_IDLE:
		/* leading zeros before the start bit are ignored */
		if (di) {
			e->phase = EE_OPCODE;
			e->count = 0;
			e->opcode = 0;
			e->addr = 0;
		}
		break;
	case EE_OPCODE:
		e->opcode = (e->opcode << 1) | di;
		if (++e->count == 2) {
			e->phase = EE_ADDRESS;
			e->count = 0;
		}
		break;
	case EE_ADDRESS:
		e->addr = (e->addr << 1) | di;
		if (++e->count < e->addr_bits)
			break;
		e->count = 0;
		e->shift = 0;
		switch (e->opcode) {
		case EE_OP_READ:
			e->shift = e->data[e->addr % e->words];
			e->dout = false; /* the dummy zero */
			e->phase = EE_READ;
			break;
		case EE_OP_WRITE:
			e->phase = EE_WRITE;
			break;
		case EE_OP_ERASE:
			e->phase = EE_READ; /* nothing more to clock in */
			break;
		default:
			if (ee_ext_op(e) == 3)
				e->write_enabled = true;
			else if (ee_ext_op(e) == 0)
				e->write_enabled = false;
			e->phase = ee_ext_op(e) == 1 ? EE_WRITE : EE_READ;
			break;
		}
		break;
	case EE_READ:
		if (e->opcode != EE_OP_READ)
			break;
		e->dout = (e->shift & 0x8000) != 0;
		e->shift <<= 1;
		if (++e->count == 16) {
			/* Drivers that keep CS high between reads start the
			 * next command right away. */
			e->phase = EE_IDLE;
			e->count = 0;
		}
		break;
	case EE_WRITE:
		e->shift = (e->shift << 1) | di;
		if (++e->count == 16)
			e->phase = EE_DONE;
		break;
	default:
		break;
	}
}

void nic_ee93_wires(struct nic_eeprom93 *e, bool cs, bool sk, bool di)
{
	if (!cs) {
		if (e->cs)
			ee_commit(e);
		e->cs = false;
		e->sk = sk;
		e->dout = true;
		e->phase = EE_IDLE;
		return;
	}
	if (!e->cs) {
		e->phase = EE_IDLE;
		e->count = 0;
		e->dout = true;
	}
	bool rising = sk && !e->sk;
	e->cs = true;
	e->sk = sk;
	if (rising)
		ee_clock(e, di);
}

/* ---- checksum and segmentation offloads ---- */

struct l3_info {
	bool v6;
	size_t l4_off;
	uint8_t proto;
	size_t l4_len; /* as the IP header says, clipped to the frame */
};

static bool parse_l3(const uint8_t *frame, size_t len, size_t l3_off, struct l3_info *li)
{
	if (l3_off >= len)
		return false;
	const uint8_t *ip = frame + l3_off;
	size_t avail = len - l3_off;
	unsigned ver = ip[0] >> 4;
	if (ver == 4) {
		size_t ihl = (size_t)(ip[0] & 0xf) * 4;
		if (avail < 20 || ihl < 20 || ihl > avail)
			return false;
		size_t tot = nic_be16(ip + 2);
		if (tot < ihl)
			return false;
		if (tot > avail)
			tot = avail;
		li->v6 = false;
		li->l4_off = l3_off + ihl;
		li->proto = ip[9];
		li->l4_len = tot - ihl;
		return true;
	}
	if (ver == 6) {
		if (avail < 40)
			return false;
		size_t plen = nic_be16(ip + 4);
		if (plen > avail - 40)
			plen = avail - 40;
		li->v6 = true;
		li->l4_off = l3_off + 40;
		li->proto = ip[6];
		li->l4_len = plen;
		return true;
	}
	return false;
}

static uint32_t pseudo_sum(const uint8_t *frame, size_t l3_off, bool v6, uint8_t proto,
			   size_t l4_len)
{
	const uint8_t *ip = frame + l3_off;
	uint32_t sum = v6 ? nic_csum_add(0, ip + 8, 32) : nic_csum_add(0, ip + 12, 8);
	sum += proto;
	sum += (uint32_t)(l4_len & 0xffff) + (uint32_t)(l4_len >> 16);
	return sum;
}

bool nic_fill_ipv4_csum(uint8_t *frame, size_t len, size_t l3_off)
{
	struct l3_info li;
	if (!parse_l3(frame, len, l3_off, &li) || li.v6)
		return false;
	nic_insert_csum(frame, l3_off + (size_t)(frame[l3_off] & 0xf) * 4, l3_off, l3_off + 10, 0);
	return true;
}

bool nic_fill_l4_csum(uint8_t *frame, size_t len, size_t l3_off, bool tcp, bool udp)
{
	struct l3_info li;
	if (!parse_l3(frame, len, l3_off, &li))
		return false;
	size_t off;
	if (li.proto == 6 && tcp && li.l4_len >= 20)
		off = 16;
	else if (li.proto == 17 && udp && li.l4_len >= 8)
		off = 6;
	else
		return false;
	size_t end = li.l4_off + li.l4_len;
	nic_insert_csum(frame, end, li.l4_off, li.l4_off + off,
			pseudo_sum(frame, l3_off, li.v6, li.proto, li.l4_len));
	/* UDP: a computed zero is sent as all ones */
	if (off == 6 && frame[li.l4_off + 6] == 0 && frame[li.l4_off + 7] == 0)
		frame[li.l4_off + 6] = frame[li.l4_off + 7] = 0xff;
	return true;
}

int nic_tso(const uint8_t *frame, size_t len, size_t l3_off, size_t l4_off, size_t hdr_len,
	    unsigned mss, nic_segment_fn send, void *opaque)
{
	struct l3_info li;
	if (mss == 0 || hdr_len > len || l4_off + 20 > hdr_len || l3_off >= l4_off ||
	    !parse_l3(frame, hdr_len, l3_off, &li) || li.proto != 6)
		return -1;
	size_t payload = len - hdr_len;
	const uint8_t *data = frame + hdr_len;
	uint8_t *seg = g_malloc(hdr_len + mss);
	uint32_t seq = (uint32_t)nic_be16(frame + l4_off + 4) << 16 | nic_be16(frame + l4_off + 6);
	uint16_t id = li.v6 ? 0 : nic_be16(frame + l3_off + 4);
	uint8_t flags = frame[l4_off + 13];
	int n = 0;
	size_t done = 0;
	do {
		size_t chunk = payload - done < mss ? payload - done : mss;
		bool last = done + chunk >= payload;
		memcpy(seg, frame, hdr_len);
		memcpy(seg + hdr_len, data + done, chunk);
		size_t seglen = hdr_len + chunk;
		uint8_t *ip = seg + l3_off;
		if (li.v6) {
			size_t plen = seglen - l3_off - 40;
			ip[4] = plen >> 8;
			ip[5] = plen;
		} else {
			size_t tot = seglen - l3_off;
			ip[2] = tot >> 8;
			ip[3] = tot;
			ip[4] = (uint16_t)(id + n) >> 8;
			ip[5] = (uint16_t)(id + n);
			nic_insert_csum(seg, l4_off, l3_off, l3_off + 10, 0);
		}
		uint8_t *tcp = seg + l4_off;
		uint32_t s = seq + (uint32_t)done;
		tcp[4] = s >> 24;
		tcp[5] = s >> 16;
		tcp[6] = s >> 8;
		tcp[7] = s;
		tcp[13] = last ? flags : (flags & ~0x09); /* FIN, PSH */
		size_t l4_len = seglen - l4_off;
		nic_insert_csum(seg, seglen, l4_off, l4_off + 16,
				pseudo_sum(seg, l3_off, li.v6, 6, l4_len));
		send(opaque, seg, seglen);
		n++;
		done += chunk;
	} while (done < payload);
	g_free(seg);
	return n;
}
