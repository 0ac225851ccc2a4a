// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Picks the network card: virtio-net first, then the e1000 family, then
 * the older models QEMU offers. Also the frame filter scenarios put
 * between a card and the network stack.
 */
#include "arch.h"

struct nic_model {
	uint16_t vendor, device;
	struct netif *(*probe)(struct pci_dev *d);
};

/* In preference order: the first model found on the bus wins. */
static const struct nic_model models[] = {
    /* 0x1041 is modern-only; 0x1000 is transitional (QEMU's default),
     * which still carries the modern capabilities the driver uses. */
    {0x1af4, 0x1041, virtio_net_probe}, /* modern */
    {0x1af4, 0x1000, virtio_net_probe}, /* transitional */
    {0x8086, 0x100e, e1000_probe},	/* 82540EM, QEMU "e1000" */
    {0x8086, 0x100f, e1000_probe},	/* 82545EM */
    {0x8086, 0x100c, e1000_probe},	/* 82544GC */
    {0x8086, 0x10d3, e1000e_probe},	/* 82574L, QEMU "e1000e" */
    {0x10ec, 0x8139, rtl8139_probe},	/* RTL8139 */
    {0x1022, 0x2000, pcnet_probe},	/* Am79C970A PCnet-PCI II */
    {0x8086, 0x1229, eepro100_probe},	/* 82557/8/9 */
    {0x8086, 0x1209, eepro100_probe},	/* 82551IT, 82559ER */
    {0x10ec, 0x8029, ne2k_probe},	/* RTL8029 (NE2000 PCI): port I/O only, last */
};

static struct netif *probe_with(const struct nic_model *m, struct pci_dev *d)
{
	struct netif *nif = m->probe(d);

	if (nif)
		kprintf("netif: %s %02x:%02x.%x mac %02x:%02x:%02x:%02x:%02x:%02x link %s\n",
			nif->name, d->bus, d->dev, d->fn, nif->mac[0], nif->mac[1], nif->mac[2],
			nif->mac[3], nif->mac[4], nif->mac[5], nif->link_up(nif) ? "up" : "down");
	return nif;
}

struct netif *netif_probe(void)
{
	struct pci_dev *devs;
	int n = pci_scan(&devs);

	for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++) {
		for (int i = 0; i < n; i++) {
			struct pci_dev *d = &devs[i];
			if (d->vendor != models[m].vendor || d->device != models[m].device)
				continue;
			struct netif *nif = probe_with(&models[m], d);
			if (nif)
				return nif;
		}
	}
	return NULL;
}

struct netif *netif_probe_dev(struct pci_dev *d)
{
	for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++) {
		if (d->vendor == models[m].vendor && d->device == models[m].device)
			return probe_with(&models[m], d);
	}
	return NULL;
}

/* ---- frame filter ---- */

static struct {
	struct netif nif;
	struct netif *inner;
	bool (*take)(const uint8_t *frame, size_t len, void *ctx);
	void *ctx;
} filter;

static int filter_tx(struct netif *nif, const void *frame, size_t len)
{
	(void)nif;
	int r = filter.inner->tx(filter.inner, frame, len);
	if (r == 0)
		filter.nif.tx_frames++;
	return r;
}

static size_t filter_rx(struct netif *nif, void *buf, size_t cap)
{
	(void)nif;
	for (;;) {
		size_t len = filter.inner->rx(filter.inner, buf, cap);
		if (!len)
			return 0;
		filter.nif.rx_frames++;
		if (len > cap || !filter.take(buf, len, filter.ctx))
			return len;
	}
}

static bool filter_link_up(struct netif *nif)
{
	(void)nif;
	return filter.inner->link_up(filter.inner);
}

struct netif *netif_filter(struct netif *inner,
			   bool (*take)(const uint8_t *frame, size_t len, void *ctx), void *ctx)
{
	memset(&filter, 0, sizeof(filter));
	filter.inner = inner;
	filter.take = take;
	filter.ctx = ctx;
	filter.nif.name = inner->name;
	memcpy(filter.nif.mac, inner->mac, 6);
	filter.nif.priv = inner;
	filter.nif.tx = filter_tx;
	filter.nif.rx = filter_rx;
	filter.nif.link_up = filter_link_up;
	return &filter.nif;
}

bool mmio_cmd_poll32(uintptr_t reg, uint32_t cmd, uint32_t done, uint64_t timeout_us,
		     uint32_t *val)
{
	mmio_write32(reg, cmd);
	uint64_t deadline = now_us() + timeout_us;
	for (;;) {
		uint32_t v = mmio_read32(reg);
		if (v & done) {
			*val = v;
			return true;
		}
		if (now_us() > deadline)
			return false;
	}
}

bool mac_valid(const uint8_t *mac)
{
	static const uint8_t zero[6], ones[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	return memcmp(mac, zero, 6) && memcmp(mac, ones, 6) && !(mac[0] & 1);
}

void mac_from_ral_rah(uint32_t ral, uint32_t rah, uint8_t *mac)
{
	for (int i = 0; i < 4; i++)
		mac[i] = (uint8_t)(ral >> (8 * i));
	mac[4] = (uint8_t)rah;
	mac[5] = (uint8_t)(rah >> 8);
}
