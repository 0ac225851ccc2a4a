// SPDX-License-Identifier: GPL-2.0-or-later
/* Picks the network card: virtio-net first, then the e1000 family. */
#include "arch.h"

static bool is_virtio_net(const struct pci_dev *d)
{
	/* 0x1041 is modern-only; 0x1000 is transitional (QEMU's default),
	 * which still carries the modern capabilities the driver uses. */
	return d->vendor == 0x1af4 && (d->device == 0x1041 || d->device == 0x1000);
}

static bool is_e1000(const struct pci_dev *d)
{
	return d->vendor == 0x8086 &&
	       (d->device == 0x100e || d->device == 0x100f || d->device == 0x1004);
}

struct netif *netif_probe(void)
{
	struct pci_dev *devs;
	int n = pci_scan(&devs);

	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			struct pci_dev *d = &devs[i];
			struct netif *nif = NULL;
			if (pass == 0 && is_virtio_net(d))
				nif = virtio_net_probe(d);
			else if (pass == 1 && is_e1000(d))
				nif = e1000_probe(d);
			else
				continue;
			if (nif) {
				kprintf("netif: %s %02x:%02x.%x mac %02x:%02x:%02x:%02x:%02x:%02x "
					"link %s\n",
					nif->name, d->bus, d->dev, d->fn, nif->mac[0], nif->mac[1],
					nif->mac[2], nif->mac[3], nif->mac[4], nif->mac[5],
					nif->link_up(nif) ? "up" : "down");
				return nif;
			}
		}
	}
	return NULL;
}
