/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI bus 0 of kite's i440FX-like machine and the device framework that
 * PCI models (virtio-net-pci, e1000, ...) are written against.
 *
 * kite has no firmware, so it assigns every BAR itself when the machine is
 * set up (32-bit MMIO from KITE_PCI_MMIO_BASE, I/O from 0xc000) and enables
 * memory+I/O decoding in COMMAND. The guest may re-program BARs; writes move
 * the mapping (and the device's ioeventfds) and the usual all-ones sizing
 * protocol works.
 *
 * Slots follow QEMU pc: 00.0 host bridge, 01.0 PIIX3 ISA bridge, then
 * -device order from slot 2 (kite has no VGA, so with or without
 * -nodefaults the first free slot is 2), unless addr= is given.
 *
 * All callbacks run with the big kite lock held (see device.h).
 */
#ifndef KITE_PCI_H
#define KITE_PCI_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "device.h"
#include "main-loop.h"

/* Config space offsets (type 0 header). */
#define PCI_VENDOR_ID		 0x00
#define PCI_DEVICE_ID		 0x02
#define PCI_COMMAND		 0x04
#define PCI_COMMAND_IO		 0x1
#define PCI_COMMAND_MEMORY	 0x2
#define PCI_COMMAND_MASTER	 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS		 0x06
#define PCI_STATUS_INTERRUPT	 0x08
#define PCI_STATUS_CAP_LIST	 0x10
#define PCI_REVISION_ID		 0x08
#define PCI_CLASS_PROG		 0x09
#define PCI_CLASS_DEVICE	 0x0a
#define PCI_CACHE_LINE_SIZE	 0x0c
#define PCI_LATENCY_TIMER	 0x0d
#define PCI_HEADER_TYPE		 0x0e
#define PCI_BASE_ADDRESS_0	 0x10
#define PCI_SUBSYSTEM_VENDOR_ID	 0x2c
#define PCI_SUBSYSTEM_ID	 0x2e
#define PCI_ROM_ADDRESS		 0x30
#define PCI_CAPABILITY_LIST	 0x34
#define PCI_INTERRUPT_LINE	 0x3c
#define PCI_INTERRUPT_PIN	 0x3d

#define PCI_CAP_ID_PM	0x01
#define PCI_CAP_ID_MSI	0x05
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_EXP	0x10
#define PCI_CAP_ID_MSIX 0x11

#define PCI_NUM_BARS	6
#define PCI_CONFIG_SIZE 256

/* BAR kinds for pci_register_bar() */
enum pci_bar_type {
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64, /* uses two BAR slots: bar and bar+1 */
};

struct pci_device;

/* Access callbacks for one BAR. offset is relative to the BAR start, size is
 * 1, 2, 4 or 8 and offset+size never exceeds the BAR size. */
struct pci_bar_ops {
	uint64_t (*read)(void *opaque, int bar, uint64_t offset, unsigned size);
	void (*write)(void *opaque, int bar, uint64_t offset, unsigned size, uint64_t value);
};

/* Identity of a device; class_code is the 24-bit class/subclass/prog-if. */
struct pci_ident {
	uint16_t vendor_id, device_id;
	uint16_t subsys_vendor_id, subsys_id;
	uint32_t class_code;
	uint8_t revision;
	uint8_t irq_pin; /* 1 = INTA# ... 4 = INTD#, 0 = none */
};

struct pci_device_ops {
	/* Called after the framework has applied a config-space write. */
	void (*config_written)(void *opaque, unsigned offset, unsigned size, uint32_t value);
	/* Optional: override config reads (return false to use the default). */
	bool (*config_read)(void *opaque, unsigned offset, unsigned size, uint32_t *value);
	/* system_reset: the framework has already reset COMMAND/MSI/MSI-X state
	 * to power-on values (BARs keep kite's assignment). */
	void (*reset)(void *opaque);
	/* Hot-unplug: free everything the model owns (timers, net clients,
	 * buffers, opaque itself). Called once the device is off the bus: its
	 * BARs, ioeventfds and interrupts are already gone and no callback
	 * above runs again. A model without it cannot be unplugged. */
	void (*unrealize)(void *opaque);
};

/*
 * Create a PCI device on bus 0 for a model's init. The slot comes from the
 * model's "addr" property (every PCI model gets "addr" automatically) or the
 * first free slot. The model keeps the returned pointer; opaque is passed to
 * every callback.
 */
struct pci_device *pci_device_new(const struct dev_model *model, struct dev_opts *opts,
				  const struct pci_ident *ident, const struct pci_device_ops *ops,
				  void *opaque, GError **err);

/* Declare BAR 'bar' (0-5) of 'size' bytes (a power of two, >= 16 for MMIO,
 * >= 4 for I/O). Must be called from the model's init, before it returns. */
int pci_register_bar(struct pci_device *dev, int bar, enum pci_bar_type type, uint64_t size,
		     const struct pci_bar_ops *ops, GError **err);
/* Current guest-physical (or port) address of a BAR; 0 when unmapped. */
uint64_t pci_bar_address(struct pci_device *dev, int bar);

/* Raw config space (256 bytes) and write masks: a set bit in wmask is
 * guest-writable, in w1cmask is write-1-to-clear. pci_device_new() sets the
 * standard header masks. */
uint8_t *pci_config(struct pci_device *dev);
uint8_t *pci_wmask(struct pci_device *dev);
uint8_t *pci_w1cmask(struct pci_device *dev);
uint8_t pci_devfn(struct pci_device *dev);
const char *pci_device_id(struct pci_device *dev); /* the -device id= or NULL */
void *pci_device_opaque(struct pci_device *dev);

/* Append a capability of 'size' bytes (>= 2) to the list; returns its
 * config-space offset, or 0 with err set when config space is full. */
uint8_t pci_add_capability(struct pci_device *dev, uint8_t cap_id, uint8_t size, GError **err);

/* Level of the device's INTx pin, routed through the PIIX swizzle to the
 * IOAPIC (PIRQ A-D => GSI 10, 10, 11, 11 like QEMU's PIIX default wiring
 * after SeaBIOS, see pci.c). Honours COMMAND.INTX_DISABLE; sets
 * STATUS.INTERRUPT. */
void pci_set_irq(struct pci_device *dev, int level);

/* MSI capability with nvec (1, 2, 4, 8, 16 or 32) vectors, 64-bit address,
 * per-vector masking. */
int pci_msi_init(struct pci_device *dev, unsigned nvec, GError **err);
bool pci_msi_enabled(struct pci_device *dev);
void pci_msi_notify(struct pci_device *dev, unsigned vector);

/* MSI-X with nvec vectors, table at table_bar+table_off and PBA at
 * pba_bar+pba_off. The BARs must already be registered; the framework
 * intercepts accesses to the table/PBA ranges before the BAR's ops. */
int pci_msix_init(struct pci_device *dev, unsigned nvec, int table_bar, uint64_t table_off,
		  int pba_bar, uint64_t pba_off, GError **err);
bool pci_msix_enabled(struct pci_device *dev);
/* Deliver vector (or set its pending bit when masked). */
void pci_msix_notify(struct pci_device *dev, unsigned vector);
/* true when the vector is masked (individually or by function mask) */
bool pci_msix_vector_masked(struct pci_device *dev, unsigned vector);

/*
 * Doorbell fast path: KVM signals an eventfd when the guest writes to
 * [bar base + offset, +len) (len 1, 2, 4 or 8; with datamatch only when the
 * value equals data) instead of exiting to the BAR's write callback. cb runs
 * on the main loop. The registration follows BAR moves. Returns 0 or -1 with
 * err set (e.g. BAR not MMIO, KVM refused).
 */
int pci_ioeventfd_add(struct pci_device *dev, int bar, uint64_t offset, unsigned len,
		      bool datamatch, uint64_t data, ml_fd_cb cb, void *opaque, GError **err);

/* Extra property lines for `info qtree` (e.g. mac = "52:54:00:12:34:56",
 * netdev = "n0"); fn gets the device's opaque and the indent in spaces. */
void pci_set_qtree_info(struct pci_device *dev, void (*fn)(void *opaque, GString *out, int indent));

/* Iterate devices on bus 0 in slot order (used by query-pci / info pci). */
struct pci_device *pci_device_first(void);
struct pci_device *pci_device_next(struct pci_device *dev);
const struct dev_model *pci_device_model(struct pci_device *dev);

/* Config read by devfn for monitors/qtest (all ones when absent). */
uint32_t pci_config_read_devfn(unsigned devfn, unsigned off, unsigned size);
/* BAR facts for monitors: false when the BAR is not implemented; addr is
 * all ones when the BAR does not decode. */
bool pci_bar_info(struct pci_device *dev, int bar, uint64_t *addr, uint64_t *size, bool *io,
		  bool *mem64);

/*
 * Hot-plug (device_add/device_del through the ACPI hot-plug controller,
 * pcihp.c). A device created after pci_assign_resources() is "fresh" until
 * pci_hotplug_commit() gives its BARs free space of their own (the running
 * guest's assignments stay where they are) and turns decoding on, as
 * firmware would have; pci_hotplug_abort() removes fresh devices after a
 * failed device_add without calling their model (its init failed).
 */
int pci_hotplug_commit(uint32_t *slots, GError **err);
void pci_hotplug_abort(void);
bool pci_device_hotpluggable(struct pci_device *dev);
struct pci_device *pci_device_at(unsigned devfn);
/* Take the device off the bus and free it (model unrealize included). */
void pci_device_unplug(struct pci_device *dev);
/* The QOM path QEMU gives the device (/machine/peripheral/ID or
 * /machine/peripheral-anon/device[N]); for DEVICE_DELETED. */
const char *pci_device_qom_path(struct pci_device *dev);

/* Machine set-up (kite internal). */
void pci_init(GError **err_unused);
/* Keep a slot empty for automatic placement (QEMU's VGA slot 2). */
void pci_reserve_slot(int slot);
void pci_assign_resources(void);
void pci_reset_all(void);

#endif
