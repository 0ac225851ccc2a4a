/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kite-testdev: a PCI function that exists to test the PCI framework from
 * qtest and guests (BAR sizing and moves, INTx, MSI, MSI-X, ioeventfd).
 *
 * BAR0, 4 KiB MMIO:  0x00 INTx level (write 0/1)      0x04 MSI-X notify (vector)
 *                    0x08 doorbell (ioeventfd, datamatch-free, 4 bytes)
 *                    0x0c doorbell count (read)       0x10 MSI notify (vector)
 *                    0x100-0x1ff scratch
 * BAR1, 256 B I/O:   scratch
 * BAR2, 16 KiB 64-bit MMIO: MSI-X table (4 vectors) at 0, PBA at 0x2000
 */
#include <string.h>

#include "device.h"
#include "error.h"
#include "pci.h"

struct testdev {
	struct pci_device *pci;
	uint8_t scratch_mem[256];
	uint8_t scratch_io[256];
	uint32_t doorbells;
};

static uint64_t bar_read(void *opaque, int bar, uint64_t off, unsigned size)
{
	struct testdev *t = opaque;
	uint64_t v = 0;
	if (bar == 0 && off == 0x0c)
		return t->doorbells;
	if (bar == 0 && off >= 0x100 && off + size <= 0x200)
		memcpy(&v, t->scratch_mem + off - 0x100, size);
	else if (bar == 1)
		memcpy(&v, t->scratch_io + off, size); /* the framework bounds off+size */
	return v;
}

static void bar_write(void *opaque, int bar, uint64_t off, unsigned size, uint64_t v)
{
	struct testdev *t = opaque;
	if (bar == 0) {
		if (off == 0x00)
			pci_set_irq(t->pci, v & 1);
		else if (off == 0x04)
			pci_msix_notify(t->pci, (unsigned)v);
		else if (off == 0x10)
			pci_msi_notify(t->pci, (unsigned)v);
		else if (off >= 0x100 && off + size <= 0x200)
			memcpy(t->scratch_mem + off - 0x100, &v, size);
	} else if (bar == 1) {
		memcpy(t->scratch_io + off, &v, size);
	}
}

static const struct pci_bar_ops testdev_bar_ops = {.read = bar_read, .write = bar_write};

static void doorbell(int fd, uint32_t events, void *opaque)
{
	(void)fd;
	(void)events;
	struct testdev *t = opaque;
	t->doorbells++;
}

static void testdev_reset(void *opaque)
{
	struct testdev *t = opaque;
	t->doorbells = 0;
	memset(t->scratch_mem, 0, sizeof(t->scratch_mem));
	memset(t->scratch_io, 0, sizeof(t->scratch_io));
}

static const struct pci_device_ops testdev_ops = {.reset = testdev_reset};

static int testdev_init(const struct dev_model *m, struct dev_opts *o, GError **err)
{
	static const struct pci_ident id = {
	    .vendor_id = 0x1b36, /* Red Hat's QEMU PCI ids, like QEMU's test devices */
	    .device_id = 0x00fe,
	    .class_code = 0x00ff00,
	    .irq_pin = 1,
	};
	struct testdev *t = g_new0(struct testdev, 1);
	t->pci = pci_device_new(m, o, &id, &testdev_ops, t, err);
	if (!t->pci ||
	    pci_register_bar(t->pci, 0, PCI_BAR_MEM32, 4096, &testdev_bar_ops, err) < 0 ||
	    pci_register_bar(t->pci, 1, PCI_BAR_IO, 256, &testdev_bar_ops, err) < 0 ||
	    pci_register_bar(t->pci, 2, PCI_BAR_MEM64, 16384, &testdev_bar_ops, err) < 0 ||
	    pci_msi_init(t->pci, 2, err) < 0 ||
	    pci_msix_init(t->pci, 4, 2, 0, 2, 0x2000, err) < 0 ||
	    pci_ioeventfd_add(t->pci, 0, 0x08, 4, false, 0, doorbell, t, err) < 0)
		return -1; /* a half-made device only happens on programming errors */
	return 0;
}

static const struct dev_prop testdev_props[] = {{NULL, 0, NULL, NULL, 0}};

static struct dev_model testdev_model = {
    .name = "kite-testdev",
    .bus = "PCI",
    .category = "Misc devices",
    .desc = "PCI framework test device",
    .props = testdev_props,
    .init = testdev_init,
};
DEV_MODEL_REGISTER(testdev_model)
